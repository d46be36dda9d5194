"""Multi-scale deformable attention sampling (Deformable DETR eq. 3) against a direct bilinear computation."""

from __future__ import annotations

import math

import pytest
import torch

from motforge.families.query.deform_attn import MSDeformAttn, ms_deform_sample


def bilinear(img: list[list[float]], u: float, v: float) -> float:
    """Value at normalised (u, v) with pixel centres at (i + 0.5) / W and zeros outside the map."""
    h, w = len(img), len(img[0])
    x, y = u * w - 0.5, v * h - 0.5
    x0, y0 = math.floor(x), math.floor(y)
    total = 0.0
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                total += wy * wx * img[yy][xx]
    return total


def test_hand_values_two_levels_two_heads() -> None:
    # level 0 is 2 x 3, level 1 is 1 x 2; head 0 reads channel values a, head 1 reads 10 * a
    lvl0 = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    lvl1 = [[7.0, 8.0]]
    flat = torch.tensor([v for row in lvl0 for v in row] + [v for row in lvl1 for v in row])
    value = torch.stack([flat, 10 * flat], dim=-1).view(1, 8, 2, 1)  # [B, S, M, D=1]
    loc = torch.zeros(1, 1, 2, 2, 2, 2)  # [B, Q, M, L, P, 2]
    wts = torch.zeros(1, 1, 2, 2, 2)
    # head 0: level 0 at the map centre (between 2 and 5 -> 3.5) and at the top-left corner (0.25 * 1, zero padding)
    loc[0, 0, 0, 0, 0] = torch.tensor([0.5, 0.5])
    loc[0, 0, 0, 0, 1] = torch.tensor([0.0, 0.0])
    wts[0, 0, 0, 0] = torch.tensor([0.5, 0.5])
    # head 1: level 1 at x = 0.5 (between 7 and 8 -> 7.5 * 10), weight 1
    loc[0, 0, 1, 1, 0] = torch.tensor([0.5, 0.5])
    wts[0, 0, 1, 1, 0] = 1.0
    out = ms_deform_sample(value, [(2, 3), (1, 2)], loc, wts)
    assert out.shape == (1, 1, 2)
    assert out[0, 0, 0].item() == pytest.approx(0.5 * 3.5 + 0.5 * 0.25)
    assert out[0, 0, 1].item() == pytest.approx(75.0)


def test_random_against_direct_loop() -> None:
    g = torch.Generator().manual_seed(0)
    shapes = [(3, 4), (2, 2)]
    m, d, q, p = 2, 3, 5, 3
    value = torch.randn(1, 16, m, d, generator=g)
    loc = torch.rand(1, q, m, 2, p, 2, generator=g) * 1.4 - 0.2  # some points fall outside the map
    wts = torch.rand(1, q, m, 2, p, generator=g)
    out = ms_deform_sample(value, shapes, loc, wts)
    starts = [0, 12]
    for qi in range(q):
        for head in range(m):
            for c in range(d):
                expected = 0.0
                for level, (h, w) in enumerate(shapes):
                    img = value[0, starts[level] : starts[level] + h * w, head, c].view(h, w).tolist()
                    for k in range(p):
                        u, v = loc[0, qi, head, level, k].tolist()
                        expected += wts[0, qi, head, level, k].item() * bilinear(img, u, v)
                assert out[0, qi, head * d + c].item() == pytest.approx(expected, abs=1e-5)


def test_module_offsets_are_normalised_per_level_and_by_box_size() -> None:
    """A point reference moves by offset / (W, H) of each level; a box reference by offset / P * (w, h) / 2."""
    attn = MSDeformAttn(d_model=2, n_levels=2, n_heads=1, n_points=2)
    with torch.no_grad():
        attn.value_proj.weight.copy_(torch.eye(2))
        attn.value_proj.bias.zero_()
        attn.output_proj.weight.copy_(torch.eye(2))
        attn.output_proj.bias.zero_()
        attn.sampling_offsets.weight.zero_()
        attn.sampling_offsets.bias.copy_(torch.tensor([1.0, 0.0] + [0.0] * 6))  # level 0, point 0: one unit right
        attn.attention_weights.bias.copy_(torch.tensor([10.0, -10.0, -10.0, -10.0]))  # nearly all on level 0, point 0
    shapes = [(1, 4), (1, 2)]
    lvl0 = torch.tensor([1.0, 2.0, 3.0, 4.0])
    value = torch.stack([lvl0, lvl0], -1)
    value = torch.cat([value, torch.zeros(2, 2)]).view(1, 6, 2)
    q = torch.zeros(1, 1, 2)
    w0 = torch.softmax(torch.tensor([10.0, -10.0, -10.0, -10.0]), 0)[0].item()
    # point reference at pixel centre 1 (u = 0.375): one unit right is pixel 2, value 3
    out = attn(q, torch.tensor([0.375, 0.5]).repeat(1, 1, 2, 1), value, shapes)
    assert out[0, 0, 0].item() == pytest.approx(w0 * 3.0, rel=1e-5)
    # box reference (cx 0.375, w 1.0): offset 1 / P * w / 2 = 0.25 -> u = 0.625 = pixel centre 2
    ref = torch.tensor([0.375, 0.5, 1.0, 1.0]).repeat(1, 1, 2, 1)
    out = attn(q, ref, value, shapes)
    assert out[0, 0, 0].item() == pytest.approx(w0 * 3.0, rel=1e-5)
    ref = torch.tensor([0.375, 0.5, 0.5, 1.0]).repeat(1, 1, 2, 1)  # half the width: u = 0.5
    out = attn(q, ref, value, shapes)
    assert out[0, 0, 0].item() == pytest.approx(w0 * 2.5, rel=1e-5)
