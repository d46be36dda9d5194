"""The depth cache: one zarr array per sequence, float16 [T, h, w], one frame per chunk.

Written into a temporary folder window by window (frames are preallocated from the frame count) and renamed into
place after a ``complete`` attribute is set, so readers can tell a finished store from a killed job's leftovers.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec

from motforge.errors import InputError
from motforge.io.atomic import atomic_path


def cache_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(w, h) with the short side scaled to ``short_side`` (never upsampled), aspect kept."""
    scale = min(1.0, short_side / min(width, height))
    return max(1, int(round(width * scale))), max(1, int(round(height * scale)))


def _compressor(dtype: str) -> BloscCodec:
    """Bit-shuffling helps float16 maps; for uint8 label maps it splits runs of equal bytes and costs 2x."""
    if np.dtype(dtype).itemsize == 1:
        return BloscCodec(cname="zstd", clevel=7, shuffle="noshuffle")
    return BloscCodec(cname="zstd", clevel=5, shuffle="bitshuffle")


@contextlib.contextmanager
def create_frame_store(path: str | Path, frames: int, height: int, width: int, dtype: str, attrs: dict) -> Iterator[zarr.Array]:
    """Yield a preallocated [frames, height, width] array in a temporary store; rename it into ``path`` on success."""
    with atomic_path(path, directory=True) as tmp:
        array = zarr.create_array(
            store=str(tmp),
            shape=(frames, height, width),
            chunks=(1, height, width),
            dtype=dtype,
            compressors=_compressor(dtype),
            fill_value=0,
            overwrite=True,
        )
        array.attrs.update({**attrs, "complete": False})
        yield array
        array.attrs["complete"] = True


def open_frame_store(path: str | Path) -> zarr.Array:
    """Open a finished store for reading; a store without the completion marker is an error."""
    path = Path(path)
    try:
        array = zarr.open_array(str(path), mode="r")
    except Exception as exc:  # zarr raises several types for a missing or broken store
        raise InputError(path, f"cannot open zarr store: {exc}") from None
    if not array.attrs.get("complete", False):
        raise InputError(path, "store is incomplete (a killed job?); rebuild it")
    return array


def frame_bytes(path: str | Path) -> int:
    """Bytes on disk of a store (all files)."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
