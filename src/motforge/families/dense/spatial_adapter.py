"""FDTA Spatial Adapter (section 3.2, appendix B.1): a depth extractor over strides 8/16/32, an (N+1)-bin depth
head, the expected depth, and the depth positional encoding fused into object embeddings.

F_avg = (f8 + up(f16) + up(f32)) / 3 after 1x1 projections (eq. 10); two 3x3 conv blocks give F_dense; a 1x1 head
gives per-pixel bin logits; the expected depth is the probability-weighted sum of the LID bin values.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from motforge.depth.lid import lid_centres


class SpatialAdapter(nn.Module):
    def __init__(self, channels: int, num_bins: int, d_min: float, d_max: float) -> None:
        super().__init__()
        self.project = nn.ModuleList(nn.Conv2d(channels, channels, 1) for _ in range(3))
        self.extract = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.GroupNorm(8, channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.GroupNorm(8, channels),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Conv2d(channels, num_bins + 1, 1)
        self.register_buffer(
            "bin_values", torch.tensor(lid_centres(num_bins, d_min, d_max), dtype=torch.float32), persistent=False
        )

    def forward(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Dense depth features [B, C, H, W], bin logits [B, K+1, H, W], expected depth [B, H, W] (FDTA's 0..255
        scale)."""
        size = feats[0].shape[-2:]
        projected = [p(f) for p, f in zip(self.project, feats)]
        avg = (
            projected[0]
            + F.interpolate(projected[1], size=size, mode="bilinear", align_corners=False)
            + F.interpolate(projected[2], size=size, mode="bilinear", align_corners=False)
        ) / 3.0
        dense = self.extract(avg)
        logits = self.head(dense)
        expected = (logits.softmax(dim=1) * self.bin_values[None, :, None, None]).sum(dim=1)
        return dense, logits, expected


def sinusoidal_encoding(values: torch.Tensor, dim: int, scale: float = 255.0) -> torch.Tensor:
    """Sinusoidal features of scalars (depths on the 0..255 scale, or time steps): [N] -> [N, dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=values.device, dtype=torch.float32) / half)
    angles = (values.float()[:, None] / scale * 100.0) * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)
