"""LA-MOTR's SGLA layer update (sec. 3.2) and tracklet update (eq. 2), computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from motforge.nn.sgla import SpatialWeightedAttention, relative_cues, tracklet_update


def test_relative_cues_are_pairwise_differences() -> None:
    obj = torch.tensor([[0.5, 0.5, 0.2, 0.4], [0.1, 0.2, 0.3, 0.4]])
    tck = torch.tensor([[0.4, 0.6, 0.1, 0.2]])
    assert relative_cues(obj, tck)[:, 0].tolist() == [
        pytest.approx([0.1, -0.1, 0.1, 0.2]),
        pytest.approx([-0.3, -0.4, 0.2, 0.2]),
    ]


def test_layer_update_of_association_matrix_by_hand() -> None:
    # d = 2, one head; Q, K, V identity; W_asso reads the first channel of M; W_upd writes A into channel 1;
    # the cue MLP outputs (relu(dx), 0); Nd = 1 object, Nt = 2 tracklets; M_(l) given
    layer = SpatialWeightedAttention(d=2, heads=1, cues=True)
    with torch.no_grad():
        for lin in (layer.q, layer.k, layer.v, layer.out):
            lin.weight.copy_(torch.eye(2))
            lin.bias.zero_()
        layer.w_asso.weight.copy_(torch.tensor([[1.0, 0.0]]))
        layer.w_asso.bias.zero_()
        layer.w_upd.weight.copy_(torch.tensor([[0.0], [1.0]]))
        layer.w_upd.bias.zero_()
        first, second = layer.cue.layers
        first.weight.zero_()
        first.weight[0, 0] = 1.0
        first.bias.zero_()
        second.weight.copy_(torch.eye(2))
        second.bias.zero_()
    obj = torch.tensor([[1.0, 0.0]])
    tck = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    m = torch.tensor([[[0.5, 0.0], [-0.2, 3.0]]])  # [1, 2, 2]
    obj_boxes = torch.tensor([[0.6, 0.5, 0.2, 0.2]])
    tck_boxes = torch.tensor([[0.4, 0.5, 0.2, 0.2], [0.9, 0.5, 0.2, 0.2]])
    _, _, m_next = layer(obj, tck, m, obj_boxes, tck_boxes)
    # M' = M + E^diff: dx = 0.2 and -0.3 -> E = [(0.2, 0), (0, 0)]; M' first channel = 0.7, -0.2
    # attention row of the object: logits q.k / sqrt(2) + bias = [1/sqrt2, 0 + 0.7, 1/sqrt2 - 0.2]
    s = 1 / math.sqrt(2)
    row = [s, 0.7, s - 0.2]
    z = sum(math.exp(v) for v in row)
    a1, a2 = math.exp(row[1]) / z, math.exp(row[2]) / z
    assert m_next[0, 0].tolist() == pytest.approx([0.7, 0.0 + a1], rel=1e-5)
    assert m_next[0, 1].tolist() == pytest.approx([-0.2, 3.0 + a2], rel=1e-5)


def test_eq2_tracklet_update() -> None:
    tck = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    obj = torch.tensor([[10.0, 20.0], [30.0, 40.0]])
    out = tracklet_update(tck, obj, torch.tensor([1, -1, 0]), w=0.9)
    assert out.tolist() == [pytest.approx([3.9, 5.8]), pytest.approx([3.0, 4.0]), pytest.approx([5.5, 7.4])]


def layer_norm(x: list[float], eps: float = 1e-5) -> list[float]:
    mean = sum(x) / len(x)
    var = sum((v - mean) ** 2 for v in x) / len(x)
    return [(v - mean) / math.sqrt(var + eps) for v in x]


def test_layer_update_of_embeddings_by_hand() -> None:
    """O_(l+1) = LN(O + A V) with the association bias in the object->tracklet block and, transposed, in the
    tracklet->object block (tracklet->tracklet and object->object get none). d = 4, one head, identity projections,
    W^asso reads channel 0 of M, no cues; one object, two tracklets, all three orthonormal."""
    layer = SpatialWeightedAttention(d=4, heads=1, cues=False)
    with torch.no_grad():
        for lin in (layer.q, layer.k, layer.v, layer.out):
            lin.weight.copy_(torch.eye(4))
            lin.bias.zero_()
        layer.w_asso.weight.copy_(torch.tensor([[1.0, 0.0, 0.0, 0.0]]))
        layer.w_asso.bias.zero_()
    eye = torch.eye(4)
    obj, tck = eye[:1], eye[1:3]
    m = torch.zeros(1, 2, 4)
    m[0, 0, 0], m[0, 1, 0] = 0.5, -1.0
    boxes = torch.zeros(1, 4), torch.zeros(2, 4)
    obj_out, tck_out, _ = layer(obj, tck, m, *boxes)
    # q.k / sqrt(4): 0.5 on the diagonal, 0 elsewhere; plus the bias
    rows = {"obj": [0.5, 0.5, -1.0], "t0": [0.5, 0.5, 0.0], "t1": [-1.0, 0.0, 0.5]}
    inputs = {"obj": [1.0, 0, 0, 0], "t0": [0, 1.0, 0, 0], "t1": [0, 0, 1.0, 0]}
    expected = {}
    for name, row in rows.items():
        z = sum(math.exp(v) for v in row)
        a = [math.exp(v) / z for v in row]
        expected[name] = layer_norm([inputs[name][i] + (a[i] if i < 3 else 0.0) for i in range(4)])
    assert obj_out[0].tolist() == pytest.approx(expected["obj"], rel=1e-4, abs=1e-5)
    assert tck_out[0].tolist() == pytest.approx(expected["t0"], rel=1e-4, abs=1e-5)
    assert tck_out[1].tolist() == pytest.approx(expected["t1"], rel=1e-4, abs=1e-5)


def test_layers_start_from_zero_and_read_each_layers_boxes() -> None:
    """The SGLA loop: M_(0) = 0 of shape Nd x Nt x d, layer l+1 gets layer l's outputs, the relative cues of
    layer l come from the shared head applied to layer l's input embeddings, and S = w . M_(L) (logits)."""
    from motforge.nn.sgla import LearnableAssociation

    torch.manual_seed(0)
    sgla = LearnableAssociation(d=8, heads=2, layers=2, cues=True)
    seen: list[tuple] = []
    for layer in sgla.layers:
        layer.register_forward_hook(lambda mod, args, out: seen.append((args, out)))
    head_calls: list[tuple[torch.Tensor, torch.Tensor]] = []

    def head(o: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        head_calls.append((o.detach().clone(), t.detach().clone()))
        return o[:, :4].sigmoid(), t[:, :4].sigmoid()

    obj, tck = torch.randn(3, 8), torch.randn(2, 8)
    obj_out, tck_out, logits = sgla(obj, tck, head)
    assert len(seen) == 2 and len(head_calls) == 2
    (args0, out0), (args1, out1) = seen
    assert torch.equal(args0[2], torch.zeros(3, 2, 8))
    assert torch.equal(args0[0], obj) and torch.equal(args0[1], tck)
    for k in range(3):
        assert torch.equal(args1[k], out0[k])
    for (args, _), (o, t) in zip(seen, head_calls):
        assert torch.equal(o, args[0]) and torch.equal(t, args[1])
        assert torch.equal(args[3], o[:, :4].sigmoid()) and torch.equal(args[4], t[:, :4].sigmoid())
    assert torch.equal(obj_out, out1[0]) and torch.equal(tck_out, out1[1])
    assert torch.allclose(logits, out1[2] @ sgla.score.weight[0] + sgla.score.bias[0])


def test_identity_targets_give_eq2s_training_partner() -> None:
    """A tracklet's partner is the first object matched to the same ground truth; none for a tracklet without one
    (-1, even where objects are -1 too) or whose ground truth no object holds."""
    from motforge.families.query.matching import identity_targets

    objects = torch.tensor([-1, 4, 2, 4, -1])
    tracklets = torch.tensor([4, -1, 2, 7])
    assert identity_targets(tracklets, objects).tolist() == [1, -1, 2, -1]
    assert identity_targets(tracklets, torch.zeros(0, dtype=torch.long)).tolist() == [-1, -1, -1, -1]
