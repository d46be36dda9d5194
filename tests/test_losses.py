"""Each loss and mask of the five papers against values computed by hand from its equation."""

from __future__ import annotations

import math

import pytest
import torch
from torchvision.ops import box_iou

from motforge.families.dense import losses as L
from motforge.families.dense.association import DenseAssociation, normalised_cxcywh
from motforge.families.dense.targets import assign_locations, background_boxes, label_rois, sample_rois
from motforge.families.dense.temporal_adapter import TemporalAdapter, causal_missing_mask
from motforge.families.dense.tracker import bisoftmax, history_window


def test_depth_focal_loss_with_foreground_weight():
    """FDTA eq. 1, L = 1/N_total sum_ij w_ij FL(d_ij, target_ij): two pixels, 3 classes; pixel 0 (inside a box,
    w = 7, FDTA sec. 4.2) target 1, pixel 1 (background, w = 1) target 2. N_total is the pixel count, 2."""
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.0, 0.0, 3.0]]).t().reshape(1, 3, 1, 2)
    target = torch.tensor([[[1, 2]]])
    weights = torch.tensor([[[7.0, 1.0]]])
    p0 = math.exp(2.0) / (math.exp(1.0) + math.exp(2.0) + math.exp(0.5))
    p1 = math.exp(3.0) / (2 + math.exp(3.0))
    focal = lambda p: -0.25 * (1 - p) ** 2 * math.log(p)  # noqa: E731
    expected = (7 * focal(p0) + 1 * focal(p1)) / 2
    assert L.depth_focal_loss(logits, target, weights).item() == pytest.approx(expected, rel=1e-6)


def test_foreground_weight_default_is_fdtas():
    """FDTA sec. 4.2: "the foreground weighting factor w is set to 7"."""
    from motforge.config import block_defaults

    assert block_defaults("labels", {})["depth_bins"]["fg_weight"] == 7


def test_infonce_pairs_and_harmonic_iou_weights():
    """FDTA eqs. 5-8: samples (id, frame, IoU): a(1,0,.9) b(1,1,.6) c(2,0,.8) d(1,1,.4 -> filtered by IoU < .5)."""
    feats = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2], [0.9, 0.3], [0.1, 1.0], [1.0, 0.0]]), dim=1)
    ids = torch.tensor([1, 1, 2, 1])
    frames = torch.tensor([0, 1, 0, 1])
    ious = torch.tensor([0.9, 0.6, 0.8, 0.4])
    tau = 0.1
    kept = feats[:3].double()  # float64: the expected value must not carry float32 cancellation (s - logsumexp)
    logits = kept @ kept.t() / tau

    def nce(i, j):
        others = [k for k in range(3) if k != i]
        return -(logits[i, j] - torch.logsumexp(logits[i, others], dim=0))

    w = 2 * 0.9 * 0.6 / (0.9 + 0.6)
    expected = (w * nce(0, 1) + w * nce(1, 0)) / 2  # positives: (a, b) and (b, a) only; c has no cross-frame partner
    assert L.identity_adapter_loss(feats, ids, frames, ious, tau=tau).item() == pytest.approx(expected.item(), rel=1e-5)


def test_infonce_denominator_is_the_positive_and_the_anchors_negatives():
    """FDTA eq. 8: E = {e | (anchor, e) in N} + {the positive}. Identity 1 is seen twice in frame 0 (a jittered copy)
    and once in frames 1 and 2, identity 2 in frames 1 and 2: every pair has other positives and a same-frame
    same-identity sample that must stay out of the denominator."""
    raw = [[1.0, 0.2], [0.9, 0.4], [0.8, -0.1], [0.1, 1.0], [-0.2, 0.9], [0.7, 0.6]]
    ids, frames = [1, 1, 1, 2, 2, 1], [0, 0, 1, 1, 2, 2]
    ious = [0.9, 0.8, 0.7, 1.0, 0.6, 0.5]
    unit = [[x / math.hypot(*v) for x in v] for v in raw]
    tau = 0.1
    s = [[(a[0] * b[0] + a[1] * b[1]) / tau for b in unit] for a in unit]
    terms = []
    for i in range(6):
        negatives = [k for k in range(6) if ids[k] != ids[i]]
        for j in range(6):
            if ids[j] == ids[i] and frames[j] != frames[i]:
                denominator = math.exp(s[i][j]) + sum(math.exp(s[i][k]) for k in negatives)
                w = 2 * ious[i] * ious[j] / (ious[i] + ious[j])
                terms.append(-w * math.log(math.exp(s[i][j]) / denominator))
    assert len(terms) == 12  # identity 1: 0-2, 0-5, 1-2, 1-5, 2-5 both ways; identity 2: 3-4 both ways
    got = L.identity_adapter_loss(
        torch.tensor(unit), torch.tensor(ids), torch.tensor(frames), torch.tensor(ious), tau=tau
    )
    assert got.item() == pytest.approx(sum(terms) / 12, rel=1e-5)


