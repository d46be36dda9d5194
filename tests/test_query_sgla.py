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
