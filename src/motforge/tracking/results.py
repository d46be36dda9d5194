"""MOTChallenge result rows: ``frame,id,x,y,w,h,conf,-1,-1,-1`` (class -1: TrackEval rejects a class above 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motforge.io.atomic import write_text_atomic


def format_rows(frames: np.ndarray, ids: np.ndarray, boxes_xyxy: np.ndarray, scores: np.ndarray) -> str:
    """Rows sorted by frame then id, boxes as top-left xywh with two decimals."""
    order = np.lexsort((ids, frames))
    lines = []
    for i in order:
        x1, y1, x2, y2 = boxes_xyxy[i]
        lines.append(
            f"{int(frames[i])},{int(ids[i])},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{scores[i]:.4f},-1,-1,-1\n"
        )
    return "".join(lines)


def write_results(
    path: str | Path, frames: np.ndarray, ids: np.ndarray, boxes_xyxy: np.ndarray, scores: np.ndarray
) -> None:
    write_text_atomic(
        path,
        format_rows(np.asarray(frames), np.asarray(ids), np.asarray(boxes_xyxy).reshape(-1, 4), np.asarray(scores)),
    )
