"""The detection stage: run the configured backend over a sequence and store the boxes in detections.h5."""
from __future__ import annotations

import json
from pathlib import Path

from motforge.datasets.index import SequenceIndex
from motforge.detect.store import Detections, write_detections
from motforge.errors import ConfigError

BACKENDS = ("background", "hog", "ultralytics", "yolox", "file")


def run_detector(index: SequenceIndex, cfg: dict, out: str | Path, dataset_root: str | Path | None = None, device: str = "cpu", progress: bool = True, timings: dict | None = None) -> Detections:
    backend = cfg.get("backend", "background")
    threshold = float(cfg.get("score_threshold", 0.05))
    if backend == "background":
        from motforge.detect.background import BackgroundParams, detect_background

        per_frame = detect_background(index, BackgroundParams(**cfg.get("background", {})), threshold, progress=progress)
        extra = {"model": "opencv-mog2"}
    elif backend == "hog":
        from motforge.detect.hog import HogParams, detect_hog

        per_frame = detect_hog(index, HogParams(**cfg.get("hog", {})), threshold, progress=progress)
        extra = {"model": "opencv-hog-default-people"}
    elif backend == "ultralytics":
        from motforge.detect.ultralytics_backend import detect_ultralytics

        per_frame, extra = detect_ultralytics(index, {**cfg["ultralytics"], "device": device}, threshold, progress=progress, timings=timings)
    elif backend == "yolox":
        from motforge.detect.yolox_onnx import detect_yolox

        per_frame, extra = detect_yolox(index, {**cfg["yolox"], "device": device}, threshold, progress=progress, timings=timings)
    elif backend == "file":
        from motforge.detect.files import detect_from_det_db, detect_from_det_txt

        file_cfg = cfg["file"]
        if file_cfg["format"] == "det_db":
            if dataset_root is None:
                raise ConfigError("detector.file", "det_db import needs the dataset root to build frame keys")
            per_frame, extra = detect_from_det_db(index, file_cfg, dataset_root, threshold)
        else:
            per_frame, extra = detect_from_det_txt(index, threshold, file_cfg.get("path") or None)
    else:
        raise ConfigError("detector.backend", f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    attrs = {"backend": backend, "score_threshold": threshold, "seq_length": index.seq_length, "params": json.dumps(cfg, sort_keys=True), **{k: str(v) for k, v in extra.items()}}
    dets = Detections.from_frames(per_frame, attrs)
    write_detections(dets, out)
    return dets
