"""The `background` detector: OpenCV MOG2 background subtraction, for static cameras, with no weights.

Dancers hold positions for seconds, so a subtractor that learns online absorbs them into the background. Instead the
background model is primed with the per-pixel median of frames sampled across the whole sequence (people move, the
stage does not), then each frame is compared with it at a small learning rate; foreground blobs become boxes.
Confidence grows with how solidly a box is filled
with foreground and with blob size above the minimum area: fragments get low scores, which is what ByteTrack's
second association stage is for.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from tqdm import tqdm

from motforge.datasets.index import SequenceIndex
from motforge.io.frames import prefetch_frames


@dataclass(frozen=True)
class BackgroundParams:
    """The detector's ``background`` block (defaults in the config schema)."""

    history: int
    var_threshold: float
    warmup_frames: int
    learning_rate: float
    min_area: float
    max_area: float
    open_kernel: int
    close_kernel: int
    max_aspect: float


def _split_columns(blob: np.ndarray, max_aspect: float) -> list[tuple[int, int]]:
    """Column ranges of the people in a blob wider than one person: cut at valleys of the column profile."""
    height, width = blob.shape
    if width <= max_aspect * height:
        return [(0, width)]
    profile = np.convolve(blob.sum(axis=0).astype(np.float64), np.ones(5) / 5.0, mode="same")
    min_width = max(3, int(0.2 * height))
    cuts = [0]
    threshold = 0.45 * profile.max()
    for col in range(min_width, width - min_width):
        window = profile[col - min_width // 2 : col + min_width // 2 + 1]
        if profile[col] <= threshold and profile[col] == window.min() and col - cuts[-1] >= min_width:
            cuts.append(col)
    cuts.append(width)
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b - a >= min_width]


def _blobs_to_boxes(mask: np.ndarray, params: BackgroundParams) -> tuple[np.ndarray, np.ndarray]:
    image_area = mask.shape[0] * mask.shape[1]
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    boxes, scores = [], []
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        if area < params.min_area * image_area or w * h > params.max_area * image_area:
            continue
        blob = labels[y : y + h, x : x + w] == label
        for c0, c1 in _split_columns(blob, params.max_aspect):
            part = blob[:, c0:c1]
            rows = np.flatnonzero(part.any(axis=1))
            cols = np.flatnonzero(part.any(axis=0))
            if rows.size == 0:
                continue
            part_area = int(part.sum())
            if part_area < params.min_area * image_area:
                continue
            x0, x1 = x + c0 + cols[0], x + c0 + cols[-1] + 1
            y0, y1 = y + rows[0], y + rows[-1] + 1
            fill = part_area / float((x1 - x0) * (y1 - y0))
            size = 1.0 - np.exp(-part_area / (4.0 * params.min_area * image_area))
            boxes.append((x0, y0, x1, y1))
            scores.append(float(np.clip(np.sqrt(fill) * size * 1.4, 0.0, 1.0)))
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 4), np.asarray(scores, dtype=np.float32)


def detect_background(
    index: SequenceIndex, params: BackgroundParams, score_threshold: float, progress: bool = True
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per-frame (boxes xyxy, scores, classes) for every frame of the sequence."""
    subtractor = cv2.createBackgroundSubtractorMOG2(
        history=params.history, varThreshold=params.var_threshold, detectShadows=False
    )
    warm = np.unique(
        np.linspace(1, index.seq_length, num=min(params.warmup_frames, index.seq_length)).round().astype(int)
    )
    samples = np.stack(list(prefetch_frames(index.frame_path(int(t)) for t in warm)))
    background = np.median(samples, axis=0).astype(np.uint8)
    del samples
    for k in range(min(params.history, 30)):
        subtractor.apply(background, learningRate=1.0 / (k + 1))
    open_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (params.open_kernel, params.open_kernel))
    # taller than wide: joins head, torso and legs of one person more than neighbours side by side
    close_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (params.close_kernel, 3 * params.close_kernel))
    results = []
    frames = prefetch_frames(index.frame_path(t) for t in range(1, index.seq_length + 1))
    for frame in tqdm(
        frames, total=index.seq_length, desc=f"detect {index.name}", disable=not progress, mininterval=2.0
    ):
        mask = subtractor.apply(frame, learningRate=params.learning_rate)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, open_k)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, close_k)
        boxes, scores = _blobs_to_boxes(mask, params)
        keep = scores >= score_threshold
        results.append((boxes[keep], scores[keep], np.zeros(int(keep.sum()), dtype=np.int16)))
    return results


class BackgroundBackend:
    """``background``: OpenCV MOG2 background subtraction (static camera, distinct foreground; CPU, no weights)."""

    name = "background"

    def check(self, block: dict, key: str, context) -> None:  # noqa: ANN001
        return None

    def uses_gpu(self, block: dict) -> bool:
        return False

    def detect(self, index: SequenceIndex, block: dict, run) -> tuple[list, dict]:  # noqa: ANN001
        params = BackgroundParams(**block["background"])
        return detect_background(index, params, float(block["score_threshold"]), progress=run.progress), {
            "model": "opencv-mog2"
        }


ENTRY = BackgroundBackend()
