"""Video Depth Anything: motforge's backend against the reference runner, same frames, same weights, one run.

    python bench/depth_vs_reference.py --repo /path/to/Video-Depth-Anything --checkpoint /tmp/vda_vits_seed0.pth \
        [--video vtest.avi | synthdance] [--frames 70] [--input-size 252] [--encoder vits] [--device cpu|cuda]

The reference is upstream's ``VideoDepthAnything.infer_video_depth`` (its own preprocessing, windowing and
alignment, the whole video in memory); motforge is ``run_depth_teacher`` with the ``video_depth_anything`` backend
(streaming, windows batched, inputs prepared in a worker thread) writing a float16 store at the video's own size, so
both are compared at full resolution. Each runs in its own process (peak RSS = that process's ru_maxrss; peak GPU
memory = torch.cuda.max_memory_allocated), both end to end: read the frames, build the network, load the weights,
infer. A missing ``--checkpoint`` is written with random weights (``--seed``) from upstream's class, so the weights
are identical for both. Agreement: Pearson r per frame and the median relative difference over all pixels; the
median relative difference that float16 storage alone causes is printed beside it. Upstream's code needs einops (and
uses xformers only if installed); it is imported from ``--repo`` only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import synth_sequence  # noqa: E402

CONFIGS = {"vits": (64, [48, 96, 192, 384]), "vitb": (128, [96, 192, 384, 768]), "vitl": (256, [256, 512, 1024, 1024])}

REFERENCE = textwrap.dedent(
    """
    import json, resource, sys, time
    import cv2, numpy as np, torch
    repo, ckpt, encoder, features, channels, frames_dir, n, input_size, device, threads, out = sys.argv[1:12]
    torch.set_num_threads(int(threads))
    sys.path.insert(0, repo)
    from video_depth_anything.video_depth import VideoDepthAnything
    start = time.perf_counter()
    files = sorted(p for p in __import__("pathlib").Path(frames_dir).iterdir())[: int(n)]
    frames = np.stack([cv2.imread(str(p))[:, :, ::-1] for p in files])  # RGB, as upstream's video reader gives
    model = VideoDepthAnything(encoder=encoder, features=int(features), out_channels=json.loads(channels))
    model.load_state_dict(torch.load(ckpt, map_location="cpu", weights_only=True), strict=True)
    model = model.to(device).eval()
    depth, _ = model.infer_video_depth(frames, 30, input_size=int(input_size), device=device, fp32=device == "cpu")
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    np.save(out, depth.astype(np.float32))
    gpu = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None
    print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "peak_gpu_mb": gpu}))
    """
)

MOTFORGE = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy as np, torch
    from motforge.datasets.index import SequenceIndex
    from motforge.depth.teacher import run_depth_teacher
    repo, ckpt, encoder, frames_dir, n, input_size, device, threads, per_batch, out = sys.argv[1:11]
    torch.set_num_threads(int(threads))
    start = time.perf_counter()
    files = sorted(p.name for p in __import__("pathlib").Path(frames_dir).iterdir())[: int(n)]
    import cv2
    h, w = cv2.imread(str(__import__("pathlib").Path(frames_dir) / files[0])).shape[:2]
    index = SequenceIndex(dataset="bench", name="bench", split="val", format="mot", img_dir=frames_dir,
                          frame_files=np.asarray(files), widths=np.full(len(files), w, np.int32),
                          heights=np.full(len(files), h, np.int32), fps=30.0, has_gt=False, annotation_only=False,
                          gt={})
    settings = {"backend": "video_depth_anything", "cache_short_side": min(w, h), "device": device, "resume": False,
                "video_depth_anything": {"repo": repo, "encoder": encoder, "checkpoint": ckpt, "metric": False,
                                         "input_size": int(input_size), "windows_per_batch": int(per_batch)}}
    run_depth_teacher(index, settings, out, progress=False)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    gpu = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None
    print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "peak_gpu_mb": gpu}))
    """
)


