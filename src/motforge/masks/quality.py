"""Mask and instance-depth label quality on synthdance, where GT instance masks and depth exist.

On every ``frame_step``-th frame of each sequence: IoU of each backend's mask against the GT visible mask, and the
error of the instance depth (median teacher depth inside the mask; DepTR-MOT's box-average as the baseline) against
the GT instance depth (median GT depth inside the GT mask), after a per-sequence least-squares scale and shift in
disparity space (the alignment of the depth label quality). The configured backend is read from masks.h5 /
instance_depth.h5; the comparison backends are run here on the same frames.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from motforge.datasets.index import read_index
from motforge.depth.backends.provided import provided_depth_path, read_provided_depth
from motforge.depth.quality import depth_errors
from motforge.depth.store import open_frame_store
from motforge.io.atomic import write_text_atomic
from motforge.io.frames import read_frame
from motforge.masks.backends import box_masks, grabcut_masks
from motforge.masks.instance_depth import read_instance_depth
from motforge.masks.stage import frame_rows, gt_boxes_xyxy
from motforge.masks.store import read_masks


def _gt_mask_path(index, frame: int) -> Path:
    return Path(index.img_dir).parent / "masks" / f"{Path(str(index.frame_files[frame - 1])).stem}.png"


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else float("nan")


def instance_quality(
    index_paths,
    mask_paths,
    inst_paths,
    depth_paths,
    out,
    compare: list[str],
    frame_step: int = 5,
    grabcut: dict | None = None,
) -> dict:
    grabcut = grabcut or {"iterations": 3, "margin": 0.15}
    per_method: dict[str, dict[str, list]] = {}
    configured = None
    kind = "metric"
    for index_path, mask_path, inst_path, depth_path in zip(index_paths, mask_paths, inst_paths, depth_paths):
        index = read_index(index_path)
        masks = read_masks(mask_path)
        inst = read_instance_depth(inst_path)
        store = open_frame_store(depth_path)
        kind = store.attrs["kind"]
        configured = masks.attrs["backend"]
        _, dh, dw = store.shape
        methods = [configured] + [b for b in compare if b != configured]
        seq_labels: dict[str, list[float]] = {m: [] for m in methods + ["box_mean"]}
        seq_iou: dict[str, list[float]] = {m: [] for m in methods}
        seq_gt: list[float] = []
        for t, rows in frame_rows(index).items():
            if (t - 1) % frame_step:
                continue
            gt_ids = cv2.imread(str(_gt_mask_path(index, t)), cv2.IMREAD_UNCHANGED)
            gt_depth = cv2.resize(
                read_provided_depth(provided_depth_path(index, t)), (dw, dh), interpolation=cv2.INTER_NEAREST
            )
            teacher = store[t - 1].astype(np.float32)
            image = cv2.resize(
                read_frame(index.frame_path(t)), (masks.width, masks.height), interpolation=cv2.INTER_AREA
            )
            boxes = gt_boxes_xyxy(index, rows, masks.width / index.width)
            predicted = {configured: masks.rows(rows)}
            for method in methods[1:]:
                predicted[method] = (
                    box_masks(image, boxes)[0]
                    if method == "box"
                    else grabcut_masks(image, boxes, int(grabcut["iterations"]), float(grabcut["margin"]), seed=t)[0]
                )
            gt_small = cv2.resize(gt_ids, (masks.width, masks.height), interpolation=cv2.INTER_NEAREST)
            gt_depth_ids = cv2.resize(gt_ids, (dw, dh), interpolation=cv2.INTER_NEAREST)
            depth_boxes = np.round(gt_boxes_xyxy(index, rows, dw / index.width)).astype(int)
            for k, row in enumerate(rows):
                ident = int(index.gt["id"][row])
                gt_mask = gt_small == ident
                gt_inst = gt_depth_ids == ident
                if not gt_mask.any() or not gt_inst.any():
                    continue
                seq_gt.append(float(np.median(gt_depth[gt_inst])))
                x0, y0, x1, y1 = np.clip(depth_boxes[k], 0, [dw, dh, dw, dh])
                box_values = teacher[y0:y1, x0:x1]
                seq_labels["box_mean"].append(float(box_values.mean()) if box_values.size else np.nan)
                for method in methods:
                    mask = predicted[method][k]
                    seq_iou[method].append(_iou(mask, gt_mask))
                    if method == configured:
                        seq_labels[method].append(float(inst["median"][row]))
                    else:
                        small = cv2.resize(mask.astype(np.uint8), (dw, dh), interpolation=cv2.INTER_NEAREST).astype(
                            bool
                        )
                        values = teacher[small] if small.any() else box_values.ravel()
                        seq_labels[method].append(float(np.median(values)) if values.size else np.nan)
        gt_arr = np.asarray(seq_gt)
        for method, labels in seq_labels.items():
            entry = per_method.setdefault(method, {"abs_rel": [], "iou": [], "rows": 0})
            entry["abs_rel"].append(depth_errors(np.asarray(labels, dtype=np.float64), kind, gt_arr)[0])
            entry["rows"] += len(labels)
            entry["iou"] += seq_iou.get(method, [])
    report = {
        "configured_backend": configured,
        "frame_step": frame_step,
        "teacher_kind": kind,
        "instance_depth": "median teacher depth inside the mask; box_mean = mean inside the box (DepTR-MOT's baseline)",
        "alignment": "least-squares scale+shift in disparity per sequence, AbsRel on depth",
        "methods": {
            m: {
                "mask_iou": float(np.nanmean(v["iou"])) if v["iou"] else None,
                "instance_depth_abs_rel": float(np.nanmean(v["abs_rel"])),
                "rows": v["rows"],
            }
            for m, v in per_method.items()
        },
    }
    write_text_atomic(out, json.dumps(report, indent=2) + "\n")
    return report
