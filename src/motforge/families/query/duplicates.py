"""Training side of duplicate suppression (``components.ignore_duplicates``; a motforge addition, not in MOTR).

MOTR supervises a detect query on an object that a track query already holds as background: the model is meant to
learn, through decoder self-attention, that the object is taken. With MOTRv2 proposals this pulls one proposal in
two directions: the same dancer's proposal is a positive on the frame the dancer appears and a negative on every
later frame, and a small model trained for minutes learns neither (README, "Why the scores do not separate").
Inference already refuses such a birth (``track.duplicate_iou``), so training can leave these queries out of the
classification term: an unmatched detect query whose predicted box overlaps a held ground truth by IoU >= ``iou``
gets classification weight 0. Matched queries, queries on free objects and queries on nothing are unchanged.
"""

from __future__ import annotations

import torch
from torchvision.ops import box_iou

from motforge.families.query.boxes import cxcywh_to_xyxy


def duplicate_weights(
    boxes: torch.Tensor, target: torch.Tensor, n_detect: int, held_boxes: torch.Tensor, iou: float
) -> torch.Tensor:
    """boxes [Q, 4] (cx, cy, w, h) of [detect | track] queries, target [Q] (-1: background), held_boxes [H, 4] the
    ground truths track queries hold -> per-query classification weights [Q]: 0 for an unmatched detect query
    overlapping a held box by IoU >= ``iou``, 1 otherwise."""
    weights = torch.ones(boxes.shape[0], dtype=boxes.dtype, device=boxes.device)
    if n_detect == 0 or held_boxes.shape[0] == 0:
        return weights
    overlap = box_iou(cxcywh_to_xyxy(boxes[:n_detect].detach()), cxcywh_to_xyxy(held_boxes)).max(1).values
    weights[:n_detect][(target[:n_detect] < 0) & (overlap >= iou)] = 0.0
    return weights
