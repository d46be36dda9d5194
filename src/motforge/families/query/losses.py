"""Losses of the query family.

* ``set_loss``: the per-frame DETR loss MOTR and MOTRv3 use (MOTRv3 sec. 3.1): lambda_cls * focal classification over
  every query (sigmoid focal loss, torchvision ``sigmoid_focal_loss``) + lambda_l1 * L1 + lambda_giou * (1 - GIoU)
  (torchvision ``generalized_box_iou``) over the matched queries; optional per-query weights.
* ``pld_weights`` / ``pld_loss``: MOTRv3 sec. 3.3, eq. 3: detector boxes with confidence >= 0.05 are pseudo labels
  matched one-to-one to all queries; a matched query's loss is weighted by the label's confidence c_e, an unmatched
  query's background loss by 0.5.
* ``clip_normalise``: MOTR's collective average loss (the clip's summed loss over the clip's total number of objects)
  or MOTRv3's eq. 5 (each frame's summed loss over that frame's number of objects O_i, summed over frames).
* ``association_loss``: LA-MOTR sec. 3.3: binary cross-entropy between the association scores and the 0/1 matrix of
  object-tracklet pairs that hold the same identity, weighted by lambda_asso (10). The BCE is the mean over the
  Nd x Nt pairs, and ``clip_loss`` averages the frames' terms (frames 2..T), where LA-MOTR's eq. 1 sums them: the
  detection terms beside it are normalised per object over the clip (MOTR's collective average), so a per-frame
  mean keeps lambda_asso the weight of one frame's association against one object's detection loss, whatever the
  clip length (a choice; the authors' code could not be read here).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.ops import generalized_box_iou, sigmoid_focal_loss

from motforge.families.query.boxes import cxcywh_to_xyxy
from motforge.families.query.config import QueryModelConfig
from motforge.families.query.matching import hungarian


def set_loss(
    logits: torch.Tensor,
    boxes: torch.Tensor,
    target: torch.Tensor,
    gt_boxes: torch.Tensor,
    cfg: QueryModelConfig,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Unnormalised loss of Q queries: logits [Q], boxes [Q, 4], target [Q] (ground-truth index or -1)."""
    if weights is None:
        weights = torch.ones_like(logits)
    labels = (target >= 0).to(logits.dtype)
    focal = sigmoid_focal_loss(logits, labels, alpha=cfg.focal_alpha, gamma=cfg.focal_gamma, reduction="none")
    loss = cfg.loss_cls * (weights * focal).sum()
    matched = target >= 0
    if matched.any():
        pred, gt, w = boxes[matched], gt_boxes[target[matched]], weights[matched]
        l1 = (pred - gt).abs().sum(-1)
        giou = torch.diag(generalized_box_iou(cxcywh_to_xyxy(pred), cxcywh_to_xyxy(gt)))
        loss = loss + cfg.loss_l1 * (w * l1).sum() + cfg.loss_giou * (w * (1 - giou)).sum()
    return loss


def pld_weights(target: torch.Tensor, confidences: torch.Tensor, background: float) -> torch.Tensor:
    """Eq. 3's omega_j: the matched pseudo label's confidence c_e, ``background`` (0.5) for unmatched queries."""
    matched = target >= 0
    w = torch.full(target.shape, background, dtype=confidences.dtype, device=confidences.device)
    w[matched] = confidences[target[matched]]
    return w


def pld_loss(
    logits: torch.Tensor, boxes: torch.Tensor, det_boxes: torch.Tensor, det_scores: torch.Tensor, cfg: QueryModelConfig
) -> torch.Tensor:
    """Eq. 3 for one decoder layer: all queries vs the detector boxes with confidence >= ``pld_min_conf``."""
    keep = det_scores >= cfg.pld_min_conf
    pseudo, conf = det_boxes[keep], det_scores[keep]
    target = hungarian(logits, boxes, pseudo, cfg)
    return set_loss(logits, boxes, target, pseudo, cfg, pld_weights(target, conf, cfg.pld_background_weight))


def clip_normalise(frame_losses: list[torch.Tensor], frame_objects: list[int], per_frame: bool) -> torch.Tensor:
    """MOTR's collective average (sum of losses / sum of objects) or MOTRv3 eq. 5 (sum of loss_i / O_i).
    A frame without objects counts as one object so its background loss still counts."""
    if not frame_losses:
        raise ValueError("a clip needs at least one frame")
    if per_frame:
        return sum(loss / max(n, 1) for loss, n in zip(frame_losses, frame_objects))
    return sum(frame_losses) / max(sum(frame_objects), 1)


def association_targets(object_target: torch.Tensor, track_target: torch.Tensor) -> torch.Tensor:
    """[Nd] and [Nt] ground-truth indices (-1: none) -> [Nd, Nt] 1 where an object and a tracklet hold the same one."""
    same = object_target[:, None] == track_target[None, :]
    return (same & (object_target[:, None] >= 0)).float()


def association_loss(
    logits: torch.Tensor, object_target: torch.Tensor, track_target: torch.Tensor, cfg: QueryModelConfig
) -> torch.Tensor:
    """lambda_asso * mean binary cross-entropy over the Nd x Nt association matrix."""
    if logits.numel() == 0:
        return logits.sum()
    target = association_targets(object_target, track_target)
    return cfg.loss_asso * F.binary_cross_entropy_with_logits(logits, target)
