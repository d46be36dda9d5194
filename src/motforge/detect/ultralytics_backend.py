"""`ultralytics`: a local YOLOv8/11 or RT-DETR ``.pt`` through Ultralytics' predict, streamed over the frames.

Ultralytics downloads a model when given a bare name that is not a file; this backend refuses such names and sets
the offline variables (YOLO_OFFLINE=True as a string, YOLO_AUTOINSTALL=False, a writable YOLO_CONFIG_DIR) before
Ultralytics is imported. It also sets ULTRALYTICS_SAFE_LOAD=1: Ultralytics otherwise unpickles a ``.pt`` with
``weights_only=False``, so a planted pickle would run; with it, ``torch_safe_load`` reads checkpoints with
``weights_only=True`` against an allow-list of Ultralytics/torch model classes and builds model YAMLs without
``eval`` (the flag is read once, when ``ultralytics.utils`` is imported, hence :func:`import_ultralytics`).
"""

from __future__ import annotations

import os
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from motforge.datasets.index import SequenceIndex
from motforge.errors import ConfigError, MissingWeightsError, MotforgeError
from motforge.io.weights import (
    UnreadableCheckpointError,
    UnsafeCheckpointError,
    is_refusal,
    load_weights,
    refusal_reason,
)

MODEL_KEY = "detector.ultralytics.model"
CLASSES_KEY = "detector.ultralytics.classes"


def offline_environment() -> None:
    os.environ["YOLO_OFFLINE"] = "True"
    os.environ["YOLO_AUTOINSTALL"] = "False"
    os.environ["ULTRALYTICS_SAFE_LOAD"] = "1"  # checkpoints as data (weights_only=True); read at import
    os.environ.setdefault("YOLO_CONFIG_DIR", os.path.join(tempfile.gettempdir(), "motforge-ultralytics"))
    os.environ.setdefault("YOLO_VERBOSE", "False")


def import_ultralytics():
    """The ultralytics package, imported after :func:`offline_environment`; refuses to go on when its safe loading
    is off (ultralytics imported earlier in this process without the flag, or a torch without weights-only scans)."""
    offline_environment()
    import torch
    import ultralytics
    import ultralytics.utils

    scans = hasattr(torch.serialization, "get_unsafe_globals_in_checkpoint")  # torch >= 2.6, else safe load is off
    if not getattr(ultralytics.utils, "SAFE_LOAD", False) or not scans:
        raise MotforgeError(
            f"Ultralytics {ultralytics.__version__} is not in safe-loading mode (ULTRALYTICS_SAFE_LOAD=1 must be set "
            "before ultralytics is first imported, and needs torch >= 2.6); refusing to unpickle checkpoints with it"
        )
    return ultralytics


def open_model(factory, path: str | Path, setting: str):
    """``factory(path)`` (YOLO or RTDETR), with Ultralytics' safe-load refusal (a TypeError caused by the
    unpickler's error, or that error itself) reported as motforge's error naming the setting and the file."""
    try:
        return factory(str(path))
    except (pickle.UnpicklingError, TypeError) as exc:
        cause = exc if isinstance(exc, pickle.UnpicklingError) else exc.__cause__
        if not is_refusal(cause):
            raise
        raise UnsafeCheckpointError(path, setting, refusal_reason(cause)) from None


def load_yolo(model_path: str | Path):
    path = Path(model_path)
    if not path.is_file():
        raise MissingWeightsError(
            f"Ultralytics model not found: {path}. Give the path of a local .pt file (a bare name such as "
            "'yolov8n.pt' would be downloaded, which motforge never does at run time)."
        )
    try:
        import_ultralytics()
        from ultralytics import RTDETR, YOLO
    except ImportError as exc:
        raise MissingWeightsError(
            "the ultralytics backend needs the ultralytics package (pip install ultralytics)"
        ) from exc
    factory = RTDETR if "rtdetr" in path.name.lower() else YOLO
    try:
        return open_model(factory, path, f"config key '{MODEL_KEY}'")
    except UnsafeCheckpointError:
        raise
    except Exception as exc:  # Ultralytics raises TypeError/RuntimeError/... with emoji-laden multi-line text
        cause = _why_not_ultralytics(path, exc)
        raise ConfigError(MODEL_KEY, f"{path}: not an Ultralytics model checkpoint: {cause}") from None


