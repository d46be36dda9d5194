"""What most families share behind the :class:`~motforge.families.interface.Family` interface, written once: the
schema fragment beside the family's package, the checks every family that trains needs, and the defaults of a
family that does not train (it reads nothing from the caches and has no checkpoint)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from motforge.errors import ConfigError, MotforgeError
from motforge.families.schema import load_fragment


class FamilyBase:
    """Subclasses set ``name``, ``description``, ``trains``, ``needs_images`` and override what they do."""

    name = ""
    description = ""
    trains = False
    needs_images = True
    needs_gt = False

    def schema(self) -> dict:
        return load_fragment(sys.modules[type(self).__module__].__file__)

    def check(self, model_key: str, model: dict, dataset_key: str, dataset: dict, base_dir: Path) -> None:
        """A family that trains reads the dataset's train split (with GT) and, when set, a local backbone file."""
        if not self.trains:
            return
        if "train" not in dataset["splits"] or "train" not in dataset["gt_splits"]:
            raise ConfigError(
                f"{dataset_key}.splits", f"{model_key} trains on the train split, which must be listed with GT"
            )
        if model.get("pretrained") and not (base_dir / model["pretrained"]).is_file():
            raise ConfigError(f"{model_key}.pretrained", f"backbone weights {model['pretrained']!r} not found")

    def train_inputs(self, model: dict) -> list[str]:
        return []

    def track_inputs(self, model: dict) -> list[str]:
        return []

    def input_size(self, model: dict) -> tuple[int, int] | None:
        return None

    def train(self, files, model, bins, out_dir, resume_dir, progress) -> dict[str, Any]:  # noqa: ANN001
        raise MotforgeError(f"the {self.name} family does not train")

    def tracking_threads(self, model: dict, checkpoint: Path | None, threads: int | None) -> None:
        """A trained family tracks with its checkpoint, on the job's CPU allotment (Snakemake exports it as
        OMP_NUM_THREADS), else on the model's training threads."""
        import torch

        if checkpoint is None:
            raise ConfigError("track", f"the {self.name} family tracks with a trained checkpoint (--checkpoint)")
        torch.set_num_threads(threads or int(model["train"]["threads"]))
