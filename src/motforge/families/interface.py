"""The interface every tracker family satisfies (its online tracker's interface is in ``tracking.interface``).

A family says which cached inputs it reads by name (:data:`CACHED_INPUTS`); the workflow turns those names into
paths, so a new family needs no workflow change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from motforge.tracking.interface import OnlineTracker

#: per-sequence inputs a family may read: name -> file in results/<ds>/seqs/<seq>/ (the workflow builds the paths)
CACHED_INPUTS = {
    "detections": "detections.h5",  # detector pseudo-boxes
    "frames": "frames_{width}x{height}.zarr",  # decoded frames at the family's input size
    "depth_bins": "depth_bins.zarr",  # FDTA LID bin labels
    "instance_depth": "instance_depth.h5",  # DepTR-MOT soft labels
}


@dataclass(frozen=True)
class TrainFiles:
    """One training sequence: its index and the cached inputs the family asked for (name -> path)."""

    index: Path
    inputs: dict[str, Path] = field(default_factory=dict)


class Family(Protocol):
    """A tracker family. ``schema`` is the JSON-schema fragment of ``models.<name>`` (every default lives there)."""

    name: str
    description: str
    trains: bool
    needs_images: bool  # False only for families that read nothing but GT (annotation-only datasets allow them)
    needs_gt: bool  # True for families that replay ground truth (refused on a dataset without it)

    def schema(self) -> dict: ...

    def check(self, model_key: str, model: dict, dataset_key: str, dataset: dict, base_dir: Path) -> None:
        """Cross-field checks a schema cannot express (raise ConfigError naming the key)."""
        ...

    def train_inputs(self, model: dict) -> list[str]:
        """Cached inputs of the train split that training reads (names of CACHED_INPUTS)."""
        ...

    def track_inputs(self, model: dict) -> list[str]:
        """Cached inputs of a sequence that tracking reads (names of CACHED_INPUTS)."""
        ...

    def input_size(self, model: dict) -> tuple[int, int] | None:
        """(width, height) of the frame cache the family reads, or None when it reads no frames."""
        ...

    def train(
        self, files: list[TrainFiles], model: dict, bins: dict, out_dir: Path, resume_dir: Path, progress: bool
    ) -> dict[str, Any]:
        """Train from the caches; write ``out_dir/checkpoint.pt`` (+ logs); return a summary."""
        ...

    def tracker(self, model: dict, checkpoint: Path | None, threads: int | None) -> OnlineTracker:
        """An online tracker (``checkpoint`` for families that train; ``threads`` is the job's CPU allotment)."""
        ...
