"""Training targets for the dense head and the RoI samples of the embedding losses."""

from __future__ import annotations

import torch
from torchvision.ops import box_iou

CENTRE_RADIUS = 1.5  # positives: locations within 1.5 strides of a box centre (and inside the box)
POS_IOU, NEG_IOU = 0.7, 0.3  # QDTrack sec. 3.1: alpha_1, alpha_2
# QDTrack's track RoI sampler (configs/bdd100k/qdtrack-frcnn_r50_fpn_12e_bdd100k.py): CombinedSampler with num 256,
# pos_fraction 0.5, neg_pos_ub 3, InstanceBalancedPosSampler and IoUBalancedNegSampler (num_bins 3, no floor)
SAMPLE_NUM, POS_FRACTION, NEG_POS_UB, NEG_IOU_BINS = 256, 0.5, 3, 3


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


def background_boxes(
    boxes: torch.Tensor, count: int, size: tuple[int, int], generator: torch.Generator, neg_iou: float = NEG_IOU
) -> torch.Tensor:
    """QDTrack's background RoIs (sec. 3.1: negative below IoU 0.3 with every object), up to ``count``: half wide
    jitters of the objects (hard negatives beside them), half object-sized boxes anywhere in the ``size`` (w, h)
    image; candidates reaching ``neg_iou`` with any box are dropped. Stand-ins for the RPN proposals QDTrack samples."""
    if count <= 0:
        return boxes.new_zeros(0, 4)
    image = boxes.new_tensor([float(size[0]), float(size[1])])
    noise = (torch.rand(2, count, 4, generator=generator) * 2 - 1).to(boxes.device)
    anywhere = (noise[1, :, :2] + 1) / 2 * image
    if boxes.numel():
        wh = boxes[:, 2:] - boxes[:, :2]
        pick = torch.randint(boxes.shape[0], (2, count), generator=generator).to(boxes.device)
        near = (boxes[pick[0], :2] + boxes[pick[0], 2:]) / 2 + noise[0, :, :2] * wh[pick[0]]  # up to a box size away
        base = torch.cat([wh[pick[0]], wh[pick[1]]])
    else:  # no object: every candidate anywhere, an eighth of the image in size
        near = (noise[0, :, :2] + 1) / 2 * image
        base = (image / 8).expand(2 * count, 2)
    centres = torch.cat([near, anywhere])
    sizes = base * (1 + 0.5 * torch.cat([noise[0, :, 2:], noise[1, :, 2:]]))
    candidates = torch.cat([centres - sizes / 2, centres + sizes / 2], dim=1)
    if boxes.numel():
        candidates = candidates[box_iou(candidates, boxes).max(dim=1).values < neg_iou]
    order = torch.randperm(candidates.shape[0], generator=generator).to(boxes.device)
    return candidates[order[:count]]


def label_rois(
    rois: torch.Tensor, boxes: torch.Tensor, ids: torch.Tensor, pos_iou: float = POS_IOU, neg_iou: float = NEG_IOU
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(id or -1 for negatives or -2 for ignored, best IoU, index of the best box) per RoI (QDTrack's 0.7 / 0.3).
    Ignored RoIs (the IoU band between the two) take no part in the embedding losses (``sample_rois``)."""
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


def _choice(indices: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` of ``indices`` at random (all of them when there are no more)."""
    if indices.numel() <= count:
        return indices
    return indices[torch.randperm(indices.numel(), generator=generator)[:count]]


def sample_rois(
    labels: torch.Tensor,
    ious: torch.Tensor,
    gt_index: torch.Tensor,
    generator: torch.Generator,
    num: int = SAMPLE_NUM,
    pos_fraction: float = POS_FRACTION,
    neg_pos_ub: int = NEG_POS_UB,
    num_bins: int = NEG_IOU_BINS,
    neg_iou: float = NEG_IOU,
) -> torch.Tensor:
    """Sorted indices of the RoIs the embedding losses use, as QDTrack's sampler picks them (mmdet's CombinedSampler):
    at most num * pos_fraction positives, balanced over the objects (``round(n / objects) + 1`` per object, then
    trimmed or topped up at random); negatives up to num minus the positives and at most neg_pos_ub per positive,
    IoU-balanced (Libra R-CNN, QDTrack's ref. [36]): [0, neg_iou) split into ``num_bins`` equal bins, an equal share
    from each, the rest at random. Ignored RoIs (label -2) are never sampled."""
    labels, ious, gt_index = labels.cpu(), ious.cpu(), gt_index.cpu()
    pos = (labels >= 0).nonzero().flatten()
    neg = (labels == -1).nonzero().flatten()
    num_pos = int(num * pos_fraction)
    if pos.numel() > num_pos:
        objects = gt_index[pos].unique()
        per_object = int(round(num_pos / objects.numel())) + 1
        chosen = torch.cat([_choice(pos[gt_index[pos] == o], per_object, generator) for o in objects])
        if chosen.numel() > num_pos:
            chosen = _choice(chosen, num_pos, generator)
        else:
            rest = pos[~torch.isin(pos, chosen)]
            chosen = torch.cat([chosen, _choice(rest, num_pos - chosen.numel(), generator)])
        pos = chosen
    num_neg = min(num - pos.numel(), neg_pos_ub * max(1, pos.numel())) if neg_pos_ub >= 0 else num - pos.numel()
    if neg.numel() > num_neg:
        per_bin = num_neg // num_bins
        edges = torch.linspace(0.0, neg_iou, num_bins + 1)
        bins = torch.bucketize(ious[neg], edges[1:-1], right=True)  # bin b holds edges[b] <= IoU < edges[b + 1]
        chosen = torch.cat([_choice(neg[bins == b], per_bin, generator) for b in range(num_bins)])
        rest = neg[~torch.isin(neg, chosen)]
        neg = torch.cat([chosen, _choice(rest, num_neg - chosen.numel(), generator)])
    return torch.cat([pos, neg]).sort().values
