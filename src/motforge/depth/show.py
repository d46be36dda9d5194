"""Pictures of the depth labels for a person to check: frame | teacher depth | depth bins, side by side."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from motforge.datasets.index import SequenceIndex
from motforge.depth.bins import to_disparity
from motforge.io.atomic import atomic_path
from motforge.io.frames import read_frame

PANEL_HEIGHT = 270


def _label(image: np.ndarray, text: str) -> np.ndarray:
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    cv2.rectangle(image, (0, 0), (w + 12, h + 12), (0, 0, 0), -1)
    cv2.putText(image, text, (6, h + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return image


def _fit(image: np.ndarray, height: int, nearest: bool = False) -> np.ndarray:
    width = int(round(image.shape[1] * height / image.shape[0]))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA)


def depth_panel(index: SequenceIndex, depth_store, bins_store, frame: int, peak: float) -> np.ndarray:
    """One row: the frame, the teacher's disparity (turbo, near = red) and the bin indices (background black)."""
    image = _fit(read_frame(index.frame_path(frame)), PANEL_HEIGHT)
    disparity = to_disparity(depth_store[frame - 1].astype(np.float32), depth_store.attrs["kind"])
    depth_vis = cv2.applyColorMap(
        np.clip(disparity / max(peak, 1e-9) * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_TURBO
    )
    panels = [
        _label(image, f"{index.name} #{frame}"),
        _label(_fit(depth_vis, PANEL_HEIGHT), f"{depth_store.attrs['backend']} ({depth_store.attrs['kind']})"),
    ]
    if bins_store is not None:
        k = int(bins_store.attrs["num_bins"])
        bins = bins_store[frame - 1]
        bins_vis = cv2.applyColorMap((bins.astype(np.float32) / k * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
        bins_vis[bins == k] = 0
        panels.append(
            _label(_fit(bins_vis, PANEL_HEIGHT, nearest=True), f"LID bins (K={k}, {bins.shape[1]}x{bins.shape[0]})")
        )
    return np.hstack(panels)


def show_depth(
    index: SequenceIndex,
    depth_store,
    bins_store,
    out: str | Path,
    frames: list[int] | None = None,
    progress: bool = True,
) -> Path:
    """A PNG for one frame (``out`` ending in .png) or an MP4 of the sequence (``out`` ending in .mp4)."""
    from motforge.depth.bins import sequence_max

    out = Path(out)
    peak = sequence_max(depth_store)
    if out.suffix.lower() == ".png":
        frame = (frames or [1])[0]
        with atomic_path(out) as tmp:
            cv2.imwrite(str(tmp.with_suffix(".png")), depth_panel(index, depth_store, bins_store, frame, peak))
            tmp.with_suffix(".png").rename(tmp)
        return out
    frames = frames or list(range(1, index.seq_length + 1))
    first = depth_panel(index, depth_store, bins_store, frames[0], peak)
    with atomic_path(out) as tmp:
        video_tmp = tmp.with_suffix(".mp4")
        writer = cv2.VideoWriter(
            str(video_tmp), cv2.VideoWriter_fourcc(*"mp4v"), index.fps, (first.shape[1], first.shape[0])
        )
        for frame in tqdm(frames, desc=f"show {index.name}", disable=not progress):
            writer.write(depth_panel(index, depth_store, bins_store, frame, peak))
        writer.release()
        video_tmp.rename(tmp)
    return out
