"""ByteTrack-style online tracking on IoU with a Kalman filter: high-score boxes first, then low-score boxes.

All state (tracks, the id counter) lives in the instance and starts fresh for every sequence; ids never leak
between videos or tracker objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torchvision.ops import box_iou

from motforge.track import kalman

TRACKED, LOST = 0, 1


@dataclass(frozen=True)
class ByteTrackParams:
    track_high: float = 0.5
    track_low: float = 0.1
    new_track: float = 0.6
    match_iou_high: float = 0.2
    match_iou_low: float = 0.5
    match_iou_unconfirmed: float = 0.3
    max_lost: int = 30
    min_box_area: float = 10.0


@dataclass
class Track:
    ident: int
    mean: np.ndarray
    cov: np.ndarray
    score: float
    state: int = TRACKED
    confirmed: bool = False
    last_frame: int = 0

    def box(self) -> np.ndarray:
        return kalman.xyah_to_xyxy(self.mean[None, :4])[0]


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    return box_iou(torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)).numpy()


def match(iou: np.ndarray, min_iou: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Optimal assignment on 1 - IoU, keeping pairs with IoU >= min_iou."""
    if iou.size == 0:
        return [], list(range(iou.shape[0])), list(range(iou.shape[1]))
    rows, cols = linear_sum_assignment(1.0 - iou)
    pairs = [(r, c) for r, c in zip(rows, cols) if iou[r, c] >= min_iou]
    matched_r = {r for r, _ in pairs}
    matched_c = {c for _, c in pairs}
    return pairs, [r for r in range(iou.shape[0]) if r not in matched_r], [c for c in range(iou.shape[1]) if c not in matched_c]


@dataclass
class ByteTracker:
    params: ByteTrackParams
    tracks: list[Track] = field(default_factory=list)
    next_id: int = 1
    frame: int = 0

    def _new_id(self) -> int:
        ident = self.next_id
        self.next_id += 1
        return ident

    def _apply(self, track: Track, box: np.ndarray, score: float) -> None:
        track.mean, track.cov = kalman.update(track.mean, track.cov, kalman.xyxy_to_xyah(box)[0])
        track.score = float(score)
        track.state = TRACKED
        track.last_frame = self.frame

    def update(self, boxes: np.ndarray, scores: np.ndarray) -> list[tuple[int, np.ndarray, float]]:
        """Advance one frame; returns (id, xyxy box, score) of the tracks updated in this frame."""
        p = self.params
        self.frame += 1
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        keep = scores >= p.track_low
        boxes, scores = boxes[keep], scores[keep]
        high = scores >= p.track_high
        hi_boxes, hi_scores = boxes[high], scores[high]
        lo_boxes, lo_scores = boxes[~high], scores[~high]
        if self.tracks:
            means, covs = kalman.predict(np.stack([t.mean for t in self.tracks]), np.stack([t.cov for t in self.tracks]))
            for t, m, c in zip(self.tracks, means, covs):
                t.mean, t.cov = m, c
        confirmed = [t for t in self.tracks if t.confirmed]
        tentative = [t for t in self.tracks if not t.confirmed]
        # stage 1: confirmed (tracked or lost) tracks against high-score boxes
        pool_boxes = np.stack([t.box() for t in confirmed]) if confirmed else np.zeros((0, 4))
        pairs, free_tracks, free_high = match(iou_matrix(pool_boxes, hi_boxes), p.match_iou_high)
        updated: list[Track] = []
        for r, c in pairs:
            self._apply(confirmed[r], hi_boxes[c], hi_scores[c])
            updated.append(confirmed[r])
        # stage 2: still-tracked leftovers against low-score boxes
        remaining = [confirmed[r] for r in free_tracks if confirmed[r].state == TRACKED]
        rem_boxes = np.stack([t.box() for t in remaining]) if remaining else np.zeros((0, 4))
        pairs, free_rem, _ = match(iou_matrix(rem_boxes, lo_boxes), p.match_iou_low)
        for r, c in pairs:
            self._apply(remaining[r], lo_boxes[c], lo_scores[c])
            updated.append(remaining[r])
        for r in free_rem:
            remaining[r].state = LOST
        for r in free_tracks:
            if confirmed[r].state == TRACKED and confirmed[r] not in updated:
                confirmed[r].state = LOST
        # tentative tracks need a second high-score match to be confirmed
        hi_left = hi_boxes[free_high]
        hi_left_scores = hi_scores[free_high]
        tent_boxes = np.stack([t.box() for t in tentative]) if tentative else np.zeros((0, 4))
        pairs, _, free_new = match(iou_matrix(tent_boxes, hi_left), p.match_iou_unconfirmed)
        for r, c in pairs:
            self._apply(tentative[r], hi_left[c], hi_left_scores[c])
            tentative[r].confirmed = True
            tentative[r].ident = self._new_id()
            updated.append(tentative[r])
        tracks = [t for t in self.tracks if t.confirmed and self.frame - t.last_frame <= p.max_lost]
        for t in tracks:
            if t.last_frame != self.frame:
                t.state = LOST
        # births
        for c in free_new:
            if hi_left_scores[c] < p.new_track:
                continue
            mean, cov = kalman.initiate(kalman.xyxy_to_xyah(hi_left[c])[0])
            first_frame = self.frame == 1
            ident = self._new_id() if first_frame else 0  # ids are given on confirmation, so they stay compact
            track = Track(ident, mean, cov, float(hi_left_scores[c]), confirmed=first_frame, last_frame=self.frame)
            tracks.append(track)
            if track.confirmed:
                updated.append(track)
        self.tracks = tracks
        out = []
        for t in updated:
            box = t.box()
            if (box[2] - box[0]) * (box[3] - box[1]) >= p.min_box_area:
                out.append((t.ident, box, t.score))
        return sorted(out, key=lambda r: r[0])
