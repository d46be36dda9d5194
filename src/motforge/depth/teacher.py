"""The depth teacher stage: run the configured backend (``depth.registry``) over one sequence into depth.zarr,
resumable after a kill."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from motforge.datasets.index import SequenceIndex
from motforge.depth.bins import to_disparity
from motforge.depth.registry import DEPTH_BACKENDS
from motforge.depth.store import cache_size, create_frame_store, resumable_frame_store
from motforge.io.device import resolve_device


def run_depth_teacher(
    index: SequenceIndex, settings: dict, out: str | Path, allow_downloads: bool = False, progress: bool = True
) -> dict:
    """Write ``out`` (depth.zarr: float16 [T, h, w] at the cache resolution) and return its attributes."""
    backend = settings["backend"]
    size = cache_size(index.width, index.height, int(settings["cache_short_side"]))
    bar = tqdm(total=index.seq_length, desc=f"depth {index.name}", disable=not progress, mininterval=2.0)
    device = resolve_device(settings["device"], "depth.device")  # one resolver for every backend
    attrs, produce = DEPTH_BACKENDS.get(backend, "depth.backend").open(
        index, settings, size, device, allow_downloads, bar.update
    )
    attrs = {
        **attrs,
        "sequence": index.name,
        "frames": index.seq_length,
        "cache_size": list(size),
        "original_size": [index.width, index.height],
    }
    written = np.zeros(index.seq_length, dtype=bool)
    peak = 0.0
    if settings.get("resume"):
        fingerprint = json.dumps({"settings": settings, "attrs": attrs}, sort_keys=True, default=str)
        opened = resumable_frame_store(out, index.seq_length, size[1], size[0], "float16", attrs, fingerprint)
    else:
        opened = _without_resume(create_frame_store(out, index.seq_length, size[1], size[0], "float16", attrs))
    with opened as (store, state, save_state):
        if state is not None:  # an earlier run of this job saved its position: continue from there
            written[: int(state["written"])] = True
            peak = float(state["peak"])
            print(
                f"depth {index.name}: resuming after frame {int(state['written'])} of {index.seq_length}",
                file=sys.stderr,
            )

        def sink(t0: int, depth: np.ndarray) -> None:
            nonlocal peak
            stored = depth.astype(np.float16)
            store[t0 : t0 + len(depth)] = stored
            written[t0 : t0 + len(depth)] = True
            peak = max(peak, float(np.nanmax(to_disparity(stored, attrs["kind"]))))  # of the stored values

        def save(position: dict) -> None:
            save_state({**position, "peak": peak})

        produce(sink, state, save if save_state is not None else None)
        if not written.all():
            raise RuntimeError(f"{backend} produced {int(written.sum())} of {index.seq_length} depth frames")
        store.attrs["disparity_max"] = peak
    bar.close()
    return attrs


@contextlib.contextmanager
def _without_resume(store_context) -> Iterator[tuple]:
    with store_context as store:
        yield store, None, None
