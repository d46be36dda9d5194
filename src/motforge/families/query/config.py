"""Construction-time configuration of a ``query`` model: depth, width and every paper switch in one dataclass.

The dataclass has no defaults: they live once, in the family's ``schema.yaml`` (the ``models.<name>`` block), and
``from_block`` builds the dataclass from a validated block (``defaults()`` from the schema's defaults, for tests and
notebooks). Field -> block key: ``BLOCK_KEYS``. The papers' size for DanceTrack is the YAML preset
``workflow/configs/query_dancetrack.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from motforge.errors import ConfigError


@dataclass(frozen=True)
class QueryModelConfig:
    # --- DETR core (Deformable DETR sec. 4.1; MOTR sec. 4.2) ---
    backbone: str  # "small" | "resnet18" | "resnet34" | "resnet50" (motforge.nn.backbone)
    pretrained: str  # local backbone weights file; never downloaded
    d_model: int
    n_heads: int
    n_points: int  # sampling points per head per level
    enc_layers: int
    dec_layers: int
    ffn_dim: int
    num_queries: int  # learned detect queries (MOTR "anchor queries")
    # --- MOTR (sec. 3.3-3.5) ---
    qim: bool  # update track queries between frames with the QIM-like block
    track_drop: float  # training: drop an active track query with this probability (MOTR)
    track_insert: float  # training: add a false-positive track query with this probability (MOTR)
    motr_carry: bool  # training: MOTR/MOTRv2's track lifecycle in a clip (clip_loss._next_tracks)
    # --- MOTRv2 (sec. 3.2) ---
    proposals: bool  # detect queries anchored on detector boxes with their scores embedded
    # --- MOTRv3 (sec. 3.2-3.4) ---
    rfs: bool  # release-fetch supervision in decoders 1..L-1
    pld: bool  # pseudo-label distillation on detector boxes
    pld_min_conf: float
    pld_background_weight: float
    pld_proposals: bool  # PLD also matches MOTRv2 proposal queries (False: learned detect + track queries only)
    tgd: bool  # track group denoising
    tgd_groups: int
    tgd_scale: float  # w, h multiplied by 1 + U(-scale, scale); centres unchanged (appendix B)
    # --- LA-MOTR (sec. 3.1-3.4) ---
    sotd: bool  # separated object-tracklet detection: object queries detect every object
    sgla: bool  # with sotd: learnable association (False: IoU association, Table 4 "IoU")
    sgla_layers: int
    sgla_cues: bool  # relative-spatial cues (False: Table 4 "SGLA w/o RSC")
    tracklet_update: bool  # with sotd: eq. 2 instead of the QIM block
    tracklet_w: float  # w of eq. 2 (1.0 DanceTrack, 0.9 SportsMOT, 0.5 MOT17)
    # --- motforge ---
    ignore_duplicates: bool  # training: no classification loss on unmatched detect queries on a tracked object
    duplicate_iou: float  # IoU with a held ground truth from which an unmatched detect query is a duplicate
    # --- losses ---
    loss_cls: float
    loss_l1: float
    loss_giou: float
    loss_asso: float
    focal_alpha: float
    focal_gamma: float

    def __post_init__(self) -> None:
        def bad(key: str, problem: str) -> ConfigError:
            return ConfigError(f"model.{BLOCK_KEYS[key]}", problem)

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
        """The schema's defaults with ``values`` (dataclass field names) replaced."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{key_path}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(known))})")
        return defaults(**values)


#: dataclass field -> its key in the ``models.<name>`` block (schema.yaml)
BLOCK_KEYS = {
    "backbone": "backbone",
    "pretrained": "pretrained",
    **{
        k: f"transformer.{k}"
        for k in ("d_model", "n_heads", "n_points", "enc_layers", "dec_layers", "ffn_dim", "num_queries")
    },
    **{
        k: f"components.{k}"
        for k in (
            "qim",
            "motr_carry",
            "proposals",
            "rfs",
            "pld",
            "tgd",
            "sotd",
            "sgla",
            "sgla_cues",
            "tracklet_update",
            "ignore_duplicates",
        )
    },
    "duplicate_iou": "duplicates.iou",
    "track_drop": "augment.track_drop",
    "track_insert": "augment.track_insert",
    "pld_min_conf": "distillation.min_conf",
    "pld_background_weight": "distillation.background_weight",
    "pld_proposals": "distillation.proposals",
    "tgd_groups": "denoising.groups",
    "tgd_scale": "denoising.scale",
    "sgla_layers": "association.layers",
    "tracklet_w": "association.tracklet_w",
    "loss_cls": "loss_weights.cls",
    "loss_l1": "loss_weights.l1",
    "loss_giou": "loss_weights.giou",
    "loss_asso": "loss_weights.asso",
    "focal_alpha": "loss_weights.focal_alpha",
    "focal_gamma": "loss_weights.focal_gamma",
}


def from_block(model: dict, model_key: str = "model") -> QueryModelConfig:
    """The dataclass from a validated ``models.<name>`` block; a cross-field error names ``<model_key>.<block key>``."""
    values = {}
    for name, path in BLOCK_KEYS.items():
        value = model
        for part in path.split("."):
            value = value[part]
        values[name] = value
    try:
        return QueryModelConfig(**values)
    except ConfigError as error:
        raise ConfigError(model_key + error.key_path.removeprefix("model"), error.problem) from None


def block_defaults(fragment: dict) -> dict:
    """The block every default of a schema fragment gives (nested objects filled from their own properties); read
    here rather than through ``motforge.config``, which sits above the families in the import layers."""
    block = {}
    for key, prop in fragment["properties"].items():
        if prop.get("type") == "object" and "properties" in prop:
            block[key] = block_defaults(prop)
        elif "default" in prop:
            block[key] = prop["default"]
    return block


def defaults(**overrides: object) -> QueryModelConfig:
    """The schema's default model (a CPU-sized MOTR, every switch off) with dataclass fields replaced."""
    from pathlib import Path

    from motforge.families.schema import load_fragment

    fragment = load_fragment(str(Path(__file__).with_name("__init__.py")))
    return replace(from_block(block_defaults(fragment)), **overrides)
