"""Can depth separate the objects a tracker confuses? Measured on GT boxes of evaluation sequences.

A depth term in the association (DepTR-MOT: similarity - gamma x |depth difference|) helps only where two nearby
objects differ in depth by more than one object's depth changes between frames, and only if the penalty is large
next to the other similarity terms. This module measures those quantities for the instance-depth labels and for a
trained model's instance-depth head (``model``) and its Spatial Adapter's expected depth map averaged in the box
(``depth_map``), both run on the GT boxes, so detection errors do not enter:

- ``pair_gap``: |depth difference| between two different objects whose boxes overlap (IoU > ``min_iou``) in a frame;
- ``self_step``: |depth change| of one object between consecutive frames (what the tracker compares against);
- ``order_accuracy``: share of overlapping pairs whose predicted depth order matches the labels';
- ``separable``: share of overlapping pairs whose gap exceeds the 90th percentile of ``self_step``.
Depth values are the training target: FDTA's normalised disparity (0..1 of the sequence maximum).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torchvision.ops import box_iou

from motforge.datasets.index import SequenceIndex
from motforge.depth.lid import FDTA_SCALE
from motforge.families.dense.model import DenseTracker
from motforge.masks.instance_depth import FROM_MASK, read_instance_depth


def predicted_depths(model: DenseTracker, index: SequenceIndex, frames, batch: int = 16) -> dict[str, np.ndarray]:
    """For every GT row: the instance-depth head's value (``model``) and the Spatial Adapter's expected depth map
    averaged in the box over FDTA_SCALE (``depth_map``), on the labels' 0..1 scale; NaN where the model lacks it."""
    out = {name: np.full(index.num_boxes, np.nan, np.float32) for name in ("model", "depth_map")}
    width, height = frames.attrs["size"]
    scale = torch.tensor([width / index.width, height / index.height] * 2, dtype=torch.float32)
    gt = index.gt
    xyxy = (
        torch.from_numpy(np.stack([gt["x"], gt["y"], gt["x"] + gt["w"], gt["y"] + gt["h"]], axis=1).astype(np.float32))
        * scale
    )
    model.eval()
    with torch.no_grad():
        for t0 in range(1, index.seq_length + 1, batch):
            ts = list(range(t0, min(index.seq_length, t0 + batch - 1) + 1))
            images = torch.from_numpy(np.ascontiguousarray(frames[ts[0] - 1 : ts[-1]].transpose(0, 3, 1, 2)))
            result = model.frames(images)
            rows = [np.flatnonzero(gt["frame"] == t) for t in ts]
            if not sum(len(r) for r in rows):
                continue
            every = np.concatenate(rows)
            boxes = [xyxy[r] for r in rows]
            if model.instance_depth is not None:
                _, roi_feats = model.roi_embeddings(result, boxes)
                out["model"][every] = model.instance_depths(result, boxes, roi_feats)[0].float().numpy()
            expected = model.expected_depth_at(result, boxes)
            if expected is not None:
                out["depth_map"][every] = expected.float().numpy() / FDTA_SCALE
    return out


def predicted_instance_depth(model: DenseTracker, index: SequenceIndex, frames, batch: int = 16) -> np.ndarray:
    """The model's instance depth for every GT row (NaN where the model has no instance-depth head)."""
    return predicted_depths(model, index, frames, batch)["model"]


def depth_cue(
    index: SequenceIndex,
    labels_path: str | Path,
    predicted: np.ndarray | dict[str, np.ndarray] | None,
    min_iou: float = 0.1,
) -> dict[str, dict[str, list[float]]]:
    """Raw samples of pair gaps and per-object steps for the labels and each prediction (one array is ``model``)."""
    inst = read_instance_depth(labels_path)
    label = np.where(inst["source"] == FROM_MASK, inst["fdta_value"] / FDTA_SCALE, np.nan).astype(np.float64)
    if isinstance(predicted, np.ndarray):
        predicted = {"model": predicted}
    series = {"label": label} | {name: v.astype(np.float64) for name, v in (predicted or {}).items()}
    gt = index.gt
    frames, ids = gt["frame"], gt["id"]
    xyxy = torch.from_numpy(
        np.stack([gt["x"], gt["y"], gt["x"] + gt["w"], gt["y"] + gt["h"]], axis=1).astype(np.float32)
    )
    samples = {name: {"pair_gap": [], "self_step": [], "pair_order": []} for name in series}
    pairs: list[tuple[int, int]] = []
    for t in np.unique(frames):
        rows = np.flatnonzero(frames == t)
        if len(rows) > 1:
            iou = box_iou(xyxy[rows], xyxy[rows]).numpy()
            a, b = np.nonzero(np.triu(iou > min_iou, k=1))
            pairs += list(zip(rows[a], rows[b]))
    previous = {(int(frames[r]), int(ids[r])): r for r in range(len(frames))}
    steps = [
        (previous[(int(frames[r]) - 1, int(ids[r]))], r)
        for r in range(len(frames))
        if (int(frames[r]) - 1, int(ids[r])) in previous
    ]
    for name, values in series.items():
        for a, b in pairs:
            if np.isfinite(values[a]) and np.isfinite(values[b]) and np.isfinite(label[a]) and np.isfinite(label[b]):
                samples[name]["pair_gap"].append(abs(values[a] - values[b]))
                samples[name]["pair_order"].append(
                    float(np.sign(values[a] - values[b]) == np.sign(label[a] - label[b]))
                )
        for a, b in steps:
            if np.isfinite(values[a]) and np.isfinite(values[b]):
                samples[name]["self_step"].append(abs(values[a] - values[b]))
    return samples


def summarise(samples: dict[str, dict[str, list[float]]], gamma: float) -> dict[str, dict[str, float]]:
    summary = {}
    for name, s in samples.items():
        gap, step = np.asarray(s["pair_gap"]), np.asarray(s["self_step"])
        if not len(gap) or not len(step):
            continue
        p90 = float(np.percentile(step, 90))
        summary[name] = {
            "overlapping_pairs": int(len(gap)),
            "pair_gap_median": float(np.median(gap)),
            "self_step_median": float(np.median(step)),
            "self_step_p90": p90,
            "separable": float((gap > p90).mean()),
            "order_accuracy": float(np.mean(s["pair_order"])),
            "penalty_median": gamma * float(np.median(gap)),
        }
    return summary
