"""`depth_anything_v2`: the transformers implementation, frame by frame in batches.

Not temporally consistent (each frame has its own affine ambiguity); offered for comparison and where Video Depth
Anything is not available. The model comes from a local folder, or from a hub id only when downloads are allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from motforge.datasets.index import SequenceIndex
from motforge.errors import MissingWeightsError
from motforge.io.frames import prefetch_frames


def load_model(model: str, device: torch.device, allow_downloads: bool):
    try:
        from transformers import AutoImageProcessor, AutoModelForDepthEstimation
    except ImportError as exc:
        raise MissingWeightsError(
            "the depth_anything_v2 backend needs transformers (pip install 'motforge[depth]')"
        ) from exc
    local = Path(model)
    if not local.is_dir() and not allow_downloads:
        raise MissingWeightsError(
            f"Depth Anything V2 model folder not found: {model}. Save one locally (e.g. "
            "depth-anything/Depth-Anything-V2-Small-hf with save_pretrained) and set depth.depth_anything_v2.model to "
            "the folder, or set allow_downloads: true to fetch that hub id."
        )
    kwargs = {} if local.is_dir() or allow_downloads else {"local_files_only": True}
    processor = AutoImageProcessor.from_pretrained(model, **kwargs)
    network = AutoModelForDepthEstimation.from_pretrained(model, **kwargs).to(device).eval()
    return processor, network


def da2_frames(
    index: SequenceIndex,
    settings: dict,
    size: tuple[int, int],
    device: torch.device,
    allow_downloads: bool,
    progress=None,
    loaded=None,
) -> tuple[dict, Callable]:
    processor, network = loaded if loaded is not None else load_model(settings["model"], device, allow_downloads)
    batch_size = int(settings["batch_size"])
    attrs = {
        "backend": "depth_anything_v2",
        "model": str(settings["model"]),
        "encoder": "",
        "kind": "disparity",
        "input_size": [index.width, index.height],
    }

    def run(batch: list[np.ndarray]) -> np.ndarray:
        rgb = [np.ascontiguousarray(f[:, :, ::-1]) for f in batch]
        inputs = processor(images=rgb, return_tensors="pt").to(device)
        with torch.no_grad():
            predicted = network(**inputs).predicted_depth  # [B, h, w]
        depth = F.interpolate(
            predicted.float().unsqueeze(1), size=(size[1], size[0]), mode="bilinear", align_corners=False
        )
        return depth[:, 0].cpu().numpy()

    def produce(
        sink: Callable[[int, np.ndarray], None], state: dict | None = None, save: Callable[[dict], None] | None = None
    ) -> None:
        batch: list[np.ndarray] = []
        t0 = int(state["written"]) if state is not None else 0
        if progress is not None and t0:
            progress(t0)
        for frame in prefetch_frames(index.frame_path(t) for t in range(t0 + 1, index.seq_length + 1)):
            batch.append(frame)
            if len(batch) == batch_size:
                sink(t0, run(batch))
                t0 += len(batch)
                if save is not None:
                    save({"written": t0})
                if progress is not None:
                    progress(len(batch))
                batch = []
        if batch:
            sink(t0, run(batch))
            if progress is not None:
                progress(len(batch))

    return attrs, produce


class DepthAnythingV2:
    """``depth_anything_v2``: per-frame relative depth through transformers (a local save_pretrained folder)."""

    name = "depth_anything_v2"

    def check(self, block: dict, key: str, context) -> None:  # noqa: ANN001
        from motforge.errors import ConfigError

        model = block["depth_anything_v2"]["model"]
        if not context.allow_downloads and not (context.base_dir / model).is_dir():
            raise ConfigError(
                f"{key}.depth_anything_v2.model", f"model folder {model!r} not found (and allow_downloads is false)"
            )

    def uses_gpu(self, block: dict) -> bool:
        return True

    def open(self, index: SequenceIndex, block: dict, size: tuple[int, int], device, allow_downloads: bool, progress):  # noqa: ANN001
        return da2_frames(index, block["depth_anything_v2"], size, device, allow_downloads, progress)


ENTRY = DepthAnythingV2()
