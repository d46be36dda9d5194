"""``dense``: the depth-aware joint detection-and-embedding tracker (FDTA adapters, QDTrack, DepTR-MOT instance
depth, LA-MOTR learnable association, MOTRv3 pseudo-label distillation); every contribution is a switch under
``components``. Model, losses, targets, training step and online tracker live in this package."""

from __future__ import annotations

from pathlib import Path

from motforge.errors import ConfigError
from motforge.families.schema import load_fragment

#: component switch -> the cached training input it reads
COMPONENT_INPUTS = {"spatial_adapter": "depth_bins", "instance_depth": "instance_depth", "pseudo_labels": "detections"}


class DenseFamily:
    name = "dense"
    description = "depth-aware joint detection-and-embedding tracker trained from the cached pseudo labels"
    trains = True
    needs_images = True

    def schema(self) -> dict:
        return load_fragment(__file__)

    def check(self, model_key: str, model: dict, dataset_key: str, dataset: dict, base_dir: Path) -> None:
        components = f"{model_key}.components"
        if model["components"]["spatial_adapter"] and dataset["depth"]["backend"] == "none":
            raise ConfigError(
                f"{components}.spatial_adapter", f"needs depth labels, but {dataset_key}.depth.backend is none"
            )
        if model["components"]["instance_depth"] and dataset["masks"]["backend"] == "none":
            raise ConfigError(
                f"{components}.instance_depth", f"needs instance-depth labels, but {dataset_key}.masks.backend is none"
            )
        if "train" not in dataset["splits"] or "train" not in dataset["gt_splits"]:
            raise ConfigError(
                f"{dataset_key}.splits", f"{model_key} trains on the train split, which must be listed with GT"
            )
        if model["histogram_bins"] != dataset["labels"]["instance_depth"]["histogram_bins"]:
            raise ConfigError(
                f"{model_key}.histogram_bins", f"differs from {dataset_key}.labels.instance_depth.histogram_bins"
            )
        if model["pretrained"] and not (base_dir / model["pretrained"]).is_file():
            raise ConfigError(f"{model_key}.pretrained", f"backbone weights {model['pretrained']!r} not found")

    def train_inputs(self, model: dict) -> list[str]:
        return ["frames"] + [name for component, name in COMPONENT_INPUTS.items() if model["components"][component]]

    def track_inputs(self, model: dict) -> list[str]:
        return ["frames"] + (["detections"] if model["track"]["proposals"] == "detections" else [])

    def input_size(self, model: dict) -> tuple[int, int] | None:
        return int(model["input"]["width"]), int(model["input"]["height"])

    def train(self, files, model: dict, bins: dict, out_dir: Path, resume_dir: Path, progress: bool) -> dict:  # noqa: ANN001
        from motforge.families.dense.train import sequence_files, train_dense

        return train_dense(sequence_files(files), model, bins, out_dir, resume_dir, progress)

    def tracker(self, model: dict, checkpoint: Path | None, threads: int | None):  # noqa: ANN201
        import torch

        from motforge.families.dense.tracker import DenseOnlineTracker, DenseTrackParams
        from motforge.families.dense.train import load_dense

        if checkpoint is None:
            raise ConfigError("track", "the dense family tracks with a trained checkpoint (--checkpoint)")
        # the job's CPU allotment (Snakemake exports it as OMP_NUM_THREADS), else the model's training threads
        torch.set_num_threads(threads or int(model["train"]["threads"]))
        return DenseOnlineTracker(load_dense(checkpoint), DenseTrackParams.from_model(model["track"]))


ENTRY = DenseFamily()