def write_random_checkpoint(repo: Path, encoder: str, seed: int, path: Path) -> None:
    """Upstream's network with random weights from ``seed`` (a child process: upstream's imports stay out of here)."""
    features, channels = CONFIGS[encoder]
    code = textwrap.dedent(
        f"""
        import sys, torch
        sys.path.insert(0, {str(repo)!r})
        from video_depth_anything.video_depth import VideoDepthAnything
        torch.manual_seed({seed})
        model = VideoDepthAnything(encoder={encoder!r}, features={features}, out_channels={channels})
        torch.save(model.state_dict(), {str(path)!r})
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def extract_frames(video: str, frames: int, folder: Path) -> None:
    """The first ``frames`` frames of ``video`` as lossless PNG files (or a synthdance sequence's frames)."""
    folder.mkdir(parents=True)
    if video == "synthdance":
        index_dir = folder.parent / "synth"
        synth_sequence(index_dir, frames, 640, 360)
        for i, p in enumerate(sorted((index_dir / "val" / "synthdance0001" / "img1").iterdir())[:frames]):
            cv2.imwrite(str(folder / f"{i + 1:06d}.png"), cv2.imread(str(p)))
        return
    capture = cv2.VideoCapture(video)
    for i in range(frames):
        ok, image = capture.read()
        if not ok:
            raise SystemExit(f"{video}: only {i} frames could be read, {frames} asked")
        cv2.imwrite(str(folder / f"{i + 1:06d}.png"), image)
    capture.release()


def run_json(code: str, *args: object) -> dict:
    result = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"child failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def agreement(ours: np.ndarray, reference: np.ndarray) -> dict:
    r = [float(np.corrcoef(a.ravel(), b.ravel())[0, 1]) for a, b in zip(ours, reference)]
    relative = np.abs(ours - reference) / np.maximum(np.abs(reference), 1e-6)
    storage = np.abs(reference.astype(np.float16).astype(np.float32) - reference) / np.maximum(np.abs(reference), 1e-6)
    return {
        "pearson_r_min": min(r),
        "pearson_r_median": float(np.median(r)),
        "median_relative_difference": float(np.median(relative)),
        "float16_storage_median_relative_difference": float(np.median(storage)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", required=True, help="local clone of github DepthAnything/Video-Depth-Anything")
    parser.add_argument("--checkpoint", required=True, help="weights; written with random weights if missing")
    parser.add_argument("--encoder", choices=sorted(CONFIGS), default="vits")
    parser.add_argument("--seed", type=int, default=0)
    default_video = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
    parser.add_argument("--video", default=default_video if Path(default_video).is_file() else "synthdance")
    parser.add_argument("--frames", type=int, default=70)
    parser.add_argument("--input-size", type=int, default=252)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--windows-per-batch", type=int, default=0, help="motforge's setting; 0 = its default")
    args = parser.parse_args()
    repo, checkpoint = Path(args.repo).resolve(), Path(args.checkpoint).resolve()
    if not checkpoint.is_file():
        write_random_checkpoint(repo, args.encoder, args.seed, checkpoint)
    features, channels = CONFIGS[args.encoder]
    with tempfile.TemporaryDirectory() as tmp:
        frames_dir = Path(tmp) / "frames"
        extract_frames(args.video, args.frames, frames_dir)
        height, width = cv2.imread(str(next(frames_dir.iterdir()))).shape[:2]
        ref = run_json(
            REFERENCE,
            repo,
            checkpoint,
            args.encoder,
            features,
            json.dumps(channels),
            frames_dir,
            args.frames,
            args.input_size,
            args.device,
            args.threads,
            Path(tmp) / "reference.npy",
        )
        ours = run_json(
            MOTFORGE,
            repo,
            checkpoint,
            args.encoder,
            frames_dir,
            args.frames,
            args.input_size,
            args.device,
            args.threads,
            args.windows_per_batch,
            Path(tmp) / "depth.zarr",
        )
        from motforge.depth.store import open_frame_store

        reference = np.load(Path(tmp) / "reference.npy")
        stored = open_frame_store(Path(tmp) / "depth.zarr")[:].astype(np.float32)
        agree = agreement(stored, reference)
    fps_ref, fps_ours = args.frames / ref["seconds"], args.frames / ours["seconds"]
    print(
        f"video {args.video} ({width}x{height}), {args.frames} frames, encoder {args.encoder}, input size "
        f"{args.input_size}, device {args.device}, {args.threads} threads"
    )
    print(f"{'':24}{'reference':>12}{'motforge':>12}{'ratio':>8}")
    print(f"{'frames/s':24}{fps_ref:12.3f}{fps_ours:12.3f}{fps_ours / fps_ref:8.2f}x")
    print(
        f"{'peak host RSS (MiB)':24}{ref['peak_rss_mb']:12.0f}{ours['peak_rss_mb']:12.0f}"
        f"{ours['peak_rss_mb'] / ref['peak_rss_mb']:8.2f}x"
    )
    if ref["peak_gpu_mb"] is not None:
        print(
            f"{'peak GPU memory (MiB)':24}{ref['peak_gpu_mb']:12.0f}{ours['peak_gpu_mb']:12.0f}"
            f"{ours['peak_gpu_mb'] / ref['peak_gpu_mb']:8.2f}x"
        )
    print(
        f"agreement: Pearson r per frame min {agree['pearson_r_min']:.6f} median {agree['pearson_r_median']:.6f}; "
        f"median relative difference {agree['median_relative_difference']:.2e} "
        f"(float16 storage alone: {agree['float16_storage_median_relative_difference']:.2e})"
    )
    print(json.dumps({"reference": ref, "motforge": ours, "agreement": agree}))


if __name__ == "__main__":
    main()