def test_infonce_positives_only_across_frames():
    feats = torch.nn.functional.normalize(torch.randn(3, 4), dim=1)
    same_frame = L.identity_adapter_loss(feats, torch.tensor([1, 1, 2]), torch.tensor([0, 0, 0]), torch.ones(3))
    assert same_frame.item() == 0.0


def test_quasi_dense_multi_positive_and_aux():
    """QDTrack eqs. 5 and 6. Keys: two objects (7, 3), a background RoI (-1) and an ignore-band RoI (-2, IoU 0.3-0.7
    in ``label_rois``); references: two positives of key 0, one of key 1, four background RoIs and an ignore-band RoI.
    Sec. 3.1 keeps ignore-band RoIs out of both losses: not a negative of any key, not a key. Eq. 5 averages over the
    keys with a positive; eq. 6 takes every positive pair of the object keys (3) and the 3 x 3 = 9 hardest of their
    11 negative pairs ("all positive pairs and three times more negative pairs", QDTrack's L2Loss neg_pos_ub 3 with
    hard mining)."""
    keys = torch.tensor([[1.0, 0.0], [0.2, 0.9], [0.6, 0.6], [0.3, -0.4]])
    refs = torch.tensor(
        [[0.8, 0.1], [0.5, 0.5], [0.0, 1.0], [-0.3, 0.2], [0.7, 0.3], [-1.0, 0.1], [0.2, -0.9], [0.6, 0.6]]
    )
    key_ids, ref_ids = torch.tensor([7, 3, -1, -2]), torch.tensor([7, 7, 3, -1, -1, -1, -1, -2])
    s = (keys @ refs.t()).tolist()
    used = range(7)  # reference 7 is ignored

    def eq5(i, pos):
        neg = [n for n in used if n not in pos]
        return math.log(1 + sum(math.exp(s[i][n] - s[i][p]) for p in pos for n in neg))

    expected = (eq5(0, (0, 1)) + eq5(1, (2,))) / 2  # key 2 (background) has no positive, key 3 is ignored
    embed, aux = L.quasi_dense_loss(keys, refs, key_ids, ref_ids)
    assert embed.item() == pytest.approx(expected, rel=1e-6)

    def cos(i, j):
        return s[i][j] / (math.hypot(*keys[i].tolist()) * math.hypot(*refs[j].tolist()))

    positives = [(0, 0), (0, 1), (1, 2)]
    negatives = [(i, j) for i in (0, 1) for j in used if (i, j) not in positives]
    assert len(negatives) == 11
    hardest = sorted((cos(i, j) ** 2 for i, j in negatives), reverse=True)[:9]
    squares = [(cos(i, j) - 1) ** 2 for i, j in positives] + hardest
    assert aux.item() == pytest.approx(sum(squares) / 12, rel=1e-6)


