"""Online inference of the query family: one frame at a time, track queries carried between frames.

Lifecycle (after ``RuntimeTrackerBase`` in megvii-research/MOTRv2 models/motr.py and the score filter of its
submit_dance.py; defaults 0.6 / 0.5 / 10 / 0.6 are theirs): a detect query whose score reaches ``birth`` starts a
track with a new id; a track whose score is below ``death`` counts a missed frame (a score >= ``death`` resets the
count) and is dropped after more than ``max_missed`` consecutive misses (upstream deletes at the
``miss_tolerance``-th); meanwhile it keeps its last query and box, as MOTRv2's QIM updates only confident tracks.
A track is reported only when its score reaches ``report``. With LA-MOTR's separated detection (sec. 3.3 and its
inference rule) object queries are associated with tracklets by the association score (Hungarian on -S, pairs with
S >= 0.5, the shared ``assign`` step's rule, where the paper writes > 0.5; without SGLA the same rule on box IoU,
Table 4's "IoU" row); objects left unassociated with score >= ``birth`` start tracks (the paper starts them above
0.5; here ``birth`` is the same threshold for both kinds of detection, set per model in config.yaml).
Rows are MOTChallenge's (frame, id, x, y, w, h, score) in pixels.

Duplicate births (``duplicate_iou`` < 1; a motforge addition, off at 1.0 as in MOTRv2): MOTR relies on training alone
to score a detect query low when a track query already holds its object; a small model trained for minutes does not
learn that, and every proposal of a tracked object is born again each frame. A birth candidate whose box overlaps a
live track's box of this frame by IoU >= ``duplicate_iou`` is not born, nor one overlapping a higher-scored candidate
by as much (torchvision NMS).

Collapsed tracks (``track_duplicate_iou`` < 1; a motforge addition, off at 1.0): over hundreds of frames the small CPU
model's track queries drift onto a neighbour's dancer and stay there, so two or more tracks report the same object
(README, "The `query` family"). A live track overlapping a higher-scored live track by IoU > ``track_duplicate_iou``
ends in that frame, is not reported, and its object is free for the next birth.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision.ops import box_iou, nms

from motforge.families.query.boxes import cxcywh_to_xyxy
from motforge.families.query.model import QueryTracker
from motforge.nn.sgla import tracklet_update
from motforge.tracking.association import assign


@dataclass(frozen=True)
class Lifecycle:
    """The ``track`` block of a query model (defaults in the family's schema.yaml)."""

    birth: float
    death: float
    max_missed: int
    report: float
    duplicate_iou: float
    track_duplicate_iou: float


def lifecycle_step(
    track_scores: torch.Tensor, missed: torch.Tensor, det_scores: torch.Tensor, rule: Lifecycle
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Returns (keep [N] bool, reported [N] bool, new missed counts [N], born [M] bool)."""
    alive = track_scores >= rule.death
    missed = torch.where(alive, torch.zeros_like(missed), missed + 1)
    keep = missed <= rule.max_missed
    return keep, keep & (track_scores >= rule.report), missed, det_scores >= rule.birth


def suppress_duplicates(
    born: torch.Tensor, det_boxes: torch.Tensor, det_scores: torch.Tensor, track_boxes: torch.Tensor, iou: float
) -> torch.Tensor:
    """born [M] bool -> born without candidates overlapping a live track box ([N, 4] xyxy) or a higher-scored
    candidate by IoU >= ``iou``; ``det_boxes`` [M, 4] xyxy. ``iou`` >= 1 leaves ``born`` as it is."""
    if iou >= 1.0 or not bool(born.any()):
        return born
    born = born.clone()
    if track_boxes.shape[0]:
        born &= box_iou(det_boxes, track_boxes).max(1).values < iou
    return nms_mask(born, det_boxes, det_scores, iou)


def nms_mask(mask: torch.Tensor, boxes: torch.Tensor, scores: torch.Tensor, iou: float) -> torch.Tensor:
    """mask [K] bool -> the entries of ``mask`` that torchvision's NMS keeps among themselves (it drops a box whose
    IoU with a higher-scored kept box exceeds ``iou``); boxes [K, 4] xyxy, scores [K]."""
    candidates = torch.nonzero(mask).flatten()
    kept = torch.zeros_like(mask)
    kept[candidates[nms(boxes[candidates], scores[candidates], iou)]] = True
    return kept


def collapsed_tracks(live: torch.Tensor, boxes: torch.Tensor, scores: torch.Tensor, iou: float) -> torch.Tensor:
    """live [N] bool, boxes [N, 4] xyxy, scores [N] -> [N] bool: live tracks overlapping a higher-scored live track by
    IoU > ``iou`` (``nms_mask`` over the live tracks, the rule births use); ``iou`` >= 1 marks none."""
    if iou >= 1.0 or int(live.sum()) < 2:
        return torch.zeros_like(live)
    return live & ~nms_mask(live, boxes, scores, iou)


def associate(scores: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """[Nd, Nt] association probabilities -> [Nt] index of each tracklet's object, -1 when none passes."""
    partner = torch.full((scores.shape[1],), -1, dtype=torch.long)
    pairs, _, _ = assign(scores.detach().cpu().numpy(), threshold)  # the shared Hungarian step, pairs >= threshold
    for r, c in pairs:
        partner[c] = r
    return partner


@dataclass(frozen=True)
class QueryScores:
    """One frame's last-layer predictions: scores [M + N], normalised xyxy boxes [M + N, 4] of the M detect queries
    (learned first, then proposals) and the N track queries carried into the frame."""

    scores: torch.Tensor
    boxes: torch.Tensor
    n_detect: int


class OnlineQueryTracker:
    """Per-sequence state lives in the instance; call ``reset()`` between sequences."""

    def __init__(self, model: QueryTracker, rule: Lifecycle) -> None:
        self.model, self.rule = model, rule
        self.reset()

    def reset(self) -> None:
        d = self.model.cfg.d_model
        self.content = torch.zeros(0, d)
        self.ref = torch.zeros(0, 4)
        self.ids = torch.zeros(0, dtype=torch.long)
        self.missed = torch.zeros(0, dtype=torch.long)
        self.next_id = 1
        self.last_frame: QueryScores | None = None

    @torch.no_grad()
    def step(
        self, frame: int, image: torch.Tensor, size: tuple[int, int], proposals: torch.Tensor | None = None
    ) -> list[tuple[int, int, float, float, float, float, float]]:
        """image [3, H, W] as the model was trained on; size (width, height) of the original frame in pixels."""
        model, cfg = self.model, self.model.cfg
        memory = model.encode(image)
        det_content, det_ref = model.detect_queries(proposals)
        m, n = det_content.shape[0], self.ids.shape[0]
        out = model.decode(memory, torch.cat([det_content, self.content]), torch.cat([det_ref, self.ref]))
        last = cfg.dec_layers - 1
        logits, boxes, hidden = out.logits[last], out.boxes[last], out.hidden[last]
        partner = torch.full((n,), -1, dtype=torch.long)
        if model.sgla is not None:
            assoc = model.associate(out, m, m + n)
            logits, boxes, hidden = assoc.logits, assoc.boxes, torch.cat([assoc.obj_hidden, assoc.tck_hidden])
            partner = associate(assoc.assoc.sigmoid())
        elif cfg.sotd:
            # separated detection without SGLA: LA-MOTR Table 4's hand-crafted "IoU" association
            partner = associate(box_iou(cxcywh_to_xyxy(boxes[:m]), cxcywh_to_xyxy(boxes[m : m + n])))
        scores = logits.sigmoid()
        xyxy = cxcywh_to_xyxy(boxes)
        # what the frame's queries predicted before the lifecycle acts (read by ``analysis.query_scores``)
        self.last_frame = QueryScores(scores, xyxy, m)
        keep, seen, missed, born = lifecycle_step(scores[m:], self.missed, scores[:m], self.rule)
        if cfg.sotd:
            taken = torch.zeros(m, dtype=torch.bool)
            taken[partner[partner >= 0]] = True
            born &= ~taken
        live = keep & (scores[m:] >= self.rule.death)
        # a track whose query has collapsed onto a better-scored track's object ends here (track_duplicate_iou)
        collapsed = collapsed_tracks(live, xyxy[m:], scores[m:], self.rule.track_duplicate_iou)
        keep, seen, live = keep & ~collapsed, seen & ~collapsed, live & ~collapsed
        born = suppress_duplicates(born, xyxy[:m], scores[:m], xyxy[m:][live], self.rule.duplicate_iou)
        born_idx = torch.nonzero(born).flatten()
        new_ids = torch.arange(self.next_id, self.next_id + len(born_idx))
        self.next_id += len(born_idx)
        reported = [(int(self.ids[i]), m + int(i)) for i in torch.nonzero(seen).flatten()]
        reported += [(int(tid), int(q)) for tid, q in zip(new_ids, born_idx) if scores[q] >= self.rule.report]
        rows, (w, h) = [], size
        for tid, q in reported:
            cx, cy, bw, bh = boxes[q].tolist()
            rows.append((frame, tid, (cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h, float(scores[q])))
        # a track below the death score keeps its last query and box (MOTRv2's QIM updates only scores > 0.5)
        alive = live[keep][:, None]
        ref = torch.cat([torch.where(alive, boxes[m:][keep], self.ref[keep]), boxes[:m][born_idx]])
        if cfg.tracklet_update:
            kept = tracklet_update(hidden[m:], hidden[:m], partner, cfg.tracklet_w)[keep]
            content = torch.cat([kept, hidden[:m][born_idx]])
        else:
            content = model.next_content(
                torch.cat([self.content[keep], det_content[born_idx]]),
                torch.cat([hidden[m:][keep], hidden[:m][born_idx]]),
                ref,
            )
        n_kept = int(keep.sum())
        content = torch.cat([torch.where(alive, content[:n_kept], self.content[keep]), content[n_kept:]])
        self.content, self.ref = content, ref
        self.ids = torch.cat([self.ids[keep], new_ids])
        self.missed = torch.cat([missed[keep], torch.zeros(len(born_idx), dtype=torch.long)])
        return rows
