"""FDTA's Spatial Adapter depth encoding (sec. 3.2, eq. 2, Table 9) and DepTR-MOT's box-anchored instance depth,
against values computed by hand."""

from __future__ import annotations

import torch
import torch.nn as nn

from motforge.families.dense.embedding import DepthCrossAttention, EmbeddingHead, InstanceDepthHead
from motforge.families.dense.spatial_adapter import (
    DepthEncoderLayer,
    SpatialAdapter,
    interpolated_embedding,
    sine_position_2d,
)


def test_depth_positional_embedding_interpolates_between_floor_and_ceiling():
    """Eq. 2: PE_d = (1 - delta) PE[floor d] + delta PE[ceil d]; integers give their row; out of range clamps."""
    table = nn.Embedding(5, 2)
    with torch.no_grad():
        table.weight.copy_(torch.tensor([[0.0, 1.0], [10.0, 0.0], [20.0, -4.0], [30.0, 8.0], [40.0, 2.0]]))
    got = interpolated_embedding(torch.tensor([2.25, 3.0, 0.5, 9.0, -1.0]), table)
    want = torch.tensor(
        [
            [0.75 * 20 + 0.25 * 30, 0.75 * -4 + 0.25 * 8],
            [30.0, 8.0],
            [5.0, 0.5],
            [40.0, 2.0],  # above the table: its last row (FDTA clamps the depth to d_max)
            [0.0, 1.0],
        ]
    )
    assert torch.allclose(got, want)


def test_depth_cross_attention_with_one_key_is_its_value_through_the_layer():
    """With a single depth location the softmax is 1, so the attention output is out_proj(v_proj(key)); then the
    residual, LayerNorm, FFN, residual, LayerNorm of FDTA's decoder layer."""
    torch.manual_seed(0)
    layer = DepthCrossAttention(dim=8, channels=4).eval()
    q = torch.randn(3, 8)
    key = torch.randn(1, 4, 1, 1)
    got = layer(q, key, [3])
    attn = layer.attn
    v = key.flatten(1) @ attn.v_proj_weight.T + attn.in_proj_bias[16:]
    attended = attn.out_proj(v).expand(3, -1)
    x = layer.norm(q + attended)
    want = layer.norm_ffn(x + layer.ffn(x))
    assert torch.allclose(got, want, atol=1e-5)


def test_depth_cross_attention_reads_only_its_own_image():
    torch.manual_seed(0)
    layer = DepthCrossAttention(dim=8, channels=4).eval()
    q = torch.randn(5, 8)
    depth = torch.randn(2, 4, 3, 3)
    base = layer(q, depth, [2, 3])
    other = depth.clone()
    other[1] = torch.randn(4, 3, 3)
    changed = layer(q, other, [2, 3])
    assert torch.allclose(base[:2], changed[:2]) and not torch.allclose(base[2:], changed[2:])


def test_embedding_head_applies_depth_attention_after_the_appearance_embedding():
    torch.manual_seed(0)
    head = EmbeddingHead(channels=8, dim=16, depth_fusion=True).eval()
    roi = torch.randn(3, 8, 7, 7)
    depth = torch.randn(1, 8, 4, 4)
    want = head.depth_attention(head.appearance(roi.flatten(1)), depth, [3])
    assert torch.allclose(head(roi, depth, [3]), want)
    plain = EmbeddingHead(channels=8, dim=16, depth_fusion=False)
    assert plain.depth_attention is None and plain(roi).shape == (3, 16)


def test_sine_position_differs_per_location_and_encoder_sees_it():
    pos = sine_position_2d(3, 4, 8, torch.device("cpu"))
    assert pos.shape == (12, 8) and torch.unique(pos, dim=0).shape[0] == 12
    torch.manual_seed(0)
    enc = DepthEncoderLayer(8).eval()
    x = torch.randn(1, 8, 1, 2)
    swapped = x.flip(-1)
    # without a position the layer would be permutation-equivariant: out(swapped) == swapped(out)
    assert not torch.allclose(enc(swapped), enc(x).flip(-1), atol=1e-4)


