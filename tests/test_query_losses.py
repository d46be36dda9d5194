"""Set loss, MOTRv3 pseudo-label distillation (eq. 3) and clip normalisation (MOTR / eq. 5), LA-MOTR's BCE targets."""

from __future__ import annotations

import math

import pytest
import torch

from motforge.families.query.config import defaults as query_defaults
from motforge.families.query.losses import association_targets, clip_normalise, pld_loss, pld_weights, set_loss


def focal(x: float, positive: bool, alpha: float = 0.25, gamma: float = 2.0) -> float:
    p = 1 / (1 + math.exp(-x))
    return -alpha * (1 - p) ** gamma * math.log(p) if positive else -(1 - alpha) * p**gamma * math.log(1 - p)


def test_set_loss_by_hand() -> None:
    cfg = query_defaults()
    logits = torch.tensor([0.5, -1.0])
    boxes = torch.tensor([[0.5, 0.5, 0.2, 0.2], [0.1, 0.1, 0.1, 0.1]])
    gt = torch.tensor([[0.5, 0.5, 0.4, 0.4]])
    # query 0 matched: L1 = 0.2 + 0.2 = 0.4; IoU = 0.04 / 0.16 = 0.25 and the gt box encloses both, so GIoU = 0.25
    expected = 2 * (focal(0.5, True) + focal(-1.0, False)) + 5 * 0.4 + 2 * (1 - 0.25)
    assert set_loss(logits, boxes, torch.tensor([0, -1]), gt, cfg).item() == pytest.approx(expected, rel=1e-5)


def test_pld_weights_filter_and_loss_by_hand() -> None:
    cfg = query_defaults()
    weights = pld_weights(torch.tensor([1, -1, 0]), torch.tensor([0.9, 0.3]), 0.5)
    assert weights.tolist() == pytest.approx([0.3, 0.5, 0.9])
    # two queries, three detector boxes: the 0.02 one is dropped (< 0.05); query 0 sits on box a (conf 0.8),
    # query 1 on box b (conf 0.3); the dropped box lies on query 1 too but must not be matched
    logits = torch.tensor([1.0, 0.0, -2.0])
    boxes = torch.tensor([[0.3, 0.3, 0.2, 0.2], [0.7, 0.7, 0.2, 0.2], [0.5, 0.1, 0.05, 0.05]])
    det = torch.tensor([[0.3, 0.3, 0.2, 0.2], [0.7, 0.7, 0.2, 0.2], [0.7, 0.7, 0.2, 0.2]])
    scores = torch.tensor([0.8, 0.3, 0.02])
    expected = 2 * (0.8 * focal(1.0, True) + 0.3 * focal(0.0, True) + 0.5 * focal(-2.0, False))  # L1 0, GIoU 1
    assert pld_loss(logits, boxes, det, scores, cfg).item() == pytest.approx(expected, rel=1e-5)


def test_clip_normalisation_motr_and_eq5() -> None:
    losses = [torch.tensor(6.0), torch.tensor(2.0), torch.tensor(4.0)]
    objects = [3, 0, 2]
    assert clip_normalise(losses, objects, per_frame=False).item() == pytest.approx(12 / 5)
    assert clip_normalise(losses, objects, per_frame=True).item() == pytest.approx(6 / 3 + 2 / 1 + 4 / 2)


def test_association_targets_pair_same_identity_only() -> None:
    got = association_targets(torch.tensor([2, -1, 0]), torch.tensor([0, -1, 2]))
    assert got.tolist() == [[0, 0, 1], [0, 0, 0], [1, 0, 0]]


def test_loader_clip_becomes_normalised_frames() -> None:
    from motforge.families.query.frames import frames_from_clip

    clip = {
        "images": torch.full((1, 3, 40, 100), 255, dtype=torch.uint8),
        "boxes": [torch.tensor([[10.0, 4.0, 30.0, 24.0], [90.0, 30.0, 130.0, 50.0], [120.0, 0.0, 140.0, 10.0]])],
        "ids": [torch.tensor([3, 4, 5])],
        "pseudo_boxes": [torch.tensor([[0.0, 0.0, 50.0, 40.0]])],
        "pseudo_scores": [torch.tensor([0.7])],
    }
    (frame,) = frames_from_clip(clip)
    # box 1: cx 20 / 100, cy 14 / 40, w 20 / 100, h 20 / 40; box 2 clipped to x 90..100, y 30..40;
    # box 3 lies outside the frame: dropped
    assert frame.gt_boxes.tolist() == [pytest.approx([0.2, 0.35, 0.2, 0.5]), pytest.approx([0.95, 0.875, 0.1, 0.25])]
    assert frame.gt_ids.tolist() == [3, 4]
    assert frame.det_boxes.tolist() == [pytest.approx([0.25, 0.5, 0.5, 1.0])]
    assert frame.image[0, 0, 0].item() == pytest.approx((1 - 0.485) / 0.229)


def test_pld_confidence_weights_the_box_terms_and_keeps_the_005_boundary() -> None:
    """Eq. 3's omega_j multiplies every term of a matched query, L1 and GIoU included, and c = 0.05 is kept (>=)."""
    from torchvision.ops import generalized_box_iou

    from motforge.families.query.boxes import cxcywh_to_xyxy

    cfg = query_defaults()
    logits = torch.tensor([0.5, -0.5])
    boxes = torch.tensor([[0.30, 0.30, 0.20, 0.20], [0.72, 0.70, 0.20, 0.24]])
    det = torch.tensor([[0.32, 0.30, 0.20, 0.22], [0.70, 0.70, 0.20, 0.20]])
    scores = torch.tensor([0.8, 0.05])
    giou = torch.diag(generalized_box_iou(cxcywh_to_xyxy(boxes), cxcywh_to_xyxy(det)))
    l1 = [0.02 + 0.02, 0.02 + 0.04]
    expected = sum(
        c * (2 * focal(x, True) + 5 * d + 2 * (1 - g))
        for c, x, d, g in zip([0.8, 0.05], [0.5, -0.5], l1, giou.tolist())
    )
    assert pld_loss(logits, boxes, det, scores, cfg).item() == pytest.approx(expected, rel=1e-5)


def test_association_loss_is_lambda_times_the_mean_bce() -> None:
    """LA-MOTR's L_asso by hand: objects 0 and 1 hold ground truths 3 and 1, tracklets hold 1 and 4: one positive
    pair (object 1, tracklet 0) of four; lambda_asso 10."""
    from motforge.families.query.losses import association_loss

    logits = torch.tensor([[0.2, -1.0], [1.5, 0.3]])

    def bce(x: float, y: float) -> float:
        p = 1 / (1 + math.exp(-x))
        return -(y * math.log(p) + (1 - y) * math.log(1 - p))

    expected = 10 * (bce(0.2, 0) + bce(-1.0, 0) + bce(1.5, 1) + bce(0.3, 0)) / 4
    got = association_loss(logits, torch.tensor([3, 1]), torch.tensor([1, 4]), query_defaults())
    assert got.item() == pytest.approx(expected, rel=1e-6)
