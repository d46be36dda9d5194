"""Turn a training clip as motforge's loader yields it (``motforge.training.clips.ClipDataset``: uint8 images
[T, 3, H, W], per-frame pixel xyxy ``boxes`` and ``ids``, optional ``pseudo_boxes`` / ``pseudo_scores`` from the
cached detector) into the query family's ``ClipFrame`` list: ImageNet-normalised images and boxes as normalised
(cx, cy, w, h) clipped to the frame, the convention of Deformable DETR and MOTR. Boxes left with no area are dropped.
"""

from __future__ import annotations

import torch

from motforge.families.query.boxes import xyxy_to_cxcywh
from motforge.families.query.clip_loss import ClipFrame

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def normalise_image(image: torch.Tensor) -> torch.Tensor:
    """uint8 or 0..255 float [3, H, W] RGB -> ImageNet-normalised float."""
    return (image.float() / 255.0 - MEAN.to(image.device)) / STD.to(image.device)


def normalise_boxes(xyxy: torch.Tensor, width: int, height: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel xyxy [N, 4] -> (normalised cxcywh of the boxes with area inside the frame, their keep mask [N])."""
    scale = torch.tensor([width, height, width, height], dtype=torch.float32, device=xyxy.device)
    b = (xyxy.float() / scale).clamp(0.0, 1.0)
    keep = (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
    return xyxy_to_cxcywh(b[keep]), keep


def frames_from_clip(clip: dict) -> list[ClipFrame]:
    images = clip["images"]
    height, width = images.shape[-2:]
    frames = []
    for t in range(images.shape[0]):
        gt, keep = normalise_boxes(clip["boxes"][t], width, height)
        ids = clip["ids"][t][keep].long()
        if "pseudo_boxes" in clip:
            det, dkeep = normalise_boxes(clip["pseudo_boxes"][t], width, height)
            scores = clip["pseudo_scores"][t][dkeep].float()
        else:
            det, scores = torch.zeros(0, 4), torch.zeros(0)
        frames.append(ClipFrame(normalise_image(images[t]), gt, ids, det, scores))
    return frames
