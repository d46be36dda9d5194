"""Resumable mask jobs: finished frames are saved in blocks beside the output, so a killed SAM2 run over a long
sequence continues where it stopped instead of starting over.

``.<name>.partial/`` holds ``fingerprint.json`` (the settings and sequence the blocks belong to) and one
``block-<n>.npz`` per saved batch of frames (GT rows, RLE counts, scores, areas), each written completely or not at
all. A rerun with another fingerprint discards the folder; the finished masks.h5 removes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from motforge.io.atomic import atomic_path, remove_path, write_text_atomic
from motforge.masks.store import pack_counts, unpack_counts


class MaskBlocks:
    def __init__(self, out: str | Path, fingerprint: dict) -> None:
        out = Path(out)
        self.folder = out.parent / f".{out.name}.partial"
        self.fingerprint = json.dumps(fingerprint, sort_keys=True, default=str)
        marker = self.folder / "fingerprint.json"
        if self.folder.is_dir() and (not marker.is_file() or marker.read_text() != self.fingerprint):
            remove_path(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        if not marker.is_file():
            write_text_atomic(marker, self.fingerprint)
        self._next = len(list(self.folder.glob("block-*.npz")))

    def load(self) -> list[tuple[np.ndarray, list[bytes], np.ndarray, np.ndarray, np.ndarray]]:
        """Saved blocks as (frames, counts per row, rows, scores, areas); a torn block file is dropped."""
        blocks = []
        for path in sorted(self.folder.glob("block-*.npz")):
            try:
                with np.load(path) as b:
                    blocks.append(
                        (b["frames"], unpack_counts(b["counts"], b["offsets"]), b["rows"], b["scores"], b["areas"])
                    )
            except Exception:
                path.unlink()
        return blocks

    def save(
        self, frames: list[int], rows: np.ndarray, counts: list[bytes], scores: np.ndarray, areas: np.ndarray
    ) -> None:
        flat, offsets = pack_counts(counts)
        with atomic_path(self.folder / f"block-{self._next:06d}.npz") as tmp, open(tmp, "wb") as f:
            np.savez(
                f,
                frames=np.asarray(frames, np.int64),
                rows=rows.astype(np.int64),
                counts=flat,
                offsets=offsets,
                scores=scores.astype(np.float32),
                areas=areas.astype(np.int64),
            )
        self._next += 1

    def finish(self) -> None:
        remove_path(self.folder)
