"""QDTrack's online matching (Pang et al. 2021, sec. 3.2), the ``track.association: qdtrack`` mode of ``dense``.

The paper leaves the details to its code; these follow the authors' tracker (SysCV/qdtrack,
``quasi_dense_embed_tracker.py``; the same logic as mmtracking's ``QuasiDenseTracker``):
- duplicate removal before matching: detections in descending score order; one is dropped when its IoU with any
  higher-scored detection (dropped ones included) exceeds 0.7 (``nms_class_iou``), or 0.3 (``nms_backdrop_iou``) when
  its own score is below ``obj_score``;
- the memo holds the live tracks and the previous frame's backdrops (unmatched detections that did not start a track,
  not overlapping a higher-scored one by more than ``nms_backdrop_iou``); the softmax over the memo includes the
  backdrops, the softmax over detections is the current frame's;
- greedy matching in score order: a detection takes its best memo entry when the similarity exceeds ``match_score``
  and the entry is a track; a detection with score <= ``obj_score`` that matches a track that well is suppressed
  (id -2: not reported, not a backdrop); the matched track's column is then closed to every other detection;
- births: unmatched detections (id -1) scoring above ``init_score``;
- memo update: embedding <- (1 - m) old + m new with m = 0.8 (the new one weighs 0.8); a track is dropped when it has
  not been matched for ``memo_frames`` frames; reported boxes are the current detections (no motion model).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision.ops import box_iou

UNMATCHED = -1
SUPPRESSED = -2


@dataclass(frozen=True)
class QDTrackThresholds:
    """QDTrack's tracker thresholds (the paper: births above 0.8, the others 0.5; its code's NMS 0.7 / 0.3)."""

    init_score: float
    obj_score: float
    match_score: float
    nms_conf: float
    nms_backdrop_iou: float
    nms_class_iou: float


def remove_duplicates(boxes: torch.Tensor, scores: torch.Tensor, t: QDTrackThresholds) -> torch.Tensor:
    """Indices of the detections kept, in descending score order."""
    order = scores.argsort(descending=True)
    boxes, scores = boxes[order], scores[order]
    if len(boxes) == 0:
        return order
    iou = box_iou(boxes, boxes)
    keep = torch.ones(len(boxes), dtype=torch.bool)
    for i in range(1, len(boxes)):
        limit = t.nms_backdrop_iou if scores[i] < t.obj_score else t.nms_class_iou
        if iou[i, :i].max() > limit:
            keep[i] = False
    return order[keep]


def greedy_match(
    similarity: torch.Tensor, memo_ids: torch.Tensor, scores: torch.Tensor, t: QDTrackThresholds
) -> torch.Tensor:
    """similarity [Nd, M] (detections in descending score order), memo_ids [M] (a track id, or -1 for a backdrop)
    -> ids [Nd]: a track id, -1 (unmatched) or -2 (a low-score duplicate of a tracked object)."""
    similarity = similarity.clone()
    ids = torch.full((similarity.shape[0],), UNMATCHED, dtype=torch.long)
    if similarity.numel() == 0:
        return ids
    for i in range(similarity.shape[0]):
        conf, j = similarity[i].max(dim=0)
        ident = int(memo_ids[j])
        if conf > t.match_score and ident > UNMATCHED:
            if scores[i] > t.obj_score:
                ids[i] = ident
                similarity[:i, j] = 0
                similarity[i + 1 :, j] = 0
            elif conf > t.nms_conf:
                ids[i] = SUPPRESSED
    return ids


def new_backdrops(boxes: torch.Tensor, ids: torch.Tensor, t: QDTrackThresholds) -> torch.Tensor:
    """Indices (into score-ordered detections) that become the next frame's backdrops: still unmatched after births
    and not overlapping a higher-scored detection by more than ``nms_backdrop_iou``."""
    if len(boxes) == 0:
        return torch.zeros(0, dtype=torch.long)
    iou = box_iou(boxes, boxes).triu(diagonal=1)  # [higher, lower]: row i < column j
    overlaps_higher = (iou > t.nms_backdrop_iou).any(dim=0)
    return torch.nonzero((ids == UNMATCHED) & ~overlaps_higher).flatten()
