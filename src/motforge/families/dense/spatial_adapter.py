"""FDTA Spatial Adapter (section 3.2, appendix B.1): a depth extractor over strides 8/16/32, an (N+1)-bin depth
head, the expected depth, the depth encoder and the learnable interpolated depth positional embedding (eq. 2).

F_avg = (f8 + up(f16) + up(f32)) / 3 after 1x1 projections (eq. 10); two 3x3 conv blocks give F_dense; a 1x1 head
gives per-pixel bin logits; the expected depth is the probability-weighted sum of the LID bin values (eq. 13).
F_D = DepthEncoder(F_dense) + PE_d(expected depth): the encoder mirrors a DETR encoder layer (self-attention with a
2-D sine position added to queries and keys, FFN, post-norm); PE_d interpolates a learned table of d_max + 1 rows
linearly between floor and ceiling of the expected depth (eq. 2). Where the paper is silent this follows FDTA's code
(models/Spatial_Adapter/depth_predictor.py): one encoder layer, 8 heads, FFN width = channels, dropout 0.1; the
backbone features reach the adapter detached and the encoder reads F_dense detached, so the depth loss trains the
adapter alone and the depth cross-attention reaches the depth head only through the expected depth in PE_d.
``encoder_stride`` > 8 average-pools F_dense and the expected depth before the encoder (a CPU concession: full
attention over the stride-8 map of a 320x192 input, 960 tokens, costs 0.68 s per 4-frame clip with 8 heads of 8
channels on 2 cores, 0.014 s at stride 16 with 2 heads of 32); FDTA's is 8, the schema default.
Object embeddings attend to F_D in ``embedding.DepthCrossAttention``.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from motforge.depth.lid import lid_centres


class SpatialAdapter(nn.Module):
    def __init__(
        self, channels: int, num_bins: int, d_min: float, d_max: float, encoder_stride: int = 8, heads: int = 8
    ) -> None:
        super().__init__()
        self.d_max = d_max
        self.pool = encoder_stride // 8  # F_dense is at stride 8
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
        self.encoder = DepthEncoderLayer(channels, heads)
        self.depth_pe = nn.Embedding(int(d_max) + 1, channels)

    def forward(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Dense depth features [B, C, H, W], bin logits [B, K+1, H, W], expected depth [B, H, W] (FDTA's 0..255
        scale) and the refined depth features F_D [B, C, H, W] the object embeddings attend to."""
        size = feats[0].shape[-2:]
        projected = [p(f.detach()) for p, f in zip(self.project, feats)]
        avg = (
            projected[0]
            + F.interpolate(projected[1], size=size, mode="bilinear", align_corners=False)
            + F.interpolate(projected[2], size=size, mode="bilinear", align_corners=False)
        ) / 3.0
        dense = self.extract(avg)
        logits = self.head(dense)
        expected = (logits.softmax(dim=1) * self.bin_values[None, :, None, None]).sum(dim=1)
        source, depth = dense.detach(), expected
        if self.pool > 1:  # a coarser map for the encoder's full attention (spatial_adapter.encoder_stride)
            source = F.avg_pool2d(source, self.pool, ceil_mode=True)
            depth = F.avg_pool2d(depth[:, None], self.pool, ceil_mode=True)[:, 0]
        refined = self.encoder(source) + interpolated_embedding(depth, self.depth_pe).permute(0, 3, 1, 2)
        return dense, logits, expected, refined


def interpolated_embedding(values: torch.Tensor, table: nn.Embedding) -> torch.Tensor:
    """FDTA eq. 2: (1 - delta) PE[floor(d)] + delta PE[ceil(d)], delta = d - floor(d), d clamped to the table's
    rows: [...] -> [..., C]."""
    d = values.float().clamp(min=0.0, max=table.num_embeddings - 1)
    floor = d.floor()
    delta = (d - floor)[..., None]
    low = floor.long()
    high = (low + 1).clamp(max=table.num_embeddings - 1)
    return (1.0 - delta) * table(low) + delta * table(high)


def sine_position_2d(height: int, width: int, channels: int, device: torch.device) -> torch.Tensor:
    """DETR's normalised 2-D sine position embedding: [H * W, C], half the channels for y, half for x."""
    quarter = channels // 4
    freqs = 10000.0 ** (-torch.arange(quarter, device=device, dtype=torch.float32) / quarter)
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / height * 2 * math.pi
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) / width * 2 * math.pi
    y = ys[:, None] * freqs[None]
    x = xs[:, None] * freqs[None]
    y = torch.cat([y.sin(), y.cos()], dim=1)[:, None, :].expand(height, width, -1)
    x = torch.cat([x.sin(), x.cos()], dim=1)[None, :, :].expand(height, width, -1)
    pos = torch.cat([y, x], dim=-1)
    if pos.shape[-1] < channels:
        pos = F.pad(pos, (0, channels - pos.shape[-1]))
    return pos.reshape(height * width, channels)


class DepthEncoderLayer(nn.Module):
    """One DETR encoder layer over the dense depth features (FDTA's depth encoder): self-attention with the sine
    position added to queries and keys, then an FFN, each with a residual and a post-norm."""

    def __init__(self, channels: int, heads: int = 8, dropout: float = 0.1) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(channels, heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(channels)
        self.ffn = nn.Sequential(
            nn.Linear(channels, channels), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(channels, channels)
        )
        self.norm2 = nn.LayerNorm(channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, H, W] -> [B, C, H, W]."""
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        pos = sine_position_2d(h, w, c, x.device)[None]
        q = tokens + pos
        tokens = self.norm1(tokens + self.dropout(self.attn(q, q, tokens, need_weights=False)[0]))
        tokens = self.norm2(tokens + self.dropout(self.ffn(tokens)))
        return tokens.transpose(1, 2).reshape(b, c, h, w)


def sinusoidal_encoding(values: torch.Tensor, dim: int, scale: float = 255.0) -> torch.Tensor:
    """Sinusoidal features of scalars (depths on the 0..255 scale, or time steps): [N] -> [N, dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=values.device, dtype=torch.float32) / half)
    angles = (values.float()[:, None] / scale * 100.0) * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)
