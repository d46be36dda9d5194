"""ByteTrack-style online tracking on IoU with a Kalman filter: high-score boxes first, then low-score boxes.

All state (tracks, the id counter) lives in the instance and starts fresh for every sequence; ids never leak
between videos or tracker objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from motforge.datasets.index import SequenceIndex
from motforge.tracking import kalman
from motforge.tracking.association import assign, iou_matrix, two_stage_association
from motforge.tracking.interface import FrameInputs, TrackRow

TRACKED, LOST = 0, 1


@dataclass(frozen=True)
class ByteTrackParams:
    """The model block of config.yaml (defaults in families/bytetrack/schema.yaml)."""

    track_high: float
    track_low: float
    new_track: float
    match_iou_high: float
    match_iou_low: float
    match_iou_unconfirmed: float
    max_lost: int
    min_box_area: float

    @classmethod
    def from_model(cls, model: dict) -> ByteTrackParams:
        return cls(**{f.name: model[f.name] for f in fields(cls)})


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


@dataclass
class ByteTracker:
    """The online tracker of the ``bytetrack`` family (the :class:`~motforge.families.OnlineTracker` interface)."""

    params: ByteTrackParams
    tracks: list[Track] = field(default_factory=list)
    next_id: int = 1
    frame: int = 0

    def reset(self, index: SequenceIndex | None = None) -> None:
        self.tracks, self.next_id, self.frame = [], 1, 0

    def step(self, frame: FrameInputs) -> list[TrackRow]:
        if frame.detections is None:
            raise ValueError("the bytetrack family tracks detections; none were given")
        return self.update(*frame.detections)

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
        kalman.predict_tracks(self.tracks)
        confirmed = [t for t in self.tracks if t.confirmed]
        tentative = [t for t in self.tracks if not t.confirmed]
        # stages 1 and 2: confirmed (tracked or lost) tracks take high-score boxes; still-tracked leftovers low ones
        pool_boxes = np.stack([t.box() for t in confirmed]) if confirmed else np.zeros((0, 4))
        matches = two_stage_association(
            iou_matrix(pool_boxes, hi_boxes),
            p.match_iou_high,
            iou_matrix(pool_boxes, lo_boxes),
            p.match_iou_low,
            np.array([t.state == TRACKED for t in confirmed], dtype=bool),
        )
        updated: list[Track] = []
        for r, c in matches.high:
            self._apply(confirmed[r], hi_boxes[c], hi_scores[c])
            updated.append(confirmed[r])
        for r, c in matches.low:
            self._apply(confirmed[r], lo_boxes[c], lo_scores[c])
            updated.append(confirmed[r])
        for r in matches.unmatched_tracks:
            confirmed[r].state = LOST
        free_high = matches.unmatched_high
        # tentative tracks need a second high-score match to be confirmed
        hi_left = hi_boxes[free_high]
        hi_left_scores = hi_scores[free_high]
        tent_boxes = np.stack([t.box() for t in tentative]) if tentative else np.zeros((0, 4))
        pairs, _, free_new = assign(iou_matrix(tent_boxes, hi_left), p.match_iou_unconfirmed)
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
