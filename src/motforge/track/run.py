"""Run a tracker over one sequence and collect its result rows."""
from __future__ import annotations

import numpy as np
from tqdm import tqdm

from motforge.datasets.index import SequenceIndex
from motforge.detect.store import Detections
from motforge.track.bytetrack import ByteTracker, ByteTrackParams

ResultArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def track_bytetrack(index: SequenceIndex, dets: Detections, params: ByteTrackParams, progress: bool = True) -> ResultArrays:
    """ByteTrack baseline on the stored detections; returns frames, ids, xyxy boxes, scores."""
    if dets.num_frames != index.seq_length:
        raise ValueError(f"detections cover {dets.num_frames} frames but {index.name} has {index.seq_length}")
    tracker = ByteTracker(params)
    frames, ids, boxes, scores = [], [], [], []
    for t in tqdm(range(1, index.seq_length + 1), desc=f"track {index.name}", disable=not progress, mininterval=2.0):
        b, s, _ = dets.frame(t)
        for ident, box, score in tracker.update(b, s):
            frames.append(t)
            ids.append(ident)
            boxes.append(box)
            scores.append(score)
    return (np.asarray(frames, dtype=np.int64), np.asarray(ids, dtype=np.int64),
            np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(scores, dtype=np.float64))


def track_oracle(index: SequenceIndex) -> ResultArrays:
    """The ground truth as a tracker (rows TrackEval would consider): a sanity check that must score 100."""
    gt = index.gt
    keep = gt["consider"] != 0
    x, y, w, h = (gt[k][keep].astype(np.float64) for k in ("x", "y", "w", "h"))
    ids = gt["id"][keep].astype(np.int64)
    return gt["frame"][keep].astype(np.int64), ids, np.stack([x, y, x + w, y + h], axis=1), np.ones(len(ids))


def track_dense(index: SequenceIndex, frames, model, params, proposals: Detections | None = None, progress: bool = True) -> ResultArrays:
    """The dense model's online tracker over a sequence read from its frame cache (input resolution); boxes are
    scaled back to original pixels."""
    import torch

    from motforge.track.dense_tracker import DenseOnlineTracker

    width, height = frames.attrs["size"]
    sx, sy = index.width / width, index.height / height
    scale = np.array([sx, sy, sx, sy])
    tracker = DenseOnlineTracker(model, params)
    out_frames, ids, boxes, scores = [], [], [], []
    for t in tqdm(range(1, index.seq_length + 1), desc=f"track {index.name}", disable=not progress, mininterval=2.0):
        image = torch.from_numpy(np.ascontiguousarray(frames[t - 1].transpose(2, 0, 1)))
        given = None
        if proposals is not None:
            b, s, _ = proposals.frame(t)
            given = (b / scale, s)
        for ident, box, score in tracker.step(image, given):
            out_frames.append(t)
            ids.append(ident)
            boxes.append(box * scale)
            scores.append(score)
    return (np.asarray(out_frames, dtype=np.int64), np.asarray(ids, dtype=np.int64),
            np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(scores, dtype=np.float64))
