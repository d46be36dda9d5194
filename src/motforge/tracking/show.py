"""Pictures of a tracker's output for a person to check: each identity in its own colour with its id and a short
trail of where its box stood on the ground (bottom centre) over the last frames; optionally the detector's boxes
(thin, grey, with their score) and the depth teacher's map beside the frame.

A PNG for one frame, or an MP4 of the sequence (OpenCV's mp4v encoder, the one its wheel can write).
"""

from __future__ import annotations

import colorsys
from collections import defaultdict, deque
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from motforge.datasets.index import SequenceIndex
from motforge.datasets.mot_text import read_mot_table
from motforge.errors import InputError
from motforge.io.atomic import atomic_path
from motforge.io.frames import prefetch_frames

GOLDEN = 0.618033988749895


def identity_colour(track_id: int) -> tuple[int, int, int]:
    """A BGR colour per id: hues stepped by the golden ratio, so consecutive ids look clearly different."""
    r, g, b = colorsys.hsv_to_rgb((track_id * GOLDEN) % 1.0, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def read_tracks(path: str | Path, seq_length: int) -> dict[int, list[tuple[int, np.ndarray]]]:
    """{frame: [(id, xyxy), ...]} from a MOTChallenge result file (checked like any annotation file)."""
    table = read_mot_table(path, min_columns=6, max_columns=10, seq_length=seq_length)
    per_frame: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
    for row in table.values:
        x, y, w, h = row[2:6]
        per_frame[int(row[0])].append((int(row[1]), np.array([x, y, x + w, y + h])))
    return per_frame


def _draw_tracks(image: np.ndarray, rows: list[tuple[int, np.ndarray]], trails: dict[int, deque]) -> None:
    thickness = max(2, round(image.shape[0] / 300))
    for track_id, box in rows:
        colour = identity_colour(track_id)
        points = np.array(trails[track_id], dtype=np.int32).reshape(-1, 1, 2)
        if len(points) > 1:
            cv2.polylines(image, [points], False, colour, thickness, cv2.LINE_AA)
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        cv2.rectangle(image, (x0, y0), (x1, y1), colour, thickness)
        text = str(track_id)
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        cv2.rectangle(image, (x0, y0 - th - 6), (x0 + tw + 6, y0), colour, -1)
        cv2.putText(image, text, (x0 + 3, y0 - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)


def _draw_detections(image: np.ndarray, boxes: np.ndarray, scores: np.ndarray) -> None:
    for (x0, y0, x1, y1), score in zip(np.round(boxes).astype(int), scores):
        cv2.rectangle(image, (x0, y0), (x1, y1), (160, 160, 160), 1)
        cv2.putText(
            image, f"{score:.2f}", (x0 + 2, y1 - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (200, 200, 200), 1, cv2.LINE_AA
        )


class TrackRenderer:
    """Frames in order -> annotated frames; keeps each identity's trail between calls."""

    def __init__(
        self, index: SequenceIndex, tracks: dict[int, list], detections=None, depth_store=None, trail: int = 20
    ) -> None:
        self.index, self.tracks, self.detections, self.depth_store = index, tracks, detections, depth_store
        self.trails: dict[int, deque] = defaultdict(lambda: deque(maxlen=trail))
        self.peak = None
        if depth_store is not None:
            from motforge.depth.bins import sequence_max

            self.peak = sequence_max(depth_store)

    def advance(self, frame: int) -> None:
        """Extend each identity's trail by where its box stands on the ground (bottom centre) in ``frame``."""
        for track_id, box in self.tracks.get(frame, []):
            self.trails[track_id].append(((box[0] + box[2]) / 2, box[3]))

    def render(self, frame: int, image: np.ndarray) -> np.ndarray:
        """Draw ``frame`` (frames must come in order: the trails grow with each call)."""
        rows = self.tracks.get(frame, [])
        self.advance(frame)
        if self.detections is not None:
            boxes, scores, _ = self.detections.frame(frame)
            _draw_detections(image, boxes, scores)
        _draw_tracks(image, rows, self.trails)
        label = f"{self.index.name} #{frame}  {len(rows)} tracks"
        cv2.putText(image, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(image, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
        if self.depth_store is None:
            return image
        from motforge.depth.bins import to_disparity

        disparity = to_disparity(self.depth_store[frame - 1].astype(np.float32), self.depth_store.attrs["kind"])
        depth = cv2.applyColorMap(
            np.clip(disparity / max(self.peak, 1e-9) * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_TURBO
        )
        depth = cv2.resize(depth, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
        return np.hstack([image, depth])


def show_tracks(
    index: SequenceIndex,
    tracks_path: str | Path,
    out: str | Path,
    detections=None,
    depth_store=None,
    frame: int | None = None,
    trail: int = 20,
    progress: bool = True,
) -> Path:
    """Write ``out``: a PNG of ``frame`` (default 1; the trail is built from the frames before it) or an MP4."""
    out = Path(out)
    if out.suffix.lower() not in (".png", ".mp4"):
        raise InputError(out, "output must end in .png (one frame) or .mp4 (the sequence)")
    tracks = read_tracks(tracks_path, index.seq_length)
    renderer = TrackRenderer(index, tracks, detections, depth_store, trail)
    if out.suffix.lower() == ".png":
        frame = frame or 1
        if not 1 <= frame <= index.seq_length:
            raise InputError(out, f"frame {frame} is outside the sequence's 1..{index.seq_length}")
        for earlier in range(max(1, frame - trail), frame):  # the trail leading up to the frame
            renderer.advance(earlier)
        image = renderer.render(frame, cv2.imread(str(index.frame_path(frame)), cv2.IMREAD_COLOR))
        with atomic_path(out) as tmp:
            png = tmp.with_suffix(".png")
            if not cv2.imwrite(str(png), image):
                raise InputError(out, "OpenCV could not write the PNG")
            png.rename(tmp)
        return out
    frames = prefetch_frames(index.frame_path(t) for t in range(1, index.seq_length + 1))
    with atomic_path(out) as tmp:
        video = tmp.with_suffix(".mp4")
        writer = None
        try:
            for t, image in enumerate(
                tqdm(frames, total=index.seq_length, desc=f"show {index.name}", disable=not progress, mininterval=2.0),
                start=1,
            ):
                image = renderer.render(t, image)
                if writer is None:
                    writer = cv2.VideoWriter(
                        str(video), cv2.VideoWriter_fourcc(*"mp4v"), index.fps, (image.shape[1], image.shape[0])
                    )
                    if not writer.isOpened():
                        raise InputError(out, "OpenCV's mp4v encoder could not open the output")
                writer.write(image)
        finally:
            if writer is not None:
                writer.release()
        video.rename(tmp)
    return out
