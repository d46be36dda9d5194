"""``dense``: the depth-aware joint detection-and-embedding tracker (FDTA adapters, QDTrack, DepTR-MOT instance
depth, LA-MOTR learnable association, MOTRv3 pseudo-label distillation); every contribution is a switch under
``components``. Model, losses, targets, training step and online tracker live in this package."""

from __future__ import annotations

from pathlib import Path

from motforge.errors import ConfigError
from motforge.families.base import FamilyBase

#: component switch -> the cached training input it reads
COMPONENT_INPUTS = {"spatial_adapter": "depth_bins", "instance_depth": "instance_depth", "pseudo_labels": "detections"}


class DenseFamily(FamilyBase):
    name = "dense"
    description = "depth-aware joint detection-and-embedding tracker trained from the cached pseudo labels"
    trains = True
    needs_images = True

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
        if model["track"]["association"] == "id_decoder" and not model["components"]["id_decoder"]:
            raise ConfigError(f"{model_key}.track.association", "id_decoder needs components.id_decoder: true")
        if model["channels"] % model["spatial_adapter"]["heads"]:
            raise ConfigError(
                f"{model_key}.spatial_adapter.heads", f"must divide {model_key}.channels ({model['channels']})"
            )
        if model["histogram_bins"] != dataset["labels"]["instance_depth"]["histogram_bins"]:
            raise ConfigError(
                f"{model_key}.histogram_bins", f"differs from {dataset_key}.labels.instance_depth.histogram_bins"
            )
        super().check(model_key, model, dataset_key, dataset, base_dir)  # train split with GT, backbone file

    def train_inputs(self, model: dict) -> list[str]:
        return ["frames"] + [name for component, name in COMPONENT_INPUTS.items() if model["components"][component]]

    def track_inputs(self, model: dict) -> list[str]:
        return ["frames"] + (["detections"] if model["track"]["proposals"] == "detections" else [])

    def input_size(self, model: dict) -> tuple[int, int] | None:
        return int(model["input"]["width"]), int(model["input"]["height"])

    def train(self, files, model: dict, bins: dict, out_dir: Path, resume_dir: Path, progress: bool) -> dict:  # noqa: ANN001
        from motforge.families.dense.train import train_dense
        from motforge.training.clips import sequence_files

        return train_dense(
            [sequence_files(f.index, f.inputs) for f in files], model, bins, out_dir, resume_dir, progress
        )

    def tracker(self, model: dict, checkpoint: Path | None, threads: int | None):  # noqa: ANN201
        from motforge.families.dense.tracker import DenseOnlineTracker, DenseTrackParams
        from motforge.families.dense.train import load_dense

        self.tracking_threads(model, checkpoint, threads)
        return DenseOnlineTracker(load_dense(checkpoint), DenseTrackParams.from_model(model["track"]))


ENTRY = DenseFamily()
