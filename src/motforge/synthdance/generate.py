"""Write synthdance sequences in DanceTrack's exact layout, plus ground-truth depth and instance masks.

Per sequence: img1/00000001.jpg, gt/gt.txt (frame,id,x,y,w,h,1,1,visibility), seqinfo.ini, depth/00000001.png
(uint16 millimetres, lossless), masks/00000001.png (uint16 instance id, 0 = background). The test split, like
DanceTrack's, ships no gt/ and no masks/. Everything is a deterministic function of (seed, sequence index).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from motforge.io.atomic import atomic_path, write_text_atomic
from motforge.synthdance.camera import Camera
from motforge.synthdance.choreography import plan_dance
from motforge.synthdance.dancer import draw_dancer
from motforge.synthdance.scene import costume_palette, dancer_palette, render_stage

SPLITS = ("train", "val", "test")
DEPTH_SCALE = 1000.0  # depth PNG units per metre
MAX_DEPTH_MM = 65535


@dataclass(frozen=True)
class SynthConfig:
    """Generator settings (config key datasets.<ds>.synth)."""

    seed: int = 0
    sequences: dict[str, int] = field(default_factory=lambda: {"train": 2, "val": 2, "test": 1})
    frames: int = 160
    width: int = 640
    height: int = 360
    fps: float = 20.0
    dancers: tuple[int, int] = (5, 10)
    jpeg_quality: int = 92
    noise: float = 2.0

    @classmethod
    def from_dict(cls, values: dict) -> SynthConfig:
        values = dict(values)
        if "dancers" in values:
            values["dancers"] = tuple(values["dancers"])
        return cls(**values)


def sequence_names(cfg: SynthConfig) -> list[tuple[str, str]]:
    """(name, split) of every sequence, numbered across splits like DanceTrack (dancetrack0001, ...)."""
    names: list[tuple[str, str]] = []
    for split in SPLITS:
        for _ in range(int(cfg.sequences.get(split, 0))):
            names.append((f"synthdance{len(names) + 1:04d}", split))
    return names


def _seqinfo(name: str, cfg: SynthConfig) -> str:
    return (
        "[Sequence]\n"
        f"name={name}\nimDir=img1\nframeRate={cfg.fps:g}\nseqLength={cfg.frames}\n"
        f"imWidth={cfg.width}\nimHeight={cfg.height}\nimExt=.jpg\n"
    )


def write_seqmap(root: str | Path, split: str, cfg: SynthConfig) -> Path:
    """``{root}/{split}_seqmap.txt`` with the ``name`` header TrackEval expects."""
    path = Path(root) / f"{split}_seqmap.txt"
    names = [name for name, s in sequence_names(cfg) if s == split]
    write_text_atomic(path, "name\n" + "".join(f"{n}\n" for n in names))
    return path


def generate_sequence(out_dir: str | Path, name: str, cfg: SynthConfig, progress: bool = True) -> int:
    """Render one sequence into ``out_dir`` (written to a temporary folder, renamed when complete).

    Returns the number of GT rows.
    """
    index = {n: i for i, (n, _) in enumerate(sequence_names(cfg))}
    if name not in index:
        raise ValueError(f"{name!r} is not a sequence of this synthdance config")
    split = dict(sequence_names(cfg))[name]
    rng = np.random.default_rng([cfg.seed, index[name]])
    camera = Camera(
        cfg.width,
        cfg.height,
        hfov_deg=float(rng.uniform(56, 66)),
        cam_height=float(rng.uniform(2.3, 3.0)),
        pitch_deg=float(rng.uniform(8, 13)),
    )
    stage, stage_depth = render_stage(camera, rng)
    shared = costume_palette(rng)
    count = int(rng.integers(cfg.dancers[0], cfg.dancers[1] + 1))
    paths = plan_dance(rng, camera, cfg.frames, cfg.fps, count)
    palettes = [dancer_palette(shared, p.shade, rng) for p in paths]
    beat_hz = float(rng.uniform(0.5, 0.9))
    with_gt = split != "test"
    rows: list[str] = []
    with atomic_path(out_dir, directory=True) as tmp:
        for sub in ("img1", "depth") + (("gt", "masks") if with_gt else ()):
            (tmp / sub).mkdir()
        for t in tqdm(range(cfg.frames), desc=name, disable=not progress, mininterval=2.0):
            frame = stage.copy()
            depth = stage_depth.copy()
            ids = np.zeros((cfg.height, cfg.width), dtype=np.uint16)
            sprites = []
            for path, palette in sorted(zip(paths, palettes), key=lambda pp: -pp[0].z[t]):
                seconds = t / cfg.fps
                arm_lift = 0.5 + 0.5 * math.sin(2 * math.pi * beat_hz * seconds + path.beat_phase)
                stride = math.sin(2 * math.pi * 1.5 * seconds + path.beat_phase) * min(
                    1.0, abs(np.gradient(path.x)[t]) * cfg.fps
                )
                sprite = draw_dancer(
                    camera, path.x[t], path.z[t], path.yaw[t], path.height, path.build, arm_lift, stride
                )
                if sprite is None:
                    continue
                _composite(frame, depth, ids, sprite, palette, path.ident)
                sprites.append((path.ident, sprite))
            visible = np.bincount(ids.ravel(), minlength=count + 1)
            for ident, sprite in sorted(sprites, key=lambda s: s[0]):
                area = int(np.count_nonzero(sprite.labels))
                if area == 0 or visible[ident] == 0:
                    continue  # outside the image or fully hidden
                x, y, w, h = sprite.box
                rows.append(f"{t + 1},{ident},{x:.0f},{y:.0f},{w:.0f},{h:.0f},1,1,{visible[ident] / area:.3f}\n")
            if cfg.noise > 0:
                noisy = frame.astype(np.float32) + rng.normal(0.0, cfg.noise, size=frame.shape).astype(np.float32)
                frame = np.clip(noisy, 0, 255).astype(np.uint8)
            stem = f"{t + 1:08d}"
            cv2.imwrite(str(tmp / "img1" / f"{stem}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, cfg.jpeg_quality])
            depth_mm = np.clip(np.round(depth * DEPTH_SCALE), 0, MAX_DEPTH_MM).astype(np.uint16)
            cv2.imwrite(str(tmp / "depth" / f"{stem}.png"), depth_mm, [cv2.IMWRITE_PNG_COMPRESSION, 1])
            if with_gt:
                cv2.imwrite(str(tmp / "masks" / f"{stem}.png"), ids, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if with_gt:
            (tmp / "gt" / "gt.txt").write_text("".join(rows))
        (tmp / "seqinfo.ini").write_text(_seqinfo(name, cfg))
    return len(rows)


def _composite(frame: np.ndarray, depth: np.ndarray, ids: np.ndarray, sprite, palette: np.ndarray, ident: int) -> None:
    """Paint a sprite over the frame (painter's order: callers go far to near)."""
    height, width = ids.shape
    ch, cw = sprite.labels.shape
    x0, y0 = max(0, sprite.left), max(0, sprite.top)
    x1, y1 = min(width, sprite.left + cw), min(height, sprite.top + ch)
    if x0 >= x1 or y0 >= y1:
        return
    labels = sprite.labels[y0 - sprite.top : y1 - sprite.top, x0 - sprite.left : x1 - sprite.left]
    mask = labels > 0
    region = (slice(y0, y1), slice(x0, x1))
    shading = np.linspace(1.08, 0.9, labels.shape[0], dtype=np.float32)[:, None, None]
    colours = np.clip(palette[labels].astype(np.float32) * shading, 0, 255).astype(np.uint8)
    frame[region][mask] = colours[mask]
    depth[region][mask] = sprite.depth[y0 - sprite.top : y1 - sprite.top, x0 - sprite.left : x1 - sprite.left][mask]
    ids[region][mask] = ident
