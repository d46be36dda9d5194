"""Helpers shared by the benchmarks: temporary synthdance sequences and a child-process runner for peak memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from motforge.datasets.index import build_index, write_index
from motforge.datasets.layouts import locate
from motforge.synthdance.generate import SynthConfig, generate_sequence


def synth_sequence(root: Path, frames: int, width: int, height: int, seed: int = 0) -> Path:
    """Render one synthdance val sequence and write its index; returns the index path."""
    cfg = SynthConfig(
        seed=seed,
        sequences={"train": 0, "val": 1, "test": 0},
        frames=frames,
        width=width,
        height=height,
        dancers=(6, 8),
    )
    generate_sequence(root / "val" / "synthdance0001", "synthdance0001", cfg, progress=False)
    index = build_index(locate("synthdance", "synthdance", root, "val", "synthdance0001", ["val"]))
    path = root / "index.h5"
    write_index(index, path)
    return path


def run_child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; it must print one JSON object as its last line."""
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])
