"""Box helpers shared by the detector backends: letterboxing, YOLOX grid decoding, NMS through torchvision."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import torch
from torchvision.ops import batched_nms

YOLOX_STRIDES = (8, 16, 32)
PAD_VALUE = 114


def letterbox(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """YOLOX preprocessing: resize keeping aspect into (h, w) = ``size``, pad bottom/right with 114, BGR, CHW float32,
    no normalisation. Returns the network input and the resize ratio."""
    height, width = size
    ratio = min(height / image.shape[0], width / image.shape[1])
    resized = cv2.resize(
        image, (int(image.shape[1] * ratio), int(image.shape[0] * ratio)), interpolation=cv2.INTER_LINEAR
    )
    padded = np.full((height, width, 3), PAD_VALUE, dtype=np.uint8)
    padded[: resized.shape[0], : resized.shape[1]] = resized
    return np.ascontiguousarray(padded.transpose(2, 0, 1), dtype=np.float32), ratio


@functools.lru_cache(maxsize=8)
def yolox_grids(size: tuple[int, int], strides: tuple[int, ...] = YOLOX_STRIDES) -> tuple[np.ndarray, np.ndarray]:
    """Grid cell offsets [A, 2] (x, y) and strides [A, 1] in the order YOLOX flattens its three heads (cached per
    input size: they are the same for every frame)."""
    grids, expanded = [], []
    height, width = size
    for stride in strides:
        gh, gw = height // stride, width // stride
        ys, xs = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
        grids.append(np.stack([xs, ys], axis=-1).reshape(-1, 2))
        expanded.append(np.full((gh * gw, 1), stride))
    return np.concatenate(grids).astype(np.float32), np.concatenate(expanded).astype(np.float32)


def decode_yolox(raw: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Raw YOLOX head output [A, 5 + C] (xy offsets, log wh, sigmoid objectness and class scores) -> boxes in
    network pixels: [A, 5 + C] with cx, cy, w, h decoded."""
    grids, strides = yolox_grids(size)
    if raw.shape[0] != grids.shape[0]:
        raise ValueError(
            f"YOLOX output has {raw.shape[0]} anchors but a {size[1]}x{size[0]} input has {grids.shape[0]} "
            f"(strides 8/16/32)"
        )
    out = raw.astype(np.float32).copy()
    out[:, :2] = (out[:, :2] + grids) * strides
    out[:, 2:4] = np.exp(out[:, 2:4]) * strides
    return out


def decode_candidates(raw: np.ndarray, size: tuple[int, int], score_threshold: float) -> np.ndarray:
    """Decode only the anchors whose objectness can reach ``score_threshold`` (score = obj x cls <= obj): the same
    result as decoding everything, without exponentiating thousands of background anchors per frame."""
    grids, strides = yolox_grids(size)
    if raw.shape[0] != grids.shape[0]:
        raise ValueError(
            f"YOLOX output has {raw.shape[0]} anchors but a {size[1]}x{size[0]} input has {grids.shape[0]} "
            f"(strides 8/16/32)"
        )
    keep = np.flatnonzero(raw[:, 4] >= score_threshold)
    out = raw[keep].astype(np.float32)
    out[:, :2] = (out[:, :2] + grids[keep]) * strides[keep]
    out[:, 2:4] = np.exp(out[:, 2:4]) * strides[keep]
    return out


def postprocess(
    decoded: np.ndarray, ratio: float, score_threshold: float, nms_threshold: float, classes: list[int] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score = objectness x class score; threshold; class-aware NMS; boxes back to original pixels (xyxy)."""
    cls_scores = decoded[:, 5:]
    labels = cls_scores.argmax(axis=1)
    scores = decoded[:, 4] * cls_scores[np.arange(len(labels)), labels]
    keep = scores >= score_threshold
    if classes is not None:
        keep &= np.isin(labels, classes)
    cx, cy, w, h = (decoded[keep, i] for i in range(4))
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1) / ratio
    scores, labels = scores[keep], labels[keep]
    if len(boxes):
        kept = batched_nms(
            torch.from_numpy(boxes).float(), torch.from_numpy(scores).float(), torch.from_numpy(labels), nms_threshold
        ).numpy()
        boxes, scores, labels = boxes[kept], scores[kept], labels[kept]
    return boxes.astype(np.float32), scores.astype(np.float32), labels.astype(np.int16)
