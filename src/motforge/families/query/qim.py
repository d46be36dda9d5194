"""MOTR's query interaction between frames (MOTR sec. 3.4: QIM, its temporal aggregation network).

The output embeddings of the kept and newborn track queries attend to each other (multi-head self-attention with a
sine embedding of their predicted boxes as position), pass an FFN, and the result updates the query content by a
residual MLP and LayerNorm. Upstream: megvii-research/MOTR models/qim.py (QueryInteractionModule), learned from.
MOTR's random track drop and false-positive insertion, the other half of its QIM, live in ``augment.py``.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from motforge.families.query.transformer import FFN, sine_embed
from motforge.nn.mlp import MLP


class QueryInteraction(nn.Module):
    def __init__(self, d: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.d = d
        self.pos = MLP(d, d, d, 2)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.norm = nn.LayerNorm(d)
        self.ffn = FFN(d, ffn)
        self.update = MLP(d, ffn, d, 2)
        self.norm_query = nn.LayerNorm(d)

    def forward(self, query: torch.Tensor, hidden: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """query [N, d] (the track queries' content), hidden [N, d] (their decoder outputs), boxes [N, 4]."""
        if query.shape[0] == 0:
            return query
        pos = self.pos(sine_embed(boxes.detach(), self.d // 4))[None]
        x = hidden[None]
        x = self.norm(x + self.attn(x + pos, x + pos, x, need_weights=False)[0])
        x = self.ffn(x)[0]
        return self.norm_query(query + self.update(x))
