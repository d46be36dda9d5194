"""Read a sequence's frames in order with decoding in a background thread, so I/O overlaps with compute."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from motforge.errors import InputError


def read_frame(path: str | Path) -> np.ndarray:
    """BGR uint8 image; a file OpenCV cannot decode is an error naming it."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(path, "unreadable image (OpenCV could not decode it)")
    return image


def prefetch_frames(paths: Iterable[str | Path], depth: int = 8, load: Callable = read_frame) -> Iterator:
    """Yield decoded frames in order while the next ``depth`` are decoded in a worker thread (``load(path)``: what
    the worker makes of each path, e.g. a resized network input)."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    sentinel = object()

    def worker() -> None:
        try:
            for path in paths:
                if stop.is_set():
                    return
                buffer.put(load(path))
            buffer.put(sentinel)
        except BaseException as exc:  # forwarded to the consumer
            buffer.put(exc)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is sentinel:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                buffer.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
