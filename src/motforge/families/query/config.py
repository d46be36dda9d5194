"""Construction-time configuration of a ``query`` model: depth, width and every paper switch in one dataclass.

Defaults are a CPU-sized MOTR with MOTRv3's loss weights (sec. 4.2: lambda_cls 2, lambda_l1 5, lambda_giou 2) and
every switch off; ``gpu_preset()`` gives the papers' size (ResNet-50, d 256, 6+6 layers, 8 heads, 4 points).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from motforge.errors import ConfigError


@dataclass(frozen=True)
class QueryModelConfig:
    # --- DETR core (Deformable DETR sec. 4.1; MOTR sec. 4.2) ---
    backbone: str = "small"  # "small" | "resnet18" | "resnet34" | "resnet50" (motforge.nn.backbone)
    pretrained: str = ""  # local backbone weights file; never downloaded
    d_model: int = 32
    n_heads: int = 4
    n_points: int = 2  # sampling points per head per level
    enc_layers: int = 1
    dec_layers: int = 2
    ffn_dim: int = 64
    num_queries: int = 16  # learned detect queries (MOTR "anchor queries")
    # --- MOTR (sec. 3.3-3.5) ---
    qim: bool = True  # update track queries between frames with the QIM-like block
    track_drop: float = 0.0  # training: drop an active track query with this probability (MOTR)
    track_insert: float = 0.0  # training: add a false-positive track query with this probability (MOTR)
    # --- MOTRv2 (sec. 3.2) ---
    proposals: bool = False  # detect queries anchored on detector boxes with their scores embedded
    # --- MOTRv3 (sec. 3.2-3.4) ---
    rfs: bool = False  # release-fetch supervision in decoders 1..L-1
    pld: bool = False  # pseudo-label distillation on detector boxes
    pld_min_conf: float = 0.05
    pld_background_weight: float = 0.5
    tgd: bool = False  # track group denoising
    tgd_groups: int = 4
    tgd_scale: float = 0.4  # w, h multiplied by 1 + U(-scale, scale); centres unchanged (appendix B)
    # --- LA-MOTR (sec. 3.1-3.4) ---
    sotd: bool = False  # separated object-tracklet detection: object queries detect every object
    sgla: bool = True  # with sotd: learnable association (False: IoU association, Table 4 "IoU")
    sgla_layers: int = 2
    sgla_cues: bool = True  # relative-spatial cues (False: Table 4 "SGLA w/o RSC")
    tracklet_update: bool = False  # with sotd: eq. 2 instead of the QIM block
    tracklet_w: float = 1.0  # w of eq. 2 (1.0 DanceTrack, 0.9 SportsMOT, 0.5 MOT17)
    # --- losses ---
    loss_cls: float = 2.0
    loss_l1: float = 5.0
    loss_giou: float = 2.0
    loss_asso: float = 10.0
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0

    def __post_init__(self) -> None:
        def bad(key: str, problem: str) -> ConfigError:
            return ConfigError(f"model.{key}", problem)

        if self.d_model % (2 * self.n_heads) or self.d_model % 8:
            raise bad("d_model", f"{self.d_model} must be a multiple of 8 and of 2 x n_heads ({2 * self.n_heads})")
        for key in (
            "n_heads",
            "n_points",
            "enc_layers",
            "dec_layers",
            "ffn_dim",
            "num_queries",
            "tgd_groups",
            "sgla_layers",
        ):
            if getattr(self, key) < 1:
                raise bad(key, f"must be >= 1, got {getattr(self, key)}")
        if self.rfs and self.dec_layers < 2:
            raise bad("rfs", "release-fetch supervision changes decoders 1..L-1, so it needs dec_layers >= 2")
        if self.tracklet_update and not self.sotd:
            raise bad("tracklet_update", "eq. 2 mixes object and tracklet outputs, so it needs sotd: true")
        if not 0.0 <= self.tracklet_w <= 1.0:
            raise bad("tracklet_w", f"must lie in [0, 1], got {self.tracklet_w}")
        for key in ("track_drop", "track_insert"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise bad(key, f"is a probability, got {getattr(self, key)}")
        if not 0.0 <= self.tgd_scale < 1.0:
            raise bad("tgd_scale", f"must lie in [0, 1) so scaled boxes keep a positive size, got {self.tgd_scale}")
        if self.backbone not in ("small", "resnet18", "resnet34", "resnet50"):
            raise bad("backbone", f"unknown backbone {self.backbone!r}")

    @classmethod
    def from_dict(cls, values: dict, key_path: str = "model") -> QueryModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{key_path}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(known))})")
        return cls(**values)


def gpu_preset(**overrides: object) -> QueryModelConfig:
    """The papers' size: ResNet-50, d 256, 6 encoder and 6 decoder layers, 8 heads, 4 points, 300 queries
    (MOTRv3 sec. 4.2 / Deformable DETR), with MOTRv3's three strategies, K = 4 groups and MOTRv2's track query
    drop / false-positive insertion (0.1 / 0.3) on."""
    base = QueryModelConfig(
        backbone="resnet50",
        d_model=256,
        n_heads=8,
        n_points=4,
        enc_layers=6,
        dec_layers=6,
        ffn_dim=1024,
        num_queries=300,
        rfs=True,
        pld=True,
        tgd=True,
        track_drop=0.1,
        track_insert=0.3,
    )
    return replace(base, **overrides)
