"""Can depth separate the objects a tracker confuses? Measured on GT boxes of evaluation sequences.

A depth term in the association (DepTR-MOT: similarity - gamma x |depth difference|) helps only where two nearby
objects differ in depth by more than one object's depth changes between frames, and only if the penalty is large
next to the other similarity terms. This module measures those quantities for the instance-depth labels and for a
trained model's instance-depth head (``model``) and its Spatial Adapter's expected depth map averaged in the box
(``depth_map``), both run on the GT boxes, so detection errors do not enter:

- ``pair_gap``: |depth difference| between two different objects whose boxes overlap (IoU > ``min_iou``) in a frame;
- ``self_step``: |depth change| of one object between consecutive frames (what the tracker compares against);
- ``order_accuracy``: share of overlapping pairs whose predicted depth order matches the labels';
- ``separable``: share of overlapping pairs whose gap exceeds the 90th percentile of ``self_step``;
- ``order_accuracy_by_label_gap``: ``order_accuracy`` within bands of the labels' pair gap (near-ties are hard).
Depth values are the training target: FDTA's normalised disparity (0..1 of the sequence maximum).

``reference_depths`` gives the ceilings a head can reach from what it reads: the box's bottom edge, and the
teacher's own depth map pooled in the box or with the cached mask, at the cache's resolution and at the model's
stride-8 grid. They say whether a missed order comes from the head or from the resolution it pools at.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torchvision.ops import box_iou, roi_align

from motforge.datasets.index import SequenceIndex
from motforge.depth.bins import sequence_max, to_disparity
from motforge.depth.lid import FDTA_SCALE
from motforge.depth.store import open_frame_store
from motforge.families.dense.model import DenseTracker
from motforge.masks.instance_depth import FROM_MASK, read_instance_depth
from motforge.masks.stage import frame_rows
from motforge.masks.store import MaskTable

LABEL_GAP_BANDS = (0.0, 0.01, 0.03, 0.1, np.inf)  # edges of the label-gap bands of order_accuracy_by_label_gap


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


def _pooled(values: torch.Tensor, boxes: torch.Tensor, cells: int, scale: float) -> torch.Tensor:
    """RoI Align (aligned, 2 samples per cell) of a [1, C, H, W] map in boxes given in that map's pixels / scale."""
    return roi_align(values, [boxes], output_size=cells, spatial_scale=scale, sampling_ratio=2, aligned=True)


def reference_depths(
    index: SequenceIndex, depth_store_path: str | Path, masks: MaskTable, model_grid: tuple[int, int]
) -> dict[str, np.ndarray]:
    """Ceiling series per GT row, on the labels' 0..1 disparity scale (higher = nearer):

    - ``box_bottom``: the box's bottom edge over the image height (lower in the image = nearer, on a ground plane);
    - ``teacher_box``: the teacher's map averaged over the whole box (14 x 14 RoI cells), at the depth cache's
      resolution;
    - ``teacher_mask_14``: the teacher's map averaged with the cached mask as weights over 14 x 14 RoI cells, at the
      cache's resolution (the labels average the mask's pixels: this is their pooled approximation);
    - ``teacher_box_grid`` / ``teacher_mask_grid``: the map first resized to ``model_grid`` (width, height: the
      model's stride-8 map), then 7 x 7 cells averaged plainly / with the mask's share of each cell as weights,
      which is what a perfect depth head plus a perfect mask would give the instance-depth head.
    Like the labels, each series pools the cached teacher values and converts the pooled value to disparity."""
    store = open_frame_store(depth_store_path)
    kind = store.attrs["kind"]
    _, dh, dw = store.shape
    peak = sequence_max(store)
    names = ("box_bottom", "teacher_box", "teacher_mask_14", "teacher_box_grid", "teacher_mask_grid")
    out = {name: np.full(index.num_boxes, np.nan, np.float32) for name in names}
    gt = index.gt
    out["box_bottom"][:] = (gt["y"] + gt["h"]) / index.height
    gw, gh = model_grid

    def as_label(pooled: torch.Tensor) -> np.ndarray:  # the labels convert the pooled depth, not each pixel
        return to_disparity(pooled.numpy().astype(np.float64), kind) / peak

    for t, rows in frame_rows(index).items():
        raw = np.asarray(store[t - 1], np.float32)
        raw = np.where(np.isfinite(raw) & (raw > 0), raw, 0.0).astype(np.float32)  # invalid pixels weigh as 0
        full = torch.from_numpy(raw)[None, None]
        grid = torch.from_numpy(cv2.resize(raw, (gw, gh), interpolation=cv2.INTER_AREA))[None, None]
        xyxy = np.stack(
            [gt["x"][rows], gt["y"][rows], gt["x"][rows] + gt["w"][rows], gt["y"][rows] + gt["h"][rows]], axis=1
        )
        # clipped to the image as the labels' masks are (RoI Align reads zeros outside the map)
        boxes = torch.from_numpy(np.clip(xyxy * (dw / index.width), 0, [dw, dh, dw, dh]).astype(np.float32))
        decoded = masks.rows(rows)
        weight = torch.from_numpy(
            np.stack([cv2.resize(m.astype(np.float32), (dw, dh), interpolation=cv2.INTER_AREA) for m in decoded])
        )
        depth14 = _pooled(full, boxes, 14, 1.0)[:, 0]
        depth_grid = _pooled(grid, boxes, 7, gw / dw)[:, 0]
        mask14 = torch.stack(
            [_pooled(weight[k][None, None], boxes[k : k + 1], 14, 1.0)[0, 0] for k in range(len(rows))]
        )
        mask7 = torch.stack([_pooled(weight[k][None, None], boxes[k : k + 1], 7, 1.0)[0, 0] for k in range(len(rows))])
        out["teacher_box"][rows] = as_label(depth14.mean(dim=(1, 2)))
        out["teacher_box_grid"][rows] = as_label(depth_grid.mean(dim=(1, 2)))
        for name, depth, mask in (("teacher_mask_14", depth14, mask14), ("teacher_mask_grid", depth_grid, mask7)):
            total = mask.sum(dim=(1, 2))
            weighted = (depth * mask).sum(dim=(1, 2)) / total.clamp_min(1e-6)
            out[name][rows] = as_label(torch.where(total > 0, weighted, depth.mean(dim=(1, 2))))
    return out


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
    samples = {name: {"pair_gap": [], "self_step": [], "pair_order": [], "label_gap": []} for name in series}
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
                samples[name]["label_gap"].append(abs(label[a] - label[b]))
                samples[name]["pair_order"].append(
                    float(np.sign(values[a] - values[b]) == np.sign(label[a] - label[b]))
                )
        for a, b in steps:
            if np.isfinite(values[a]) and np.isfinite(values[b]):
                samples[name]["self_step"].append(abs(values[a] - values[b]))
    return samples


def by_gap(s: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Order accuracy and pair count in each band of the labels' gap (LABEL_GAP_BANDS)."""
    gap, order = np.asarray(s.get("label_gap", [])), np.asarray(s["pair_order"])
    bands = {}
    for lo, hi in zip(LABEL_GAP_BANDS[:-1], LABEL_GAP_BANDS[1:]):
        inside = (gap >= lo) & (gap < hi)
        if inside.any():
            bands[f"{lo:g}-{hi:g}"] = {"pairs": int(inside.sum()), "order_accuracy": float(order[inside].mean())}
    return bands


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
            "order_accuracy_by_label_gap": by_gap(s),
            "penalty_median": gamma * float(np.median(gap)),
        }
    return summary
