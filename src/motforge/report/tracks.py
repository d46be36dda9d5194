"""Tracks drawn over one frame (boxes and identities, no trails; colours as in the track videos), for the report's
frame strip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from motforge.datasets.mot_text import read_mot_table
from motforge.tracking.show import identity_colour  # one colour per identity in videos and the report


def read_tracks(path: str | Path, seq_length: int | None = None) -> np.ndarray:
    """Result rows [N, >=7] (frame, id, x, y, w, h, score, ...) through the strict MOTChallenge reader."""
    table = read_mot_table(path, min_columns=7, max_columns=10, seq_length=seq_length, positive_size=False)
    return table.values


def draw_tracks(image: np.ndarray, rows: np.ndarray, frame: int, title: str = "") -> np.ndarray:
    """``image`` (BGR, original resolution) with the boxes of ``frame`` from ``rows`` and their identities."""
    canvas = image.copy()
    thickness = max(1, round(min(canvas.shape[:2]) / 240))
    scale = max(0.4, min(canvas.shape[:2]) / 720)
    for row in rows[rows[:, 0] == frame] if rows.size else rows:
        identity = int(row[1])
        x, y, w, h = (int(round(v)) for v in row[2:6])
        colour = identity_colour(identity)
        cv2.rectangle(canvas, (x, y), (x + w, y + h), colour, thickness)
        cv2.putText(
            canvas, str(identity), (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA
        )
    if title:
        cv2.putText(
            canvas,
            title,
            (8, int(22 * scale)),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (255, 255, 255),
            thickness,
            cv2.LINE_AA,
        )
    return canvas
