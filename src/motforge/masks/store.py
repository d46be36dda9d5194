"""masks.h5: one COCO RLE per GT row of index.h5 (same order), with the backend's score and an empty flag.

RLE ``counts`` strings are stored as one flat byte table plus offsets (no variable-length object arrays), so the
file stays readable from any HDF5 tool and reads one frame's rows without touching the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from pycocotools import mask as mask_utils

from motforge.io.atomic import atomic_path
from motforge.io.h5attrs import new_dataset, open_complete, plain_attrs

STORE_VERSION = 1


def encode(masks: np.ndarray) -> list[bytes]:
    """[N, H, W] bool/uint8 -> RLE counts (bytes) per mask."""
    if len(masks) == 0:
        return []
    rles = mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))
    return [r["counts"] for r in rles]


def decode(counts: list[bytes], height: int, width: int) -> np.ndarray:
    """RLE counts -> [N, H, W] bool."""
    if not counts:
        return np.zeros((0, height, width), dtype=bool)
    rles = [{"size": [height, width], "counts": c} for c in counts]
    return mask_utils.decode(rles).transpose(2, 0, 1).astype(bool)


@dataclass
class MaskTable:
    """Masks of every GT row at one resolution (``height`` x ``width``)."""

    height: int
    width: int
    counts: list[bytes]
    scores: np.ndarray
    empty: np.ndarray
    areas: np.ndarray
    attrs: dict = field(default_factory=dict)

    def rows(self, index: np.ndarray) -> np.ndarray:
        """Decoded masks [len(index), H, W] of the given GT rows."""
        return decode([self.counts[i] for i in index], self.height, self.width)


def pack_counts(counts: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """RLE counts -> one flat uint8 table and offsets (row i is flat[offsets[i]:offsets[i + 1]])."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(c) for c in counts])
    flat = np.frombuffer(b"".join(counts), dtype=np.uint8) if counts else np.zeros(0, np.uint8)
    return flat, offsets


def unpack_counts(flat: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    data = flat.tobytes()
    return [data[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]


def write_masks(table: MaskTable, path: str | Path) -> None:
    flat, offsets = pack_counts(table.counts)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            new_dataset(f, "rle_counts", data=flat, compression="gzip", compression_opts=1)
            new_dataset(f, "rle_offsets", data=offsets)
            new_dataset(f, "score", data=table.scores.astype(np.float32))
            new_dataset(f, "empty", data=table.empty.astype(bool))
            new_dataset(f, "area", data=table.areas.astype(np.int64))
            f.attrs.update(table.attrs)
            f.attrs.update(
                height=table.height, width=table.width, rows=len(table.counts), version=STORE_VERSION, complete=True
            )


def read_masks(path: str | Path) -> MaskTable:
    with open_complete(path, "masks", "masks") as f:
        counts = unpack_counts(f["rle_counts"][:], f["rle_offsets"][:])
        attrs = plain_attrs(f.attrs)
        return MaskTable(
            int(f.attrs["height"]), int(f.attrs["width"]), counts, f["score"][:], f["empty"][:], f["area"][:], attrs
        )
