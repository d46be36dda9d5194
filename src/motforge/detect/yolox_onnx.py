"""`yolox`: a YOLOX model exported to ONNX (decode_in_inference off, as YOLOX's export script does), run with
onnxruntime, with YOLOX's own preprocessing and decoding. The input size is read from the model."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from motforge.datasets.index import SequenceIndex
from motforge.detect.boxes import decode_candidates, letterbox, postprocess
from motforge.errors import MissingWeightsError
from motforge.io.frames import prefetch_frames


class YoloxOnnx:
    def __init__(self, model_path: str | Path, device: str = "cpu") -> None:
        path = Path(model_path)
        if not path.is_file():
            raise MissingWeightsError(f"YOLOX ONNX model not found: {path}. Export one with YOLOX's tools/export_onnx.py and set detector.yolox.model to it.")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise MissingWeightsError("the yolox backend needs onnxruntime (pip install onnxruntime or onnxruntime-gpu)") from exc
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if device.startswith("cuda") else ["CPUExecutionProvider"]
        options = ort.SessionOptions()
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=[p for p in providers if p in ort.get_available_providers()])
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        shape = model_input.shape
        if not (isinstance(shape[2], int) and isinstance(shape[3], int)):
            raise ValueError(f"{path}: YOLOX ONNX input must have a fixed size, got {shape}")
        self.size = (int(shape[2]), int(shape[3]))
        self.path = path

    def run(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        tensor, ratio = letterbox(image, self.size)
        raw = self.session.run(None, {self.input_name: tensor[None]})[0][0]
        return raw, ratio


def detect_yolox(index: SequenceIndex, settings: dict, score_threshold: float, progress: bool = True, timings: dict | None = None):
    load_start = time.perf_counter()
    model = YoloxOnnx(settings["model"], settings.get("device", "cpu"))
    load_seconds = time.perf_counter() - load_start
    classes = settings.get("classes")
    results = []
    model_time = 0.0
    frames = prefetch_frames(index.frame_path(t) for t in range(1, index.seq_length + 1))
    for image in tqdm(frames, total=index.seq_length, desc=f"yolox {index.name}", disable=not progress, mininterval=2.0):
        tensor, ratio = letterbox(image, model.size)
        start = time.perf_counter()
        raw = model.session.run(None, {model.input_name: tensor[None]})[0][0]
        model_time += time.perf_counter() - start
        boxes, scores, labels = postprocess(decode_candidates(raw, model.size, score_threshold), ratio, score_threshold, float(settings["nms"]), classes)
        results.append((boxes, scores, labels))
    if timings is not None:
        timings["model_seconds"] = model_time
        timings["load_seconds"] = load_seconds
    return results, {"model": str(model.path), "input_size": list(model.size), "nms": float(settings["nms"])}


class YoloxBackend:
    """``yolox``: YOLOX exported to ONNX, run with onnxruntime."""

    name = "yolox"

    def check(self, block: dict, key: str, context) -> None:  # noqa: ANN001
        from motforge.errors import ConfigError

        model = block["yolox"]["model"]
        if not (model and (context.base_dir / model).is_file()):
            raise ConfigError(f"{key}.yolox.model", f"ONNX model {model!r} not found")

    def uses_gpu(self, block: dict) -> bool:
        return True

    def detect(self, index: SequenceIndex, block: dict, run) -> tuple[list, dict]:  # noqa: ANN001
        settings = {**block["yolox"], "device": run.device(block)}
        return detect_yolox(index, settings, float(block["score_threshold"]), progress=run.progress, timings=run.timings)


ENTRY = YoloxBackend()