def test_qdtrack_roi_sampling():
    """QDTrack's sampler (configs/bdd100k: CombinedSampler, InstanceBalancedPosSampler, IoUBalancedNegSampler with 3
    bins), here with num 8: 4 positives expected, round(4 / 2) + 1 = 3 per object, so object 0 (10 RoIs) gives 3 and
    object 1 (1 RoI) its one; negatives: 8 - 4 = 4 (under 3 x 4), one from each IoU bin [0, .1), [.1, .2), [.2, .3) and
    one more at random; the ignore band (-2) is never sampled, even when the sampler is short of RoIs."""
    labels = torch.tensor([5] * 10 + [6] + [-2] * 5 + [-1] * 30)
    gt_index = torch.tensor([0] * 10 + [1] + [0] * 5 + [-1] * 30)
    ious = torch.tensor([0.9] * 11 + [0.5] * 5 + [0.05] * 10 + [0.15] * 10 + [0.25] * 10)
    for seed in range(5):
        pick = sample_rois(labels, ious, gt_index, torch.Generator().manual_seed(seed), num=8)
        assert (labels[pick] == 5).sum() == 3 and (labels[pick] == 6).sum() == 1 and (labels[pick] == -2).sum() == 0
        neg = ious[pick][labels[pick] == -1]
        assert len(neg) == 4 and all(((neg > lo) & (neg < lo + 0.1)).sum() >= 1 for lo in (0.0, 0.1, 0.2))
    # the default QDTrack numbers: 11 positives (< 128) all kept, negatives capped at 3 x 11 = 33 of the 30: all 30
    pick = sample_rois(labels, ious, gt_index, torch.Generator().manual_seed(0))
    assert (labels[pick] >= 0).sum() == 11 and (labels[pick] == -1).sum() == 30 and (labels[pick] == -2).sum() == 0
    # two positives: 3 x 2 = 6 negatives, two per IoU bin
    few = torch.tensor([5, 6] + [-1] * 30)
    pick = sample_rois(few, ious[14:], torch.tensor([0, 1] + [-1] * 30), torch.Generator().manual_seed(0))
    neg = ious[14:][pick][few[pick] == -1]
    assert len(neg) == 6 and [int(((neg > lo) & (neg < lo + 0.1)).sum()) for lo in (0.0, 0.1, 0.2)] == [2, 2, 2]


def test_background_rois_are_negatives():
    """QDTrack sec. 3.1: a RoI is negative below IoU 0.3 with every object; background_boxes returns only such."""
    boxes = torch.tensor([[10.0, 10.0, 50.0, 90.0], [60.0, 20.0, 100.0, 90.0]])
    bg = background_boxes(boxes, 40, (160, 96), torch.Generator().manual_seed(0))
    assert 0 < len(bg) <= 40 and (bg[:, 2:] > bg[:, :2]).all()
    assert (box_iou(bg, boxes).max(dim=1).values < 0.3).all()
    labels, _, _ = label_rois(bg, boxes, torch.tensor([1, 2]))
    assert (labels == -1).all()


def test_bisoftmax_with_backdrops():
    det = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    tracks = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    backdrops = torch.tensor([[1.0, 1.0]])
    sim = det @ tracks.t()
    back = backdrops @ tracks.t()
    over_tracks = sim.exp() / sim.exp().sum(dim=1, keepdim=True)
    over_dets = sim.exp() / (sim.exp().sum(dim=0, keepdim=True) + back.exp())
    assert torch.allclose(bisoftmax(det, tracks, backdrops), (over_tracks + over_dets) / 2)


def test_history_window_masks_missed_frames():
    """FDTA sec. 3.3 at inference: a track matched at frames 3, 4 and 6 (missed at 5), window of 4 up to frame 6:
    slots are frames 3..6, frame 5 is a zero, masked slot; frame 2 (outside the window) is dropped."""
    e = {f: torch.full((2,), float(f)) for f in (2, 3, 4, 6)}
    window, present = history_window([(f, e[f]) for f in (2, 3, 4, 6)], frame=6, length=4)
    assert torch.equal(present, torch.tensor([True, True, False, True]))
    assert torch.equal(window, torch.tensor([[3.0, 3.0], [4.0, 4.0], [0.0, 0.0], [6.0, 6.0]]))
    with pytest.raises(ValueError, match="no history"):
        history_window([(1, e[2])], frame=6, length=4)


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


def _giou_loss(a, b) -> float:
    """1 - GIoU of two xyxy boxes, from the definition (IoU minus the empty share of the enclosing box)."""
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    return 1 - (inter / union - (hull - union) / hull)


