"""Decoded frames at training resolution, cached per sequence in zarr (uint8 RGB [T, H, W, 3], one frame per chunk):
the loader then never decodes a JPEG or reads a depth PNG per step."""

from __future__ import annotations

from pathlib import Path

import cv2
import zarr
from tqdm import tqdm
from zarr.codecs import BloscCodec

from motforge.datasets.index import SequenceIndex
from motforge.errors import InputError
from motforge.io.atomic import atomic_path
from motforge.io.frames import prefetch_frames


def write_frame_cache(index: SequenceIndex, width: int, height: int, out: str | Path, progress: bool = True) -> Path:
    with atomic_path(out, directory=True) as tmp:
        array = zarr.create_array(
            store=str(tmp),
            shape=(index.seq_length, height, width, 3),
            chunks=(1, height, width, 3),
            dtype="uint8",
            compressors=BloscCodec(cname="lz4", clevel=5, shuffle="noshuffle"),
            fill_value=0,
        )
        array.attrs.update(
            {
                "sequence": index.name,
                "size": [width, height],
                "original_size": [index.width, index.height],
                "complete": False,
            }
        )
        frames = prefetch_frames(index.frame_path(t) for t in range(1, index.seq_length + 1))
        for t, frame in enumerate(
            tqdm(frames, total=index.seq_length, desc=f"frames {index.name}", disable=not progress, mininterval=2.0)
        ):
            array[t] = cv2.cvtColor(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        array.attrs["complete"] = True
    return Path(out)


def open_frame_cache(path: str | Path) -> zarr.Array:
    array = zarr.open_array(str(path), mode="r")
    if not array.attrs.get("complete", False):
        raise InputError(path, "frame cache is incomplete; rebuild it")
    return array
