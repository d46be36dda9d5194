"""Resumable mask jobs: finished frames are saved in blocks beside the output, so a killed SAM2 run over a long
sequence continues where it stopped instead of starting over.

``.<name>.partial/`` holds ``fingerprint.json`` (the settings and sequence the blocks belong to) and one
``block-<n>.npz`` per saved batch of frames (GT rows, RLE counts, scores, areas), each written completely or not at
all. A rerun with another fingerprint discards the folder; the finished masks.h5 removes it.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np


class MaskBlocks:
    def __init__(self, out: str | Path, fingerprint: dict) -> None:
        out = Path(out)
        self.folder = out.parent / f".{out.name}.partial"
        self.fingerprint = json.dumps(fingerprint, sort_keys=True, default=str)
        marker = self.folder / "fingerprint.json"
        if self.folder.is_dir() and (not marker.is_file() or marker.read_text() != self.fingerprint):
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        if not marker.is_file():
            tmp = marker.with_suffix(".tmp")
            tmp.write_text(self.fingerprint)
            os.replace(tmp, marker)
        self._next = len(list(self.folder.glob("block-*.npz")))

    def load(self) -> list[tuple[np.ndarray, list[bytes], np.ndarray, np.ndarray, np.ndarray]]:
        """Saved blocks as (frames, counts per row, rows, scores, areas); a torn block file is dropped."""
        blocks = []
        for path in sorted(self.folder.glob("block-*.npz")):
            try:
                with np.load(path) as b:
                    flat, offsets = b["counts"].tobytes(), b["offsets"]
                    counts = [flat[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
                    blocks.append((b["frames"], counts, b["rows"], b["scores"], b["areas"]))
            except Exception:
                path.unlink()
        return blocks

    def save(self, frames: list[int], rows: np.ndarray, counts: list[bytes], scores: np.ndarray, areas: np.ndarray) -> None:
        offsets = np.zeros(len(counts) + 1, np.int64)
        offsets[1:] = np.cumsum([len(c) for c in counts])
        flat = np.frombuffer(b"".join(counts), np.uint8) if counts else np.zeros(0, np.uint8)
        path = self.folder / f"block-{self._next:06d}.npz"
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, frames=np.asarray(frames, np.int64), rows=rows.astype(np.int64), counts=flat, offsets=offsets,
                 scores=scores.astype(np.float32), areas=areas.astype(np.int64))
        os.replace(tmp, path)
        self._next += 1

    def finish(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
