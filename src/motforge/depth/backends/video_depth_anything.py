"""`video_depth_anything`: the network class from a local clone of the Video-Depth-Anything repository.

Only the network's forward pass comes from that repository; reading frames, windowing, alignment and writing are
motforge's own streaming loop (depth/streaming.py), so host memory does not grow with the sequence length.
Model code is imported only from the configured ``repo`` folder; weights are loaded with ``weights_only=True``.
"""
from __future__ import annotations

import importlib
import inspect
import math
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from motforge.datasets.index import SequenceIndex
from motforge.depth.streaming import stream_depth
from motforge.errors import MissingWeightsError
from motforge.io.frames import prefetch_frames, read_frame
from motforge.io.weights import load_weights

#: constructor arguments per encoder, as the repository's run script builds the model
MODEL_CONFIGS = {
    "vits": {"encoder": "vits", "features": 64, "out_channels": [48, 96, 192, 384]},
    "vitb": {"encoder": "vitb", "features": 128, "out_channels": [96, 192, 384, 768]},
    "vitl": {"encoder": "vitl", "features": 256, "out_channels": [256, 512, 1024, 1024]},
}
HUB_REPOS = {"vits": "Small", "vitb": "Base", "vitl": "Large"}
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def checkpoint_name(encoder: str, metric: bool) -> str:
    return f"{'metric_' if metric else ''}video_depth_anything_{encoder}.pth"


def network_input_size(width: int, height: int, input_size: int = 518) -> tuple[int, int]:
    """(w, h) for the network: short side >= input_size, both multiples of 14, aspect kept (wide videos shrink)."""
    ratio = max(width, height) / min(width, height)
    if ratio > 1.78:  # the reference lowers the size of very wide videos to bound memory
        input_size = round(int(input_size * 1.777 / ratio) / 14) * 14
    scale = max(input_size / width, input_size / height)
    w = max(14, int(math.ceil(width * scale / 14)) * 14)
    h = max(14, int(math.ceil(height * scale / 14)) * 14)
    return w, h


