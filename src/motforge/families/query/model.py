"""The query-family network: motforge's backbone + FPN, the Deformable-DETR transformer, and the query sources.

* Detect queries: learned content + learned anchor boxes (the "MOTR with anchor queries" baseline of MOTRv3 sec. 4.4).
* MOTRv2 proposals (MOTRv2 sec. 3.2, upstream megvii-research/MOTRv2 models/motr.py): one query per detector box,
  anchored on the box, whose content is a shared learned embedding plus a sine embedding of the detector score; the
  learned detect queries stay beside them as in MOTRv2.
* Track queries carry content and reference box from frame to frame; ``next_content`` is MOTR's QIM
  (``qim.QueryInteraction``) or, with LA-MOTR's tracklet update, eq. 2 (``sgla.tracklet_update``).
* With separated detection (LA-MOTR sec. 3.1) the decoder outputs go through SGLA (sec. 3.2); the detection head of
  the last decoder layer is shared with SGLA's per-layer box cues and gives the final predictions (sec. 3.3).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from motforge.families.query.boxes import inverse_sigmoid
from motforge.families.query.config import QueryModelConfig
from motforge.families.query.qim import QueryInteraction
from motforge.families.query.transformer import DecoderOutput, DeformableTransformer, Memory, sine_embed
from motforge.nn.backbone import BackboneFPN
from motforge.nn.sgla import LearnableAssociation


@dataclass
class Association:
    """SGLA result for one frame: refined object/tracklet outputs, their predictions and association logits."""

    obj_hidden: torch.Tensor
    tck_hidden: torch.Tensor
    logits: torch.Tensor  # [Nd + Nt] class logits from the shared head
    boxes: torch.Tensor  # [Nd + Nt, 4]
    assoc: torch.Tensor  # [Nd, Nt] association logits


class QueryTracker(nn.Module):
    def __init__(self, cfg: QueryModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.backbone = BackboneFPN(cfg.backbone, d, cfg.pretrained)
        self.transformer = DeformableTransformer(
            d, cfg.ffn_dim, 3, cfg.n_heads, cfg.n_points, cfg.enc_layers, cfg.dec_layers
        )
        self.query_content = nn.Embedding(cfg.num_queries, d)
        anchors = torch.rand(cfg.num_queries, 4, generator=torch.Generator().manual_seed(0))
        anchors[:, 2:] = 0.05 + 0.25 * anchors[:, 2:]
        self.anchor_logits = nn.Parameter(inverse_sigmoid(anchors))
        self.proposal_content = nn.Embedding(1, d) if cfg.proposals else None
        self.qim = QueryInteraction(d, cfg.n_heads, cfg.ffn_dim) if cfg.qim and not cfg.tracklet_update else None
        self.sgla = (
            LearnableAssociation(d, cfg.n_heads, cfg.sgla_layers, cfg.sgla_cues) if cfg.sotd and cfg.sgla else None
        )

    def encode(self, image: torch.Tensor) -> Memory:
        """image [3, H, W] normalised -> encoder memory."""
        return self.transformer.encode(self.backbone(image[None]))

    def detect_queries(self, proposals: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Content [M, d] and reference boxes [M, 4]; ``proposals`` [P, 5] (cx, cy, w, h, score) with the switch."""
        content, ref = self.query_content.weight, self.anchor_logits.sigmoid()
        if self.proposal_content is not None:
            if proposals is None:
                raise ValueError("the proposals switch is on but no detector boxes were given for this frame")
            score = sine_embed(proposals[:, 4:5], self.cfg.d_model)
            content = torch.cat([content, score + self.proposal_content.weight])
            ref = torch.cat([ref, proposals[:, :4]])
        return content, ref

    def decode(
        self, memory: Memory, content: torch.Tensor, ref: torch.Tensor, attn_mask: torch.Tensor | None = None
    ) -> DecoderOutput:
        return self.transformer.decode(memory, content, ref, attn_mask)

    def associate(self, out: DecoderOutput, n_obj: int, n_orig: int) -> Association:
        """SGLA over the last decoder layer's object outputs [0, n_obj) and tracklet outputs [n_obj, n_orig)."""
        if self.sgla is None:
            raise RuntimeError("associate() needs sotd and sgla on")
        last = self.cfg.dec_layers - 1
        ref = out.refs[last, :n_orig]

        def boxes(obj: torch.Tensor, tck: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            b = self.transformer.box_from(last, torch.cat([obj, tck]), ref)
            return b[:n_obj], b[n_obj:]

        hidden = out.hidden[last, :n_orig]
        obj, tck, assoc = self.sgla(hidden[:n_obj], hidden[n_obj:], boxes)
        joint = torch.cat([obj, tck])
        logits = self.transformer.class_heads[last](joint)[:, 0]
        return Association(obj, tck, logits, self.transformer.box_from(last, joint, ref), assoc)

    def next_content(self, query: torch.Tensor, hidden: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """MOTR's QIM update of track-query content (identity on the output when QIM is off)."""
        return hidden if self.qim is None else self.qim(query, hidden, boxes)
