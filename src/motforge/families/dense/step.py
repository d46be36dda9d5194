"""One training step of the `dense` model on a batch of clips: every enabled component adds its loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from motforge.families.dense import losses as L
from motforge.families.dense.detection_head import STRIDE, location_grid
from motforge.families.dense.id_decoder import clip_id_labels, id_loss, id_targets
from motforge.families.dense.model import DenseTracker
from motforge.families.dense.targets import (
    assign_locations,
    background_boxes,
    jitter_boxes,
    label_rois,
    sample_rois,
)

ROI_COPIES = 4
# background RoIs per object: QDTrack draws its negatives from RPN proposals (hundreds a frame); two per object keep
# a background negative for every object at 1.4x the RoI cost of the object RoIs (RoI Align's CPU backward dominates
# the step; 3x the RoIs, the sampler's neg_pos_ub, made the 800-step CPU training 4x slower)
BACKGROUND_PER_OBJECT = 2


def _detection(model_out, location_targets) -> dict[str, torch.Tensor]:
    """The GT detection loss over the clip's locations (centre sampling, normalised by the positive count)."""
    logits, pred = model_out.logits, model_out.boxes
    assigned, targets = zip(*location_targets)
    cls_t = torch.cat([(a >= 0).float().flatten() for a in assigned])
    return L.detection_losses(
        logits.flatten(), pred.reshape(-1, 4), cls_t, torch.cat([t.reshape(-1, 4) for t in targets])
    )


