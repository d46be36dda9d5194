"""The losses of the five papers, each written from its equation (the tests recompute them by hand).

- detection: sigmoid focal loss (alpha 0.25, gamma 2), L1 and GIoU; FDTA/MOTRv3 weights 2 / 5 / 2
- MOTRv3 pseudo-label distillation (section 3.3, eqs. 3 and 5): detector boxes as extra targets, matched terms
  weighted by the detector's confidence, background terms by 0.5; each frame's loss divided by its number of
  objects O_i and summed over the clip's frames
- FDTA depth loss (eq. 1): per-pixel focal loss on LID bin targets, pixels inside GT boxes weighted by w, averaged
  over the pixels
- QDTrack (eqs. 5, 6): multi-positive embedding loss log[1 + sum_k+ sum_k- exp(v.k- - v.k+)] and the L2 auxiliary
  loss (cos(v, k) - c)^2 over the positive pairs and three times as many (hardest) negative pairs; RoIs in the
  0.3-0.7 IoU band are in neither
- FDTA Identity Adapter (eqs. 5-8): InfoNCE (tau 0.1) over all pairs of the clip, positives only across frames, each
  positive contrasted with the anchor's negatives only, samples with IoU < 0.5 filtered out, each positive pair
  weighted by the harmonic mean of its two IoUs
- DepTR-MOT instance depth: MSE on the value, KL divergence on the soft histogram
- LA-MOTR association: binary cross-entropy on the association matrix
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.ops import generalized_box_iou_loss, sigmoid_focal_loss

FOCAL_ALPHA = 0.25
FOCAL_GAMMA = 2.0


def detection_losses(
    logits: torch.Tensor,
    boxes: torch.Tensor,
    target_cls: torch.Tensor,
    target_boxes: torch.Tensor,
    weights: torch.Tensor | None = None,
    box_weights: torch.Tensor | None = None,
    normaliser: float | None = None,
) -> dict[str, torch.Tensor]:
    """Focal on every location, L1 and GIoU on positive locations, each sum divided by ``normaliser`` (default: the
    positive count; MOTRv3 eq. 5 passes the frame's object count). Shapes: logits [N], boxes [N, 4] xyxy,
    target_cls [N] in {0, 1}, target_boxes [N, 4]; optional per-location weights (PLD)."""
    focal = sigmoid_focal_loss(logits, target_cls.float(), alpha=FOCAL_ALPHA, gamma=FOCAL_GAMMA, reduction="none")
    if weights is not None:
        focal = focal * weights
    positive = target_cls > 0
    num_pos = max(1.0, float(positive.sum())) if normaliser is None else max(1.0, float(normaliser))
    out = {"cls": focal.sum() / num_pos}
    if positive.any():
        pw = box_weights[positive] if box_weights is not None else torch.ones(int(positive.sum()), device=logits.device)
        scale = target_boxes[positive].new_tensor([1.0]) / 100.0  # L1 in units of 100 px keeps the terms comparable
        out["l1"] = ((boxes[positive] - target_boxes[positive]).abs().sum(dim=1) * scale * pw).sum() / num_pos
        out["giou"] = (
            generalized_box_iou_loss(boxes[positive], target_boxes[positive], reduction="none") * pw
        ).sum() / num_pos
    else:
        out["l1"] = boxes.sum() * 0.0
        out["giou"] = boxes.sum() * 0.0
    return out


def pld_weights(target_cls: torch.Tensor, confidence: torch.Tensor, background_weight: float = 0.5) -> torch.Tensor:
    """MOTRv3 eq. 3: a location matched to a pseudo box is weighted by that box's detector confidence, an unmatched
    one (background) by 0.5."""
    return torch.where(target_cls > 0, confidence, torch.full_like(confidence, background_weight))


def depth_focal_loss(logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """FDTA eq. 1: softmax focal loss over the K+1 bins per pixel, weighted (w inside GT boxes, 1 outside), summed and
    divided by N_total, the number of pixels (not by the sum of the weights, which would undo w).
    logits [B, K+1, H, W], target [B, H, W] long, weights [B, H, W]."""
    log_p = F.log_softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
    p = log_p.exp()
    loss = -FOCAL_ALPHA * (1.0 - p) ** FOCAL_GAMMA * log_p
    return (loss * weights).sum() / max(1, loss.numel())


def quasi_dense_loss(
    key: torch.Tensor, ref: torch.Tensor, key_ids: torch.Tensor, ref_ids: torch.Tensor, neg_pos_ub: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    """QDTrack eqs. 5 and 6 for key samples [V, D] against reference samples [K, D]. ids: >= 0 an object, -1
    background (a negative to every key), -2 ignored (IoU between 0.3 and 0.7: in neither loss, sec. 3.1).
    embed: eq. 5 averaged over the key samples with a positive. aux: eq. 6 over every positive pair of the object
    keys (upstream's key side holds positives only) and the neg_pos_ub times as many hardest negative pairs
    ("all positive pairs and three times more negative pairs"; QDTrack's L2Loss: neg_pos_ub 3, hard_mining)."""
    key, key_ids = key[key_ids != -2], key_ids[key_ids != -2]
    ref, ref_ids = ref[ref_ids != -2], ref_ids[ref_ids != -2]
    sim = key @ ref.t()
    positive = (key_ids[:, None] == ref_ids[None, :]) & (key_ids[:, None] >= 0)
    negative = ~positive
    has_pos = positive.any(dim=1)
    if not has_pos.any():
        zero = key.sum() * 0.0 + ref.sum() * 0.0
        return zero, zero
    # log(1 + sum_{k+} sum_{k-} exp(s- - s+)) = log(1 + sum_{k+} exp(-s+) * sum_{k-} exp(s-)), in log-space
    neg_term = torch.logsumexp(sim.masked_fill(~negative, float("-inf")), dim=1)
    pos_term = torch.logsumexp((-sim).masked_fill(~positive, float("-inf")), dim=1)
    embed = F.softplus(neg_term + pos_term)[has_pos].mean()
    objects = key_ids >= 0
    cosine = F.normalize(key[objects], dim=1) @ F.normalize(ref, dim=1).t()
    pos_cost = (cosine[positive[objects]] - 1.0) ** 2
    neg_cost = cosine[negative[objects]] ** 2
    if neg_pos_ub >= 0:
        neg_cost = neg_cost.topk(min(neg_cost.numel(), neg_pos_ub * pos_cost.numel())).values
    aux = torch.cat([pos_cost, neg_cost]).mean()
    return embed, aux


def identity_adapter_loss(
    features: torch.Tensor,
    ids: torch.Tensor,
    frames: torch.Tensor,
    ious: torch.Tensor,
    tau: float = 0.1,
    iou_filter: float = 0.5,
) -> torch.Tensor:
    """FDTA eqs. 5-8. features [N, D] are phi(e), L2-normalised. Eq. 8's denominator for an anchor and one positive
    is E = that positive plus the anchor's negatives (different identity, eq. 5's N): the anchor's other positives and
    its same-identity samples of its own frame are in neither set (as upstream FDTA's InstanceLevelContrastiveLoss
    masks every same-label column but the positive's)."""
    keep = (ious >= iou_filter) & (ids >= 0)
    features, ids, frames, ious = features[keep], ids[keep], frames[keep], ious[keep]
    if features.shape[0] < 2:
        return features.sum() * 0.0
    logits = features @ features.t() / tau
    negative = ids[:, None] != ids[None, :]
    positive = (ids[:, None] == ids[None, :]) & (frames[:, None] != frames[None, :])
    if not positive.any():
        return features.sum() * 0.0
    neg_term = torch.logsumexp(logits.masked_fill(~negative, float("-inf")), dim=1, keepdim=True)
    log_prob = -F.softplus(neg_term - logits)  # log exp(s_ij) / (exp(s_ij) + sum_neg exp(s_ik)), no cancellation
    weights = 2 * ious[:, None] * ious[None, :] / (ious[:, None] + ious[None, :])
    return -(weights * log_prob)[positive].sum() / positive.sum()


def instance_depth_loss(
    value: torch.Tensor, hist_logits: torch.Tensor, target_value: torch.Tensor, target_hist: torch.Tensor
) -> torch.Tensor:
    """DepTR-MOT: MSE on the instance depth and KL(target || predicted) on the soft histogram."""
    if value.numel() == 0:
        return value.sum() * 0.0
    mse = F.mse_loss(value, target_value)
    kl = F.kl_div(F.log_softmax(hist_logits, dim=1), target_hist, reduction="batchmean")
    return mse + kl


def association_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """LA-MOTR: binary cross-entropy on the association matrix (1 where detection and tracklet share an id)."""
    if logits.numel() == 0:
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits, target.float())
