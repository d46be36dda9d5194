"""Training loss of one clip: track queries carried frame to frame with every switch of the family.

Per frame (MOTR sec. 3.3-3.5 unless stated):
1. queries = [detect (+ MOTRv2 proposals) | track]; with TGD (MOTRv3 sec. 3.4) K scaled copies of the track queries
   are appended and the decoder runs with eq. 4's mask.
2. targets per decoder layer (``matching.layer_targets``): tracklet-aware, or RFS in decoders 1..L-1 (MOTRv3 sec. 3.2),
   or LA-MOTR's separated detection (object queries vs all ground truths).
3. loss per layer = set loss of the original queries (L_r; with ``ignore_duplicates`` no classification term for
   unmatched detect queries on an object a track query holds, ``duplicates.py``) + PLD on detector boxes (eq. 3, L_p;
   all original queries, or without the proposal queries with ``distillation.proposals: false``) + the mean over the
   TGD groups of their set loss with the original track queries' targets of the last decoder (L_g; MOTRv3 is silent
   on sum or mean, and Group DETR's criterion, which TGD follows, divides by the box count times the group count;
   with RFS the early decoders' track-query targets are RFS's, but TGD supervises association, which RFS leaves
   unchanged, so the groups keep the tracklet-aware targets: the identities, and with ``motr_carry`` the matches of
   carried slots, as app. B has the groups share the original queries' assignment); with SGLA the last layer's
   predictions are those of the shared head on SGLA's outputs, plus lambda_asso * BCE on the association matrix from
   the second frame on (LA-MOTR eq. 1).
4. next frame's track queries: the track queries whose identity is still present, plus the detect queries matched to
   free ground truths (newborn), with content from QIM (or eq. 2) and reference = the last layer's box, detached.
The clip loss is MOTR's collective average, or eq. 5 (per-frame normalisation) with PLD.

Not implemented: LA-MOTR sec. 4.2's training filter (tracked targets with detection score < 0.5 and IoU < 0.5 are
excluded). By default a track query keeps its identity while the identity is in the frame, whatever its score;
``motr_carry`` releases identities by IoU <= 0.5 alone (MOTRv2's rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torchvision.ops import box_iou

from motforge.families.query.augment import drop_and_insert
from motforge.families.query.boxes import cxcywh_to_xyxy
from motforge.families.query.denoising import group_mask, scale_boxes
from motforge.families.query.duplicates import duplicate_weights
from motforge.families.query.losses import association_loss, clip_normalise, pld_loss, set_loss
from motforge.families.query.matching import identity_targets, layer_targets
from motforge.families.query.model import QueryTracker
from motforge.nn.sgla import tracklet_update


@dataclass
class ClipFrame:
    """One training frame: image [3, H, W]; ground truth boxes [G, 4] normalised (cx, cy, w, h) and identities [G];
    detector boxes [P, 4] (same format) with scores [P], used by the proposals and PLD switches."""

    image: torch.Tensor
    gt_boxes: torch.Tensor
    gt_ids: torch.Tensor
    det_boxes: torch.Tensor = field(default_factory=lambda: torch.zeros(0, 4))
    det_scores: torch.Tensor = field(default_factory=lambda: torch.zeros(0))


@dataclass
class Tracks:
    content: torch.Tensor
    ref: torch.Tensor
    ids: torch.Tensor

    @classmethod
    def empty(cls, d: int, device: torch.device) -> Tracks:
        return cls(
            torch.zeros(0, d, device=device),
            torch.zeros(0, 4, device=device),
            torch.zeros(0, dtype=torch.long, device=device),
        )


@dataclass
class ClipLoss:
    """``total`` = the sum of ``terms``: the clip-normalised parts of the switches that are on (``set`` = L_r, ``pld``
    = L_p, ``tgd`` = L_g, ``asso`` = LA-MOTR's association loss), which the training loop weighs and logs by name;
    ``parts`` are the same parts summed over frames and layers before normalisation, as plain numbers."""

    total: torch.Tensor
    parts: dict[str, float]
    terms: dict[str, torch.Tensor] = field(default_factory=dict)


def clip_loss(model: QueryTracker, clip: list[ClipFrame], generator: torch.Generator | None = None) -> ClipLoss:
    cfg = model.cfg
    device = clip[0].image.device
    tracks = Tracks.empty(cfg.d_model, device)
    frame_objects, asso_terms = [], []
    frame_terms: dict[str, list[torch.Tensor]] = {
        "set": [],
        **({"pld": []} if cfg.pld else {}),
        **({"tgd": []} if cfg.tgd else {}),
    }
    parts = {"set": 0.0, "pld": 0.0, "tgd": 0.0, "asso": 0.0}
    for frame in clip:
        memory = model.encode(frame.image)
        proposals = torch.cat([frame.det_boxes, frame.det_scores[:, None]], 1) if cfg.proposals else None
        det_content, det_ref = model.detect_queries(proposals)
        m, n = det_content.shape[0], tracks.ids.shape[0]
        content, ref, mask = torch.cat([det_content, tracks.content]), torch.cat([det_ref, tracks.ref]), None
        groups = cfg.tgd_groups if cfg.tgd and n > 0 else 0
        if groups:
            content = torch.cat([content, tracks.content.repeat(groups, 1)])
            ref = torch.cat([ref, scale_boxes(tracks.ref, groups, cfg.tgd_scale, generator)])
            mask = group_mask(m, n, groups, device)
        out = model.decode(memory, content, ref, mask)
        orig = m + n
        logits, boxes = out.logits[:, :orig], out.boxes[:, :orig]
        assoc = None
        if model.sgla is not None:
            assoc = model.associate(out, m, orig)
            logits = torch.cat([logits[:-1], assoc.logits[None]])
            boxes = torch.cat([boxes[:-1], assoc.boxes[None]])
        targets = layer_targets(logits, boxes, m, tracks.ids, frame.gt_boxes, frame.gt_ids, cfg)
        # PLD's query set: all original queries, or without the proposals [num_queries, m) (distillation.proposals)
        skip = cfg.pld and cfg.proposals and not cfg.pld_proposals
        pld_rows = (
            torch.cat([torch.arange(cfg.num_queries, device=device), torch.arange(m, orig, device=device)])
            if skip
            else slice(None)
        )
        # TGD groups share the original track queries' assignment of the last decoder in every decoder (MOTRv3 app.
        # B; RFS changes only detection): their identities, plus what Hungarian matching gave carried id -1 slots
        group_target = targets[-1][m:orig]
        held = frame.gt_boxes[group_target[group_target >= 0]]
        loss = {name: logits.new_zeros(()) for name in frame_terms}
        for layer, target in enumerate(targets):
            weights = (
                duplicate_weights(boxes[layer], target, m, held, cfg.duplicate_iou) if cfg.ignore_duplicates else None
            )
            term = set_loss(logits[layer], boxes[layer], target, frame.gt_boxes, cfg, weights)
            parts["set"] += term.item()
            loss["set"] = loss["set"] + term
            if cfg.pld:
                term = pld_loss(logits[layer, pld_rows], boxes[layer, pld_rows], frame.det_boxes, frame.det_scores, cfg)
                parts["pld"] += term.item()
                loss["pld"] = loss["pld"] + term
            if groups:
                # the mean over the K groups (Group DETR's normalisation): K groups add samples, not K times the weight
                term = (
                    sum(
                        set_loss(out.logits[layer, sl], out.boxes[layer, sl], group_target, frame.gt_boxes, cfg)
                        for sl in (slice(orig + g * n, orig + (g + 1) * n) for g in range(groups))
                    )
                    / groups
                )
                parts["tgd"] += term.item()
                loss["tgd"] = loss["tgd"] + term
        for name, value in loss.items():
            frame_terms[name].append(value)
        frame_objects.append(int(frame.gt_ids.shape[0]))
        last = targets[-1]
        if assoc is not None and n > 0:
            term = association_loss(assoc.assoc, last[:m], last[m:], cfg)
            parts["asso"] += term.item()
            asso_terms.append(term)
        tracks = _next_tracks(model, tracks, det_content, out, assoc, last, frame, m, generator, logits[-1].sigmoid())
    # both normalisations are linear in the frame losses, so normalising each part alone sums to the clip's loss
    terms = {name: clip_normalise(values, frame_objects, per_frame=cfg.pld) for name, values in frame_terms.items()}
    if asso_terms:
        terms["asso"] = sum(asso_terms) / len(asso_terms)
    return ClipLoss(sum(terms.values()), parts, terms)


def _next_tracks(
    model: QueryTracker,
    tracks: Tracks,
    det_content: torch.Tensor,
    out,
    assoc,
    target: torch.Tensor,
    frame: ClipFrame,
    m: int,
    generator: torch.Generator | None,
    scores: torch.Tensor,
) -> Tracks:
    """Kept track queries (identity still present) + newborn detect queries matched to identities no track holds;
    with MOTR's augmentation some are dropped and unmatched detect queries join as false positives (id -2).

    ``cfg.motr_carry`` follows MOTRv2's training lifecycle instead (motr.py ``match_for_single_frame``, qim.py
    ``_select_active_tracks``): a track keeps its identity when its object is absent (trained as background for the
    rest of the clip), an identity whose box overlaps its ground truth by IoU <= 0.5 is released (id -1), and every
    query without identity scoring > 0.5 (``scores``, the last layer's sigmoid) is carried as a free slot (id -1),
    which the next frame's Hungarian matching may give to a new object."""
    cfg = model.cfg
    n = tracks.ids.shape[0]
    dev = target.device
    last = cfg.dec_layers - 1
    if assoc is not None:
        obj_h, tck_h, boxes = assoc.obj_hidden, assoc.tck_hidden, assoc.boxes
    else:
        obj_h, tck_h, boxes = out.hidden[last, :m], out.hidden[last, m : m + n], out.boxes[last, : m + n]
    track_target = target[m : m + n]
    matched_ids = torch.where(track_target >= 0, frame.gt_ids[track_target.clamp(min=0)], tracks.ids)
    if cfg.motr_carry:
        confident = scores.detach() > 0.5
        keep = torch.nonzero((tracks.ids >= 0) | (track_target >= 0) | confident[m:]).flatten()
    else:
        keep = torch.nonzero(track_target >= 0).flatten()
    keep_ids = matched_ids[keep]
    held = set(keep_ids[keep_ids >= 0].tolist())
    born = [q for q in torch.nonzero(target[:m] >= 0).flatten().tolist() if int(frame.gt_ids[target[q]]) not in held]
    born_t = torch.as_tensor(born, dtype=torch.long, device=dev)
    born_ids = frame.gt_ids[target[born_t]] if len(born) else torch.zeros(0, dtype=torch.long, device=dev)
    free = torch.nonzero(target[:m] < 0).flatten()
    if cfg.motr_carry:
        carried = free[confident[:m][free]]
        free = free[~confident[:m][free]]
    else:
        carried = torch.zeros(0, dtype=torch.long, device=dev)
    fp = torch.zeros(0, dtype=torch.long, device=dev)
    if cfg.track_drop > 0 or cfg.track_insert > 0:
        # the augmentation acts on the tracks that hold an identity (MOTR's active tracks) and the newborn
        has_id = keep_ids >= 0
        active = torch.cat([boxes[m:][keep[has_id]], boxes[:m][born_t]])
        survive, fp_free = drop_and_insert(active, boxes[:m][free], cfg.track_drop, cfg.track_insert, generator)
        survive = survive.to(dev)
        kept_mask = torch.ones(len(keep), dtype=torch.bool, device=dev)
        kept_mask[has_id] = survive[: int(has_id.sum())]
        keep, keep_ids = keep[kept_mask], keep_ids[kept_mask]
        born_mask = survive[int(has_id.sum()) :]
        born_t, born_ids = born_t[born_mask], born_ids[born_mask]
        fp = free[fp_free.to(dev)]
    if cfg.motr_carry:
        # identities whose box has drifted off their ground truth are released (qim.py: iou <= 0.5 -> -1)
        keep_ids = _release_drifted(keep_ids, boxes[m:][keep], track_target[keep], frame.gt_boxes)
        born_ids = _release_drifted(born_ids, boxes[:m][born_t], target[born_t], frame.gt_boxes)
    born_t = torch.cat([born_t, carried, fp])
    ids = torch.cat(
        [
            keep_ids,
            born_ids,
            torch.full((len(carried),), -1, dtype=torch.long, device=dev),
            torch.full((len(fp),), -2, dtype=torch.long, device=dev),
        ]
    )
    ref = torch.cat([boxes[m:][keep], boxes[:m][born_t]]).detach()
    if cfg.tracklet_update:
        # eq. 2 with the association given by identity during training (the object matched to the same ground truth)
        partner = identity_targets(target[m : m + n], target[:m])
        kept = tracklet_update(tck_h, obj_h, partner, cfg.tracklet_w)[keep]
        content = torch.cat([kept, obj_h[born_t]])
    else:
        prev = torch.cat([tracks.content[keep], det_content[born_t]])
        hidden = torch.cat([tck_h[keep], obj_h[born_t]])
        content = model.next_content(prev, hidden, ref)
    return Tracks(content, ref, ids)


def _release_drifted(
    ids: torch.Tensor, boxes: torch.Tensor, target: torch.Tensor, gt_boxes: torch.Tensor
) -> torch.Tensor:
    """ids [K] of queries with boxes [K, 4] (cx, cy, w, h) matched to ground-truth indices ``target`` [K] (-1: none)
    -> ids with -1 where the box overlaps its ground truth by IoU <= 0.5; unmatched queries keep their id."""
    matched = target >= 0
    if not bool(matched.any()):
        return ids
    iou = box_iou(cxcywh_to_xyxy(boxes[matched].detach()), cxcywh_to_xyxy(gt_boxes[target[matched]])).diagonal()
    ids = ids.clone()
    ids[torch.nonzero(matched).flatten()[iou <= 0.5]] = -1
    return ids


__all__ = ["ClipFrame", "ClipLoss", "Tracks", "clip_loss"]
