"""Training of the ``query`` family: the model from its ``models.<name>`` block, one step's clip losses
(``clip_loss``: MOTR's clip loss with every switch) as named parts, handed to the shared training loop
(``motforge.training.loop``), which weighs them with ``loss_weights`` (``set`` 1, ``pld``, ``tgd``; ``asso`` already
carries lambda_asso), logs, checkpoints and resumes."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

import torch

from motforge.errors import InputError
from motforge.families.interface import TrainFiles
from motforge.families.query.clip_loss import ClipFrame, clip_loss
from motforge.families.query.config import QueryModelConfig, from_block
from motforge.families.query.frames import frames_from_clip
from motforge.families.query.model import QueryTracker
from motforge.training.clips import ClipDataset, clip_settings, collate, sequence_files
from motforge.training.loop import TrainJob, fit, start_training


def _on(frame: ClipFrame, device: torch.device) -> ClipFrame:
    return ClipFrame(*(getattr(frame, f.name).to(device) for f in fields(ClipFrame)))


class QueryClipLosses(torch.nn.Module):
    """One training step's losses as a single forward (what DistributedDataParallel hooks onto): each clip of the
    batch through ``clip_loss``, its parts averaged over the batch."""

    def __init__(self, model: QueryTracker) -> None:
        super().__init__()
        self.model = model

    def forward(self, clips: list[dict], step: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        device = next(self.model.parameters()).device
        parts: dict[str, torch.Tensor] = {}
        for clip in clips:
            result = clip_loss(self.model, [_on(f, device) for f in frames_from_clip(clip)], generator)
            for name, value in result.terms.items():
                parts[name] = parts.get(name, 0.0) + value / len(clips)
        return parts


def loop_weights(model_cfg: dict) -> dict[str, float]:
    """Weights of the named parts in the loop's total. ``set`` (L_r) and ``asso`` are already weighted inside
    (cls / l1 / giou per term, lambda_asso), so they count once; ``pld`` and ``tgd`` are MOTRv3's L_p and L_g."""
    weights = model_cfg["loss_weights"]
    return {"set": 1.0, "pld": float(weights["pld"]), "tgd": float(weights["tgd"]), "asso": 1.0}


def train_query(
    files: list[TrainFiles],
    model_cfg: dict,
    out_dir: str | Path,
    resume_dir: str | Path,
    progress: bool = True,
    device_key: str = "train.device",
) -> dict:
    """Build the model under the seeded RNG (after ``start_training``), then run the shared loop."""
    train = model_cfg["train"]
    setup = start_training(train, device_key)
    cfg = from_block(model_cfg)
    model = QueryTracker(cfg).to(setup.device)
    # MOTR's track-query drop / insertion live in the model config; the loader's dense-only occlusion and identity
    # swap of association inputs do not apply to track queries
    no_dense_augment = {"occlusion": 0.0, "id_swap": 0.0, "colour": 0.0, "solarize": 0.0}
    settings = clip_settings(model_cfg["clip"], model_cfg["augment"], **no_dense_augment)
    sequences, seed = [sequence_files(f.index, f.inputs) for f in files], int(train["seed"])
    job = TrainJob(
        model=model,
        losses=QueryClipLosses(model),
        weights=loop_weights(model_cfg),
        dataset=lambda items, start: ClipDataset(sequences, settings, items, seed, start_item=start),
        collate=collate,
        title="query tracker training losses",
        checkpoint_extra={"query_config": json.dumps(asdict(cfg))},
        summary_extra={"config": asdict(cfg)},
    )
    return fit(job, setup, model_cfg, out_dir, resume_dir, progress)


def load_query(checkpoint: str | Path) -> QueryTracker:
    """The trained model of a checkpoint (weights_only load: a checkpoint is data, no pickled code runs)."""
    from motforge.training.loop import load_checkpoint

    state = load_checkpoint(Path(checkpoint), "track --checkpoint")
    if "query_config" not in state:
        raise InputError(checkpoint, "not a query-model checkpoint (it has no query_config)")
    model = QueryTracker(QueryModelConfig.from_dict(json.loads(state["query_config"]), f"{checkpoint}: query_config"))
    model.load_state_dict(state["model"])
    return model.eval()
