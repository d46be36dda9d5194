"""ByteTrack's two-stage association, written once for every family's online tracker.

Stage 1 matches tracks to high-score detections on a similarity the family chooses (IoU for ByteTrack; the fused
embedding/IoU/association/depth score for ``dense``); stage 2 gives the eligible tracks left over (those still
tracked) the low-score detections by IoU. Both stages are optimal assignments (scipy's Hungarian solver) keeping
pairs at or above the stage's threshold (ByteTrack, Zhang et al. 2022, Algorithm 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torchvision.ops import box_iou


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of xyxy boxes in float64 [len(a), len(b)]."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    return box_iou(torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)).numpy()


def assign(similarity: np.ndarray, minimum: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Maximum-similarity assignment keeping pairs with similarity >= ``minimum``; (pairs, free rows, free cols)."""
    n_rows, n_cols = similarity.shape
    if similarity.size == 0:
        return [], list(range(n_rows)), list(range(n_cols))
    rows, cols = linear_sum_assignment(similarity, maximize=True)
    pairs = [(int(r), int(c)) for r, c in zip(rows, cols) if similarity[r, c] >= minimum]
    matched_rows = {r for r, _ in pairs}
    matched_cols = {c for _, c in pairs}
    return (
        pairs,
        [r for r in range(n_rows) if r not in matched_rows],
        [c for c in range(n_cols) if c not in matched_cols],
    )


@dataclass(frozen=True)
class TwoStageMatches:
    high: list[tuple[int, int]]  # (track, high-score detection)
    low: list[tuple[int, int]]  # (track, low-score detection)
    unmatched_tracks: list[int]  # tracks matched in neither stage
    unmatched_high: list[int]  # high-score detections left for births


def two_stage_association(
    high_similarity: np.ndarray, high_minimum: float, low_iou: np.ndarray, low_minimum: float, low_eligible: np.ndarray
) -> TwoStageMatches:
    """``high_similarity`` [tracks, high dets]; ``low_iou`` [tracks, low dets]; ``low_eligible`` [tracks] marks the
    tracks that may take a low-score detection (ByteTrack: those tracked in the previous frame)."""
    high, free_tracks, free_high = assign(high_similarity, high_minimum)
    pool = [t for t in free_tracks if low_eligible[t]]
    low_pairs, _, _ = assign(low_iou[pool], low_minimum) if pool else ([], [], [])
    low = [(pool[r], c) for r, c in low_pairs]
    taken = {t for t, _ in low}
    return TwoStageMatches(high, low, [t for t in free_tracks if t not in taken], free_high)
