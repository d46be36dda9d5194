"""The `hog` detector: OpenCV's pedestrian detector (Dalal & Triggs HOG + linear SVM, trained on INRIA Person),
which ships inside OpenCV 4's wheel, so it finds real people with nothing to download.

OpenCV slides a 64x128 window over an image pyramid (``scale`` between levels, ``win_stride`` between windows) and
returns every window whose SVM decision value exceeds ``hit_threshold``. OpenCV's own grouping is switched off
(``groupThreshold=0``); overlapping hits are reduced with torchvision's NMS on the decision value instead, so each
kept box is the strongest window of its cluster. IoU alone keeps a large weak window drawn around a person (their
IoU is small), so a weaker box that covers ``nms_contain`` of the smaller box's area of a stronger one goes too (the
overlap-over-area rule of Felzenszwalb et al.'s NMS, which torchvision does not offer). The window holds a person
of about 96 px with a margin, so people shorter than about 100 px are found only after enlarging the frame
(``upscale``).

Confidence: the SVM decision value w (a margin, unbounded; 0 is the decision boundary) becomes
``score = 1 - exp(-max(w, 0) / score_scale)``, monotone in w, 0 at the boundary and approaching 1 for confident
windows. With the default score_scale 0.5, w = 0.35 gives 0.5 and w = 1 gives 0.86. On vtest.avi (upscale 1.3) the
kept windows have a median w of 2.1; 84% score 0.6 or more and start tracks (ByteTrack's new_track), while the 14%
below 0.5, mostly near the boundary, only extend existing tracks (its second, low-score association).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torchvision.ops import nms
from tqdm import tqdm

from motforge.datasets.index import SequenceIndex
from motforge.errors import MotforgeError
from motforge.io.frames import prefetch_frames


@dataclass(frozen=True)
class HogParams:
    """The detector's ``hog`` block (defaults in the config schema)."""

    win_stride: int
    padding: int
    scale: float
    hit_threshold: float
    upscale: float
    nms_iou: float
    nms_contain: float
    score_scale: float


def weight_to_score(weights: np.ndarray, score_scale: float) -> np.ndarray:
    """SVM decision value -> confidence in [0, 1) (see the module docstring)."""
    return 1.0 - np.exp(-np.maximum(np.asarray(weights, dtype=np.float64), 0.0) / score_scale)


def people_detector() -> cv2.HOGDescriptor:
    """OpenCV's default 64x128 people detector; OpenCV 5 moved HOG out of the main wheel (to contrib's xobjdetect)."""
    if not hasattr(cv2, "HOGDescriptor"):
        raise MotforgeError(
            f"OpenCV {cv2.__version__} has no HOGDescriptor (OpenCV 5 moved it to opencv-contrib); the hog "
            "detector needs opencv-python<5, which pyproject.toml asks for: reinstall motforge into this environment"
        )
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    return hog


def detect_frame(hog: cv2.HOGDescriptor, frame: np.ndarray, params: HogParams) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (xyxy, original pixels) and SVM decision values after NMS, strongest first."""
    image = (
        frame
        if params.upscale == 1.0
        else cv2.resize(frame, None, fx=params.upscale, fy=params.upscale, interpolation=cv2.INTER_LINEAR)
    )
    rects, weights = hog.detectMultiScale(
        image,
        hitThreshold=params.hit_threshold,
        winStride=(params.win_stride, params.win_stride),
        padding=(params.padding, params.padding),
        scale=params.scale,
        groupThreshold=0,
    )
    if len(rects) == 0:
        return np.zeros((0, 4), dtype=np.float32), np.zeros(0, dtype=np.float32)
    rects = np.asarray(rects, dtype=np.float32).reshape(-1, 4)
    boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1) / params.upscale
    weights = np.asarray(weights, dtype=np.float32).reshape(-1)
    keep = nms(torch.from_numpy(boxes), torch.from_numpy(weights), params.nms_iou).numpy()
    boxes, weights = boxes[keep], weights[keep]
    kept = not_contained(boxes, params.nms_contain)
    return boxes[kept], weights[kept]


def not_contained(boxes: np.ndarray, contain: float) -> np.ndarray:
    """Indices (in order) of boxes, sorted strongest first, that do not cover ``contain`` of the smaller box's
    area together with a stronger kept box."""
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept: list[int] = []
    for i in range(len(boxes)):
        if kept:
            k = np.asarray(kept)
            w = np.minimum(boxes[k, 2], boxes[i, 2]) - np.maximum(boxes[k, 0], boxes[i, 0])
            h = np.minimum(boxes[k, 3], boxes[i, 3]) - np.maximum(boxes[k, 1], boxes[i, 1])
            overlap = np.clip(w, 0, None) * np.clip(h, 0, None) / np.minimum(area[k], area[i])
            if (overlap >= contain).any():
                continue
        kept.append(i)
    return np.asarray(kept, dtype=np.int64)


def detect_hog(
    index: SequenceIndex, params: HogParams, score_threshold: float, progress: bool = True
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per-frame (boxes xyxy, scores, classes) for every frame of the sequence; class 0 (person)."""
    hog = people_detector()
    if os.environ.get("OMP_NUM_THREADS"):  # the job's thread allotment (Snakemake, SLURM)
        cv2.setNumThreads(int(os.environ["OMP_NUM_THREADS"]))
    width, height = index.width, index.height
    results = []
    frames = prefetch_frames(index.frame_path(t) for t in range(1, index.seq_length + 1))
    for frame in tqdm(
        frames, total=index.seq_length, desc=f"detect {index.name}", disable=not progress, mininterval=2.0
    ):
        boxes, weights = detect_frame(hog, frame, params)
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        scores = weight_to_score(weights, params.score_scale).astype(np.float32)
        keep = scores >= score_threshold
        results.append((boxes[keep], scores[keep], np.zeros(int(keep.sum()), dtype=np.int16)))
    return results


class HogBackend:
    """``hog``: OpenCV's built-in people detector (Dalal-Triggs HOG + linear SVM; ships inside opencv-python 4)."""

    name = "hog"

    def check(self, block: dict, key: str, context) -> None:  # noqa: ANN001
        return None

    def uses_gpu(self, block: dict) -> bool:
        return False

    def detect(self, index: SequenceIndex, block: dict, run) -> tuple[list, dict]:  # noqa: ANN001
        params = HogParams(**block["hog"])
        return detect_hog(index, params, float(block["score_threshold"]), progress=run.progress), {
            "model": "opencv-hog-default-people"
        }


ENTRY = HogBackend()
