"""Mask backends: all boxes of one frame in, one mask (and score) per box out, at the mask resolution.

``box``: the box itself (DepTR-MOT's ablation baseline). ``grabcut``: OpenCV GrabCut initialised from each box on a
crop around it (CPU, no weights). ``sam2``: SAM2's image predictor with every box of a frame in one ``predict`` call,
frames batched, bfloat16 autocast on CUDA.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from motforge.errors import MissingWeightsError
from motforge.io.checkpoints import load_into, load_torch_file, state_dict_of
from motforge.masks.sam2_configs import check_sam2_config


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    out = boxes.astype(np.float64).copy()
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
    return out


def box_masks(image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = image.shape[:2]
    masks = np.zeros((len(boxes), height, width), dtype=bool)
    for i, (x0, y0, x1, y1) in enumerate(np.round(clip_boxes(boxes, width, height)).astype(int)):
        masks[i, y0:y1, x0:x1] = True
    return masks, np.ones(len(boxes), dtype=np.float32)


def grabcut_masks(
    image: np.ndarray, boxes: np.ndarray, iterations: int = 3, margin: float = 0.15, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """GrabCut per box on a crop with ``margin`` (fraction of the box) of context; score = foreground share kept.
    GrabCut's k-means draws from OpenCV's global RNG, so it is reset to ``seed`` (callers pass the frame number):
    a frame's masks then never depend on which frames ran before it, and a resumed job equals an uninterrupted one."""
    cv2.setRNGSeed(int(seed))
    height, width = image.shape[:2]
    masks = np.zeros((len(boxes), height, width), dtype=bool)
    scores = np.zeros(len(boxes), dtype=np.float32)
    clipped = np.round(clip_boxes(boxes, width, height)).astype(int)
    for i, (x0, y0, x1, y1) in enumerate(clipped):
        bw, bh = x1 - x0, y1 - y0
        if bw < 2 or bh < 2:
            continue
        mx, my = int(np.ceil(margin * bw)) + 1, int(np.ceil(margin * bh)) + 1
        cx0, cy0, cx1, cy1 = max(0, x0 - mx), max(0, y0 - my), min(width, x1 + mx), min(height, y1 + my)
        crop = np.ascontiguousarray(image[cy0:cy1, cx0:cx1])
        label = np.zeros(crop.shape[:2], np.uint8)
        rect = (x0 - cx0, y0 - cy0, bw, bh)
        if rect[0] == 0 and rect[1] == 0 and rect[2] == crop.shape[1] and rect[3] == crop.shape[0]:
            rect = (rect[0], rect[1], max(1, rect[2] - 1), max(1, rect[3] - 1))  # GrabCut needs some background
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        try:
            cv2.grabCut(crop, label, rect, bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
        except cv2.error:
            continue  # degenerate crop (one colour): recorded as an empty mask
        fg = (label == cv2.GC_FGD) | (label == cv2.GC_PR_FGD)
        masks[i, cy0:cy1, cx0:cx1] = fg
        masks[i, :, :x0] = False
        masks[i, :, x1:] = False
        masks[i, :y0, :] = False
        masks[i, y1:, :] = False
        scores[i] = float(fg.sum()) / float(max(1, bw * bh))
    return masks, scores


SAM2_KEY = "masks.sam2.checkpoint"
#: (patch embedding width, number of Hiera blocks) -> model size, from SAM2's configs (hiera_t/s/b+/l)
SAM2_SIZES = {(96, 12): "t", (96, 16): "s", (112, 24): "b+", (144, 48): "l"}


def guess_sam2_config(state) -> str | None:
    """The config a SAM2 state_dict fits ("sam2.1_hiera_t", ...): the Hiera trunk's width and depth say the size;
    SAM 2.1 checkpoints have the ``no_obj_embed_spatial`` parameter that 2.0 ones lack."""
    weight = state.get("image_encoder.trunk.patch_embed.proj.weight")
    blocks = {int(k.split(".")[3]) for k in state if k.startswith("image_encoder.trunk.blocks.")}
    if weight is None or not blocks:
        return None
    size = SAM2_SIZES.get((int(weight.shape[0]), max(blocks) + 1))
    version = "sam2.1" if "no_obj_embed_spatial" in state else "sam2"
    return f"{version}_hiera_{size}" if size else None


class Sam2Masker:
    """SAM2 image predictor: one ``predict`` call with all boxes of a frame; frames batched with set_image_batch."""

    def __init__(self, config: str, checkpoint: str | None, device: str, allow_random: bool = False) -> None:
        import torch

        try:
            from sam2.build_sam import build_sam2
            from sam2.sam2_image_predictor import SAM2ImagePredictor
        except ImportError as exc:
            raise MissingWeightsError(
                "the sam2 backend needs the sam2 package (SAM2_BUILD_CUDA=0 pip install --no-build-isolation sam2)"
            ) from exc
        if not allow_random and not (checkpoint and Path(checkpoint).is_file()):
            raise MissingWeightsError(
                f"SAM2 checkpoint not found: {checkpoint or '(masks.sam2.checkpoint is not set)'}. Download "
                "sam2.1_hiera_tiny.pt (or small / base_plus / large) from the SAM2 release page and set "
                "masks.sam2.checkpoint."
            )
        check_sam2_config(config, "masks.sam2.config")
        self.device = torch.device(device)
        model = build_sam2(config, None, device="cpu")  # weights loaded here, so a bad file gets a clear error
        if checkpoint:
            state = state_dict_of(load_torch_file(checkpoint, SAM2_KEY), checkpoint, SAM2_KEY, entry="model")
            load_into(model, state, checkpoint, SAM2_KEY, Path(config).stem, guess_sam2_config)
        self.model = model.to(self.device).eval()
        self.predictor = SAM2ImagePredictor(self.model)
        self.torch = torch

    def _autocast(self):
        import contextlib

        if self.device.type == "cuda":
            return self.torch.autocast("cuda", dtype=self.torch.bfloat16)
        return contextlib.nullcontext()

    def encode(self, images_rgb: list[np.ndarray]) -> None:
        with self.torch.inference_mode(), self._autocast():
            self.predictor.set_image_batch(images_rgb)

    def prompt(self, boxes_per_image: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Masks and scores for the images given to :meth:`encode`, all boxes of an image in one call (each image
        must have at least one box: callers leave frames without boxes out of the batch)."""
        with self.torch.inference_mode(), self._autocast():
            masks_list, scores_list, _ = self.predictor.predict_batch(
                box_batch=[b.astype(np.float32) for b in boxes_per_image], multimask_output=False
            )
        out = []
        for boxes, masks, scores in zip(boxes_per_image, masks_list, scores_list):
            masks = np.asarray(masks).reshape(len(boxes), -1, masks.shape[-2], masks.shape[-1])[:, 0] > 0
            out.append((masks, np.asarray(scores, np.float32).reshape(len(boxes), -1)[:, 0]))
        return out

    def prompt_each_box(self, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One ``predict`` call per box on the last encoded image (DepTR-MOT's way; for the benchmark)."""
        masks, scores = [], []
        with self.torch.inference_mode(), self._autocast():
            for box in boxes:
                m, s, _ = self.predictor.predict(box=box.astype(np.float32), multimask_output=False)
                masks.append(np.asarray(m).reshape(-1, m.shape[-2], m.shape[-1])[0] > 0)
                scores.append(float(np.asarray(s).reshape(-1)[0]))
        return np.stack(masks), np.asarray(scores, np.float32)

    def masks_one_call(self, image_rgb: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.encode([image_rgb])
        return self.prompt([boxes])[0]


class _CpuMasker:
    """Frame by frame (box or GrabCut, seeded by the frame number so a frame's masks never depend on others)."""

    batch_size = 1
    save_every_batch = False
    attrs: dict = {}

    def __init__(self, segment_one) -> None:  # noqa: ANN001
        self.segment_one = segment_one

    def segment(self, batch: list[tuple[int, np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
        return [self.segment_one(t, image, boxes) for t, image, boxes in batch]


class _Sam2BatchMasker:
    """SAM2 over a batch of frames: images encoded together, all boxes of a frame in one prompt call."""

    save_every_batch = True

    def __init__(self, masker: Sam2Masker, batch_size: int, model_config: str) -> None:
        self.masker, self.batch_size = masker, batch_size
        self.attrs = {"model_config": model_config}

    def segment(self, batch: list[tuple[int, np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
        self.masker.encode([cv2.cvtColor(image, cv2.COLOR_BGR2RGB) for _, image, _ in batch])
        return self.masker.prompt([boxes for _, _, boxes in batch])


class BoxBackend:
    """``box``: the box itself as the mask (DepTR-MOT's ablation baseline)."""

    name = "box"

    def check(self, block: dict, key: str, context) -> None:  # noqa: ANN001
        return None

    def uses_gpu(self, block: dict) -> bool:
        return False

    def masker(self, block: dict, device_key: str) -> _CpuMasker:
        return _CpuMasker(lambda t, image, boxes: box_masks(image, boxes))


class GrabCutBackend:
    """``grabcut``: OpenCV GrabCut seeded by the box (CPU, no weights)."""

    name = "grabcut"

    def check(self, block: dict, key: str, context) -> None:  # noqa: ANN001
        return None

    def uses_gpu(self, block: dict) -> bool:
        return False

    def masker(self, block: dict, device_key: str) -> _CpuMasker:
        settings = block["grabcut"]
        iterations, margin = int(settings["iterations"]), float(settings["margin"])
        return _CpuMasker(lambda t, image, boxes: grabcut_masks(image, boxes, iterations, margin, seed=t))


class Sam2Backend:
    """``sam2``: SAM2's image predictor with box prompts (weights from a local checkpoint)."""

    name = "sam2"

    def check(self, block: dict, key: str, context) -> None:  # noqa: ANN001
        from motforge.errors import ConfigError

        check_sam2_config(block["sam2"]["config"], f"{key}.sam2.config")
        checkpoint = block["sam2"]["checkpoint"]
        if not (checkpoint and (context.base_dir / checkpoint).is_file()):
            raise ConfigError(
                f"{key}.sam2.checkpoint",
                f"SAM2 weights {checkpoint!r} not found (download sam2.1_hiera_*.pt from the SAM2 release)",
            )

    def uses_gpu(self, block: dict) -> bool:
        return True

    def masker(self, block: dict, device_key: str, sam2_masker: Sam2Masker | None = None) -> _Sam2BatchMasker:
        from motforge.io.device import resolve_device

        sam = block["sam2"]
        masker = sam2_masker or Sam2Masker(
            sam["config"], sam["checkpoint"], str(resolve_device(block["device"], device_key))
        )
        return _Sam2BatchMasker(masker, int(sam["batch_size"]), sam["config"])


BOX, GRABCUT, SAM2 = BoxBackend(), GrabCutBackend(), Sam2Backend()
