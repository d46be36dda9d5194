"""Training targets for the dense head and the RoI samples of the embedding losses."""

from __future__ import annotations

import torch
from torchvision.ops import box_iou

CENTRE_RADIUS = 1.5  # positives: locations within 1.5 strides of a box centre (and inside the box)


def assign_locations(grid: torch.Tensor, boxes: torch.Tensor, stride: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre sampling: each location inside a box's centre region is positive for the smallest such box.
    grid [H, W, 2] (x, y) -> (index of the assigned box or -1 [H, W], target boxes [H, W, 4])."""
    h, w, _ = grid.shape
    assigned = torch.full((h, w), -1, dtype=torch.long, device=grid.device)
    targets = torch.zeros(h, w, 4, device=grid.device)
    if boxes.numel() == 0:
        return assigned, targets
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    radius = CENTRE_RADIUS * stride
    g = grid[:, :, None, :]
    inside_centre = ((g - centres[None, None]).abs() <= radius).all(dim=-1)
    inside_box = (
        (g[..., 0] >= boxes[:, 0])
        & (g[..., 0] <= boxes[:, 2])
        & (g[..., 1] >= boxes[:, 1])
        & (g[..., 1] <= boxes[:, 3])
    )
    valid = inside_centre & inside_box
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None, None].expand(h, w, -1)
    area = torch.where(valid, area, torch.full_like(area, float("inf")))
    best_area, best = area.min(dim=-1)
    has = torch.isfinite(best_area)
    assigned[has] = best[has]
    targets[has] = boxes[best[has]]
    return assigned, targets


def jitter_boxes(
    boxes: torch.Tensor, copies: int, generator: torch.Generator, shift: float = 0.15, scale: float = 0.2
) -> torch.Tensor:
    """Quasi-dense RoIs around objects: ``copies`` random shifts and rescalings of each box (plus the box itself)."""
    if boxes.numel() == 0 or copies == 0:
        return boxes
    wh = boxes[:, 2:] - boxes[:, :2]
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    noise = torch.rand(copies, boxes.shape[0], 4, generator=generator, device="cpu").to(boxes.device) * 2 - 1
    new_centre = centre[None] + noise[..., :2] * shift * wh[None]
    new_wh = wh[None] * (1 + noise[..., 2:] * scale)
    jittered = torch.cat([new_centre - new_wh / 2, new_centre + new_wh / 2], dim=-1).reshape(-1, 4)
    return torch.cat([boxes, jittered], dim=0)


def label_rois(
    rois: torch.Tensor, boxes: torch.Tensor, ids: torch.Tensor, pos_iou: float = 0.7, neg_iou: float = 0.3
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(id or -1 for negatives or -2 for ignored, best IoU, index of the best box) per RoI (QDTrack's 0.7 / 0.3)."""
    if boxes.numel() == 0:
        return (
            torch.full((rois.shape[0],), -1, dtype=torch.long),
            torch.zeros(rois.shape[0]),
            torch.full((rois.shape[0],), -1, dtype=torch.long),
        )
    iou = box_iou(rois, boxes)
    best_iou, best = iou.max(dim=1)
    labels = torch.where(best_iou > pos_iou, ids[best], torch.full_like(ids[best], -1))
    labels = torch.where((best_iou >= neg_iou) & (best_iou <= pos_iou), torch.full_like(labels, -2), labels)
    return labels, best_iou, best
