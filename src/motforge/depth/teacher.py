"""The depth teacher stage: run the configured backend over one sequence into depth.zarr."""
from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from motforge.datasets.index import SequenceIndex
from motforge.depth.bins import to_disparity
from motforge.depth.store import cache_size, create_frame_store, resumable_frame_store
from motforge.errors import ConfigError

BACKENDS = ("video_depth_anything", "depth_anything_v2", "provided")


def resolve_device(name: str) -> torch.device:
    """'auto' = first CUDA device if any, else CPU; 'cuda:N' and 'cpu' as given."""
    if name == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("depth.device", f"{name!r} requested but CUDA is not available on this machine")
    return device


def run_depth_teacher(index: SequenceIndex, settings: dict, out: str | Path, allow_downloads: bool = False, progress: bool = True) -> dict:
    """Write ``out`` (depth.zarr: float16 [T, h, w] at the cache resolution) and return its attributes."""
    backend = settings["backend"]
    size = cache_size(index.width, index.height, int(settings["cache_short_side"]))
    bar = tqdm(total=index.seq_length, desc=f"depth {index.name}", disable=not progress, mininterval=2.0)
    if backend == "provided":
        from motforge.depth.backends.provided import provided_frames

        attrs, produce = provided_frames(index, size, progress=bar.update)
    elif backend == "video_depth_anything":
        from motforge.depth.backends.video_depth_anything import vda_frames

        attrs, produce = vda_frames(index, settings["video_depth_anything"], size, resolve_device(settings["device"]), allow_downloads, bar.update)
    elif backend == "depth_anything_v2":
        from motforge.depth.backends.depth_anything_v2 import da2_frames

        attrs, produce = da2_frames(index, settings["depth_anything_v2"], size, resolve_device(settings["device"]), allow_downloads, bar.update)
    else:
        raise ConfigError("depth.backend", f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    attrs = {**attrs, "sequence": index.name, "frames": index.seq_length, "cache_size": list(size), "original_size": [index.width, index.height]}
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
            print(f"depth {index.name}: resuming after frame {int(state['written'])} of {index.seq_length}", file=sys.stderr)

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
