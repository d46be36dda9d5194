"""Clips per second of the cache loader (frames and depth bins from zarr) versus reading JPEG frames plus an 8-bit
depth PNG per frame and binning it on the fly (the FDTA / MOTIP way), at the same training resolution, one process
each, same clips. Target: >= 3x."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import synth_sequence  # noqa: E402
from motforge.config import block_defaults
from motforge.datasets.frame_cache import write_frame_cache  # noqa: E402
from motforge.datasets.index import read_index  # noqa: E402
from motforge.depth.backends.provided import provided_depth_path, read_provided_depth  # noqa: E402
from motforge.depth.bins import to_disparity, write_depth_bins  # noqa: E402
from motforge.depth.lid import lid_index  # noqa: E402
from motforge.depth.teacher import run_depth_teacher  # noqa: E402
from motforge.training.clips import ClipDataset, ClipSettings, SequenceFiles  # noqa: E402

BINS = {"num_bins": 150, "d_min": 1e-3, "d_max": 256.0, "fg_weight": 6, "train_short_side": 360, "stride": 8}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    args = parser.parse_args()
    train_w, train_h = 640, 352
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        index_path = synth_sequence(tmp / "data", 120, args.width, args.height)
        index = read_index(index_path)
        write_frame_cache(index, train_w, train_h, tmp / "frames.zarr", progress=False)
        run_depth_teacher(
            index,
            block_defaults("depth", {"backend": "provided", "cache_short_side": 360, "device": "cpu"}),
            tmp / "depth.zarr",
            progress=False,
        )
        write_depth_bins(tmp / "depth.zarr", tmp / "bins.zarr", {**BINS, "train_short_side": train_h}, progress=False)
        png = tmp / "depth_png"
        png.mkdir()
        disparity = [
            to_disparity(read_provided_depth(provided_depth_path(index, t)), "metric")
            for t in range(1, index.seq_length + 1)
        ]
        peak = max(float(d.max()) for d in disparity)
        for t, d in enumerate(disparity, start=1):
            cv2.imwrite(str(png / f"{t:08d}.png"), np.clip(d / peak * 255, 0, 255).astype(np.uint8))
        settings = ClipSettings(length=8, max_interval=4, flip=0.5, crop=0.0, occlusion=0.0, id_swap=0.0)
        dataset = ClipDataset(
            [SequenceFiles(index_path, tmp / "frames.zarr", tmp / "bins.zarr")], settings, num_items=args.clips, seed=0
        )
        dataset[0]  # open the stores once, as a worker does
        start = time.perf_counter()
        for i in range(args.clips):
            dataset[i]
        cache_rate = args.clips / (time.perf_counter() - start)
        label = (train_w // 8, train_h // 8)
        start = time.perf_counter()
        rng = np.random.default_rng(0)
        for _ in range(args.clips):
            begin = int(rng.integers(0, index.seq_length - 8 * 4))
            for k in range(8):
                t = begin + k * int(rng.integers(1, 5)) + 1
                cv2.cvtColor(
                    cv2.resize(cv2.imread(str(index.frame_path(t))), (train_w, train_h), interpolation=cv2.INTER_AREA),
                    cv2.COLOR_BGR2RGB,
                )
                depth = cv2.imread(str(png / f"{t:08d}.png"), cv2.IMREAD_UNCHANGED).astype(np.float32)
                lid_index(cv2.resize(depth, label, interpolation=cv2.INTER_AREA), 150, 1e-3, 256.0).astype(np.uint8)
        files_rate = args.clips / (time.perf_counter() - start)
    print(f"clips of 8 frames at {train_w}x{train_h} from {args.width}x{args.height} sources, one process:")
    print(f"  cache loader (zarr frames + depth bins, with augmentation): {cache_rate:7.1f} clips/s")
    print(f"  JPEG + per-frame depth PNG, resized and binned per step:   {files_rate:7.1f} clips/s")
    print(f"loader speed-up: {cache_rate / files_rate:.1f}x (target >= 3x)")


if __name__ == "__main__":
    main()
