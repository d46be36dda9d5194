"""Each loss and mask of the five papers against values computed by hand from its equation."""
from __future__ import annotations

import math

import pytest
import torch

from motforge.families.dense.association import LearnableAssociation, box_differences
from motforge.families.dense.temporal_adapter import TemporalAdapter, causal_missing_mask
from motforge.families.dense.tracker import bisoftmax
from motforge.families.dense import losses as L
from motforge.families.dense.targets import assign_locations, label_rois


def test_depth_focal_loss_with_foreground_weight():
    """FDTA eq. 1: two pixels, 3 classes; pixel 0 (inside a box, w = 6) target 1, pixel 1 (background) target 2."""
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.0, 0.0, 3.0]]).t().reshape(1, 3, 1, 2)
    target = torch.tensor([[[1, 2]]])
    weights = torch.tensor([[[6.0, 1.0]]])
    p0 = math.exp(2.0) / (math.exp(1.0) + math.exp(2.0) + math.exp(0.5))
    p1 = math.exp(3.0) / (2 + math.exp(3.0))
    focal = lambda p: -0.25 * (1 - p) ** 2 * math.log(p)  # noqa: E731
    expected = (6 * focal(p0) + 1 * focal(p1)) / 7
    assert L.depth_focal_loss(logits, target, weights).item() == pytest.approx(expected, rel=1e-6)


def test_infonce_pairs_and_harmonic_iou_weights():
    """FDTA eqs. 5-8: samples (id, frame, IoU): a(1,0,.9) b(1,1,.6) c(2,0,.8) d(1,1,.4 -> filtered by IoU < .5)."""
    feats = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2], [0.9, 0.3], [0.1, 1.0], [1.0, 0.0]]), dim=1)
    ids = torch.tensor([1, 1, 2, 1])
    frames = torch.tensor([0, 1, 0, 1])
    ious = torch.tensor([0.9, 0.6, 0.8, 0.4])
    tau = 0.1
    kept = feats[:3]
    logits = kept @ kept.t() / tau

    def nce(i, j):
        others = [k for k in range(3) if k != i]
        return -(logits[i, j] - torch.logsumexp(logits[i, others], dim=0))

    w = 2 * 0.9 * 0.6 / (0.9 + 0.6)
    expected = (w * nce(0, 1) + w * nce(1, 0)) / 2  # positives: (a, b) and (b, a) only; c has no cross-frame partner
    assert L.identity_adapter_loss(feats, ids, frames, ious, tau=tau).item() == pytest.approx(expected.item(), rel=1e-5)


def test_infonce_positives_only_across_frames():
    feats = torch.nn.functional.normalize(torch.randn(3, 4), dim=1)
    same_frame = L.identity_adapter_loss(feats, torch.tensor([1, 1, 2]), torch.tensor([0, 0, 0]), torch.ones(3))
    assert same_frame.item() == 0.0


def test_quasi_dense_multi_positive_and_aux():
    """QDTrack eqs. 5 and 6 with one key sample, two positives and two negatives."""
    v = torch.tensor([[1.0, 0.0]])
    refs = torch.tensor([[0.8, 0.1], [0.5, 0.5], [0.0, 1.0], [-0.3, 0.2]])
    key_ids, ref_ids = torch.tensor([7]), torch.tensor([7, 7, 3, -1])
    s = (v @ refs.t())[0]
    expected = math.log(1 + sum(math.exp(s[n] - s[p]) for p in (0, 1) for n in (2, 3)))
    embed, aux = L.quasi_dense_loss(v, refs, key_ids, ref_ids)
    assert embed.item() == pytest.approx(expected, rel=1e-6)
    cos = torch.nn.functional.cosine_similarity(v, refs)
    target = torch.tensor([1.0, 1.0, 0.0, 0.0])
    assert aux.item() == pytest.approx(((cos - target) ** 2).mean().item(), rel=1e-6)


def test_bisoftmax_with_backdrops():
    det = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    tracks = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    backdrops = torch.tensor([[1.0, 1.0]])
    sim = det @ tracks.t()
    back = backdrops @ tracks.t()
    over_tracks = sim.exp() / sim.exp().sum(dim=1, keepdim=True)
    over_dets = sim.exp() / (sim.exp().sum(dim=0, keepdim=True) + back.exp())
    assert torch.allclose(bisoftmax(det, tracks, backdrops), (over_tracks + over_dets) / 2)


def test_causal_and_missing_mask():
    """FDTA eq. 3: M[j, k] = 1 if k > j or frame k missing; the diagonal is kept."""
    present = torch.tensor([[True, False, True, True]])
    expected = torch.tensor([[0, 1, 1, 1], [0, 0, 1, 1], [0, 1, 0, 1], [0, 1, 0, 0]], dtype=torch.bool)
    assert torch.equal(causal_missing_mask(present)[0], expected)


