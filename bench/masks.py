"""Mask stage throughput on the CPU, and SAM2's time split: image encoding vs prompting, all boxes of a frame in
one call vs one call per box (DepTR-MOT's way). SAM2 runs a randomly initialised sam2.1_hiera_t (same compute as the
trained weights); all numbers here are CPU numbers from one run, side by side.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import synth_sequence  # noqa: E402
from motforge.config import block_defaults
from motforge.datasets.index import read_index  # noqa: E402
from motforge.masks.stage import frame_rows, gt_boxes_xyxy, run_masks  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--sam2-frames", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        index = read_index(synth_sequence(tmp / "data", args.frames, 640, 360))
        boxes_total = index.num_boxes
        print(
            f"synthdance 640x360, {args.frames} frames, {boxes_total} GT boxes ({boxes_total / args.frames:.1f} "
            f"per frame), masks at 360 px"
        )
        for backend in ("box", "grabcut"):
            settings = {"backend": backend, "mask_short_side": 360, "grabcut": {"iterations": 3, "margin": 0.15}}
            start = time.perf_counter()
            run_masks(index, block_defaults("masks", settings), tmp / f"{backend}.h5", progress=False)
            seconds = time.perf_counter() - start
            print(f"  {backend:8s}: {args.frames / seconds:7.1f} frames/s ({boxes_total / seconds:7.1f} boxes/s)")
        try:
            import torch

            from motforge.masks.backends import Sam2Masker
        except ImportError:
            print("  sam2: not installed")
            return
        torch.manual_seed(0)
        torch.set_num_threads(2)
        masker = Sam2Masker("configs/sam2.1/sam2.1_hiera_t.yaml", None, "cpu", allow_random=True)
        rows_of = frame_rows(index)
        frames = sorted(rows_of)[: args.sam2_frames]
        warm = cv2.cvtColor(cv2.imread(str(index.frame_path(frames[0]))), cv2.COLOR_BGR2RGB)
        masker.encode([warm])  # first calls build lazy state; keep them out of the timings
        masker.prompt([gt_boxes_xyxy(index, rows_of[frames[0]], 1.0)])
        masker.prompt_each_box(gt_boxes_xyxy(index, rows_of[frames[0]], 1.0))
        encode_s = one_call_s = per_box_s = 0.0
        boxes_seen = 0
        for t in frames:
            rgb = cv2.cvtColor(cv2.imread(str(index.frame_path(t))), cv2.COLOR_BGR2RGB)
            boxes = gt_boxes_xyxy(index, rows_of[t], 1.0)
            boxes_seen += len(boxes)
            start = time.perf_counter()
            masker.encode([rgb])
            encode_s += time.perf_counter() - start
            for _ in range(3):  # alternate, so neither order nor cache favours one way
                start = time.perf_counter()
                masker.prompt([boxes])
                one_call_s += (time.perf_counter() - start) / 3
                start = time.perf_counter()
                masker.prompt_each_box(boxes)
                per_box_s += (time.perf_counter() - start) / 3
        n = len(frames)
        print(f"  sam2 (hiera_t, CPU, {n} frames, {boxes_seen / n:.1f} boxes/frame):")
        print(f"    image encoding            {encode_s / n * 1000:8.1f} ms/frame")
        print(f"    prompting, one call/frame {one_call_s / n * 1000:8.1f} ms/frame")
        print(f"    prompting, one call/box   {per_box_s / n * 1000:8.1f} ms/frame")
        print(f"    prompting time ratio one-call-per-box / one-call-per-frame: {per_box_s / one_call_s:.2f}x")
        print(
            f"    whole frame (encode once + prompt): one call {(encode_s + one_call_s) / n * 1000:.0f} ms, per "
            f"box {(encode_s + per_box_s) / n * 1000:.0f} ms; "
            f"encoding is {encode_s / (encode_s + one_call_s):.0%} of a frame"
        )
        print(
            f"    if each box also re-encodes the image: "
            f"{(n * 0 + boxes_seen * (encode_s / n) + per_box_s) / (encode_s + one_call_s):.1f}x the one-call time"
        )


if __name__ == "__main__":
    main()
