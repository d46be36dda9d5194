"""DepTR-MOT's instance-depth soft labels, computed once from the cached teacher depth and masks.

Per GT row: the teacher values inside the mask (resampled to the depth cache) give the mean (DepTR-MOT's instance
depth), median and spread; values filtered to mean +- ``sigma`` std, min-max normalised per instance and
histogrammed into ``bins`` bins summing to 1 (the soft label) with its mode; the mean (the instance depth, the
training target) on FDTA's 0..255 scale and its LID bin; and a quality score. A row whose mask is empty falls back
to its box and says so.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import h5py
import numpy as np
from tqdm import tqdm

from motforge.datasets.index import SequenceIndex
from motforge.depth.bins import sequence_max, to_disparity
from motforge.depth.lid import lid_index
from motforge.depth.store import open_frame_store
from motforge.io.atomic import atomic_path
from motforge.io.h5attrs import new_dataset, open_complete, plain_attrs
from motforge.masks.stage import frame_rows, gt_boxes_xyxy
from motforge.masks.store import MaskTable

FROM_MASK, FROM_BOX, NO_PIXELS = 0, 1, 2
AREA_RATIO_FULL = 0.25  # a mask covering a quarter of its box or more counts as a full-quality mask


def soft_label(values: np.ndarray, bins: int, sigma: float) -> dict:
    """Statistics and the normalised histogram of one instance's depth values (finite, 1-D)."""
    mean, std = float(values.mean()), float(values.std())
    kept = values[np.abs(values - mean) <= sigma * std] if std > 0 else values
    lo, hi = float(kept.min()), float(kept.max())
    span = hi - lo
    normalised = (kept - lo) / span if span > 0 else np.zeros_like(kept)
    hist, _ = np.histogram(normalised, bins=bins, range=(0.0, 1.0))
    hist = hist.astype(np.float64) / hist.sum()
    mode = lo + (int(np.argmax(hist)) + 0.5) / bins * span
    return {
        "mean": mean,
        "median": float(np.median(values)),
        "spread": std,
        "hist": hist,
        "hist_min": lo,
        "hist_max": hi,
        "mode": mode,
    }


def instance_value(label: dict, kind: str, peak: float) -> float:
    """The instance-depth target on FDTA's 0..255 disparity scale: DepTR-MOT's instance depth, the mean of the
    teacher depth inside the instance (not the median), as a disparity over the sequence maximum."""
    return float(to_disparity(np.array([label["mean"]]), kind)[0]) / peak * 255.0 if peak > 0 else np.nan


def instance_depths(
    index: SequenceIndex,
    masks: MaskTable,
    depth_store_path: str | Path,
    settings: dict,
    bin_settings: dict,
    out: str | Path,
    progress: bool = True,
) -> dict:
    store = open_frame_store(depth_store_path)
    kind = store.attrs["kind"]
    _, dh, dw = store.shape
    peak = sequence_max(store)
    nbins, sigma = int(settings["histogram_bins"]), float(settings["sigma"])
    n = index.num_boxes
    columns = {
        k: np.full(n, np.nan, np.float32)
        for k in (
            "mean",
            "median",
            "spread",
            "mode",
            "hist_min",
            "hist_max",
            "fdta_value",
            "area_ratio",
            "valid_fraction",
            "quality",
        )
    }
    hist = np.zeros((n, nbins), np.float32)
    fdta_bin = np.full(n, int(bin_settings["num_bins"]), np.int16)
    source = np.full(n, NO_PIXELS, np.int8)
    scale = dw / index.width
    for t, rows in tqdm(
        frame_rows(index).items(), desc=f"instance depth {index.name}", disable=not progress, mininterval=2.0
    ):
        depth = store[t - 1].astype(np.float32)
        decoded = masks.rows(rows)
        boxes = np.round(gt_boxes_xyxy(index, rows, scale)).astype(int)
        for k, row in enumerate(rows):
            mask = cv2.resize(decoded[k].astype(np.uint8), (dw, dh), interpolation=cv2.INTER_NEAREST).astype(bool)
            x0, y0, x1, y1 = np.clip(boxes[k], 0, [dw, dh, dw, dh])
            box_area = max(1, (x1 - x0) * (y1 - y0))
            if mask.any():
                source[row] = FROM_MASK
            else:
                mask = np.zeros((dh, dw), bool)
                mask[y0:y1, x0:x1] = True
                source[row] = FROM_BOX if mask.any() else NO_PIXELS
            values = depth[mask]
            valid = values[np.isfinite(values) & (values > 0)]
            columns["area_ratio"][row] = mask.sum() / box_area
            columns["valid_fraction"][row] = valid.size / max(1, values.size)
            if valid.size == 0:
                columns["quality"][row] = 0.0
                source[row] = NO_PIXELS
                continue
            label = soft_label(valid, nbins, sigma)
            for key in ("mean", "median", "spread", "mode", "hist_min", "hist_max"):
                columns[key][row] = label[key]
            hist[row] = label["hist"]
            value = instance_value(label, kind, peak)
            columns["fdta_value"][row] = value
            fdta_bin[row] = lid_index(
                np.array([value]),
                int(bin_settings["num_bins"]),
                float(bin_settings["d_min"]),
                float(bin_settings["d_max"]),
            )[0]
            score = float(masks.scores[row]) if source[row] == FROM_MASK else 0.5
            columns["quality"][row] = (
                min(1.0, columns["area_ratio"][row] / AREA_RATIO_FULL) * columns["valid_fraction"][row] * score
            )
    attrs = {
        "kind": kind,
        "histogram_bins": nbins,
        "sigma": sigma,
        "mask_backend": masks.attrs.get("backend", ""),
        "sequence_max": peak,
        "source_codes": "0 mask, 1 box fallback (empty mask), 2 no pixels",
    }
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as f:
            for key, values in columns.items():
                new_dataset(f, key, data=values)
            new_dataset(f, "hist", data=hist, compression="gzip", compression_opts=1)
            new_dataset(f, "fdta_bin", data=fdta_bin)
            new_dataset(f, "source", data=source)
            f.attrs.update(attrs)
            f.attrs["rows"] = n
            f.attrs["complete"] = True
    return {
        "rows": n,
        "from_mask": int((source == FROM_MASK).sum()),
        "from_box": int((source == FROM_BOX).sum()),
        "no_pixels": int((source == NO_PIXELS).sum()),
    }


def read_instance_depth(path: str | Path) -> dict[str, np.ndarray]:
    with open_complete(path, "instance-depth", "instance_depth") as f:
        data = {k: f[k][:] for k in f.keys()}
        data["attrs"] = plain_attrs(f.attrs)
        return data
