"""The depth-bin label stage: teacher depth -> FDTA's per-sequence 0..255 scale -> LID bin indices (uint8 zarr).

Labels live at the resolution of the trainer's stride-``stride`` feature map for an input whose short side is
``train_short_side`` (FDTA supervises its depth head there), which is what makes them small on disk.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from motforge.depth.lid import lid_index, normalise_disparity
from motforge.depth.store import create_frame_store, open_frame_store

READ_BATCH = 64


def label_size(width: int, height: int, train_short_side: int, stride: int) -> tuple[int, int]:
    """(w, h) of the stride-``stride`` feature map of the training input."""
    scale = train_short_side / min(width, height)
    return math.ceil(round(width * scale) / stride), math.ceil(round(height * scale) / stride)


def to_disparity(depth: np.ndarray, kind: str) -> np.ndarray:
    """Teacher values as disparity (larger = nearer); metric depth is inverted, zero depth stays invalid (0)."""
    depth = depth.astype(np.float32)
    if kind == "disparity":
        return np.maximum(depth, 0.0)
    with np.errstate(divide="ignore"):
        return np.where(depth > 0, 1.0 / depth, 0.0).astype(np.float32)


def sequence_max(store) -> float:
    """Largest disparity of the sequence (FDTA's normalisation). The depth stage records it while writing; stores
    from before that attribute existed are scanned once."""
    if "disparity_max" in store.attrs:
        return float(store.attrs["disparity_max"])
    kind = store.attrs["kind"]
    peak = 0.0
    for t0 in range(0, store.shape[0], READ_BATCH):
        peak = max(peak, float(np.nanmax(to_disparity(store[t0 : t0 + READ_BATCH], kind))))
    return peak


def write_depth_bins(
    depth_store: str | Path,
    out: str | Path,
    settings: dict,
    original_size: tuple[int, int] | None = None,
    progress: bool = True,
) -> dict:
    """Bin every frame of ``depth_store`` into ``out``; returns the attributes written."""
    store = open_frame_store(depth_store)
    width, height = original_size or tuple(store.attrs["original_size"])
    size = label_size(width, height, int(settings["train_short_side"]), int(settings["stride"]))
    k, d_min, d_max = int(settings["num_bins"]), float(settings["d_min"]), float(settings["d_max"])
    if k > 254:
        raise ValueError("uint8 labels hold at most 254 foreground bins")
    peak = sequence_max(store)
    attrs = {
        "num_bins": k,
        "d_min": d_min,
        "d_max": d_max,
        "fg_weight": float(settings["fg_weight"]),
        "train_short_side": int(settings["train_short_side"]),
        "stride": int(settings["stride"]),
        "label_size": list(size),
        "sequence_max": peak,
        "source": Path(depth_store).name,
        "source_kind": store.attrs["kind"],
        "source_backend": store.attrs["backend"],
        "scale": "disparity / sequence max * 255 (255 = nearest)",
    }
    frames = store.shape[0]
    with create_frame_store(out, frames, size[1], size[0], "uint8", attrs) as bins:
        for t0 in tqdm(
            range(0, frames, READ_BATCH), desc=f"bins {Path(depth_store).parent.name}", disable=not progress
        ):
            block = to_disparity(store[t0 : t0 + READ_BATCH], store.attrs["kind"])
            scaled = normalise_disparity(block, peak) if peak > 0 else np.zeros_like(block)
            resized = np.stack([cv2.resize(m, size, interpolation=cv2.INTER_AREA) for m in scaled])
            resized[resized <= 0] = np.nan  # no disparity: no depth, background bin
            bins[t0 : t0 + len(block)] = lid_index(resized, k, d_min, d_max).astype(np.uint8)
    return attrs
