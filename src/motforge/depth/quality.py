"""Teacher depth against synthdance's ground truth, aligned as Video Depth Anything's benchmark does.

Per sequence: least-squares scale and shift of the teacher's disparity onto the GT disparity (1 / depth) over valid
pixels, then AbsRel and delta < 1.25 on depth. Frames are subsampled evenly to keep this cheap.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from motforge.datasets.index import read_index
from motforge.depth.backends.provided import provided_depth_path, read_provided_depth
from motforge.depth.bins import to_disparity
from motforge.depth.store import open_frame_store
from motforge.depth.streaming import scale_and_shift
from motforge.io.atomic import write_text_atomic


def depth_errors(teacher: np.ndarray, kind: str, gt_depth: np.ndarray) -> tuple[float, float, int]:
    """AbsRel, delta<1.25 and count of teacher values (any shape) vs GT depth (metres, same shape), after a
    least-squares scale and shift of the teacher's disparity onto 1 / GT depth. Non-finite values are left out."""
    valid = np.isfinite(gt_depth) & (gt_depth > 0) & np.isfinite(teacher)
    if valid.sum() < 2:
        return float("nan"), float("nan"), int(valid.sum())
    teacher_disp = to_disparity(teacher[valid], kind)
    scale, shift = scale_and_shift(teacher_disp, 1.0 / gt_depth[valid])
    pred_depth = 1.0 / np.maximum(teacher_disp * scale + shift, 1e-6)
    gt = gt_depth[valid]
    abs_rel = float(np.mean(np.abs(pred_depth - gt) / gt))
    delta1 = float(np.mean(np.maximum(pred_depth / gt, gt / pred_depth) < 1.25))
    return abs_rel, delta1, int(valid.sum())


def depth_quality(
    index_paths: list[Path], depth_paths: list[Path], out: str | Path, frames_per_sequence: int = 40
) -> dict:
    per_sequence = {}
    backend = None
    for index_path, depth_path in zip(index_paths, depth_paths):
        index = read_index(index_path)
        store = open_frame_store(depth_path)
        backend = store.attrs["backend"]
        size = tuple(store.attrs["cache_size"])
        frames = np.unique(
            np.linspace(1, index.seq_length, min(frames_per_sequence, index.seq_length)).round().astype(int)
        )
        teacher = np.stack([store[t - 1].astype(np.float32) for t in frames])
        gt = np.stack(
            [
                cv2.resize(
                    read_provided_depth(provided_depth_path(index, int(t))), size, interpolation=cv2.INTER_NEAREST
                )
                for t in frames
            ]
        )
        abs_rel, delta1, pixels = depth_errors(teacher, store.attrs["kind"], gt)
        per_sequence[index.name] = {"abs_rel": abs_rel, "delta1": delta1, "frames": int(len(frames)), "pixels": pixels}
    mean = (
        {k: float(np.mean([v[k] for v in per_sequence.values()])) for k in ("abs_rel", "delta1")}
        if per_sequence
        else {}
    )
    report = {
        "backend": backend,
        "alignment": "least-squares scale+shift in disparity, per sequence",
        "mean": mean,
        "sequences": per_sequence,
    }
    write_text_atomic(out, json.dumps(report, indent=2) + "\n")
    return report
