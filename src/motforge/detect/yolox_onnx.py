"""`yolox`: a YOLOX model exported to ONNX (decode_in_inference off, as YOLOX's export script does), run with
onnxruntime, with YOLOX's own preprocessing and decoding. The input size is read from the model."""

from __future__ import annotations

import time
from pathlib import Path

from tqdm import tqdm

from motforge.datasets.index import SequenceIndex
from motforge.detect.boxes import decode_candidates, letterbox, postprocess
from motforge.errors import ConfigError, MissingWeightsError
from motforge.io.frames import prefetch_frames, read_frame

YOLOX_KEY = "detector.yolox.model"


class YoloxOnnx:
    def __init__(self, model_path: str | Path, device: str = "cpu") -> None:
        path = Path(model_path)
        if not path.is_file():
            raise MissingWeightsError(
                f"YOLOX ONNX model not found: {path}. Export one with YOLOX's tools/export_onnx.py and set "
                f"detector.yolox.model to it."
            )
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise MissingWeightsError(
                "the yolox backend needs onnxruntime (pip install onnxruntime or onnxruntime-gpu)"
            ) from exc
        providers = (
            ["CUDAExecutionProvider", "CPUExecutionProvider"] if device.startswith("cuda") else ["CPUExecutionProvider"]
        )
        options = ort.SessionOptions()
        providers = [p for p in providers if p in ort.get_available_providers()]
        try:
            self.session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime's InvalidProtobuf / Fail / NoSuchFile...
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise ConfigError(YOLOX_KEY, f"{path}: not a loadable ONNX model (corrupt?): {first}") from None
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        shape = model_input.shape
        if len(shape) != 4 or not (isinstance(shape[2], int) and isinstance(shape[3], int)) or shape[1] not in (3, "3"):
            raise ConfigError(YOLOX_KEY, f"{path}: YOLOX ONNX input must be [1, 3, H, W], H and W fixed; got {shape}")
        self.size = (int(shape[2]), int(shape[3]))
        self.path = path
        self.num_classes = check_yolox_output(self.session.get_outputs()[0].shape, self.size, path)


def check_yolox_output(shape: list, size: tuple[int, int], path: Path) -> int:
    """Number of classes of a YOLOX head [1, anchors, 5 + classes] at input ``size`` (strides 8, 16, 32); an output
    laid out channels-first ([1, 4 + classes, anchors], as Ultralytics exports) or with another anchor count is a
    model this backend cannot decode, said in one line."""
    anchors = sum((size[0] // s) * (size[1] // s) for s in (8, 16, 32))
    if len(shape) == 3 and shape[1] == anchors and isinstance(shape[2], int) and shape[2] > 5:
        return int(shape[2]) - 5
    if len(shape) == 3 and shape[2] == anchors:
        cause = "channels-first like an Ultralytics (YOLOv8/11) export: use the ultralytics backend with its .pt"
    else:
        cause = "not the layout of a YOLOX head exported with decode_in_inference off"
    raise ConfigError(
        YOLOX_KEY,
        f"{path}: output {list(shape)} is not [1, {anchors}, 5 + classes] for input {size[0]}x{size[1]}: {cause}",
    )


def detect_yolox(
    index: SequenceIndex, settings: dict, score_threshold: float, progress: bool = True, timings: dict | None = None
):
    load_start = time.perf_counter()
    model = YoloxOnnx(settings["model"], settings["device"])
    load_seconds = time.perf_counter() - load_start
    classes = settings["classes"]
    unknown = [c for c in classes or [] if not 0 <= c < model.num_classes]
    if unknown:
        raise ConfigError(
            "detector.yolox.classes",
            f"class ids {unknown} do not exist in {model.path}, which has {model.num_classes} classes",
        )
    results = []
    model_time = 0.0
    paths = (index.frame_path(t) for t in range(1, index.seq_length + 1))
    inputs = prefetch_frames(paths, load=lambda path: letterbox(read_frame(path), model.size))  # overlaps the network
    for tensor, ratio in tqdm(
        inputs, total=index.seq_length, desc=f"yolox {index.name}", disable=not progress, mininterval=2.0
    ):
        start = time.perf_counter()
        raw = model.session.run(None, {model.input_name: tensor[None]})[0][0]
        model_time += time.perf_counter() - start
        boxes, scores, labels = postprocess(
            decode_candidates(raw, model.size, score_threshold), ratio, score_threshold, float(settings["nms"]), classes
        )
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
        return detect_yolox(
            index, settings, float(block["score_threshold"]), progress=run.progress, timings=run.timings
        )


ENTRY = YoloxBackend()