def to_network_input(frame_bgr: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
    return torch.from_numpy(((rgb - MEAN) / STD).transpose(2, 0, 1).copy())


def import_network_class(repo: str | Path):
    """``video_depth_anything.video_depth.VideoDepthAnything`` from the local clone at ``repo``."""
    repo = Path(repo).resolve()
    module_file = repo / "video_depth_anything" / "video_depth.py"
    if not module_file.is_file():
        raise MissingWeightsError(
            f"Video Depth Anything code not found: {module_file} is missing. Clone the repository "
            "(github DepthAnything/Video-Depth-Anything) and set depth.video_depth_anything.repo to its folder."
        )
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    module = importlib.import_module("video_depth_anything.video_depth")
    return module.VideoDepthAnything


def resolve_checkpoint(settings: dict, allow_downloads: bool) -> Path:
    encoder, metric = settings["encoder"], settings["metric"]
    configured = settings.get("checkpoint")
    path = Path(configured) if configured else None
    if path is not None and path.is_file():
        return path
    if allow_downloads:
        try:
            from huggingface_hub import hf_hub_download
        except ImportError as exc:
            raise MissingWeightsError("allow_downloads is set but huggingface_hub is not installed (pip install huggingface_hub)") from exc
        repo_id = f"depth-anything/{'Metric-' if metric else ''}Video-Depth-Anything-{HUB_REPOS[encoder]}"
        return Path(hf_hub_download(repo_id=repo_id, filename=checkpoint_name(encoder, metric)))
    where = str(path) if path is not None else "(depth.video_depth_anything.checkpoint is not set)"
    raise MissingWeightsError(
        f"Video Depth Anything weights not found: {where}. Download {checkpoint_name(encoder, metric)} from the "
        f"Hugging Face hub (depth-anything/Video-Depth-Anything-{HUB_REPOS[encoder]}) and set "
        "depth.video_depth_anything.checkpoint to it, or set allow_downloads: true."
    )


def load_network(settings: dict, device: torch.device, allow_downloads: bool) -> torch.nn.Module:
    network_class = import_network_class(settings["repo"])
    kwargs = dict(MODEL_CONFIGS[settings["encoder"]])
    if "metric" in inspect.signature(network_class.__init__).parameters:
        kwargs["metric"] = settings["metric"]
    model = network_class(**kwargs)
    checkpoint = resolve_checkpoint(settings, allow_downloads)
    state = load_weights(checkpoint, "config key 'depth.video_depth_anything.checkpoint'")
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


def vda_frames(
    index: SequenceIndex, settings: dict, size: tuple[int, int], device: torch.device, allow_downloads: bool, progress=None, model: torch.nn.Module | None = None
) -> tuple[dict, Callable]:
    """Attributes and a ``produce(sink)`` that streams the sequence's aligned depth frames into ``sink(t0, depth)``."""
    model = model if model is not None else load_network(settings, device, allow_downloads)
    net_size = network_input_size(index.width, index.height, settings["input_size"])
    use_fp16 = device.type == "cuda"
    attrs = {
        "backend": "video_depth_anything",
        "model": checkpoint_name(settings["encoder"], settings["metric"]),
        "encoder": settings["encoder"],
        "kind": "metric" if settings["metric"] else "disparity",
        "input_size": list(net_size),
    }

    def forward(window: list[torch.Tensor]) -> np.ndarray:
        batch = torch.stack(window).unsqueeze(0).to(device)
        with torch.no_grad(), torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_fp16):
            depth = model(batch)  # [1, T, H, W]
        depth = F.interpolate(depth.float().flatten(0, 1).unsqueeze(1), size=(size[1], size[0]), mode="bilinear", align_corners=True)
        return depth[:, 0].cpu().numpy()

    def produce(sink: Callable[[int, np.ndarray], None], state: dict | None = None, save: Callable[[dict], None] | None = None) -> None:
        first = int(state["consumed"]) if state is not None else 0
        frames = prefetch_frames(index.frame_path(t) for t in range(first + 1, index.seq_length + 1))
        inputs = (to_network_input(f, net_size) for f in frames)
        stream_depth(index.seq_length, inputs, forward, sink, progress, state=state, save=save,
                     frame_at=lambda i: to_network_input(read_frame(index.frame_path(i + 1)), net_size))

    return attrs, produce


class VideoDepthAnything:
    """``video_depth_anything``: the network class from a local clone of the upstream repository, weights from a
    local checkpoint (or the hub when allow_downloads)."""

    name = "video_depth_anything"

    def check(self, block: dict, key: str, context) -> None:  # noqa: ANN001
        from motforge.errors import ConfigError

        vda = block["video_depth_anything"]
        repo = context.base_dir / vda["repo"] if vda["repo"] else None
        if repo is None or not (repo / "video_depth_anything" / "video_depth.py").is_file():
            raise ConfigError(f"{key}.video_depth_anything.repo", f"{vda['repo']!r} is not a clone of the Video-Depth-Anything repository (video_depth_anything/video_depth.py missing)")
        if not context.allow_downloads and not (vda["checkpoint"] and (context.base_dir / vda["checkpoint"]).is_file()):
            raise ConfigError(f"{key}.video_depth_anything.checkpoint", f"weights file {vda['checkpoint']!r} not found (and allow_downloads is false)")

    def uses_gpu(self, block: dict) -> bool:
        return True

    def open(self, index: SequenceIndex, block: dict, size: tuple[int, int], allow_downloads: bool, progress) -> tuple[dict, Callable]:  # noqa: ANN001
        from motforge.io.device import resolve_device

        return vda_frames(index, block["video_depth_anything"], size, resolve_device(block["device"], "depth.device"), allow_downloads, progress)


ENTRY = VideoDepthAnything()
