"""RoI embedding head (QDTrack's quasi-dense embeddings), FDTA's consistent-feature MLP (Identity Adapter, B.3) and
DepTR-MOT's instance-depth head, all on RoI-aligned features of the stride-8 map."""

from __future__ import annotations

import torch
import torch.nn as nn
from torchvision.ops import roi_align

from motforge.families.dense.detection_head import STRIDE
from motforge.families.dense.spatial_adapter import sinusoidal_encoding

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
    """Appearance embedding of each RoI; with the Spatial Adapter on, depth features and a depth positional encoding
    of the RoI's expected depth are added (FDTA's depth fusion into object embeddings)."""

    def __init__(self, channels: int, dim: int, depth_fusion: bool) -> None:
        super().__init__()
        flat = channels * ROI_SIZE * ROI_SIZE
        self.appearance = nn.Sequential(nn.Linear(flat, 256), nn.ReLU(inplace=True), nn.Linear(256, dim))
        self.depth_fusion = depth_fusion
        if depth_fusion:
            self.depth_features = nn.Linear(flat, dim)
            self.depth_pe = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, dim))
        self.dim = dim

    def forward(
        self, roi_feats: torch.Tensor, roi_dense: torch.Tensor | None, roi_depth: torch.Tensor | None
    ) -> torch.Tensor:
        e = self.appearance(roi_feats.flatten(1))
        if self.depth_fusion and roi_dense is not None and roi_depth is not None:
            e = e + self.depth_features(roi_dense.flatten(1)) + self.depth_pe(sinusoidal_encoding(roi_depth, self.dim))
        return e


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
    """DepTR-MOT: an instance depth value (on FDTA's 0..1-normalised scale) and a soft histogram per RoI."""

    def __init__(self, channels: int, bins: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(channels * ROI_SIZE * ROI_SIZE, 128), nn.ReLU(inplace=True))
        self.value = nn.Linear(128, 1)
        self.hist = nn.Linear(128, bins)

    def forward(self, roi_feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(roi_feats.flatten(1))
        return torch.sigmoid(self.value(h))[:, 0], self.hist(h)