def test_spatial_adapter_follows_fdtas_detaching_and_adds_pe_at_the_expected_depth():
    """Backbone features reach the adapter detached (FDTA's depth_predictor gets src.detach()), and
    F_D = encoder(F_dense) + PE_d(expected depth)."""
    torch.manual_seed(0)
    sa = SpatialAdapter(channels=8, num_bins=10, d_min=1e-3, d_max=256.0).eval()
    feats = [torch.randn(1, 8, 4, 6, requires_grad=True), torch.randn(1, 8, 2, 3), torch.randn(1, 8, 1, 2)]
    dense, logits, expected, refined = sa(feats)
    logits.sum().backward()
    assert feats[0].grad is None
    want = sa.encoder(dense) + interpolated_embedding(expected, sa.depth_pe).permute(0, 3, 1, 2)
    assert torch.allclose(refined, want, atol=1e-6)
    assert sa.depth_pe.num_embeddings == 257  # int(d_max) + 1 rows, as FDTA's table


def test_instance_depth_is_anchored_on_the_box_depth():
    """DepTR-MOT's box-anchored depth: value = sigmoid(logit(anchor) + offset); at initialisation the anchor is the
    box mean of the depth cells, a zero offset returns it, and the cells get no gradient (the depth map is trained
    by its own loss)."""
    head = InstanceDepthHead(channels=2, bins=5)
    with torch.no_grad():
        head.value.weight.zero_()
        head.value.bias.zero_()
    roi = torch.randn(3, 2, 7, 7)
    cells = (torch.tensor([0.2, 0.5, 0.9])[:, None, None] + 0.05 * torch.randn(3, 7, 7)).requires_grad_(True)
    box_mean = cells.detach().mean(dim=(1, 2))
    value, hist = head(roi, cells)
    assert torch.allclose(value, box_mean, atol=1e-6) and hist.shape == (3, 5)
    with torch.no_grad():
        head.value.bias.fill_(1.0)
    value, _ = head(roi, cells)
    assert torch.allclose(value, torch.sigmoid(torch.logit(box_mean) + 1.0), atol=1e-6)
    value.sum().backward()
    assert cells.grad is None
    assert head.cell_weights.weight.grad.abs().sum() > 0  # the weighting is learned through the anchor
    unanchored, _ = head(roi)
    assert torch.allclose(unanchored, torch.sigmoid(torch.ones(3)))


def test_instance_depth_weights_the_cells_it_attends_to():
    """The anchor is the softmax-weighted mean of the cells: weights that pick one cell return that cell's depth
    (an occluded dancer's own pixels rather than its occluder's)."""
    head = InstanceDepthHead(channels=1, bins=3)
    with torch.no_grad():
        head.value.weight.zero_()
        head.value.bias.zero_()
        head.cell_weights.bias[10] = 50.0
    cells = torch.full((2, 7, 7), 0.8)
    cells[:, 1, 3] = torch.tensor([0.3, 0.6])  # flat index 10
    value, _ = head(torch.randn(2, 1, 7, 7), cells)
    assert torch.allclose(value, torch.tensor([0.3, 0.6]), atol=1e-5)


def test_a_coarser_encoder_stride_pools_the_dense_features_and_the_depth():
    """spatial_adapter.encoder_stride 16: F_dense and the expected depth are average-pooled 2x before the encoder
    and PE_d (the CPU config); the depth head and its loss stay at stride 8."""
    torch.manual_seed(0)
    sa = SpatialAdapter(channels=8, num_bins=10, d_min=1e-3, d_max=256.0, encoder_stride=16, heads=2).eval()
    feats = [torch.randn(1, 8, 4, 6), torch.randn(1, 8, 2, 3), torch.randn(1, 8, 1, 2)]
    dense, logits, expected, refined = sa(feats)
    assert logits.shape[-2:] == (4, 6) and refined.shape == (1, 8, 2, 3)
    pooled = torch.nn.functional.avg_pool2d(dense, 2)
    depth = torch.nn.functional.avg_pool2d(expected[:, None], 2)[:, 0]
    want = sa.encoder(pooled) + interpolated_embedding(depth, sa.depth_pe).permute(0, 3, 1, 2)
    assert torch.allclose(refined, want, atol=1e-6)
