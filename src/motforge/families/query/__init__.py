"""The ``query`` family: end-to-end track-query trackers (MOTR, MOTRv2 proposals, MOTRv3's RFS/PLD/TGD, LA-MOTR's
separated detection, SGLA and tracklet update) on a Deformable-DETR core written in plain PyTorch.

One module per mechanism; each module's docstring names the paper section / equation or the upstream file it follows.
``ENTRY`` wires the package into motforge (``families.interface.Family``): its ``models.<name>`` block is
``schema.yaml``, training goes through the shared loop (``train.py``), tracking through ``tracker.py``.
"""

from __future__ import annotations

from pathlib import Path

from motforge.families.base import FamilyBase
from motforge.families.query.config import QueryModelConfig


class QueryFamily(FamilyBase):
    name = "query"
    description = "end-to-end track queries (MOTR / MOTRv2 / MOTRv3 / LA-MOTR switches) trained from the cache"
    trains = True
    needs_images = True

    def check(self, model_key: str, model: dict, dataset_key: str, dataset: dict, base_dir: Path) -> None:
        from motforge.families.query.config import from_block

        from_block(model, model_key)  # the dataclass's cross-field rules, with the block's key path
        super().check(model_key, model, dataset_key, dataset, base_dir)  # train split with GT, backbone file

    def train_inputs(self, model: dict) -> list[str]:
        reads_detections = model["components"]["proposals"] or model["components"]["pld"]
        return ["frames"] + (["detections"] if reads_detections else [])

    def track_inputs(self, model: dict) -> list[str]:
        return ["frames"] + (["detections"] if model["components"]["proposals"] else [])

    def input_size(self, model: dict) -> tuple[int, int] | None:
        return int(model["input"]["width"]), int(model["input"]["height"])

    def train(self, files, model: dict, bins: dict, out_dir: Path, resume_dir: Path, progress: bool) -> dict:  # noqa: ANN001
        from motforge.families.query.train import train_query

        return train_query(files, model, out_dir, resume_dir, progress)

    def tracker(self, model: dict, checkpoint: Path | None, threads: int | None):  # noqa: ANN201
        from motforge.families.query.inference import Lifecycle
        from motforge.families.query.tracker import QueryFamilyTracker
        from motforge.families.query.train import load_query

        self.tracking_threads(model, checkpoint, threads)
        track = model["track"]
        rule = Lifecycle(
            birth=float(track["birth"]),
            death=float(track["death"]),
            max_missed=int(track["max_missed"]),
            report=float(track["report"]),
            duplicate_iou=float(track["duplicate_iou"]),
            track_duplicate_iou=float(track["track_duplicate_iou"]),
        )
        return QueryFamilyTracker(load_query(checkpoint), rule)


ENTRY = QueryFamily()

__all__ = ["ENTRY", "QueryModelConfig"]
