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
from motforge.depth.streaming import INFER_LEN, KEYFRAMES, stream_depth
from motforge.errors import MissingWeightsError
from motforge.io.checkpoints import load_into, load_torch_file, state_dict_of
from motforge.io.frames import prefetch_frames, read_frame

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
    """(w, h) for the network, by the reference's rule (``infer_video_depth`` with its ``Resize``: keep_aspect_ratio,
    lower_bound, ensure_multiple_of=14): the scale that brings the short side to ``input_size``; each side rounded
    to the *nearest* multiple of 14 (half to even, as numpy rounds), rounded up only if that falls below
    ``input_size``. Videos wider than 1.78:1 get a smaller ``input_size`` first, as the reference does to bound memory.
    """
    ratio = max(width, height) / min(width, height)
    if ratio > 1.78:
        input_size = round(int(input_size * 1.777 / ratio) / 14) * 14
    scale = max(input_size / width, input_size / height)

    def constrain(x: float) -> int:
        y = int(np.round(x / 14) * 14)
        return y if y >= input_size else int(math.ceil(x / 14) * 14)

    return max(14, constrain(scale * width)), max(14, constrain(scale * height))


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
            raise MissingWeightsError(
                "allow_downloads is set but huggingface_hub is not installed (pip install huggingface_hub)"
            ) from exc
        repo_id = f"depth-anything/{'Metric-' if metric else ''}Video-Depth-Anything-{HUB_REPOS[encoder]}"
        return Path(hf_hub_download(repo_id=repo_id, filename=checkpoint_name(encoder, metric)))
    where = str(path) if path is not None else "(depth.video_depth_anything.checkpoint is not set)"
    raise MissingWeightsError(
        f"Video Depth Anything weights not found: {where}. Download {checkpoint_name(encoder, metric)} from the "
        f"Hugging Face hub (depth-anything/Video-Depth-Anything-{HUB_REPOS[encoder]}) and set "
        "depth.video_depth_anything.checkpoint to it, or set allow_downloads: true."
    )


#: DINOv2 embedding width per encoder (the first dimension of the patch embedding's weight)
EMBED_DIMS = {"vits": 384, "vitb": 768, "vitl": 1024}
CHECKPOINT_KEY = "depth.video_depth_anything.checkpoint"


def guess_encoder(state) -> str | None:
    """The encoder a Video Depth Anything state_dict was trained with, from its patch embedding width."""
    weight = state.get("pretrained.patch_embed.proj.weight")
    if weight is None or weight.ndim != 4:
        return None
    return {dim: name for name, dim in EMBED_DIMS.items()}.get(int(weight.shape[0]))


def load_network(settings: dict, device: torch.device, allow_downloads: bool) -> torch.nn.Module:
    network_class = import_network_class(settings["repo"])
    kwargs = dict(MODEL_CONFIGS[settings["encoder"]])
    if "metric" in inspect.signature(network_class.__init__).parameters:
        kwargs["metric"] = settings["metric"]
    model = network_class(**kwargs)
    checkpoint = resolve_checkpoint(settings, allow_downloads)
    state = state_dict_of(load_torch_file(checkpoint, CHECKPOINT_KEY), checkpoint, CHECKPOINT_KEY)
    load_into(model, state, checkpoint, CHECKPOINT_KEY, settings["encoder"], guess_encoder)
    return model.to(device).eval()


