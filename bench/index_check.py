"""Cost of the index stage's frame checks on DanceTrack-sized JPEGs: header only (size) versus header plus the
end-of-image marker (what prepare does: a truncated frame is named at index time) versus a full decode of every
frame (the alternative way to find a broken frame). Side by side in one run, warm page cache, one process."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from motforge.datasets.index import _image_sizes


def write_frames(folder: Path, frames: int, width: int, height: int) -> list[str]:
    """Textured frames (blurred noise plus shapes) so the JPEGs are about as large as DanceTrack's."""
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), (0, 0), 3)
    names = []
    for t in range(1, frames + 1):
        image = np.roll(base, 7 * t, axis=1)
        cv2.circle(image, (50 + 5 * t % width, height // 2), 80, (40, 200, 90), -1)
        names.append(f"{t:08d}.jpg")
        cv2.imwrite(str(folder / names[-1]), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        names = write_frames(folder, args.frames, args.width, args.height)
        size_kb = np.mean([(folder / n).stat().st_size for n in names]) / 1024
        methods = {
            "header": lambda: _image_sizes(folder, names, check_end=False),
            "header+end marker": lambda: _image_sizes(folder, names, check_end=True),
            "full decode": lambda: [cv2.imread(str(folder / n)).shape for n in names],
        }
        best = {name: float("inf") for name in methods}
        for _ in range(args.repeats):  # interleaved, best of N
            for name, method in methods.items():
                start = time.perf_counter()
                method()
                best[name] = min(best[name], time.perf_counter() - start)
    print(f"{args.frames} JPEG frames {args.width}x{args.height}, {size_kb:.0f} KB each; best of {args.repeats}")
    for name, seconds in best.items():
        print(f"  {name:18s} {seconds * 1e3 / args.frames:7.3f} ms/frame  {seconds / best['header']:6.2f}x header")
    per = 100_000  # DanceTrack has about 105k frames in its three splits
    extra = (best["header+end marker"] - best["header"]) / args.frames * per
    print(
        f"  per {per} frames: end-marker check +{extra:.1f} s over the header read; "
        f"full decode instead {best['full decode'] / args.frames * per / 60:.1f} min"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
