"""Multi-scale deformable attention (Deformable DETR, Zhu et al. 2021, sec. 4.1, eq. 3) in plain PyTorch.

MSDeformAttn(z_q, p_q, {x^l}) = sum_m W_m [ sum_l sum_k A_mlqk * W'_m x^l(phi_l(p_q) + Delta p_mlqk) ].
Sampling x^l at a fractional location is bilinear interpolation with zeros outside the map, exactly what
``grid_sample(align_corners=False, padding_mode="zeros")`` computes when a normalised location u in [0, 1] is mapped to
the grid coordinate 2u - 1 (pixel centres at (i + 0.5) / W). The upstream plain-PyTorch form is
``ms_deform_attn_core_pytorch`` in fundamentalvision/Deformable-DETR (models/ops/functions/ms_deform_attn_func.py);
the offset normalisation (by the level's W, H for point references, by half the box size over n_points for box
references) follows models/ops/modules/ms_deform_attn.py there. No custom CUDA op is needed.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def ms_deform_sample(
    value: torch.Tensor, shapes: list[tuple[int, int]], locations: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Weighted bilinear samples of every level.

    value [B, S, M, D] (S = sum of H_l * W_l, levels flattened row-major, M heads of D channels);
    locations [B, Q, M, L, P, 2] as (x, y) in [0, 1]; weights [B, Q, M, L, P]. Returns [B, Q, M * D].
    """
    b, s, m, d = value.shape
    _, q, _, n_levels, p, _ = locations.shape
    if s != sum(h * w for h, w in shapes):
        raise ValueError(f"value has {s} positions but the level shapes {shapes} hold {sum(h * w for h, w in shapes)}")
    per_level = value.split([h * w for h, w in shapes], dim=1)
    grids = 2 * locations - 1
    samples = []
    for level, (h, w) in enumerate(shapes):
        v = per_level[level].permute(0, 2, 3, 1).reshape(b * m, d, h, w)
        g = grids[:, :, :, level].transpose(1, 2).reshape(b * m, q, p, 2)
        samples.append(F.grid_sample(v, g, mode="bilinear", padding_mode="zeros", align_corners=False))
    stacked = torch.stack(samples, dim=-2).flatten(-2)  # [B*M, D, Q, L*P]
    w = weights.transpose(1, 2).reshape(b * m, 1, q, n_levels * p)
    return (stacked * w).sum(-1).view(b, m * d, q).transpose(1, 2)


class MSDeformAttn(nn.Module):
    """Deformable attention over L feature levels with M heads and P points per head and level."""

    def __init__(self, d_model: int, n_levels: int, n_heads: int, n_points: int) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} is not divisible by n_heads {n_heads}")
        self.n_levels, self.n_heads, self.n_points = n_levels, n_heads, n_points
        self.sampling_offsets = nn.Linear(d_model, n_heads * n_levels * n_points * 2)
        self.attention_weights = nn.Linear(d_model, n_heads * n_levels * n_points)
        self.value_proj = nn.Linear(d_model, d_model)
        self.output_proj = nn.Linear(d_model, d_model)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Offsets start on a ring of M directions, point k at distance k + 1 (Deformable DETR's initialisation)."""
        nn.init.zeros_(self.sampling_offsets.weight)
        angles = torch.arange(self.n_heads, dtype=torch.float32) * (2.0 * math.pi / self.n_heads)
        grid = torch.stack([angles.cos(), angles.sin()], -1)
        grid = grid / grid.abs().max(-1, keepdim=True)[0]
        grid = grid.view(self.n_heads, 1, 1, 2).repeat(1, self.n_levels, self.n_points, 1)
        grid = grid * torch.arange(1, self.n_points + 1, dtype=torch.float32).view(1, 1, -1, 1)
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(grid.flatten())
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)
        nn.init.xavier_uniform_(self.value_proj.weight)
        nn.init.zeros_(self.value_proj.bias)
        nn.init.xavier_uniform_(self.output_proj.weight)
        nn.init.zeros_(self.output_proj.bias)

    def forward(
        self, query: torch.Tensor, reference: torch.Tensor, value: torch.Tensor, shapes: list[tuple[int, int]]
    ) -> torch.Tensor:
        """query [B, Q, d]; reference [B, Q, L, 2] points or [B, Q, L, 4] boxes (cx, cy, w, h), normalised;
        value [B, S, d] (the flattened levels). Returns [B, Q, d]."""
        b, q, _ = query.shape
        m, n_levels, p = self.n_heads, self.n_levels, self.n_points
        v = self.value_proj(value).view(b, value.shape[1], m, -1)
        offsets = self.sampling_offsets(query).view(b, q, m, n_levels, p, 2)
        weights = self.attention_weights(query).view(b, q, m, n_levels * p).softmax(-1).view(b, q, m, n_levels, p)
        if reference.shape[-1] == 2:
            size = torch.tensor([[w, h] for h, w in shapes], dtype=query.dtype, device=query.device)
            loc = reference[:, :, None, :, None, :] + offsets / size[None, None, None, :, None, :]
        elif reference.shape[-1] == 4:
            loc = reference[:, :, None, :, None, :2] + offsets / p * reference[:, :, None, :, None, 2:] * 0.5
        else:
            raise ValueError(f"reference must end in 2 or 4 values, got shape {tuple(reference.shape)}")
        return self.output_proj(ms_deform_sample(v, shapes, loc, weights))
