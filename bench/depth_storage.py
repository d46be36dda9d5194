"""Bytes per frame of depth_bins.zarr at DanceTrack's label resolution vs FDTA's 8-bit PNG per frame at 1920x1080.

Same depth content for both: synthdance ground-truth depth rendered at 1920x1080. FDTA's layout: disparity /
sequence max * 255 as an 8-bit PNG per frame at full resolution. Ours: LID bin indices (uint8) on the stride-8
map of an 800-pixel-short-side training input (178x100), one zarr chunk per frame. Target: at least 10x smaller.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import synth_sequence  # noqa: E402
from motforge.config import block_defaults
from motforge.datasets.index import read_index  # noqa: E402
from motforge.depth.backends.provided import provided_depth_path, read_provided_depth  # noqa: E402
from motforge.depth.bins import to_disparity, write_depth_bins  # noqa: E402
from motforge.depth.store import frame_bytes  # noqa: E402
from motforge.depth.teacher import run_depth_teacher  # noqa: E402

DANCETRACK_BINS = {"num_bins": 150, "d_min": 1e-3, "d_max": 256.0, "fg_weight": 6, "train_short_side": 800, "stride": 8}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        index = read_index(synth_sequence(tmp / "data", args.frames, 1920, 1080))
        depth = tmp / "depth.zarr"
        run_depth_teacher(
            index,
            block_defaults("depth", {"backend": "provided", "cache_short_side": 1080, "device": "cpu"}),
            depth,
            progress=False,
        )
        bins = tmp / "depth_bins.zarr"
        attrs = write_depth_bins(depth, bins, DANCETRACK_BINS, progress=False)
        disparity = [
            to_disparity(read_provided_depth(provided_depth_path(index, t)), "metric")
            for t in range(1, index.seq_length + 1)
        ]
        peak = max(float(d.max()) for d in disparity)
        png_dir = tmp / "png"
        png_dir.mkdir()
        for t, d in enumerate(disparity, start=1):
            cv2.imwrite(str(png_dir / f"{t:08d}.png"), np.clip(d / peak * 255, 0, 255).astype(np.uint8))
        png_bytes = frame_bytes(png_dir) / index.seq_length
        zarr_bytes = frame_bytes(bins) / index.seq_length
        float_bytes = frame_bytes(depth) / index.seq_length
    print(f"{index.seq_length} frames of 1920x1080 depth content")
    print(f"  FDTA 8-bit PNG per frame (1920x1080):        {png_bytes / 1024:8.1f} KiB/frame")
    print(
        f"  depth_bins.zarr ({attrs['label_size'][0]}x{attrs['label_size'][1]} uint8 LID bins):  "
        f"{zarr_bytes / 1024:8.1f} KiB/frame"
    )
    print(f"  (depth.zarr float16 at 1920x1080, for reference: {float_bytes / 1024:8.1f} KiB/frame)")
    print(f"storage ratio PNG / depth_bins.zarr: {png_bytes / zarr_bytes:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