class WindowNetwork:
    """The network over a batch of 32-frame windows, computing each distinct input frame's encoder features once.

    The reference's forward runs DINOv2 on all 32 frames of every window, yet the encoder sees one frame at a time
    (only the DPT head mixes frames): the 10 keyframe inputs of a window were encoded in the previous window, and the
    repeated last frame that pads the final window is the same input each time. So the encoder runs once per distinct
    input (frames are the same tensor objects, as the streaming loop hands them over), features of the last window's
    keyframes are kept for the next call, and the head and the rest of the forward run as in the reference's
    ``VideoDepthAnything.forward``. Models without that structure (``pretrained.get_intermediate_layers``, ``head``,
    ``intermediate_layer_idx``) run their own forward on the whole batch.
    """

    def __init__(self, model: torch.nn.Module, reuse_features: bool = True) -> None:
        self.model = model
        pretrained = getattr(model, "pretrained", None)
        needed = ("head", "intermediate_layer_idx", "encoder")
        self.split = reuse_features and all(hasattr(model, a) for a in needed)
        self.split = self.split and hasattr(pretrained, "get_intermediate_layers")
        self.kept: list[tuple[torch.Tensor, list]] = []  # (input, features per layer) of the last keyframes

    def __call__(
        self, windows: list[list[torch.Tensor]], to_device: Callable[[torch.Tensor], torch.Tensor]
    ) -> torch.Tensor:
        """Depth [n, 32, H, W] at the network input size for ``n`` windows of 32 inputs [3, H, W]."""
        if not self.split:
            return self.model(to_device(torch.stack([torch.stack(w) for w in windows])))
        model, slot_of, new = self.model, {}, []
        for i, (frame, _) in enumerate(self.kept):
            slot_of[id(frame)] = i
        for window in windows:
            for frame in window:
                if id(frame) not in slot_of:
                    slot_of[id(frame)] = len(self.kept) + len(new)
                    new.append(frame)
        layers = model.intermediate_layer_idx[model.encoder]
        fresh = None
        if new:
            batch = to_device(torch.stack(new))
            fresh = model.pretrained.get_intermediate_layers(batch, layers, return_class_token=True)
        pools = []
        for layer in range(len(layers)):
            parts = [torch.cat([kept[layer][k] for _, kept in self.kept]) for k in range(2)] if self.kept else None
            tokens, cls = fresh[layer] if fresh is not None else (None, None)
            if parts is not None and tokens is not None:
                tokens, cls = torch.cat([parts[0].to(tokens.dtype), tokens]), torch.cat([parts[1].to(cls.dtype), cls])
            elif parts is not None:
                tokens, cls = parts
            pools.append((tokens, cls))
        order = torch.tensor([slot_of[id(f)] for w in windows for f in w], device=pools[0][0].device)
        features = [(tokens[order], cls[order]) for tokens, cls in pools]
        height, width = windows[0][0].shape[-2:]
        depth = model.head(features, height // 14, width // 14, len(windows[0]))[0]
        depth = F.relu(F.interpolate(depth, size=(height, width), mode="bilinear", align_corners=True))
        last = windows[-1]
        rows = [slot_of[id(last[k])] for k in KEYFRAMES]
        self.kept = [
            (last[k], [(tokens[r : r + 1].clone(), cls[r : r + 1].clone()) for tokens, cls in pools])
            for k, r in zip(KEYFRAMES, rows)
        ]
        return depth.squeeze(1).unflatten(0, (len(windows), -1))


def default_windows_per_batch(device: torch.device) -> int:
    """Windows per network call: on a GPU several fill it better; on the CPU one window already keeps the cores busy."""
    return 4 if device.type == "cuda" else 1


def vda_frames(
    index: SequenceIndex,
    settings: dict,
    size: tuple[int, int],
    device: torch.device,
    allow_downloads: bool,
    progress=None,
    model: torch.nn.Module | None = None,
) -> tuple[dict, Callable]:
    """Attributes and a ``produce(sink)`` that streams the sequence's aligned depth frames into ``sink(t0, depth)``.

    Frames are decoded and turned into network inputs in a worker thread (overlapping the network); on a GPU the
    windows of a batch are copied from pinned memory without blocking and run under float16 autocast, as the
    reference runs them (``settings["precision"]`` = "bfloat16" or "float32" to change that).
    """
    model = model if model is not None else load_network(settings, device, allow_downloads)
    net_size = network_input_size(index.width, index.height, settings["input_size"])
    precision = settings.get("precision", "float16")
    autocast_dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16}.get(precision)
    use_autocast = device.type == "cuda" and autocast_dtype is not None
    windows_per_batch = int(settings.get("windows_per_batch") or default_windows_per_batch(device))
    pin = device.type == "cuda"
    attrs = {
        "backend": "video_depth_anything",
        "model": checkpoint_name(settings["encoder"], settings["metric"]),
        "encoder": settings["encoder"],
        "kind": "metric" if settings["metric"] else "disparity",
        "input_size": list(net_size),
    }

    network = WindowNetwork(model, reuse_features=bool(settings.get("reuse_keyframe_features", True)))

    def to_device(batch: torch.Tensor) -> torch.Tensor:
        return batch.pin_memory().to(device, non_blocking=True) if pin else batch.to(device)

    def forward_windows(windows: list[list[torch.Tensor]]) -> np.ndarray:
        autocast = torch.autocast(device_type=device.type, dtype=autocast_dtype or torch.float16, enabled=use_autocast)
        with torch.no_grad(), autocast:
            depth = network(windows, to_device)
        depth = F.interpolate(
            depth.float().flatten(0, 1).unsqueeze(1), size=(size[1], size[0]), mode="bilinear", align_corners=True
        )
        return depth[:, 0].unflatten(0, (len(windows), -1)).cpu().numpy()

    def produce(
        sink: Callable[[int, np.ndarray], None], state: dict | None = None, save: Callable[[dict], None] | None = None
    ) -> None:
        first = int(state["consumed"]) if state is not None else 0
        paths = (index.frame_path(t) for t in range(first + 1, index.seq_length + 1))
        inputs = prefetch_frames(paths, depth=2 * INFER_LEN, load=lambda p: to_network_input(read_frame(p), net_size))
        stream_depth(
            index.seq_length,
            inputs,
            None,
            sink,
            progress,
            state=state,
            save=save,
            frame_at=lambda i: to_network_input(read_frame(index.frame_path(i + 1)), net_size),
            metric=bool(settings["metric"]),
            forward_windows=forward_windows,
            windows_per_batch=windows_per_batch,
        )

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
            raise ConfigError(
                f"{key}.video_depth_anything.repo",
                f"{vda['repo']!r} is not a clone of the Video-Depth-Anything repository "
                f"(video_depth_anything/video_depth.py missing)",
            )
        if not context.allow_downloads and not (vda["checkpoint"] and (context.base_dir / vda["checkpoint"]).is_file()):
            raise ConfigError(
                f"{key}.video_depth_anything.checkpoint",
                f"weights file {vda['checkpoint']!r} not found (and allow_downloads is false)",
            )

    def uses_gpu(self, block: dict) -> bool:
        return True

    def open(self, index: SequenceIndex, block: dict, size: tuple[int, int], device, allow_downloads: bool, progress):  # noqa: ANN001
        return vda_frames(index, block["video_depth_anything"], size, device, allow_downloads, progress)


ENTRY = VideoDepthAnything()
