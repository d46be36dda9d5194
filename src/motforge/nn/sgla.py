"""LA-MOTR's Spatial-Guided Learnable Association (sec. 3.2) and tracklet update (sec. 3.4, eq. 2), shared by the
`query` family (components.sotd / sgla) and the `dense` family (components.learnable_association).

Per layer l (M_(0) = 0, an Nd x Nt x d tensor):
  B_(l)^diff = B_(l)^obj[:, None] - B_(l)^tck[None]   (pairwise (cx, cy, w, h) differences of the layer's boxes,
               produced by the detection head shared with sec. 3.3), E_(l)^diff = MLP(B_(l)^diff)  [Nd, Nt, d]
  M'_(l)     = M_(l) + E_(l)^diff                     ("we add E^diff to the association matrix")
  A_(l)      = softmax(Q K^T / sqrt(d_k) + M'_(l) W^asso) over the concatenation O_(l) = [O^obj; O^tck]
  O_(l+1)    = O_(l) + A_(l) (O_(l) W^V),   M_(l+1) = M'_(l) + A_(l) W^upd
The M update is a choice: the paper writes M_(l+1) = M_(l) + A_(l) W^upd after saying that E^diff is added to the
association matrix, which leaves open whether the added cue stays in M; here it stays (M_(l+1) starts from M'_(l)),
so a pair's spatial cue accumulates over the layers, and the hand-computed test fixes this reading.
Choices where the paper is silent (the authors' code, PenK1nG/LA-MOTR, has no snapshot that could be read here;
checked again when the dense family started to share this module): attention has H heads,
so W^asso maps d -> H (one bias per head) and W^upd maps the H attention weights of the object->tracklet block back
to d; the bias is written into the object->tracklet block and, transposed, into the tracklet->object block (the other
blocks get none); the heads are joined by an output projection and a LayerNorm follows the residual (the paper's
O_(l+1) has neither). The association score is S = sigmoid(M_(L) w), w: d -> 1.
Without relative-spatial cues (Table 4, "SGLA w/o RSC") E^diff is left out.

Eq. 2: Q_(t+1)^tck = w O_t^tck + (1 - w) O^obj, where O^obj is the output of the object associated with the tracklet
(a tracklet with no associated object keeps w O^tck + (1 - w) O^tck = O^tck).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn

from motforge.nn.mlp import MLP


def relative_cues(obj_boxes: torch.Tensor, tck_boxes: torch.Tensor) -> torch.Tensor:
    """[Nd, 4], [Nt, 4] (cx, cy, w, h) -> [Nd, Nt, 4] pairwise differences B^obj - B^tck."""
    return obj_boxes[:, None, :] - tck_boxes[None, :, :]


class SpatialWeightedAttention(nn.Module):
    """One SGLA layer (Fig. 3)."""

    def __init__(self, d: int, heads: int, cues: bool) -> None:
        super().__init__()
        self.heads, self.dk = heads, d // heads
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.out = nn.Linear(d, d)
        self.w_asso = nn.Linear(d, heads)
        self.w_upd = nn.Linear(heads, d)
        self.cue = MLP(4, d, d, 2) if cues else None
        self.norm = nn.LayerNorm(d)

    def attention(self, o: torch.Tensor, assoc: torch.Tensor, nd: int) -> torch.Tensor:
        """[N, d] joint embeddings, [Nd, Nt, d] matrix -> [H, N, N] attention A_(l)."""
        n = o.shape[0]
        q = self.q(o).view(n, self.heads, self.dk).transpose(0, 1)
        k = self.k(o).view(n, self.heads, self.dk).transpose(0, 1)
        logits = q @ k.transpose(1, 2) / self.dk**0.5
        bias = torch.zeros_like(logits)
        per_head = self.w_asso(assoc).permute(2, 0, 1)  # [H, Nd, Nt]
        bias[:, :nd, nd:] = per_head
        bias[:, nd:, :nd] = per_head.transpose(1, 2)
        return (logits + bias).softmax(-1)

    def forward(
        self,
        obj: torch.Tensor,
        tck: torch.Tensor,
        assoc: torch.Tensor,
        obj_boxes: torch.Tensor,
        tck_boxes: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        nd = obj.shape[0]
        if self.cue is not None:
            assoc = assoc + self.cue(relative_cues(obj_boxes, tck_boxes))
        o = torch.cat([obj, tck], 0)
        a = self.attention(o, assoc, nd)
        v = self.v(o).view(o.shape[0], self.heads, self.dk).transpose(0, 1)
        mixed = (a @ v).transpose(0, 1).reshape(o.shape[0], -1)
        o = self.norm(o + self.out(mixed))
        assoc = assoc + self.w_upd(a[:, :nd, nd:].permute(1, 2, 0))
        return o[:nd], o[nd:], assoc


BoxFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class LearnableAssociation(nn.Module):
    """L SGLA layers and the score head; returns refined embeddings and association logits [Nd, Nt]."""

    def __init__(self, d: int, heads: int, layers: int, cues: bool) -> None:
        super().__init__()
        self.d = d
        self.layers = nn.ModuleList(SpatialWeightedAttention(d, heads, cues) for _ in range(layers))
        self.score = nn.Linear(d, 1)

    def forward(
        self, obj: torch.Tensor, tck: torch.Tensor, boxes: BoxFn
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """obj [Nd, d], tck [Nt, d]; ``boxes(obj, tck)`` is the shared detection head giving ([Nd, 4], [Nt, 4])."""
        assoc = obj.new_zeros(obj.shape[0], tck.shape[0], self.d)  # M_(0) = 0
        for layer in self.layers:
            obj_boxes, tck_boxes = boxes(obj, tck)
            obj, tck, assoc = layer(obj, tck, assoc, obj_boxes, tck_boxes)
        return obj, tck, self.score(assoc)[..., 0]


def tracklet_update(tck: torch.Tensor, obj: torch.Tensor, associated: torch.Tensor, w: float) -> torch.Tensor:
    """Eq. 2. tck [Nt, d], obj [Nd, d], associated [Nt] index of each tracklet's object or -1."""
    has = associated >= 0
    partner = torch.where(has[:, None], obj[associated.clamp(min=0)] if obj.shape[0] else tck, tck)
    return w * tck + (1 - w) * partner
