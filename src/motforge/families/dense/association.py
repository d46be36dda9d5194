"""LA-MOTR's Spatial-Guided Learnable Association (sec. 3.2) in the `dense` family: the shared SGLA module
(``motforge.nn.sgla``, the one the `query` family uses) between the detections of a frame and the live tracklets.

The dense family has no decoder layers whose boxes move from layer to layer, so every SGLA layer recomputes its
relative-spatial cues from the same boxes: the detections' boxes and the tracklets' last boxes, as (cx, cy, w, h)
over the image size (the query family's normalised box format). M_(0) = 0; the score is S = sigmoid(M_(L) w).
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torchvision.ops import box_convert

from motforge.nn.sgla import LearnableAssociation


def normalised_cxcywh(boxes: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """[N, 4] xyxy pixels -> (cx, cy, w, h) over (width, height)."""
    width, height = size
    return box_convert(boxes, "xyxy", "cxcywh") / boxes.new_tensor([width, height, width, height])


class DenseAssociation(nn.Module):
    """SGLA over (detection, tracklet) embeddings; returns association logits [Nd, Nt]."""

    def __init__(self, dim: int, heads: int = 4, layers: int = 2) -> None:
        super().__init__()
        self.sgla = LearnableAssociation(dim, heads, layers, cues=True)

    def forward(
        self,
        det_emb: torch.Tensor,
        det_boxes: torch.Tensor,
        track_emb: torch.Tensor,
        track_boxes: torch.Tensor,
        size: tuple[int, int],
    ) -> torch.Tensor:
        if det_emb.shape[0] == 0 or track_emb.shape[0] == 0:
            return det_emb.new_zeros(det_emb.shape[0], track_emb.shape[0])
        det_b, track_b = normalised_cxcywh(det_boxes, size), normalised_cxcywh(track_boxes, size)
        _, _, logits = self.sgla(det_emb, track_emb, lambda _obj, _tck: (det_b, track_b))
        return logits