def test_detection_losses_by_hand():
    """Focal / L1 / GIoU over five locations, three of them positive, with MOTRv3's PLD weights (eq. 3) on the focal
    terms and the pseudo boxes' confidences on the box terms. Every sum is divided by the default normaliser, the
    positive count (3), which the GT detection loss uses; the PLD loss passes MOTRv3 eq. 5's O_i instead (see
    test_pld_is_normalised_by_each_frames_object_count), checked here with O = 4."""
    logits = torch.tensor([2.0, 0.5, -0.5, -1.0, 1.5])
    target_cls = torch.tensor([1, 1, 1, 0, 0])
    conf = torch.tensor([0.9, 0.6, 0.3, 0.0, 0.0])
    pred = [
        [0.0, 0.0, 10.0, 10.0],
        [0.0, 0.0, 10.0, 10.0],
        [0.0, 0.0, 4.0, 4.0],
        [0.0, 0.0, 1.0, 1.0],
        [3.0, 3.0, 9.0, 9.0],
    ]
    target = [[0.0, 0.0, 10.0, 20.0], [5.0, 5.0, 15.0, 15.0], [6.0, 0.0, 10.0, 4.0], [0.0] * 4, [0.0] * 4]
    weights = L.pld_weights(target_cls, conf)
    assert weights.tolist() == pytest.approx([0.9, 0.6, 0.3, 0.5, 0.5])
    out = L.detection_losses(
        logits, torch.tensor(pred), target_cls, torch.tensor(target), weights=weights, box_weights=conf
    )
    p = [1 / (1 + math.exp(-x)) for x in logits.tolist()]
    focal = [0.25 * (1 - p[i]) ** 2 * -math.log(p[i]) for i in range(3)]
    focal += [0.75 * p[i] ** 2 * -math.log(1 - p[i]) for i in (3, 4)]
    w = [0.9, 0.6, 0.3, 0.5, 0.5]
    assert out["cls"].item() == pytest.approx(sum(f * wi for f, wi in zip(focal, w)) / 3, rel=1e-5)
    l1 = [10.0 / 100, (5 + 5 + 5 + 5) / 100, (6 + 0 + 6 + 0) / 100]  # |dx1| + |dy1| + |dx2| + |dy2| in 100 px
    assert out["l1"].item() == pytest.approx((0.9 * l1[0] + 0.6 * l1[1] + 0.3 * l1[2]) / 3, rel=1e-5)
    # 1 - GIoU: 0.5 (IoU 1/2, hull = union); 1 - (1/7 - 50/225); 1.2 (disjoint: IoU 0, hull 40, union 32)
    giou = [_giou_loss(a, b) for a, b in zip(pred[:3], target[:3])]
    assert giou == pytest.approx([0.5, 1 - (1 / 7 - 50 / 225), 1.2])
    assert out["giou"].item() == pytest.approx((0.9 * giou[0] + 0.6 * giou[1] + 0.3 * giou[2]) / 3, rel=1e-5)
    by_objects = L.detection_losses(
        logits, torch.tensor(pred), target_cls, torch.tensor(target), weights=weights, box_weights=conf, normaliser=4
    )
    assert by_objects["cls"].item() == pytest.approx(sum(f * wi for f, wi in zip(focal, w)) / 4, rel=1e-5)
    assert by_objects["giou"].item() == pytest.approx((0.9 * giou[0] + 0.6 * giou[1] + 0.3 * giou[2]) / 4, rel=1e-5)
    # without weights: plain sums over the same three positives
    plain = L.detection_losses(logits, torch.tensor(pred), target_cls, torch.tensor(target))
    assert plain["giou"].item() == pytest.approx(sum(giou) / 3, rel=1e-5)
    assert plain["cls"].item() == pytest.approx(sum(focal) / 3, rel=1e-5)


