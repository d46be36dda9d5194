"""Peak host memory of the Video Depth Anything backend's streaming loop: 200 vs 2,000 frames of the same size.

Target: ratio <= 1.25 (memory must not grow with sequence length; the reference runner holds every frame and
three float32 copies of the depth). The network is a small module with VDA's forward contract, so what is
measured is the loop (decode, windows, alignment, zarr writes), not the weights. Each run is its own process.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import run_child, synth_sequence  # noqa: E402

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import torch
    from motforge.datasets.index import read_index, SequenceIndex
    from motforge.config import block_defaults
    from motforge.depth.teacher import run_depth_teacher
    index_path, frames, repo, ckpt, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    index = read_index(index_path)
    # the long sequence repeats the rendered frames: same size and content statistics, any length
    files = [index.frame_files[i % index.seq_length] for i in range(frames)]
    index = SequenceIndex(**{**index.__dict__, "frame_files": __import__("numpy").asarray(files),
                              "widths": index.widths[:1].repeat(frames), "heights": index.heights[:1].repeat(frames)})
    settings = {"backend": "video_depth_anything", "cache_short_side": 270, "device": "cpu",
                "video_depth_anything": {"repo": repo, "encoder": "vits", "checkpoint": ckpt, "metric": False,
                "input_size": 252}}
    torch.set_num_threads(2)
    start = time.perf_counter()
    run_depth_teacher(index, block_defaults("depth", settings), out, progress=False)
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"frames": frames, "peak_rss_mb": peak_mb, "seconds": elapsed}))
    """
)

NETWORK = textwrap.dedent(
    """
    import torch
    import torch.nn as nn


    class VideoDepthAnything(nn.Module):
        def __init__(self, encoder="vits", features=64, out_channels=(48, 96, 192, 384), **kwargs):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(16, 1, 3,
            padding=1))

        def forward(self, x):
            b, t, c, h, w = x.shape
            y = self.body(x.flatten(0, 1))
            y = nn.functional.interpolate(y, size=(h, w), mode="bilinear", align_corners=True)
            return torch.relu(y).squeeze(1).unflatten(0, (b, t))
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=200)
    parser.add_argument("--long", type=int, default=2000)
    parser.add_argument("--width", type=int, default=960)
    parser.add_argument("--height", type=int, default=540)
    args = parser.parse_args()
    import torch

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        index = synth_sequence(tmp / "data", 100, args.width, args.height)
        repo = tmp / "repo" / "video_depth_anything"
        repo.mkdir(parents=True)
        (repo / "__init__.py").write_text("")
        (repo / "video_depth.py").write_text(NETWORK)
        sys.path.insert(0, str(repo.parent))
        from video_depth_anything.video_depth import VideoDepthAnything

        ckpt = tmp / "video_depth_anything_vits.pth"
        torch.save(VideoDepthAnything().state_dict(), ckpt)
        results = [
            run_child(CHILD, str(index), str(n), str(repo.parent), str(ckpt), str(tmp / f"depth{n}.zarr"))
            for n in (args.short, args.long)
        ]
    short, long = results
    print(f"frames {args.width}x{args.height}, cache short side 270, network input short side 252")
    for r in results:
        print(
            f"  {r['frames']:5d} frames: peak RSS {r['peak_rss_mb']:8.1f} MB, {r['seconds']:6.1f} s "
            f"({r['frames'] / r['seconds']:.1f} frames/s)"
        )
    ratio = long["peak_rss_mb"] / short["peak_rss_mb"]
    reference_gb = args.long * args.width * args.height * (3 + 3 * 4) / 1e9
    print(f"peak RSS ratio {args.long}/{args.short} frames: {ratio:.3f} (target <= 1.25)")
    print(
        f"(the reference runner would hold about {reference_gb:.1f} GB for {args.long} frames: decoded frames + "
        f"3 float32 depth copies)"
    )


if __name__ == "__main__":
    main()
