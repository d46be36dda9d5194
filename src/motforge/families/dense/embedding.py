"""RoI embedding head (QDTrack's quasi-dense embeddings), FDTA's consistent-feature MLP (Identity Adapter, B.3) and
DepTR-MOT's instance-depth head, all on RoI-aligned features of the stride-8 map."""

from __future__ import annotations

import torch
import torch.nn as nn
from torchvision.ops import roi_align

from motforge.families.dense.detection_head import STRIDE

ROI_SIZE = 7


def pool(features: torch.Tensor, boxes: list[torch.Tensor]) -> torch.Tensor:
    """RoI Align of per-image xyxy boxes (input pixels) on a stride-8 map -> [N, C, 7, 7]."""
    return roi_align(
        features,
        [b.float() for b in boxes],
        output_size=ROI_SIZE,
        spatial_scale=1.0 / STRIDE,
        sampling_ratio=2,
        aligned=True,
    )


class EmbeddingHead(nn.Module):
    """Appearance embedding of each RoI (the dense family's visual attention is RoI Align on its box); with the
    Spatial Adapter on, a depth cross-attention layer follows it (FDTA Table 9: Self -> Vision -> Depth)."""

    def __init__(self, channels: int, dim: int, depth_fusion: bool) -> None:
        super().__init__()
        flat = channels * ROI_SIZE * ROI_SIZE
        self.appearance = nn.Sequential(nn.Linear(flat, 256), nn.ReLU(inplace=True), nn.Linear(256, dim))
        self.depth_attention = DepthCrossAttention(dim, channels) if depth_fusion else None
        self.dim = dim

    def forward(
        self, roi_feats: torch.Tensor, depth_features: torch.Tensor | None = None, counts: list[int] | None = None
    ) -> torch.Tensor:
        """roi_feats [N, C, 7, 7]; depth_features F_D [B, C, H, W] and the RoI count per image (N = sum)."""
        e = self.appearance(roi_feats.flatten(1))
        if self.depth_attention is not None and depth_features is not None and counts is not None:
            e = self.depth_attention(e, depth_features, counts)
        return e


class DepthCrossAttention(nn.Module):
    """FDTA's depth cross-attention (sec. 3.2; its decoder layer's cross_attn_depth): each object embedding queries
    every location of its own image's refined depth features F_D (keys = values = F_D, which already carry PE_d; no
    query position, as in FDTA's code), with a residual and a LayerNorm, then the layer's FFN (4x wide, as FDTA's
    decoder FFN of 1024 for 256 channels) with a residual and a LayerNorm; no dropout (FDTA's DETR_DROPOUT: 0).
    Heads: 8 as FDTA (4 when the width does not divide by 8)."""

    def __init__(self, dim: int, channels: int, dropout: float = 0.0) -> None:
        super().__init__()
        heads = 8 if dim % 8 == 0 else 4
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, kdim=channels, vdim=channels, batch_first=True)
        self.norm = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(
            nn.Linear(dim, 4 * dim), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(4 * dim, dim)
        )
        self.norm_ffn = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries: torch.Tensor, depth_features: torch.Tensor, counts: list[int]) -> torch.Tensor:
        """queries [N, D] grouped by image (``counts``), depth_features [B, C, H, W] -> [N, D]."""
        keys = depth_features.flatten(2).transpose(1, 2)  # [B, HW, C]
        out = []
        for b, q in enumerate(torch.split(queries, counts)):
            if q.shape[0] == 0:
                out.append(q)
                continue
            attended = self.attn(q[None], keys[b : b + 1], keys[b : b + 1], need_weights=False)[0][0]
            out.append(self.norm(q + self.dropout(attended)))
        e = torch.cat(out)
        return self.norm_ffn(e + self.dropout(self.ffn(e)))


class ConsistentFeatureMLP(nn.Module):
    """FDTA's consistent feature extractor phi: a 3-layer MLP projecting embeddings into an identity space."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, dim)
        )

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.net(e), dim=-1)


class InstanceDepthHead(nn.Module):
    """DepTR-MOT's depth awareness: an instance depth (FDTA's 0..1-normalised disparity) and a soft histogram per
    RoI. Box-anchored, as a DETR box refinement treats its reference: with the Spatial Adapter's expected depth
    RoI-aligned in the box (7x7 cells, detached: the map is trained by its own loss) the anchor is a weighted mean
    of those cells, the weights a softmax predicted from the RoI's visual features (zero-initialised, so training
    starts at the box mean), and the head adds an offset in logit space, value = sigmoid(logit(anchor) + offset).
    The weighting is motforge's choice where DepTR-MOT is silent: its label is the mean inside the SAM2 mask, and a
    plain box mean of even the teacher's map orders only about 78% of overlapping synthdance pairs (README), since
    the box of an occluded dancer holds its occluder. Without the Spatial Adapter the anchor is 0.5."""

    def __init__(self, channels: int, bins: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(channels * ROI_SIZE * ROI_SIZE, 128), nn.ReLU(inplace=True))
        self.value = nn.Linear(128, 1)
        self.hist = nn.Linear(128, bins)
        self.cell_weights = nn.Linear(128, ROI_SIZE * ROI_SIZE)
        nn.init.zeros_(self.cell_weights.weight)
        nn.init.zeros_(self.cell_weights.bias)

    def forward(
        self, roi_feats: torch.Tensor, depth_cells: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """roi_feats [N, C, 7, 7]; depth_cells [N, 7, 7] (0..1) or None -> values [N], histogram logits [N, bins]."""
        h = self.net(roi_feats.flatten(1))
        offset = self.value(h)[:, 0]
        if depth_cells is not None:
            weights = torch.softmax(self.cell_weights(h), dim=-1)
            anchor = (weights * depth_cells.detach().flatten(1)).sum(-1)
            offset = offset + torch.logit(anchor.clamp(1e-3, 1 - 1e-3))
        return torch.sigmoid(offset), self.hist(h)