def test_pld_is_normalised_by_each_frames_gt_matched_count():
    """MOTRv3 eq. 5: L_clip = sum_i (L_r,i + L_pld,i) / O_i, one normaliser per frame shared with the GT term: the
    outputs matched to frame i's GT objects (2 and 4 locations here), averaged over the clip's 2 frames as the GT
    term is. A 1 x 2 location map (centres (4, 4) and (12, 4)); frame 0 has one pseudo box (0, 0, 8, 8) of
    confidence 0.8, frame 1 none. Eq. 3's weights: 0.8 on the matched location, 0.5 on background. The pseudo-box
    positive count (1 location in the clip) is not the normaliser."""
    from types import SimpleNamespace

    from motforge.families.dense.step import pld_loss

    logits = torch.tensor([[[1.0, -2.0]], [[-1.0, 0.5]]])
    pred = torch.tensor([[[[0.0, 0.0, 8.0, 12.0], [0.0] * 4]], [[[0.0] * 4, [0.0] * 4]]])
    out = SimpleNamespace(logits=logits, boxes=pred)
    pseudo = [torch.tensor([[0.0, 0.0, 8.0, 8.0]]), torch.zeros(0, 4)]
    scores = [torch.tensor([0.8]), torch.zeros(0)]
    terms = {"cls": 2.0, "l1": 5.0, "giou": 2.0}
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    pos = lambda x: 0.25 * (1 - sig(x)) ** 2 * -math.log(sig(x))  # noqa: E731
    neg = lambda x: 0.75 * sig(x) ** 2 * -math.log(1 - sig(x))  # noqa: E731
    cls0 = (0.8 * pos(1.0) + 0.5 * neg(-2.0)) / 2
    l1_0 = 0.8 * 4.0 / 100 / 2  # |12 - 8| in units of 100 px
    giou0 = 0.8 * (1 - 64 / 96) / 2  # IoU 64 / 96, the hull is the predicted box itself
    cls1 = 0.5 * (neg(-1.0) + neg(0.5)) / 4
    expected = (2 * cls0 + 5 * l1_0 + 2 * giou0 + 2 * cls1) / 2
    assert pld_loss(out, pseudo, scores, [2, 4], terms).item() == pytest.approx(expected, rel=1e-5)


def test_association_targets_and_bce():
    logits = torch.tensor([[2.0, -1.0], [0.0, 1.0]])
    target = torch.tensor([[1, 0], [0, 1]])
    expected = (
        -(
            math.log(torch.sigmoid(torch.tensor(2.0)))
            + math.log(1 - torch.sigmoid(torch.tensor(-1.0)))
            + math.log(0.5)
            + math.log(torch.sigmoid(torch.tensor(1.0)))
        )
        / 4
    )
    assert L.association_loss(logits, target).item() == pytest.approx(expected, rel=1e-5)


def test_dense_association_is_the_shared_sgla_on_normalised_boxes():
    """The dense family's learnable association is LA-MOTR's SGLA (motforge.nn.sgla, the query family's module):
    M_(0) = 0, every layer adds the relative-spatial cues of the same boxes (cx, cy, w, h over the image size)."""
    assert torch.allclose(
        normalised_cxcywh(torch.tensor([[10.0, 20.0, 30.0, 60.0]]), (100, 200)), torch.tensor([[0.2, 0.2, 0.2, 0.2]])
    )
    torch.manual_seed(0)
    head = DenseAssociation(8, heads=2, layers=2).eval()
    det_boxes = torch.tensor([[10.0, 10.0, 20.0, 30.0], [50.0, 10.0, 70.0, 40.0]])
    track_boxes = torch.tensor([[12.0, 10.0, 22.0, 30.0]])
    det, tck = torch.randn(2, 8), torch.randn(1, 8)
    got = head(det, det_boxes, tck, track_boxes, (100, 50))
    db, tb = normalised_cxcywh(det_boxes, (100, 50)), normalised_cxcywh(track_boxes, (100, 50))
    assoc, o, t = torch.zeros(2, 1, 8), det, tck
    for layer in head.sgla.layers:
        o, t, assoc = layer(o, t, assoc, db, tb)
    assert got.shape == (2, 1) and torch.allclose(got, head.sgla.score(assoc)[..., 0])
    assert head(torch.zeros(0, 8), torch.zeros(0, 4), tck, track_boxes, (100, 50)).shape == (0, 1)


