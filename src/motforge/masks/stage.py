"""The mask stage: every GT box of a sequence -> one mask (COCO RLE) in masks.h5, aligned with index.h5's GT rows."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from motforge.datasets.index import SequenceIndex
from motforge.depth.store import cache_size
from motforge.io.frames import prefetch_frames
from motforge.masks.registry import MASK_BACKENDS
from motforge.masks.resume import MaskBlocks
from motforge.masks.store import MaskTable, encode, write_masks

SAVE_EVERY = 16  # frames per saved block for backends that do not save after every batch


def gt_boxes_xyxy(index: SequenceIndex, rows: np.ndarray, scale: float) -> np.ndarray:
    gt = index.gt
    x, y, w, h = (gt[k][rows].astype(np.float64) for k in ("x", "y", "w", "h"))
    return np.stack([x, y, x + w, y + h], axis=1) * scale


def frame_rows(index: SequenceIndex) -> dict[int, np.ndarray]:
    """GT row numbers of each frame (rows are sorted by frame in index.h5)."""
    frames = index.gt["frame"]
    starts = np.searchsorted(frames, np.arange(1, index.seq_length + 2))
    return {t: np.arange(starts[t - 1], starts[t]) for t in range(1, index.seq_length + 1) if starts[t] > starts[t - 1]}


def run_masks(index: SequenceIndex, settings: dict, out: str | Path, progress: bool = True, masker=None) -> MaskTable:  # noqa: ANN001
    """``settings`` is the dataset's masks block; ``masker`` replaces the backend's (tests, benchmarks)."""
    backend = settings["backend"]
    masker = masker or MASK_BACKENDS.get(backend, "masks.backend").masker(settings, "masks.device")
    width, height = cache_size(index.width, index.height, int(settings["mask_short_side"]))
    scale = width / index.width
    rows_of = frame_rows(index)
    n = index.num_boxes
    counts: list[bytes] = [b""] * n
    scores = np.zeros(n, np.float32)
    empty = np.zeros(n, bool)
    areas = np.zeros(n, np.int64)

    def store(rows: np.ndarray, masks: np.ndarray, mask_scores: np.ndarray) -> None:
        for row, c in zip(rows, encode(masks)):
            counts[row] = c
        scores[rows] = mask_scores
        areas[rows] = masks.reshape(len(rows), -1).sum(axis=1)
        empty[rows] = areas[rows] == 0

    blocks = (
        MaskBlocks(out, {"settings": settings, "sequence": index.name, "rows": n, "size": [width, height]})
        if settings.get("resume")
        else None
    )
    done: set[int] = set()
    for frames, block_counts, rows, block_scores, block_areas in blocks.load() if blocks else []:
        for row, c in zip(rows, block_counts):
            counts[row] = c
        scores[rows], areas[rows], empty[rows] = block_scores, block_areas, block_areas == 0
        done.update(int(t) for t in frames)
    if done:
        print(f"masks {index.name}: resuming with {len(done)} of {len(rows_of)} frames done", file=sys.stderr)
    unsaved: list[int] = []

    def frames_done(frames: list[int]) -> None:
        """Frames whose masks are final; saved in blocks when the job may be resumed."""
        if blocks is None:
            return
        unsaved.extend(frames)
        if len(unsaved) >= SAVE_EVERY or masker.save_every_batch:
            save_block()

    def save_block() -> None:
        rows = np.concatenate([rows_of[t] for t in unsaved])
        blocks.save(unsaved, rows, [counts[r] for r in rows], scores[rows], areas[rows])
        unsaved.clear()

    frames_with_boxes = [t for t in sorted(rows_of) if t not in done]
    images = prefetch_frames(index.frame_path(t) for t in frames_with_boxes)
    bar = tqdm(total=len(rows_of), initial=len(done), desc=f"masks {index.name}", disable=not progress, mininterval=2.0)
    batch: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []

    def flush() -> None:
        results = masker.segment([(t, image, boxes) for t, image, _, boxes in batch])
        for (_, _, rows, _), (masks, mask_scores) in zip(batch, results):
            store(rows, masks, mask_scores)
        bar.update(len(batch))
        frames_done([t for t, _, _, _ in batch])
        batch.clear()

    for t, image in zip(frames_with_boxes, images):
        image = (
            cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
            if (width, height) != image.shape[1::-1]
            else image
        )
        rows = rows_of[t]
        batch.append((t, image, rows, gt_boxes_xyxy(index, rows, scale)))
        if len(batch) == masker.batch_size:
            flush()
    if batch:
        flush()
    bar.close()
    if n and any(c == b"" for c in counts):
        raise RuntimeError("some GT rows received no mask")
    attrs = {"backend": backend, "sequence": index.name, "original_size": [index.width, index.height], **masker.attrs}
    table = MaskTable(height, width, counts, scores, empty, areas, attrs)
    write_masks(table, out)
    if blocks is not None:
        blocks.finish()
    return table
