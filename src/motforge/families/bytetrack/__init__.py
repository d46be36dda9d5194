"""``bytetrack``: the non-learned baseline (ByteTrack on the detector's pseudo-boxes, IoU + Kalman filter)."""

from __future__ import annotations

from pathlib import Path

from motforge.errors import ConfigError
from motforge.families.base import FamilyBase


class ByteTrackFamily(FamilyBase):
    name = "bytetrack"
    description = "ByteTrack (two-stage IoU association with a Kalman filter) on detections.h5; no training"
    trains = False
    needs_images = True

    def check(self, model_key: str, model: dict, dataset_key: str, dataset: dict, base_dir: Path) -> None:
        if model["track_low"] > model["track_high"]:
            raise ConfigError(
                f"{model_key}.track_low", f"{model['track_low']} is above track_high {model['track_high']}"
            )

    def track_inputs(self, model: dict) -> list[str]:
        return ["detections"]

    def tracker(self, model: dict, checkpoint: Path | None, threads: int | None):  # noqa: ANN201
        from motforge.families.bytetrack.tracker import ByteTracker, ByteTrackParams

        return ByteTracker(ByteTrackParams.from_model(model))


ENTRY = ByteTrackFamily()