def test_dense_association_loss_weight_is_la_motrs():
    from motforge.config import model_defaults

    assert model_defaults("dense")["loss_weights"]["assoc"] == 10.0


def test_instance_depth_loss_is_mse_plus_kl():
    value = torch.tensor([0.4, 0.6])
    target_value = torch.tensor([0.5, 0.5])
    hist_logits = torch.zeros(2, 4)
    target_hist = torch.tensor([[1.0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]])
    kl = (1.0 * math.log(1.0 / 0.25) + 0.0) / 2
    assert L.instance_depth_loss(value, hist_logits, target_value, target_hist).item() == pytest.approx(
        0.01 + kl, rel=1e-5
    )


def test_centre_sampling_and_roi_labels():
    grid = torch.stack(
        torch.meshgrid(torch.arange(6) * 8 + 4.0, torch.arange(6) * 8 + 4.0, indexing="xy"), dim=-1
    ).float()
    boxes = torch.tensor([[0.0, 0.0, 32.0, 32.0], [8.0, 8.0, 24.0, 24.0]])
    assigned, targets = assign_locations(grid, boxes)
    assert assigned[1, 1].item() == 1 and assigned[2, 2].item() == 1  # the smaller box wins where both apply
    assert assigned[0, 0].item() == 0  # (4, 4) lies within 1.5 strides (12 px) of the large box's centre only
    assert assigned[5, 5].item() == -1 and assigned[4, 4].item() == -1  # (44, 44), (36, 36): outside every box
    labels, ious, _ = label_rois(
        torch.tensor([[0.0, 0.0, 32.0, 32.0], [0.0, 0.0, 16.0, 32.0], [40.0, 40.0, 50.0, 50.0]]),
        boxes[:1],
        torch.tensor([5]),
    )
    assert labels.tolist() == [5, -2, -1]


def test_instance_depth_target_is_the_mean_inside_the_instance(tmp_path):
    """DepTR-MOT's instance depth is the mean teacher depth inside the instance mask. The mask covers 2, 2, 2 and 4 m
    (mean 2.5, median 2): the target is disparity 1 / 2.5 over the sequence maximum 1 / 2, on FDTA's 0..255 scale."""
    import numpy as np

    from motforge.datasets.index import SequenceIndex
    from motforge.depth.store import create_frame_store
    from motforge.masks.instance_depth import instance_depths, read_instance_depth
    from motforge.masks.store import MaskTable, encode

    depth = np.full((10, 20), 5.0, np.float32)
    depth[2:4, 2:4] = [[2.0, 2.0], [2.0, 4.0]]
    one = {"frame": [1], "id": [1], "x": [1], "y": [1], "w": [7], "h": [7], "consider": [1], "cls": [1], "vis": [1]}
    types = {"frame": np.int32, "id": np.int64, "consider": np.int8, "cls": np.int16}
    gt = {k: np.array(v, types.get(k, np.float32)) for k, v in one.items()}
    index = SequenceIndex(
        "x", "seq", "val", "mot", str(tmp_path), np.array(["00000001.jpg"]), np.array([20]), np.array([10]), 20.0,
        True, False, gt,
    )  # fmt: skip
    mask = np.zeros((1, 10, 20), bool)
    mask[0, 2:4, 2:4] = True
    table = MaskTable(10, 20, encode(mask), np.array([0.9], np.float32), np.array([False]), np.array([4]))
    with create_frame_store(tmp_path / "d.zarr", 1, 10, 20, "float16", {"kind": "metric", "backend": "x"}) as store:
        store[0] = depth
    bins = {"num_bins": 150, "d_min": 1e-3, "d_max": 256.0}
    instance_depths(index, table, tmp_path / "d.zarr", {"histogram_bins": 4, "sigma": 3.0}, bins, tmp_path / "i.h5")
    inst = read_instance_depth(tmp_path / "i.h5")
    assert inst["mean"][0] == pytest.approx(2.5) and inst["median"][0] == pytest.approx(2.0)
    assert inst["fdta_value"][0] == pytest.approx((1 / 2.5) / (1 / 2.0) * 255.0, rel=1e-5)  # 204, not the median's 255
