"""Label assignment for track-query training.

* ``hungarian``: DETR one-to-one matching with Deformable DETR's focal classification cost plus L1 and GIoU box costs
  (weights lambda_cls, lambda_l1, lambda_giou), solved by scipy's ``linear_sum_assignment``.
* ``tracklet_aware``: MOTR's tracklet-aware label assignment (MOTR sec. 3.3; MOTRv3 eq. 1-2): a track query keeps the
  ground truth of its identity (background when the identity is absent from the frame); only the free ground truths
  (identities no track query holds) are matched by Hungarian matching to the free slots: the detect queries and,
  as in MOTRv2's motr.py (step 2 of ``match_for_single_frame``), track queries without identity (id -1); inserted
  false-positive track queries (id -2) are never matched.
* ``release_fetch``: MOTRv3 sec. 3.2 (RFS): one-to-one matching between all labels and all queries, detect and track.
* ``layer_targets``: which rule each decoder layer uses: RFS in decoders 1..L-1 when the switch is on, the
  tracklet-aware rule in the last decoder (and in every decoder without RFS); LA-MOTR's separated detection
  (sec. 3.3, steps 1-2) matches detect ("object") queries to all ground truths instead of the free ones.

A target vector holds, for every query, the index of its ground-truth box or -1 (background).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torchvision.ops import generalized_box_iou

from motforge.families.query.boxes import cxcywh_to_xyxy
from motforge.families.query.config import QueryModelConfig


def match_cost(
    logits: torch.Tensor, boxes: torch.Tensor, gt_boxes: torch.Tensor, cfg: QueryModelConfig
) -> torch.Tensor:
    """[Q] logits, [Q, 4] and [G, 4] (cx, cy, w, h) -> [Q, G] matching cost (Deformable DETR's HungarianMatcher)."""
    p = logits.sigmoid()[:, None]
    a, g = cfg.focal_alpha, cfg.focal_gamma
    neg = (1 - a) * p**g * -(1 - p + 1e-8).log()
    pos = a * (1 - p) ** g * -(p + 1e-8).log()
    cost_cls = (pos - neg).expand(-1, gt_boxes.shape[0])
    cost_l1 = torch.cdist(boxes, gt_boxes, p=1)
    cost_giou = -generalized_box_iou(cxcywh_to_xyxy(boxes), cxcywh_to_xyxy(gt_boxes))
    return cfg.loss_cls * cost_cls + cfg.loss_l1 * cost_l1 + cfg.loss_giou * cost_giou


def hungarian(logits: torch.Tensor, boxes: torch.Tensor, gt_boxes: torch.Tensor, cfg: QueryModelConfig) -> torch.Tensor:
    """Target vector [Q]: the ground-truth index matched to each query, -1 for the unmatched."""
    target = torch.full((logits.shape[0],), -1, dtype=torch.long, device=logits.device)
    if logits.shape[0] == 0 or gt_boxes.shape[0] == 0:
        return target
    cost = match_cost(logits.detach(), boxes.detach(), gt_boxes, cfg).cpu().numpy()
    rows, cols = linear_sum_assignment(cost)
    target[torch.as_tensor(rows, device=logits.device)] = torch.as_tensor(cols, device=logits.device)
    return target


def identity_targets(keys: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
    """[N] keys, [G] pool -> [N] index of the first pool entry equal to each key; -1 when none is, or when the key is
    negative (no identity). Track identities against ground-truth identities give a track query's ground truth;
    tracklet targets against object targets give eq. 2's training partner (the object on the same ground truth)."""
    if keys.numel() == 0 or pool.numel() == 0:
        return torch.full_like(keys, -1)
    same = (keys[:, None] == pool[None, :]) & (keys[:, None] >= 0)
    return torch.where(same.any(1), same.float().argmax(1), torch.full_like(keys, -1))


def tracklet_aware(
    logits: torch.Tensor,
    boxes: torch.Tensor,
    n_detect: int,
    track_ids: torch.Tensor,
    gt_boxes: torch.Tensor,
    gt_ids: torch.Tensor,
    cfg: QueryModelConfig,
    detect_all: bool = False,
) -> torch.Tensor:
    """MOTR's rule over [detect queries | track queries]. ``detect_all`` (LA-MOTR sec. 3.1/3.3) matches the detect
    queries to every ground truth rather than only the free ones."""
    track_target = identity_targets(track_ids, gt_ids)
    held = torch.zeros(gt_ids.shape[0], dtype=torch.bool, device=gt_ids.device)
    held[track_target[track_target >= 0]] = True
    candidates = torch.arange(gt_ids.shape[0], device=gt_ids.device)
    if not detect_all:
        candidates = candidates[~held]
    # free slots: the detect queries, plus track queries without identity (id -1, carried by MOTR's lifecycle);
    # inserted false positives (id -2) are never matched
    slots = torch.cat(
        [torch.arange(n_detect, device=logits.device), n_detect + torch.nonzero(track_ids == -1).flatten()]
    )
    matched = hungarian(logits[slots], boxes[slots], gt_boxes[candidates], cfg)
    if candidates.numel():
        matched = torch.where(matched >= 0, candidates[matched.clamp(min=0)], matched)
    target = torch.cat([torch.full((n_detect,), -1, dtype=torch.long, device=logits.device), track_target])
    target[slots] = matched
    return target


def release_fetch(
    logits: torch.Tensor, boxes: torch.Tensor, gt_boxes: torch.Tensor, cfg: QueryModelConfig
) -> torch.Tensor:
    """MOTRv3 RFS: one-to-one matching between all labels and all queries (detect and track alike)."""
    return hungarian(logits, boxes, gt_boxes, cfg)


def layer_targets(
    logits: torch.Tensor,
    boxes: torch.Tensor,
    n_detect: int,
    track_ids: torch.Tensor,
    gt_boxes: torch.Tensor,
    gt_ids: torch.Tensor,
    cfg: QueryModelConfig,
) -> list[torch.Tensor]:
    """Targets per decoder layer for the original queries. logits [L, Q], boxes [L, Q, 4]."""
    n_layers = logits.shape[0]
    out = []
    for layer in range(n_layers):
        if cfg.rfs and layer < n_layers - 1:
            out.append(release_fetch(logits[layer], boxes[layer], gt_boxes, cfg))
        else:
            out.append(
                tracklet_aware(
                    logits[layer], boxes[layer], n_detect, track_ids, gt_boxes, gt_ids, cfg, detect_all=cfg.sotd
                )
            )
    return out


def as_numpy(target: torch.Tensor) -> np.ndarray:
    return target.detach().cpu().numpy()
