"""Frames per second of each CPU-capable detector backend on synthdance frames, and the share of wall time spent
outside the model call (decoding JPEGs, letterbox, box decoding, NMS, writing detections.h5). Frames are decoded in
a prefetch thread, so decode overlaps the model; what remains outside is the backend's own overhead.

The YOLOX model is a small network with YOLOX-S's strides and output layout, exported to ONNX here; the Ultralytics
model is a randomly initialised YOLOv8n: the same compute as trained weights of those sizes. For Ultralytics the
model call is its whole predict (its own preprocessing and NMS included), so "outside" is motforge's overhead only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import synth_sequence  # noqa: E402
from motforge.config import block_defaults
from motforge.datasets.index import read_index  # noqa: E402
from motforge.detect.stage import run_detector  # noqa: E402


def export_small_yolox(path: Path, size: tuple[int, int]) -> None:
    import torch
    import torch.nn as nn

    class SmallYolox(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(3, 32, 3, 2, 1),
                nn.SiLU(),
                nn.Conv2d(32, 64, 3, 2, 1),
                nn.SiLU(),
                nn.Conv2d(64, 64, 3, 2, 1),
                nn.SiLU(),
            )
            self.down16 = nn.Sequential(nn.Conv2d(64, 128, 3, 2, 1), nn.SiLU())
            self.down32 = nn.Sequential(nn.Conv2d(128, 256, 3, 2, 1), nn.SiLU())
            self.heads = nn.ModuleList([nn.Conv2d(c, 6, 1) for c in (64, 128, 256)])
            for head in self.heads:  # YOLOX's prior: objectness and class start at p = 0.01, as after its init
                nn.init.constant_(head.bias[4:], -4.595)

        def forward(self, x):
            f8 = self.stem(x)
            f16 = self.down16(f8)
            f32 = self.down32(f16)
            outs = []
            for head, f in zip(self.heads, (f8, f16, f32)):
                y = head(f)
                y = torch.cat([y[:, :4], y[:, 4:].sigmoid()], 1)
                outs.append(y.flatten(2))
            return torch.cat(outs, 2).permute(0, 2, 1)

    torch.manual_seed(0)
    torch.onnx.export(
        SmallYolox().eval(),
        torch.zeros(1, 3, *size),
        str(path),
        input_names=["images"],
        output_names=["output"],
        dynamo=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        index = read_index(synth_sequence(tmp / "data", args.frames, 960, 540))
        export_small_yolox(tmp / "yolox.onnx", (608, 1088))
        from motforge.detect.ultralytics_backend import offline_environment

        offline_environment()
        from ultralytics import YOLO

        YOLO("yolov8n.yaml").save(str(tmp / "yolov8n.pt"))
        configs = {
            "background": {"backend": "background", "score_threshold": 0.05, "background": {}},
            "yolox (ONNX, 1088x608)": {
                "backend": "yolox",
                "score_threshold": 0.05,
                "yolox": {"model": str(tmp / "yolox.onnx"), "nms": 0.7, "classes": None},
            },
            "ultralytics (YOLOv8n, 960)": {
                "backend": "ultralytics",
                "score_threshold": 0.05,
                "ultralytics": {
                    "model": str(tmp / "yolov8n.pt"),
                    "nms": 0.7,
                    "classes": None,
                    "batch_size": 8,
                    "imgsz": 960,
                },
            },
        }
        print(f"synthdance 960x540, {args.frames} frames, CPU (2 threads), second of two runs")
        for name, cfg in configs.items():
            run_detector(
                index, block_defaults("detector", cfg), tmp / "d.h5", progress=False
            )  # warm-up: first inference, file cache, lazy imports
            timings: dict = {}
            start = time.perf_counter()
            run_detector(index, block_defaults("detector", cfg), tmp / "d.h5", progress=False, timings=timings)
            wall = time.perf_counter() - start - timings.get("load_seconds", 0.0)  # model loading is a one-off per job
            outside = (
                f"{1 - timings['model_seconds'] / wall:5.1%} outside the model call"
                if "model_seconds" in timings
                else "(no separate model call)"
            )
            load = f", model load {timings['load_seconds']:.2f} s" if "load_seconds" in timings else ""
            print(f"  {name:28s} {args.frames / wall:7.1f} frames/s  {outside}{load}")


if __name__ == "__main__":
    main()
