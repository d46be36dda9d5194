"""The depth cache: one zarr array per sequence, float16 [T, h, w], one frame per chunk.

Written into a temporary folder window by window (frames are preallocated from the frame count) and renamed into
place after a ``complete`` attribute is set, so readers can tell a finished store from a killed job's leftovers.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec

from motforge.errors import InputError
from motforge.io.atomic import atomic_path, remove_path


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
def create_frame_store(
    path: str | Path, frames: int, height: int, width: int, dtype: str, attrs: dict
) -> Iterator[zarr.Array]:
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


@contextlib.contextmanager
def resumable_frame_store(
    path: str | Path, frames: int, height: int, width: int, dtype: str, attrs: dict, fingerprint: str
) -> Iterator[tuple[zarr.Array, dict | None, Callable[[dict], None]]]:
    """Like ``create_frame_store``, but a killed job's work survives: the store grows in ``.<name>.partial`` beside
    ``path`` and the producer's position (frames done, plus whatever it needs to continue exactly, e.g. a streaming
    window's state) is saved by ``save_state`` into ``.<name>.resume.npz`` after each finished window. A rerun with
    the same ``fingerprint`` (settings and sequence) reopens both and yields the saved state; anything else starts
    over. On success the marker attribute is removed, so the finished store equals one written in a single run."""
    path = Path(path)
    partial = path.parent / f".{path.name}.partial"
    state_file = path.parent / f".{path.name}.resume.npz"
    state = _resume_state(partial, state_file, fingerprint, (frames, height, width))
    if state is None:
        remove_path(partial)
        remove_path(state_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        array = zarr.create_array(
            store=str(partial),
            shape=(frames, height, width),
            chunks=(1, height, width),
            dtype=dtype,
            compressors=_compressor(dtype),
            fill_value=0,
            overwrite=True,
        )
        array.attrs.update({**attrs, "complete": False, "resume_fingerprint": fingerprint})
    else:
        array = zarr.open_array(str(partial), mode="r+")

    def save_state(values: dict) -> None:
        with atomic_path(state_file) as tmp, open(tmp, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in values.items()})

    yield array, state, save_state
    del array.attrs["resume_fingerprint"]
    array.attrs["complete"] = True
    remove_path(path)
    os.replace(partial, path)
    state_file.unlink(missing_ok=True)


def _resume_state(partial: Path, state_file: Path, fingerprint: str, shape: tuple[int, int, int]) -> dict | None:
    """The saved state of an earlier run of the same job, or None when there is nothing usable to continue."""
    if not (partial.is_dir() and state_file.is_file()):
        return None
    try:
        array = zarr.open_array(str(partial), mode="r")
        if array.attrs.get("resume_fingerprint") != fingerprint or tuple(array.shape) != shape:
            return None
        with np.load(state_file) as saved:
            return {k: saved[k] for k in saved.files}
    except Exception:  # a state or store torn by the kill itself: start over
        return None
