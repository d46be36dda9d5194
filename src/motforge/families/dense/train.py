"""Training of the ``dense`` family: the model from its config block, the clip losses of one step, handed to the
shared training loop (``motforge.training.loop``)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch

from motforge.errors import InputError
from motforge.families.dense.model import COMPONENTS, DenseConfig, DenseTracker
from motforge.families.dense.step import clip_losses
from motforge.io.checkpoints import mismatch_summary
from motforge.training.clips import ClipDataset, SequenceFiles, clip_settings, collate
from motforge.training.loop import TrainJob, fit, start_training


def dense_config(model_cfg: dict, bins: dict) -> DenseConfig:
    return DenseConfig(
        backbone=model_cfg["backbone"],
        pretrained=model_cfg["pretrained"],
        channels=model_cfg["channels"],
        embed_dim=model_cfg["embed_dim"],
        num_bins=int(bins["num_bins"]),
        d_min=float(bins["d_min"]),
        d_max=float(bins["d_max"]),
        histogram_bins=int(model_cfg["histogram_bins"]),
        components={c: bool(model_cfg["components"][c]) for c in COMPONENTS},
        id_decoder=dict(model_cfg["id_decoder"]),
        temporal_layers=int(model_cfg["temporal_layers"]),
        spatial=dict(model_cfg["spatial_adapter"]),
    )


class ClipBatchLosses(torch.nn.Module):
    """One training step's losses as a single forward, so DistributedDataParallel sees the call it hooks its
    gradient averaging onto (the step itself uses several of the model's submodules). The Identity-Adapter loss
    is off for the first ``identity_warmup_steps`` (FDTA: the first epoch)."""

    def __init__(self, model: DenseTracker, fg_weight: float, identity_warmup_steps: int, pld_weights: dict) -> None:
        super().__init__()
        self.model = model
        self.fg_weight = fg_weight
        self.identity_warmup_steps = identity_warmup_steps
        self.pld_weights = pld_weights

    def forward(self, clips: list[dict], step: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        use_identity = step >= self.identity_warmup_steps
        parts: dict[str, torch.Tensor] = {}
        for clip in clips:
            for name, value in clip_losses(
                self.model, clip, self.fg_weight, use_identity, generator, self.pld_weights
            ).items():
                parts[name] = parts.get(name, 0.0) + value / len(clips)
        return parts


def train_dense(
    sequences: list[SequenceFiles],
    model_cfg: dict,
    bins: dict,
    out_dir: str | Path,
    resume_dir: str | Path,
    progress: bool = True,
    device_key: str = "train.device",
) -> dict:
    """Build the model under the seeded RNG, then run the shared loop; ``loss_weights`` weigh the parts."""
    train = model_cfg["train"]
    setup = start_training(train, device_key)
    cfg = dense_config(model_cfg, bins)
    model = DenseTracker(cfg).to(setup.device)
    settings = clip_settings(model_cfg["clip"], model_cfg["augment"])
    losses = ClipBatchLosses(
        model, float(bins["fg_weight"]), int(train["identity_warmup_steps"]), model_cfg["pld_terms"]
    )
    job = TrainJob(
        model=model,
        losses=losses,
        weights=dict(model_cfg["loss_weights"]),
        dataset=lambda items, start: ClipDataset(
            sequences, settings, num_items=items, seed=int(train["seed"]), start_item=start
        ),
        collate=collate,
        title="dense tracker training losses",
        checkpoint_extra={"dense_config": json.dumps(asdict(cfg))},
        summary_extra={"config": asdict(cfg)},
    )
    return fit(job, setup, model_cfg, out_dir, resume_dir, progress)


def load_dense(checkpoint: str | Path) -> DenseTracker:
    """The trained model of a checkpoint (weights_only load: a checkpoint is data, no pickled code runs)."""
    from motforge.training.loop import load_checkpoint

    state = load_checkpoint(Path(checkpoint))
    model = DenseTracker(DenseConfig(**json.loads(state["dense_config"])))
    try:
        model.load_state_dict(state["model"])
    except RuntimeError:
        raise InputError(
            checkpoint,
            "written by another version of the dense model "
            f"({mismatch_summary(model, state['model'])}); train it again (snakemake --forcerun train)",
        ) from None
    return model