def _location_targets(model_out, boxes_per_frame) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Centre-sampling assignment of each frame's boxes to the head's locations (GT and pseudo-label losses)."""
    logits = model_out.logits
    grid = location_grid(logits.shape[1], logits.shape[2], logits.device)
    return [assign_locations(grid, boxes.to(logits.device)) for boxes in boxes_per_frame]


def pld_loss(
    model_out, pseudo_boxes: list[torch.Tensor], pseudo_scores: list[torch.Tensor], matched: list[int], terms: dict
) -> torch.Tensor:
    """MOTRv3 pseudo-label distillation: eq. 3's confidence-weighted detection loss against the detector's boxes,
    under eq. 5's normaliser, L_clip = sum_i (L_r,i + L_p,i + L_g,i) / O_i: one normaliser per frame for the GT and
    the pseudo-label terms. O_i counts the outputs matched to frame i's objects (``matched``): in MOTR one query per
    object, on this dense head the locations centre sampling assigns to the GT boxes, the same count the GT term is
    divided by. Averaged over the clip's frames as the GT term is (its sum over the clip's positives), so L_p sits
    beside L_r as in eq. 5; dividing location sums by the object count instead made L_p about 20x the GT term and
    the detector fitted the pseudo-boxes. ``terms`` weigh the cls, l1 and giou parts (MOTRv3: 2, 5, 2 like the GT
    loss)."""
    logits = model_out.logits
    total = logits.sum() * 0.0
    for f, (assigned, targets) in enumerate(_location_targets(model_out, pseudo_boxes)):
        scores = pseudo_scores[f]
        conf = torch.cat([torch.zeros(1), scores.float().cpu()]).to(logits.device)[assigned + 1]  # 0 where none
        positive = (assigned >= 0).long()
        part = L.detection_losses(
            logits[f].flatten(),
            model_out.boxes[f].reshape(-1, 4),
            positive.flatten(),
            targets.reshape(-1, 4),
            L.pld_weights(positive, conf).flatten(),
            conf.flatten(),
            normaliser=matched[f],
        )
        total = total + terms["cls"] * part["cls"] + terms["l1"] * part["l1"] + terms["giou"] * part["giou"]
    return total / max(1, len(pseudo_boxes))


def _depth_weights(boxes_per_frame, shape, fg_weight: float, device) -> torch.Tensor:
    frames, h, w = shape
    weights = torch.ones(frames, h, w, device=device)
    for f, boxes in enumerate(boxes_per_frame):
        for x0, y0, x1, y1 in (boxes / STRIDE).round().long().tolist():
            weights[f, max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = fg_weight
    return weights


def clip_losses(
    model: DenseTracker,
    clip: dict,
    fg_weight: float,
    use_identity: bool,
    generator: torch.Generator,
    pld_weights: dict[str, float],
) -> dict[str, torch.Tensor]:
    """The named loss parts of one clip. ``pld_weights`` weigh MOTRv3's pseudo-label detection terms (cls, l1, giou;
    MOTRv3: 2, 5, 2 like the GT detection loss)."""
    device = next(model.parameters()).device
    cfg = model.cfg
    images = clip["images"].to(device)
    out = model.frames(images)
    boxes = [b.to(device) for b in clip["boxes"]]
    ids = [i.to(device) for i in clip["ids"]]
    gt_targets = _location_targets(out, boxes)  # once per step: the GT loss and PLD's per-frame normaliser
    losses = _detection(out, gt_targets)
    if cfg.on("pseudo_labels") and "pseudo_boxes" in clip:
        matched = [int((assigned >= 0).sum()) for assigned, _ in gt_targets]
        losses["pld"] = pld_loss(out, clip["pseudo_boxes"], clip["pseudo_scores"], matched, pld_weights)
    if out.depth_logits is not None and "depth_bins" in clip:
        target = clip["depth_bins"].to(device)
        logits = out.depth_logits
        if logits.shape[-2:] != target.shape[-2:]:
            target = F.interpolate(target[:, None].float(), size=logits.shape[-2:], mode="nearest")[:, 0].long()
        losses["depth"] = L.depth_focal_loss(logits, target, _depth_weights(boxes, target.shape, fg_weight, device))
    # quasi-dense RoIs: every object of every frame and its jitters, then background RoIs (IoU < 0.3 with every
    # object); QDTrack's sampler picks the embedding losses' RoIs (``sampled``), never one of the 0.3-0.7 band
    rois, labels, ious, best, sampled = [], [], [], [], []
    size = (images.shape[-1], images.shape[-2])
    for b, i in zip(boxes, ids):
        r = jitter_boxes(b, ROI_COPIES, generator)
        candidates = torch.cat([r, background_boxes(b, BACKGROUND_PER_OBJECT * b.shape[0], size, generator)])
        lab, iou, idx = label_rois(candidates.cpu(), b.cpu(), i.cpu())
        pick = sample_rois(lab, iou, idx, generator)
        # the object RoIs stay (the GT rows and jitters feed the other losses); background ones only when sampled
        background = pick[pick >= r.shape[0]]
        keep = torch.cat([torch.arange(r.shape[0]), background])
        sampled.append(torch.cat([pick[pick < r.shape[0]], r.shape[0] + torch.arange(len(background))]).to(device))
        rois.append(candidates[keep.to(candidates.device)])
        labels.append(lab[keep].to(device))
        ious.append(iou[keep].to(device))
        best.append(idx[keep].to(device))
    embeddings, roi_feats = model.roi_embeddings(out, rois)
    counts = [r.shape[0] for r in rois]
    per_frame = list(torch.split(embeddings, counts))
    if cfg.on("quasi_dense"):
        embed_terms, aux_terms = [], []
        for t in range(len(per_frame) - 1):
            k, r = sampled[t], sampled[t + 1]
            e, a = L.quasi_dense_loss(per_frame[t][k], per_frame[t + 1][r], labels[t][k], labels[t + 1][r])
            embed_terms.append(e)
            aux_terms.append(a)
        if embed_terms:
            losses["qd_embed"] = torch.stack(embed_terms).mean()
            losses["qd_aux"] = torch.stack(aux_terms).mean()
    # track histories of the GT boxes (the first rows of each frame's RoIs), refined by the Temporal Adapter
    gt_emb = [e[: b.shape[0]] for e, b in zip(per_frame, boxes)]
    refined = _temporal(model, gt_emb, ids, clip["hidden"])
    if model.identity is not None and use_identity:
        feats, id_list, frame_list, iou_list = [], [], [], []
        for t, (e, lab, iou) in enumerate(zip(per_frame, labels, ious)):
            n_gt = boxes[t].shape[0]
            e = torch.cat([refined[t], e[n_gt:]]) if refined is not None else e
            feats.append(model.identity(e))
            id_list.append(torch.where(lab >= 0, lab, torch.full_like(lab, -1)))
            frame_list.append(torch.full_like(lab, t))
            iou_list.append(iou)
        losses["ia"] = L.identity_adapter_loss(
            torch.cat(feats), torch.cat(id_list), torch.cat(frame_list), torch.cat(iou_list)
        )
    if model.instance_depth is not None and "inst_value" in clip:
        value, hist = model.instance_depths(out, rois, roi_feats)
        tv, th, keep = [], [], []
        for t, (_, iou, idx) in enumerate(zip(labels, ious, best)):
            valid = clip["inst_valid"][t].to(device)
            ok = (iou > 0.5) & (idx >= 0)
            ok = ok & valid[idx.clamp(min=0)] if valid.numel() else ok & False
            keep.append(ok)
            tv.append(clip["inst_value"][t].to(device)[idx.clamp(min=0)] if valid.numel() else torch.zeros_like(iou))
            th.append(
                clip["inst_hist"][t].to(device)[idx.clamp(min=0)]
                if valid.numel()
                else torch.zeros(len(iou), hist.shape[1], device=device)
            )
        keep_all = torch.cat(keep)
        losses["inst_depth"] = L.instance_depth_loss(
            value[keep_all], hist[keep_all], torch.cat(tv)[keep_all], torch.cat(th)[keep_all]
        )
    if model.id_decoder is not None and len(boxes) > 1:
        losses["id"] = _id_prediction_loss(model, per_frame, gt_emb, refined, ids, clip["hidden"], generator)
    if model.association is not None and len(boxes) > 1:
        terms = []
        for t in range(1, len(boxes)):
            track_emb = refined[t - 1] if refined is not None else gt_emb[t - 1]
            visible = ~clip["hidden"][t - 1].to(device)
            track_boxes, track_ids = boxes[t - 1][visible], ids[t - 1][visible]
            track_emb = track_emb[visible]
            if clip.get("swap") is not None and len(track_ids) >= 2:
                a, b = clip["swap"]
                ia, ib = (track_ids == a).nonzero().flatten(), (track_ids == b).nonzero().flatten()
                if len(ia) and len(ib):
                    i, j = int(ia[0]), int(ib[0])
                    order = torch.arange(len(track_boxes), device=track_boxes.device)
                    order[i], order[j] = j, i
                    track_boxes = track_boxes[order]  # MOTR-style identity swap: the two tracklets trade places
            n = boxes[t].shape[0]
            det_emb = (
                per_frame[t][n : 2 * n] if per_frame[t].shape[0] >= 2 * n else per_frame[t][:n]
            )  # a jittered copy: as noisy as a detection
            det_boxes = rois[t][n : 2 * n] if rois[t].shape[0] >= 2 * n else boxes[t]
            logits = model.association(det_emb, det_boxes, track_emb, track_boxes, size)
            terms.append(L.association_loss(logits, ids[t][:, None] == track_ids[None, :]))
        losses["assoc"] = torch.stack(terms).mean()
    return losses


def _id_prediction_loss(model, per_frame, gt_emb, refined, ids, hidden, generator) -> torch.Tensor:
    """MOTIP's L_ID over the clip (id_decoder.py): history tokens are the visible objects of every frame but the last
    (Temporal-Adapter output when it is on, as FDTA feeds its ID decoder), current tokens are the objects of every
    frame but the first, as a jittered copy of the GT box (as noisy as a detection; MOTIP uses its detector's
    matched query features)."""
    decoder = model.id_decoder
    device = gt_emb[0].device
    history = refined if refined is not None else gt_emb
    labels = clip_id_labels(torch.unique(torch.cat(ids)).cpu(), decoder.num_ids, generator)
    visible = [~h.to(device) for h in hidden]
    targets = id_targets([i.cpu() for i in ids], [v.cpu() for v in visible], labels, decoder.num_ids)
    h_feat, h_ids, h_time, c_feat, c_time, c_target = [], [], [], [], [], []
    for t, (i, vis) in enumerate(zip(ids, visible)):
        n = i.shape[0]
        rows = [r for r, ident in enumerate(i.tolist()) if bool(vis[r]) and ident in labels]
        if t < len(ids) - 1 and rows:
            h_feat.append(history[t][rows])
            h_ids.append(torch.tensor([labels[int(i[r])] for r in rows], device=device))
            h_time.append(torch.full((len(rows),), t, device=device))
        if t > 0:  # hidden and unlabelled objects are left out, as MOTIP masks them
            noisy = per_frame[t][n : 2 * n] if per_frame[t].shape[0] >= 2 * n else per_frame[t][:n]
            keep = targets[t].to(device) >= 0
            c_feat.append(noisy[keep])
            c_time.append(torch.full((int(keep.sum()),), t, device=device))
            c_target.append(targets[t].to(device)[keep])
    if not h_feat or not sum(len(c) for c in c_feat):
        return torch.cat(gt_emb).sum() * 0.0
    logits = decoder(torch.cat(c_feat), torch.cat(c_time), torch.cat(h_feat), torch.cat(h_ids), torch.cat(h_time))
    return id_loss(logits, torch.cat(c_target))


def _temporal(
    model: DenseTracker, gt_emb: list[torch.Tensor], ids: list[torch.Tensor], hidden: list[torch.Tensor]
) -> list[torch.Tensor] | None:
    """Per frame, the GT-box embeddings refined over their identity's history (None when the TA is off)."""
    if model.temporal is None:
        return None
    identities = torch.unique(torch.cat(ids)) if ids else torch.zeros(0)
    if identities.numel() == 0:
        return gt_emb
    steps, dim, device = len(gt_emb), gt_emb[0].shape[1] if gt_emb[0].numel() else model.cfg.embed_dim, gt_emb[0].device
    history = torch.zeros(len(identities), steps, dim, device=device)
    present = torch.zeros(len(identities), steps, dtype=torch.bool, device=device)
    slot = {int(v): k for k, v in enumerate(identities.tolist())}
    for t, (e, i, h) in enumerate(zip(gt_emb, ids, hidden)):
        for row, ident in enumerate(i.tolist()):
            history[slot[ident], t] = e[row]
            present[slot[ident], t] = not bool(h[row])
    refined_all = model.temporal(history, present)
    refined = []
    for t, (e, i) in enumerate(zip(gt_emb, ids)):
        rows = [slot[int(v)] for v in i.tolist()]
        r = refined_all[rows, t] if rows else e
        keep = present[rows, t][:, None] if rows else None
        refined.append(torch.where(keep, r, e) if keep is not None else e)
    return refined
