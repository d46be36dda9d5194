"""detections.h5: every box of a sequence in one flat table plus per-frame offsets (no ragged object arrays).

Frame t (1-based) owns rows offsets[t-1]:offsets[t]. Boxes are xyxy in original image pixels, with score and class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from motforge.io.atomic import atomic_path
from motforge.io.h5attrs import new_dataset, open_complete, plain_attrs

STORE_VERSION = 1


@dataclass
class Detections:
    boxes: np.ndarray  # [N, 4] float64 xyxy (float64 so imported files round-trip exactly)
    scores: np.ndarray  # [N] float64
    classes: np.ndarray  # [N] int16
    offsets: np.ndarray  # [T + 1] int64
    attrs: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(len(self.offsets) - 1)

    def frame(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes, scores and classes of 1-based frame ``t``."""
        lo, hi = int(self.offsets[t - 1]), int(self.offsets[t])
        return self.boxes[lo:hi], self.scores[lo:hi], self.classes[lo:hi]

    @classmethod
    def from_frames(cls, per_frame: list[tuple[np.ndarray, np.ndarray, np.ndarray]], attrs: dict) -> Detections:
        counts = [len(b) for b, _, _ in per_frame]
        offsets = np.zeros(len(per_frame) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(counts)

        def cat(i: int, shape: tuple, dtype) -> np.ndarray:
            parts = [np.asarray(f[i], dtype=dtype).reshape(shape) for f in per_frame]
            return np.concatenate(parts) if parts else np.zeros(shape, dtype)

        return cls(
            cat(0, (-1, 4), np.float64), cat(1, (-1,), np.float64), cat(2, (-1,), np.int16), offsets, dict(attrs)
        )


def write_detections(dets: Detections, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            new_dataset(f, "boxes", data=dets.boxes, compression="gzip", compression_opts=1)
            new_dataset(f, "scores", data=dets.scores)
            new_dataset(f, "classes", data=dets.classes)
            new_dataset(f, "offsets", data=dets.offsets)
            f.attrs.update({k: v for k, v in dets.attrs.items()})
            f.attrs["version"] = STORE_VERSION
            f.attrs["complete"] = True


def read_detections(path: str | Path) -> Detections:
    with open_complete(path, "detections", "detect") as f:
        attrs = plain_attrs(f.attrs)
        return Detections(f["boxes"][:], f["scores"][:], f["classes"][:], f["offsets"][:], attrs)
