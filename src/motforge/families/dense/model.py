"""The `dense` tracker model: every seed contribution is a module behind a switch in the model config."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from motforge.depth.lid import FDTA_SCALE
from motforge.families.dense.association import DenseAssociation
from motforge.families.dense.detection_head import DenseHead, decode_boxes, location_grid
from motforge.families.dense.embedding import ConsistentFeatureMLP, EmbeddingHead, InstanceDepthHead, pool
from motforge.families.dense.id_decoder import IDDecoder
from motforge.families.dense.spatial_adapter import SpatialAdapter
from motforge.families.dense.temporal_adapter import TemporalAdapter
from motforge.nn.backbone import BackboneFPN

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
COMPONENTS = (
    "spatial_adapter",
    "identity_adapter",
    "quasi_dense",
    "instance_depth",
    "temporal_adapter",
    "learnable_association",
    "pseudo_labels",
    "id_decoder",
)


@dataclass
class DenseConfig:
    """The network's shape, from the model block and the dataset's depth bins (``train.dense_config``); saved in
    the checkpoint so a model is rebuilt from its file alone."""

    backbone: str
    pretrained: str
    channels: int
    embed_dim: int
    num_bins: int
    d_min: float
    d_max: float
    histogram_bins: int
    components: dict
    id_decoder: dict | None = None  # its shape (schema: id_decoder); None in checkpoints from before it existed
    temporal_layers: int = 2  # what checkpoints from before the setting was built with
    spatial: dict | None = None  # the Spatial Adapter's depth encoder (schema: spatial_adapter); None: FDTA's

    def on(self, name: str) -> bool:
        return bool(self.components.get(name, False))


@dataclass
class FrameOutputs:
    feats: list[torch.Tensor]
    logits: torch.Tensor  # [B, h, w]
    boxes: torch.Tensor  # [B, h, w, 4] xyxy
    depth_dense: torch.Tensor | None
    depth_logits: torch.Tensor | None
    depth_expected: torch.Tensor | None
    depth_refined: torch.Tensor | None = None  # F_D, the depth encoder's output + PE_d (FDTA eq. 2)


class DenseTracker(nn.Module):
    def __init__(self, cfg: DenseConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = BackboneFPN(cfg.backbone, cfg.channels, cfg.pretrained)
        self.head = DenseHead(cfg.channels)
        self.spatial = (
            SpatialAdapter(cfg.channels, cfg.num_bins, cfg.d_min, cfg.d_max, **(cfg.spatial or {}))
            if cfg.on("spatial_adapter")
            else None
        )
        self.embed = EmbeddingHead(cfg.channels, cfg.embed_dim, depth_fusion=self.spatial is not None)
        self.identity = ConsistentFeatureMLP(cfg.embed_dim) if cfg.on("identity_adapter") else None
        self.instance_depth = InstanceDepthHead(cfg.channels, cfg.histogram_bins) if cfg.on("instance_depth") else None
        self.temporal = TemporalAdapter(cfg.embed_dim, cfg.temporal_layers) if cfg.on("temporal_adapter") else None
        self.association = DenseAssociation(cfg.embed_dim) if cfg.on("learnable_association") else None
        self.id_decoder = IDDecoder(cfg.embed_dim, **cfg.id_decoder) if cfg.on("id_decoder") else None
        self.register_buffer("mean", MEAN.clone(), persistent=False)
        self.register_buffer("std", STD.clone(), persistent=False)

    def frames(self, images: torch.Tensor) -> FrameOutputs:
        """images [B, 3, H, W] uint8 or float in 0..255 (RGB) -> dense outputs."""
        x = (images.float() / 255.0 - self.mean) / self.std
        feats = self.backbone(x)
        logits, ltrb = self.head(feats[0])
        grid = location_grid(logits.shape[1], logits.shape[2], logits.device)
        dense = depth_logits = expected = refined = None
        if self.spatial is not None:
            dense, depth_logits, expected, refined = self.spatial(feats)
        return FrameOutputs(feats, logits, decode_boxes(ltrb, grid), dense, depth_logits, expected, refined)

    def roi_embeddings(self, out: FrameOutputs, boxes: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Embeddings [N, D] of per-image boxes (depth cross-attention to F_D when the Spatial Adapter is on), and
        the RoI features used by the instance-depth head."""
        roi = pool(out.feats[0], boxes)
        return self.embed(roi, out.depth_refined, [len(b) for b in boxes]), roi

    def expected_depth_at(self, out: FrameOutputs, boxes: list[torch.Tensor]) -> torch.Tensor | None:
        """The Spatial Adapter's expected depth averaged in each box (FDTA's 0..255 scale); None without it."""
        if out.depth_expected is None:
            return None
        return pool(out.depth_expected[:, None], boxes).mean(dim=(1, 2, 3))

    def instance_depths(
        self, out: FrameOutputs, boxes: list[torch.Tensor], roi_feats: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """DepTR-MOT's instance depth (0..1) and histogram logits per box, anchored on the expected depth map's cells
        in the box when the Spatial Adapter is on (``InstanceDepthHead``)."""
        assert self.instance_depth is not None
        cells = None
        if out.depth_expected is not None:
            cells = pool(out.depth_expected[:, None], boxes)[:, 0] / FDTA_SCALE
        return self.instance_depth(roi_feats, cells)
