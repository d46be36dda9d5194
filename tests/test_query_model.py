"""The whole query model on tiny random clips: loss finite, gradients reach every switch's parameters, TGD's mask
stops leakage inside the real decoder, and the online lifecycle (birth, death, missed frames) by hand."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from motforge.errors import ConfigError
from motforge.families.query.clip_loss import ClipFrame, clip_loss
from motforge.families.query.config import QueryModelConfig
from motforge.families.query.config import defaults as query_defaults
from motforge.families.query.denoising import group_mask, scale_boxes
from motforge.families.query.frames import normalise_image
from motforge.families.query.inference import (
    Lifecycle,
    OnlineQueryTracker,
    associate,
    collapsed_tracks,
    lifecycle_step,
    suppress_duplicates,
)
from motforge.families.query.model import QueryTracker
from motforge.families.query.tracker import QueryFamilyTracker


def tiny_clip() -> list[ClipFrame]:
    g = torch.Generator().manual_seed(1)
    gt = torch.tensor([[0.3, 0.4, 0.2, 0.3], [0.7, 0.6, 0.15, 0.25]])
    frames = []
    for t in range(2):
        boxes = gt + torch.tensor([0.02 * t, 0.0, 0.0, 0.0])
        frames.append(
            ClipFrame(
                torch.randn(3, 64, 96, generator=g),
                boxes,
                torch.tensor([5, 9]),
                boxes + 0.01,
                torch.tensor([0.9, 0.04]),
            )
        )
    return frames


def grad_norm(module: torch.nn.Module) -> float:
    return sum(p.grad.abs().sum().item() for p in module.parameters() if p.grad is not None)


def test_motrv3_with_proposals_forward_backward() -> None:
    torch.manual_seed(0)
    cfg = query_defaults(rfs=True, pld=True, tgd=True, proposals=True, track_drop=0.1, track_insert=1.0)
    model = QueryTracker(cfg)
    result = clip_loss(model, tiny_clip(), torch.Generator().manual_seed(0))
    assert torch.isfinite(result.total)
    assert result.parts["pld"] > 0 and result.parts["tgd"] > 0
    result.total.backward()
    for name, part in [
        ("backbone", model.backbone),
        ("encoder", model.transformer.encoder),
        ("decoder", model.transformer.decoder),
        ("proposals", model.proposal_content),
        ("qim", model.qim),
        ("detect queries", model.query_content),
    ]:
        assert grad_norm(part) > 0, name
    assert model.transformer.decoder[0].cross.sampling_offsets.weight.grad.abs().sum() > 0
    assert model.anchor_logits.grad.abs().sum() > 0  # learned anchors are trained


def test_la_motr_forward_backward() -> None:
    torch.manual_seed(0)
    model = QueryTracker(query_defaults(sotd=True, tracklet_update=True, tracklet_w=0.5))
    result = clip_loss(model, tiny_clip())
    assert torch.isfinite(result.total) and result.parts["asso"] > 0
    result.total.backward()
    for layer in model.sgla.layers:
        for part in (layer.w_asso, layer.w_upd, layer.cue, layer.q):
            assert grad_norm(part) > 0
    assert grad_norm(model.sgla.score) > 0


def test_tgd_groups_do_not_leak_into_original_queries() -> None:
    torch.manual_seed(0)
    model = QueryTracker(query_defaults()).eval()
    with torch.no_grad():
        memory = model.encode(torch.randn(3, 64, 96))
        det_content, det_ref = model.detect_queries()
        tck_content = torch.randn(3, 32)
        tck_ref = torch.tensor([[0.3, 0.3, 0.1, 0.2], [0.6, 0.5, 0.2, 0.2], [0.5, 0.8, 0.1, 0.1]])
        content, ref = torch.cat([det_content, tck_content]), torch.cat([det_ref, tck_ref])
        plain = model.decode(memory, content, ref)
        groups = scale_boxes(tck_ref, 4, 0.4, torch.Generator().manual_seed(0))
        big_content, big_ref = torch.cat([content, tck_content.repeat(4, 1)]), torch.cat([ref, groups])
        masked = model.decode(memory, big_content, big_ref, group_mask(16, 3, 4))
        leaky = model.decode(memory, big_content, big_ref)
    q = 16 + 3
    assert torch.allclose(masked.hidden[:, :q], plain.hidden, atol=1e-5)
    assert not torch.allclose(leaky.hidden[:, :q], plain.hidden, atol=1e-3)
    # group 0 alone with its own mask gives the same output as group 0 inside the full masked run
    solo = model.decode(memory, torch.cat([content, tck_content]), torch.cat([ref, groups[:3]]), group_mask(16, 3, 1))
    assert torch.allclose(masked.hidden[:, q : q + 3], solo.hidden[:, q:], atol=1e-5)


def test_lifecycle_by_hand() -> None:
    rule = Lifecycle(birth=0.7, death=0.6, max_missed=5, report=0.8, duplicate_iou=1.0, track_duplicate_iou=1.0)
    keep, seen, missed, born = lifecycle_step(
        torch.tensor([0.9, 0.7, 0.5, 0.3, 0.2]), torch.tensor([2, 3, 0, 5, 4]), torch.tensor([0.8, 0.6]), rule
    )
    assert missed.tolist() == [0, 0, 1, 6, 5]  # >= death resets, below it counts a miss
    assert keep.tolist() == [True, True, True, False, True]  # 5 misses are kept, the 6th exceeds max_missed
    assert seen.tolist() == [True, False, False, False, False]  # reported only from the report threshold (0.8)
    assert born.tolist() == [True, False]
    # best total 0.9 + 0.4 pairs object 1 with tracklet 1, but 0.4 is below 0.5
    assert associate(torch.tensor([[0.9, 0.2], [0.8, 0.4]])).tolist() == [0, -1]


def test_collapsed_tracks_by_hand() -> None:
    """The lower-scored of two live tracks on one object ends; a dead track (below death) neither ends nor ends
    another; off at 1.0 (MOTRv2)."""
    boxes = torch.tensor(
        [
            [0.0, 0.0, 10.0, 10.0],
            [0.0, 0.0, 10.0, 8.0],  # IoU 0.8 with track 0, lower score: collapsed onto it
            [0.0, 1.0, 10.0, 10.0],  # IoU 0.9 with track 0 but not live
            [20.0, 0.0, 30.0, 10.0],  # its own object
            [0.0, 3.0, 10.0, 13.0],  # IoU 50 / 130 = 0.385 with track 1 (0.538 with track 0, which track 1 ends)
        ]
    )
    scores = torch.tensor([0.6, 0.9, 0.95, 0.5, 0.7])
    live = torch.tensor([True, True, False, True, True])
    assert collapsed_tracks(live, boxes, scores, 0.5).tolist() == [True, False, False, False, False]
    assert collapsed_tracks(live, boxes, scores, 0.3).tolist() == [True, False, False, False, True]
    assert collapsed_tracks(live, boxes, scores, 0.85).tolist() == [False] * 5
    assert collapsed_tracks(live, boxes, scores, 1.0).tolist() == [False] * 5


def test_duplicate_births_by_hand() -> None:
    track = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    dets = torch.tensor(
        [
            [0.0, 0.0, 10.0, 8.0],  # IoU 0.8 with the track: a proposal of the tracked object
            [20.0, 0.0, 30.0, 10.0],  # new object
            [20.0, 0.0, 30.0, 9.0],  # IoU 0.9 with the better-scored candidate above
            [0.0, 5.0, 10.0, 15.0],  # IoU 1/3 with the track: kept at 0.5
            [40.0, 0.0, 50.0, 10.0],  # not a birth candidate (below the birth score)
        ]
    )
    scores = torch.tensor([0.9, 0.8, 0.7, 0.9, 0.2])
    born = torch.tensor([True, True, True, True, False])
    assert suppress_duplicates(born, dets, scores, track, 0.5).tolist() == [False, True, False, True, False]
    assert suppress_duplicates(born, dets, scores, track, 0.85).tolist() == [True, True, False, True, False]
    assert suppress_duplicates(born, dets, scores, track, 1.0).tolist() == born.tolist()  # off: MOTRv2's rule
    assert suppress_duplicates(born, dets, scores, track[:0], 0.5).tolist() == [True, True, False, True, False]


def test_online_tracker_rows_and_ids() -> None:
    torch.manual_seed(0)
    model = QueryTracker(query_defaults()).eval()
    tracker = OnlineQueryTracker(
        model, Lifecycle(birth=0.0, death=0.0, max_missed=0, report=0.0, duplicate_iou=1.0, track_duplicate_iou=1.0)
    )
    first = tracker.step(1, torch.randn(3, 64, 96), (960, 640))
    second = tracker.step(2, torch.randn(3, 64, 96), (960, 640))
    assert [r[1] for r in first] == list(range(1, 17))  # every detect query is born
    assert [r[1] for r in second] == list(range(1, 33))  # all kept, 16 more born
    frame, tid, x, y, w, h, score = first[0]
    assert frame == 1 and w > 0 and h > 0 and 0 <= score <= 1
    tracker.reset()
    assert [r[1] for r in tracker.step(1, torch.randn(3, 64, 96), (960, 640))][0] == 1


def test_online_tracker_la_motr_runs() -> None:
    torch.manual_seed(0)
    model = QueryTracker(query_defaults(sotd=True, tracklet_update=True)).eval()
    tracker = OnlineQueryTracker(
        model, Lifecycle(birth=0.0, death=0.0, max_missed=10, report=0.0, duplicate_iou=1.0, track_duplicate_iou=1.0)
    )
    tracker.step(1, torch.randn(3, 64, 96), (960, 640))
    rows = tracker.step(2, torch.randn(3, 64, 96), (960, 640))
    ids = [r[1] for r in rows]
    assert len(ids) == len(set(ids)) and set(range(1, 17)) <= set(ids)


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"model\.components\.tracklet_update"):
        QueryModelConfig.from_dict({"tracklet_update": True})
    with pytest.raises(ConfigError, match="model.groups"):
        QueryModelConfig.from_dict({"groups": 4})
    with pytest.raises(ConfigError, match=r"model\.components\.rfs"):
        QueryModelConfig.from_dict({"rfs": True, "dec_layers": 1})


def test_online_tracker_iou_association_without_sgla() -> None:
    """Separated detection without SGLA associates by IoU: an object on top of a tracklet is not born again."""
    torch.manual_seed(0)
    model = QueryTracker(query_defaults(sotd=True, sgla=False)).eval()
    tracker = OnlineQueryTracker(
        model, Lifecycle(birth=0.0, death=0.0, max_missed=10, report=0.0, duplicate_iou=1.0, track_duplicate_iou=1.0)
    )
    image = torch.randn(3, 64, 96)
    first = tracker.step(1, image, (960, 640))
    second = tracker.step(2, image, (960, 640))
    # same image: each tracklet re-finds its box and the object query that made it sits on it again, so fewer
    # than 16 objects are born in frame 2 (without the IoU rule all 16 would be)
    born = [r[1] for r in second if r[1] > len(first)]
    assert len(first) == 16 and len(born) < 16


def test_family_tracker_adapter_scales_rows_to_original_pixels() -> None:
    torch.manual_seed(0)
    model = QueryTracker(query_defaults(proposals=True))
    tracker = QueryFamilyTracker(
        model, Lifecycle(birth=0.0, death=0.0, max_missed=10, report=0.0, duplicate_iou=1.0, track_duplicate_iou=1.0)
    )
    image = np.zeros((64, 96, 3), dtype=np.uint8)
    dets = (np.array([[100.0, 60.0, 300.0, 260.0]]), np.array([0.9]))
    frame = SimpleNamespace(number=1, image=image, scale=np.array([10.0, 10.0, 10.0, 10.0]), detections=dets)
    rows = tracker.step(frame)
    assert len(rows) == 17 and [r[0] for r in rows] == list(range(1, 18))  # 16 anchors + 1 proposal
    direct = OnlineQueryTracker(
        model, Lifecycle(birth=0.0, death=0.0, max_missed=10, report=0.0, duplicate_iou=1.0, track_duplicate_iou=1.0)
    )
    proposal = torch.tensor([[200 / 960, 160 / 640, 200 / 960, 200 / 640, 0.9]])  # the det box / 10, normalised
    ref = direct.step(1, normalise_image(torch.zeros(3, 64, 96)), (96, 64), proposal)
    for (tid, box, score), (_, rid, x, y, w, h, rscore) in zip(rows, ref):
        assert tid == rid and score == pytest.approx(rscore)
        assert box.tolist() == pytest.approx([10 * x, 10 * y, 10 * (x + w), 10 * (y + h)], rel=1e-4)


def test_missed_track_keeps_its_query_and_box() -> None:
    """A track scored below ``death`` is kept with its previous content and reference box (MOTRv2's QIM rule)."""
    torch.manual_seed(0)
    model = QueryTracker(query_defaults()).eval()
    tracker = OnlineQueryTracker(
        model, Lifecycle(birth=0.0, death=0.0, max_missed=10, report=0.0, duplicate_iou=1.0, track_duplicate_iou=1.0)
    )
    tracker.step(1, torch.randn(3, 64, 96), (960, 640))
    content, ref = tracker.content.clone(), tracker.ref.clone()
    # nothing alive, nothing born
    tracker.rule = Lifecycle(birth=1.1, death=1.1, max_missed=3, report=0.0, duplicate_iou=1.0, track_duplicate_iou=1.0)
    tracker.step(2, torch.randn(3, 64, 96), (960, 640))
    assert torch.equal(tracker.content, content) and torch.equal(tracker.ref, ref)
    assert tracker.missed.tolist() == [1] * 16


def test_proposal_content_is_the_shared_embedding_plus_the_score_embedding() -> None:
    """MOTRv2's proposal queries: anchored on the detector boxes, content = shared embedding + sine(score)."""
    from motforge.families.query.transformer import sine_embed

    torch.manual_seed(0)
    model = QueryTracker(query_defaults(proposals=True))
    proposals = torch.tensor([[0.3, 0.4, 0.1, 0.2, 0.9], [0.6, 0.5, 0.2, 0.3, 0.2]])
    content, ref = model.detect_queries(proposals)
    q = model.cfg.num_queries
    assert content.shape == (q + 2, 32) and torch.equal(ref[q:], proposals[:, :4])
    for i, score in enumerate((0.9, 0.2)):
        expected = model.proposal_content.weight[0] + sine_embed(torch.tensor([score]), 32)
        assert torch.allclose(content[q + i], expected)
    assert not torch.allclose(content[q], content[q + 1])
    assert torch.equal(content[:q], model.query_content.weight)


def test_qim_update_by_hand() -> None:
    """One track, identity attention projections (a softmax over one key is 1, so attention returns its value), the
    FFN's inner layer zeroed and the update MLP = relu: QIM gives LN_q(query + relu(LN(LN(hidden + hidden))))."""
    from motforge.families.query.qim import QueryInteraction
    from test_query_sgla import layer_norm

    d = 8
    qim = QueryInteraction(d=d, heads=1, ffn=2 * d)
    with torch.no_grad():
        qim.attn.in_proj_weight.copy_(torch.eye(d).repeat(3, 1))
        qim.attn.in_proj_bias.zero_()
        qim.attn.out_proj.weight.copy_(torch.eye(d))
        qim.attn.out_proj.bias.zero_()
        for p in qim.ffn.net.parameters():
            p.zero_()
        first, second = qim.update.layers
        first.weight.copy_(torch.cat([torch.eye(d), torch.zeros(d, d)]))
        first.bias.zero_()
        second.weight.copy_(torch.cat([torch.eye(d), torch.zeros(d, d)], 1))
        second.bias.zero_()
    query = torch.tensor([[0.5, -1.0, 0.25, 2.0, 0.0, 1.0, -0.5, 0.75]])
    hidden = torch.tensor([[1.0, 3.0, -2.0, 0.5, 0.1, -0.3, 2.5, 0.0]])
    out = qim(query, hidden, torch.tensor([[0.5, 0.5, 0.2, 0.2]]))
    x = layer_norm(layer_norm([2 * v for v in hidden[0].tolist()]))
    expected = layer_norm([q + max(v, 0.0) for q, v in zip(query[0].tolist(), x)])
    assert out[0].tolist() == pytest.approx(expected, rel=1e-4, abs=1e-5)


def permuted_clip(frames: int = 3) -> list[ClipFrame]:
    """Three objects whose ground-truth order changes every frame, so an identity's index changes."""
    g = torch.Generator().manual_seed(2)
    gt = torch.tensor([[0.3, 0.4, 0.2, 0.3], [0.7, 0.6, 0.15, 0.25], [0.5, 0.2, 0.1, 0.2]])
    ids = torch.tensor([5, 9, 7])
    clip = []
    for t in range(frames):
        order = torch.roll(torch.arange(3), t)
        boxes = gt[order] + 0.01 * t
        clip.append(ClipFrame(torch.randn(3, 64, 96, generator=g), boxes, ids[order], boxes + 0.01, torch.ones(3)))
    return clip


def spy(monkeypatch, name: str, keep) -> list:
    """Wrap ``clip_loss.<name>``; each call appends ``keep(args, result)`` to the returned list."""
    import motforge.families.query.clip_loss as module

    seen: list = []
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(keep(args, out))
        return out

    monkeypatch.setattr(module, name, wrapper)
    return seen


def recorded_targets(monkeypatch) -> list[list[torch.Tensor]]:
    """Per frame, the targets ``layer_targets`` gave each decoder layer."""
    return spy(monkeypatch, "layer_targets", lambda args, out: [t.clone() for t in out])


def test_tgd_groups_are_trained_on_the_original_track_queries_targets(monkeypatch) -> None:
    """Every TGD group, in every decoder, gets the last decoder's targets of the original track queries (their
    identities' indices in this frame; MOTRv3 app. B), also when RFS gives the early decoders other targets."""
    calls = spy(monkeypatch, "set_loss", lambda args, out: (args[0].shape[0], args[2].clone()))
    recorded = recorded_targets(monkeypatch)
    torch.manual_seed(0)
    clip = permuted_clip()
    model = QueryTracker(query_defaults(tgd=True, tgd_groups=2, rfs=True))
    clip_loss(model, clip)
    m, layers = model.cfg.num_queries, model.cfg.dec_layers
    # frame 0: one original call per layer; frames 1, 2: one original and two group calls per layer
    assert [c[0] for c in calls[:layers]] == [m] * layers
    checked = 0
    for f, targets in enumerate(recorded[1:], start=1):
        frame_calls = calls[layers + (f - 1) * 3 * layers : layers + f * 3 * layers]
        n = frame_calls[1][0]
        track_targets = targets[-1][m : m + n]
        assert n == 3 and sorted(track_targets.tolist()) == [0, 1, 2]  # every identity tracked, indices of frame f
        assert clip[f].gt_ids[track_targets].unique().numel() == 3
        for layer in range(layers):
            original, *groups = frame_calls[3 * layer : 3 * layer + 3]
            assert original[0] == m + n
            for size, target in groups:
                assert size == n and torch.equal(target, track_targets)
                checked += 1
    assert checked == 2 * 2 * layers


def test_eq2_partner_in_training_is_the_object_on_the_same_ground_truth(monkeypatch) -> None:
    """LA-MOTR's tracklet update during training: each tracklet mixes with the object query matched to its ground
    truth (separated detection matches objects to every ground truth)."""
    seen = spy(monkeypatch, "tracklet_update", lambda args, out: args[2].clone())
    recorded = recorded_targets(monkeypatch)
    torch.manual_seed(0)
    model = QueryTracker(query_defaults(sotd=True, tracklet_update=True, tracklet_w=0.5))
    clip_loss(model, permuted_clip())
    m = model.cfg.num_queries
    assert len(seen) == 3
    for partner, targets in zip(seen[1:], recorded[1:]):
        last = targets[-1]
        assert partner.numel() == 3 and (partner >= 0).all()
        assert torch.equal(last[partner], last[m : m + 3])
