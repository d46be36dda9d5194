"""MOTR's training-time track query augmentation (MOTR sec. 3.4, "tracked query drop and false-positive insertion";
upstream megvii-research/MOTRv2 models/qim.py ``_random_drop_tracks`` / ``_add_fp_tracks``, learned from).

Each active track query is dropped with probability ``p_drop`` (the model learns to re-detect objects whose track
query vanished); each surviving one, with probability ``p_insert``, brings along the unmatched detect query whose box
overlaps it most, as a false-positive track query with no identity (trained as background, the model learns to end
tracks). Off (0, 0) by default; MOTRv2's DanceTrack setting is 0.1 / 0.3.
"""

from __future__ import annotations

import torch
from torchvision.ops import box_iou

from motforge.families.query.boxes import cxcywh_to_xyxy


def drop_and_insert(
    active_boxes: torch.Tensor,
    free_boxes: torch.Tensor,
    p_drop: float,
    p_insert: float,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """[A, 4] active and [F, 4] free (cx, cy, w, h) boxes -> (keep [A] bool, indices into ``free_boxes`` of the
    inserted false positives, unique and in order)."""
    a = active_boxes.shape[0]
    keep = torch.rand(a, generator=generator) >= p_drop
    chosen = keep & (torch.rand(a, generator=generator) < p_insert)
    if not chosen.any() or free_boxes.shape[0] == 0:
        return keep, torch.zeros(0, dtype=torch.long)
    iou = box_iou(cxcywh_to_xyxy(active_boxes[chosen].detach().cpu()), cxcywh_to_xyxy(free_boxes.detach().cpu()))
    return keep, torch.unique(iou.argmax(dim=1))
