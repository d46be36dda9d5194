"""``components.ignore_duplicates``: the classification weight of unmatched detect queries on a held object."""

from __future__ import annotations

import pytest
import torch
from torchvision.ops import box_iou

import motforge.families.query.clip_loss as clip_module
from motforge.families.query.boxes import cxcywh_to_xyxy
from motforge.families.query.clip_loss import ClipFrame, clip_loss
from motforge.families.query.config import defaults
from motforge.families.query.duplicates import duplicate_weights
from motforge.families.query.model import QueryTracker

HELD = torch.tensor([[0.5, 0.5, 0.2, 0.2]])  # xyxy (0.4, 0.4, 0.6, 0.6), area 0.04
#: [detect 0: unmatched, IoU 0.036 / 0.044 = 0.818 | detect 1: matched, same box | detect 2: unmatched, IoU 0.02 / 0.06
#: = 0.333 | track 3: unmatched, on the held box]
BOXES = torch.tensor([[0.52, 0.5, 0.2, 0.2], [0.52, 0.5, 0.2, 0.2], [0.6, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2]])
TARGET = torch.tensor([-1, 0, -1, -1])


@pytest.mark.parametrize(("iou", "expected"), [(0.5, [0, 1, 1, 1]), (0.3, [0, 1, 0, 1]), (0.82, [1, 1, 1, 1])])
def test_weights_by_hand(iou: float, expected: list[int]) -> None:
    """Only unmatched detect queries at or above the IoU lose their weight; matched and track queries keep it."""
    assert duplicate_weights(BOXES, TARGET, 3, HELD, iou).tolist() == expected


def test_nothing_held_or_no_detect_queries_changes_nothing() -> None:
    assert duplicate_weights(BOXES, TARGET, 3, torch.zeros(0, 4), 0.5).tolist() == [1, 1, 1, 1]
    assert duplicate_weights(BOXES, TARGET, 0, HELD, 0.5).tolist() == [1, 1, 1, 1]


def _clip() -> list[ClipFrame]:
    g = torch.Generator().manual_seed(2)
    gt = torch.tensor([[0.3, 0.4, 0.2, 0.3], [0.7, 0.6, 0.15, 0.25]])
    return [
        ClipFrame(
            torch.randn(3, 64, 96, generator=g), gt + 0.01 * t, torch.tensor([5, 9]), gt, torch.tensor([0.9, 0.8])
        )
        for t in range(2)
    ]


def test_clip_loss_ignores_exactly_the_duplicates(monkeypatch) -> None:
    """Frame 1 has no tracks, so nothing is ignored; in frame 2 the tracks born in frame 1 hold both objects, and
    the zero-weight rows of every layer are the unmatched detect queries whose box overlaps a held box by >= 0.5
    (the proposals anchored on the two objects among them). Off, the set loss gets no weights."""
    calls = []
    real = clip_module.set_loss

    def spy(logits, boxes, target, gt_boxes, cfg, weights=None):
        calls.append((boxes.detach(), target, gt_boxes, weights))
        return real(logits, boxes, target, gt_boxes, cfg, weights)

    monkeypatch.setattr(clip_module, "set_loss", spy)
    torch.manual_seed(0)
    model = QueryTracker(defaults(proposals=True, ignore_duplicates=True, duplicate_iou=0.5)).eval()
    on = clip_loss(model, _clip())
    layers, m = model.cfg.dec_layers, model.cfg.num_queries + 2
    assert len(calls) == 2 * layers
    for boxes, _, _, weights in calls[:layers]:
        assert weights.tolist() == [1.0] * boxes.shape[0]
    ignored = 0
    for boxes, target, gt_boxes, weights in calls[layers:]:
        overlap = box_iou(cxcywh_to_xyxy(boxes[:m]), cxcywh_to_xyxy(gt_boxes)).max(1).values
        expected = torch.ones(boxes.shape[0])
        expected[:m][(target[:m] < 0) & (overlap >= 0.5)] = 0
        assert torch.equal(weights, expected)
        ignored += int((weights == 0).sum())
    assert ignored >= layers  # at least one duplicate per layer, so the test can see the rule
    calls.clear()
    torch.manual_seed(0)
    off = clip_loss(QueryTracker(defaults(proposals=True)).eval(), _clip())
    assert all(weights is None for *_, weights in calls)
    assert on.parts["set"] < off.parts["set"]