def _why_not_ultralytics(path: Path, exc: Exception) -> str:
    """The likely cause, judged from the file: corrupt, a bare state_dict, or whatever Ultralytics said (one line)."""
    import torch

    try:
        obj = load_weights(path, f"config key '{MODEL_KEY}'")
    except UnreadableCheckpointError as unreadable:
        return unreadable.reason
    except MotforgeError:  # refused as data: Ultralytics' own message says more
        obj = None
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return (
            f"it holds a bare state_dict ({len(obj)} tensors); Ultralytics needs the .pt its train/export writes "
            "(model object and metadata)"
        )
    return str(exc).strip().splitlines()[0][:300]


def check_classes(model, path: str | Path, classes: list[int] | None) -> None:
    """Configured class ids must exist in the model (ids beyond its classes would silently keep nothing)."""
    names = getattr(model, "names", None) or {}
    unknown = [c for c in classes or [] if c not in names]
    if unknown:
        raise ConfigError(
            CLASSES_KEY,
            f"class ids {unknown} do not exist in {path}, which has {len(names)} classes "
            f"({', '.join(f'{k}={v}' for k, v in list(names.items())[:5])}...)",
        )


def detect_ultralytics(
    index: SequenceIndex,
    settings: dict,
    score_threshold: float,
    progress: bool = True,
    timings: dict | None = None,
    model=None,
):
    load_start = time.perf_counter()
    model = model if model is not None else load_yolo(settings["model"])
    check_classes(model, settings["model"], settings["classes"])
    load_seconds = time.perf_counter() - load_start
    paths = [str(index.frame_path(t)) for t in range(1, index.seq_length + 1)]
    position = {p: i for i, p in enumerate(paths)}
    results: list = [None] * len(paths)
    batch = int(settings["batch_size"])
    start = time.perf_counter()
    bar = tqdm(total=len(paths), desc=f"ultralytics {index.name}", disable=not progress, mininterval=2.0)
    for i in range(0, len(paths), batch):
        chunk = paths[i : i + batch]
        for r in model.predict(
            source=chunk,
            conf=score_threshold,
            iou=float(settings["nms"]),
            classes=settings["classes"],
            device=settings["device"],
            imgsz=settings["imgsz"],
            stream=True,
            save=False,
            verbose=False,
        ):
            boxes = r.boxes
            results[position[str(r.path)]] = (
                boxes.xyxy.cpu().numpy().astype(np.float32),
                boxes.conf.cpu().numpy().astype(np.float32),
                boxes.cls.cpu().numpy().astype(np.int16),
            )
        bar.update(len(chunk))
    bar.close()
    if timings is not None:
        timings["model_seconds"] = time.perf_counter() - start
        timings["load_seconds"] = load_seconds
    missing = [paths[i] for i, r in enumerate(results) if r is None]
    if missing:
        raise RuntimeError(f"Ultralytics returned no result for {missing[0]}")
    return results, {
        "model": str(settings["model"]),
        "imgsz": settings["imgsz"],
        "nms": float(settings["nms"]),
    }


class UltralyticsBackend:
    """``ultralytics``: a local YOLO / RT-DETR ``.pt`` (a bare model name would be downloaded, so it is refused)."""

    name = "ultralytics"

    def check(self, block: dict, key: str, context) -> None:  # noqa: ANN001
        from motforge.errors import ConfigError

        model = block["ultralytics"]["model"]
        if not block["train"]["enabled"] and not (model and (context.base_dir / model).is_file()):
            raise ConfigError(
                f"{key}.ultralytics.model", f"{model!r} is not a local .pt file (bare names would be downloaded)"
            )

    def uses_gpu(self, block: dict) -> bool:
        return True

    def detect(self, index: SequenceIndex, block: dict, run) -> tuple[list, dict]:  # noqa: ANN001
        settings = {**block["ultralytics"], "device": run.device(block)}
        return detect_ultralytics(
            index, settings, float(block["score_threshold"]), progress=run.progress, timings=run.timings
        )


ENTRY = UltralyticsBackend()
