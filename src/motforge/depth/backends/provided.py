"""`provided`: depth shipped with the dataset (synthdance: depth/00000001.png, uint16 millimetres)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from motforge.datasets.index import SequenceIndex
from motforge.errors import InputError

MILLIMETRES = 1000.0


def provided_depth_path(index: SequenceIndex, frame: int) -> Path:
    stem = Path(str(index.frame_files[frame - 1])).stem
    return Path(index.img_dir).parent / "depth" / f"{stem}.png"


def read_provided_depth(path: Path) -> np.ndarray:
    """Metres as float32; a missing or unreadable file is an error naming it."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise InputError(path, "provided depth frame is missing or unreadable (expected uint16 PNG in millimetres)")
    if raw.dtype != np.uint16 or raw.ndim != 2:
        raise InputError(
            path, f"provided depth must be a single-channel uint16 PNG, got {raw.dtype} with shape {raw.shape}"
        )
    return raw.astype(np.float32) / MILLIMETRES


def provided_frames(
    index: SequenceIndex, size: tuple[int, int], batch: int = 16, progress=None
) -> tuple[dict, Callable]:
    attrs = {
        "backend": "provided",
        "model": "dataset ground truth",
        "encoder": "",
        "kind": "metric",
        "input_size": [index.width, index.height],
    }

    def produce(
        sink: Callable[[int, np.ndarray], None], state: dict | None = None, save: Callable[[dict], None] | None = None
    ) -> None:
        done = int(state["written"]) if state is not None else 0
        if progress is not None and done:
            progress(done)
        for t0 in range(done + 1, index.seq_length + 1, batch):
            frames = range(t0, min(index.seq_length, t0 + batch - 1) + 1)
            maps = [
                cv2.resize(read_provided_depth(provided_depth_path(index, t)), size, interpolation=cv2.INTER_NEAREST)
                for t in frames
            ]
            sink(t0 - 1, np.stack(maps))
            if save is not None:
                save({"written": frames[-1]})
            if progress is not None:
                progress(len(maps))

    return attrs, produce


class ProvidedDepth:
    """``provided``: the dataset ships depth (synthdance's per-frame ground truth)."""

    name = "provided"

    def check(self, block: dict, key: str, context) -> None:  # noqa: ANN001
        from motforge.errors import ConfigError

        if context.dataset["format"] != "synthdance":
            raise ConfigError(
                f"{key}.backend",
                f"format {context.dataset['format']!r} ships no depth; "
                "choose video_depth_anything or depth_anything_v2",
            )

    def uses_gpu(self, block: dict) -> bool:
        return False

    def open(self, index: SequenceIndex, block: dict, size: tuple[int, int], device, allow_downloads: bool, progress):  # noqa: ANN001
        return provided_frames(index, size, progress=progress)


ENTRY = ProvidedDepth()
