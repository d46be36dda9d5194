"""The detector teacher's backends by name. A detector backend's ``ENTRY`` has ``name``, ``check(block, key,
context)``, ``uses_gpu(block)`` (see :class:`motforge.teacher.TeacherBackend`) and
``detect(index, block, run) -> (per_frame, extra)``: ``per_frame`` lists (xyxy boxes [n, 4], scores [n], classes
[n]) for every frame with scores >= ``block['score_threshold']``; ``extra`` are attributes stored with the boxes
(e.g. the model file). ``run`` is a :class:`DetectRun` (device key, dataset root, progress, timings).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from motforge.registry import Registry

DETECT_BACKENDS: Registry = Registry(
    "detector backend",
    {
        "background": "motforge.detect.background",
        "hog": "motforge.detect.hog",
        "ultralytics": "motforge.detect.ultralytics_backend",
        "yolox": "motforge.detect.yolox_onnx",
        "file": "motforge.detect.files",
    },
)


@dataclass(frozen=True)
class DetectRun:
    """Per-run settings that are not part of the detector block."""

    dataset_root: Path | None = None
    progress: bool = True
    timings: dict | None = None  # filled with per-part seconds by backends that measure them (bench/detect.py)
    device_key: str = "detector.device"

    def device(self, block: dict) -> str:
        from motforge.io.device import resolve_device

        return str(resolve_device(block["device"], self.device_key))
