"""Run any family's online tracker over one sequence: one ``step`` per frame, rows collected for the result file."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from motforge.datasets.index import SequenceIndex
from motforge.detect.store import Detections
from motforge.tracking.interface import FrameInputs, OnlineTracker

ResultArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def run_tracker(
    index: SequenceIndex,
    tracker: OnlineTracker,
    detections: Detections | None = None,
    frames=None,
    progress: bool = True,
) -> ResultArrays:
    """Frames, ids, xyxy boxes (original pixels) and scores of every row the tracker reports. ``frames`` is a
    frame cache (zarr array [T, H, W, 3], attrs ``size``) when the family reads images."""
    if detections is not None and detections.num_frames != index.seq_length:
        raise ValueError(f"detections cover {detections.num_frames} frames but {index.name} has {index.seq_length}")
    scale = None
    if frames is not None:
        width, height = frames.attrs["size"]
        sx, sy = index.width / width, index.height / height
        scale = np.array([sx, sy, sx, sy])
    tracker.reset(index)
    out_frames, ids, boxes, scores = [], [], [], []
    for t in tqdm(range(1, index.seq_length + 1), desc=f"track {index.name}", disable=not progress, mininterval=2.0):
        given = detections.frame(t)[:2] if detections is not None else None
        image = frames[t - 1] if frames is not None else None
        for ident, box, score in tracker.step(FrameInputs(t, index, given, image, scale)):
            out_frames.append(t)
            ids.append(ident)
            boxes.append(box)
            scores.append(score)
    return (
        np.asarray(out_frames, dtype=np.int64),
        np.asarray(ids, dtype=np.int64),
        np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
        np.asarray(scores, dtype=np.float64),
    )
