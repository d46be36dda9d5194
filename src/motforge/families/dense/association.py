"""LA-MOTR's Spatial-Guided Learnable Association (section 3.2): relative box differences between tracklets and
detections, embedded by an MLP, guide L layers of spatial-weighted attention over the joint set of detection and
tracklet embeddings, and refine an association matrix M whose sigmoid is the association score.

A_l = softmax(Q K^T / sqrt(d) + M_l W_asso);  O_{l+1} = O_l + A_l V;  M_{l+1} = M_l + A_l W_upd  (on the
detection-tracklet block of the attention matrix).
"""

from __future__ import annotations

import torch
import torch.nn as nn


def box_differences(det_boxes: torch.Tensor, track_boxes: torch.Tensor) -> torch.Tensor:
    """[Nd, 4] and [Nt, 4] xyxy -> [Nd, Nt, 4]: centre offsets over the tracklet size and log size ratios."""

    def cxcywh(b: torch.Tensor) -> torch.Tensor:
        wh = (b[:, 2:] - b[:, :2]).clamp(min=1.0)
        return torch.cat([(b[:, :2] + b[:, 2:]) / 2, wh], dim=1)

    d, t = cxcywh(det_boxes)[:, None], cxcywh(track_boxes)[None]
    return torch.cat([(d[..., :2] - t[..., :2]) / t[..., 2:], torch.log(d[..., 2:] / t[..., 2:])], dim=-1)


class SpatialWeightedAttention(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.w_asso = nn.Parameter(torch.tensor(1.0))
        self.w_upd = nn.Parameter(torch.tensor(1.0))
        self.norm = nn.LayerNorm(dim)
        self.scale = dim**-0.5

    def forward(
        self, objects: torch.Tensor, tracks: torch.Tensor, assoc: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        nd = objects.shape[0]
        o = torch.cat([objects, tracks], dim=0)
        n = o.shape[0]
        bias = torch.zeros(n, n, device=o.device, dtype=o.dtype)
        bias[:nd, nd:] = assoc * self.w_asso
        bias[nd:, :nd] = assoc.t() * self.w_asso
        attention = torch.softmax(self.q(o) @ self.k(o).t() * self.scale + bias, dim=-1)
        o = self.norm(o + attention @ self.v(o))
        assoc = assoc + attention[:nd, nd:] * self.w_upd * n
        return o[:nd], o[nd:], assoc


class LearnableAssociation(nn.Module):
    def __init__(self, dim: int, layers: int = 2) -> None:
        super().__init__()
        self.diff_mlp = nn.Sequential(nn.Linear(4, 64), nn.ReLU(inplace=True), nn.Linear(64, 1))
        self.layers = nn.ModuleList(SpatialWeightedAttention(dim) for _ in range(layers))

    def forward(
        self, det_emb: torch.Tensor, det_boxes: torch.Tensor, track_emb: torch.Tensor, track_boxes: torch.Tensor
    ) -> torch.Tensor:
        """Association logits [Nd, Nt]."""
        if det_emb.shape[0] == 0 or track_emb.shape[0] == 0:
            return det_emb.new_zeros(det_emb.shape[0], track_emb.shape[0])
        assoc = self.diff_mlp(box_differences(det_boxes, track_boxes))[..., 0]
        objects, tracks = det_emb, track_emb
        for layer in self.layers:
            objects, tracks, assoc = layer(objects, tracks, assoc)
        return assoc
