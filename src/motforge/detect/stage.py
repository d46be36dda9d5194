"""The detection stage: run the configured backend over a sequence and store the boxes in detections.h5."""

from __future__ import annotations

import json
from pathlib import Path

from motforge.datasets.index import SequenceIndex
from motforge.detect.registry import DETECT_BACKENDS, DetectRun
from motforge.detect.store import Detections, write_detections


def run_detector(
    index: SequenceIndex,
    cfg: dict,
    out: str | Path,
    dataset_root: str | Path | None = None,
    progress: bool = True,
    timings: dict | None = None,
) -> Detections:
    """``cfg`` is the dataset's detector block; the backend it names writes every frame's boxes into ``out``."""
    backend = cfg["backend"]
    run = DetectRun(Path(dataset_root) if dataset_root is not None else None, progress, timings)
    per_frame, extra = DETECT_BACKENDS.get(backend, "detector.backend").detect(index, cfg, run)
    threshold = float(cfg["score_threshold"])
    attrs = {
        "backend": backend,
        "score_threshold": threshold,
        "seq_length": index.seq_length,
        "params": json.dumps(cfg, sort_keys=True),
        **{k: str(v) for k, v in extra.items()},
    }
    dets = Detections.from_frames(per_frame, attrs)
    write_detections(dets, out)
    return dets