def test_temporal_adapter_is_causal():
    torch.manual_seed(0)
    ta = TemporalAdapter(16, layers=1, heads=2).eval()
    history = torch.randn(1, 5, 16)
    present = torch.ones(1, 5, dtype=torch.bool)
    out = ta(history, present)
    changed = history.clone()
    changed[0, 4] += 10.0  # the future must not leak into earlier outputs
    assert torch.allclose(ta(changed, present)[0, :4], out[0, :4], atol=1e-5)
    changed = history.clone()
    present2 = present.clone()
    present2[0, 1] = False
    changed[0, 1] += 10.0  # a missing frame's content is ignored by the others
    assert torch.allclose(ta(changed, present2)[0, [0, 2, 3, 4]], ta(history, present2)[0, [0, 2, 3, 4]], atol=1e-5)


def test_pld_weights():
    """MOTRv3 eq. 3: matched terms weighted by the detector confidence, unmatched (background) by 0.5."""
    target = torch.tensor([1, 0, 1, 0])
    conf = torch.tensor([0.9, 0.0, 0.3, 0.0])
    assert L.pld_weights(target, conf).tolist() == pytest.approx([0.9, 0.5, 0.3, 0.5])


def test_detection_losses_by_hand():
    logits = torch.tensor([2.0, -1.0])
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 1.0, 1.0]])
    target_boxes = torch.tensor([[0.0, 0.0, 10.0, 20.0], [0.0, 0.0, 0.0, 0.0]])
    out = L.detection_losses(logits, boxes, torch.tensor([1, 0]), target_boxes)
    p = torch.sigmoid(logits)
    focal = 0.25 * (1 - p[0]) ** 2 * -torch.log(p[0]) + 0.75 * p[1] ** 2 * -torch.log(1 - p[1])
    assert out["cls"].item() == pytest.approx(focal.item(), rel=1e-5)
    assert out["l1"].item() == pytest.approx(10.0 / 100.0)
    assert out["giou"].item() == pytest.approx(1 - 0.5)  # IoU 100/200, enclosing box = union


def test_association_targets_and_bce():
    logits = torch.tensor([[2.0, -1.0], [0.0, 1.0]])
    target = torch.tensor([[1, 0], [0, 1]])
    expected = -(math.log(torch.sigmoid(torch.tensor(2.0))) + math.log(1 - torch.sigmoid(torch.tensor(-1.0))) + math.log(0.5) + math.log(torch.sigmoid(torch.tensor(1.0)))) / 4
    assert L.association_loss(logits, target).item() == pytest.approx(expected, rel=1e-5)


def test_association_head_shapes_and_box_cues():
    diffs = box_differences(torch.tensor([[10.0, 10.0, 20.0, 30.0]]), torch.tensor([[10.0, 10.0, 20.0, 30.0], [20.0, 10.0, 30.0, 30.0]]))
    assert torch.allclose(diffs[0, 0], torch.zeros(4)) and diffs[0, 1, 0].item() == pytest.approx(-1.0)
    head = LearnableAssociation(8)
    assert head(torch.randn(3, 8), torch.rand(3, 4) * 10 + torch.tensor([0, 0, 20, 20]), torch.randn(2, 8), torch.rand(2, 4) * 10 + torch.tensor([0, 0, 20, 20])).shape == (3, 2)


def test_instance_depth_loss_is_mse_plus_kl():
    value = torch.tensor([0.4, 0.6])
    target_value = torch.tensor([0.5, 0.5])
    hist_logits = torch.zeros(2, 4)
    target_hist = torch.tensor([[1.0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]])
    kl = (1.0 * math.log(1.0 / 0.25) + 0.0) / 2
    assert L.instance_depth_loss(value, hist_logits, target_value, target_hist).item() == pytest.approx(0.01 + kl, rel=1e-5)


def test_centre_sampling_and_roi_labels():
    grid = torch.stack(torch.meshgrid(torch.arange(6) * 8 + 4.0, torch.arange(6) * 8 + 4.0, indexing="xy"), dim=-1).float()
    boxes = torch.tensor([[0.0, 0.0, 32.0, 32.0], [8.0, 8.0, 24.0, 24.0]])
    assigned, targets = assign_locations(grid, boxes)
    assert assigned[1, 1].item() == 1 and assigned[2, 2].item() == 1  # the smaller box wins where both apply
    assert assigned[0, 0].item() == 0  # (4, 4) lies within 1.5 strides (12 px) of the large box's centre only
    assert assigned[5, 5].item() == -1 and assigned[4, 4].item() == -1  # (44, 44), (36, 36): outside every box
    labels, ious, _ = label_rois(torch.tensor([[0.0, 0.0, 32.0, 32.0], [0.0, 0.0, 16.0, 32.0], [40.0, 40.0, 50.0, 50.0]]), boxes[:1], torch.tensor([5]))
    assert labels.tolist() == [5, -2, -1]
