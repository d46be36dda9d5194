"""Deformable-DETR encoder and decoder with iterative box refinement (Zhu et al. 2021, sec. 4.1 and appendix A.4).

Encoder layer: deformable self-attention over all levels (each pixel's reference point is its own centre) + FFN.
Decoder layer: self-attention between queries (with an optional boolean mask, True = blocked, used by MOTRv3's track
group denoising) + deformable cross-attention around the query's reference box + FFN. After every decoder layer a
per-layer head predicts a box delta in logit space added to the reference (iterative refinement); the refined box,
detached, is the next layer's reference. Query positions are a sine embedding of the reference box through an MLP
(the anchor-query form used by MOTRv2 / DAB-DETR), so detect, track and proposal queries share one mechanism.
Upstream layout: fundamentalvision/Deformable-DETR models/deformable_transformer.py (learned from, not copied).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn

from motforge.families.query.boxes import inverse_sigmoid
from motforge.families.query.deform_attn import MSDeformAttn
from motforge.nn.mlp import MLP


def sine_embed(coords: torch.Tensor, feats: int, temperature: float = 10000.0) -> torch.Tensor:
    """[..., K] coordinates in [0, 1] -> [..., K * feats] interleaved sin/cos (DETR's sine positional encoding)."""
    scale = 2 * math.pi
    dim_t = torch.arange(feats, dtype=torch.float32, device=coords.device)
    dim_t = temperature ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / feats)
    pos = coords[..., None] * scale / dim_t
    pos = torch.stack([pos[..., 0::2].sin(), pos[..., 1::2].cos()], dim=-1).flatten(-2)
    return pos.flatten(-2)


def feature_positions(h: int, w: int, d: int, device: torch.device) -> torch.Tensor:
    """[H * W, d] sine embedding of each pixel centre (y then x, d / 2 features each)."""
    ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h
    xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return sine_embed(torch.stack([yy.flatten(), xx.flatten()], -1), d // 2)


class FFN(nn.Module):
    def __init__(self, d: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, d))
        self.norm = nn.LayerNorm(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x + self.net(x))


class EncoderLayer(nn.Module):
    def __init__(self, d: int, ffn: int, levels: int, heads: int, points: int) -> None:
        super().__init__()
        self.attn = MSDeformAttn(d, levels, heads, points)
        self.norm = nn.LayerNorm(d)
        self.ffn = FFN(d, ffn)

    def forward(
        self, src: torch.Tensor, pos: torch.Tensor, ref: torch.Tensor, shapes: list[tuple[int, int]]
    ) -> torch.Tensor:
        src = self.norm(src + self.attn(src + pos, ref, src, shapes))
        return self.ffn(src)


class DecoderLayer(nn.Module):
    def __init__(self, d: int, ffn: int, levels: int, heads: int, points: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.norm1 = nn.LayerNorm(d)
        self.cross = MSDeformAttn(d, levels, heads, points)
        self.norm2 = nn.LayerNorm(d)
        self.ffn = FFN(d, ffn)

    def forward(
        self,
        tgt: torch.Tensor,
        query_pos: torch.Tensor,
        ref: torch.Tensor,
        memory: torch.Tensor,
        shapes: list[tuple[int, int]],
        attn_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        q = k = tgt + query_pos
        tgt = self.norm1(tgt + self.self_attn(q, k, tgt, attn_mask=attn_mask, need_weights=False)[0])
        levels = ref[:, :, None, :].expand(-1, -1, len(shapes), -1)
        tgt = self.norm2(tgt + self.cross(tgt + query_pos, levels, memory, shapes))
        return self.ffn(tgt)


@dataclass
class Memory:
    """Encoder output of one frame: flattened levels [1, S, d] and their (H, W)."""

    src: torch.Tensor
    shapes: list[tuple[int, int]]


@dataclass
class DecoderOutput:
    """Per decoder layer l: logits [L, Q], boxes [L, Q, 4] (cx, cy, w, h), hidden [L, Q, d]; refs [L, Q, 4] is the
    (detached) reference box each layer refined, which SGLA's shared head reuses."""

    logits: torch.Tensor
    boxes: torch.Tensor
    hidden: torch.Tensor
    refs: torch.Tensor


class DeformableTransformer(nn.Module):
    def __init__(
        self, d: int, ffn: int, levels: int, heads: int, points: int, enc_layers: int, dec_layers: int
    ) -> None:
        super().__init__()
        self.d = d
        self.level_embed = nn.Parameter(torch.randn(levels, d) * 0.02)
        self.encoder = nn.ModuleList(EncoderLayer(d, ffn, levels, heads, points) for _ in range(enc_layers))
        self.decoder = nn.ModuleList(DecoderLayer(d, ffn, levels, heads, points) for _ in range(dec_layers))
        self.query_pos = MLP(d, d, d, 2)
        self.class_heads = nn.ModuleList(nn.Linear(d, 1) for _ in range(dec_layers))
        self.box_heads = nn.ModuleList(MLP(d, d, 4, 3) for _ in range(dec_layers))
        prior = -math.log((1 - 0.01) / 0.01)  # focal-loss prior probability 0.01 (Deformable DETR)
        for head in self.class_heads:
            nn.init.constant_(head.bias, prior)
        for head in self.box_heads:
            nn.init.zeros_(head.layers[-1].weight)
            nn.init.zeros_(head.layers[-1].bias)

    def encode(self, features: list[torch.Tensor]) -> Memory:
        """FPN levels [1, d, H_l, W_l] -> encoder memory."""
        srcs, poss, refs, shapes = [], [], [], []
        for level, f in enumerate(features):
            _, _, h, w = f.shape
            shapes.append((h, w))
            srcs.append(f.flatten(2).transpose(1, 2))
            poss.append(feature_positions(h, w, self.d, f.device)[None] + self.level_embed[level])
            ys = (torch.arange(h, device=f.device, dtype=f.dtype) + 0.5) / h
            xs = (torch.arange(w, device=f.device, dtype=f.dtype) + 0.5) / w
            yy, xx = torch.meshgrid(ys, xs, indexing="ij")
            refs.append(torch.stack([xx.flatten(), yy.flatten()], -1))
        src, pos = torch.cat(srcs, 1), torch.cat(poss, 1)
        ref = torch.cat(refs, 0)[None, :, None, :].expand(-1, -1, len(shapes), -1)
        for layer in self.encoder:
            src = layer(src, pos, ref, shapes)
        return Memory(src, shapes)

    def box_from(self, layer: int, hidden: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        """Layer ``layer``'s box head: refine ``ref`` (cx, cy, w, h) by the delta predicted from ``hidden``."""
        return (self.box_heads[layer](hidden) + inverse_sigmoid(ref)).sigmoid()

    def decode(
        self, memory: Memory, content: torch.Tensor, ref: torch.Tensor, attn_mask: torch.Tensor | None = None
    ) -> DecoderOutput:
        """content [Q, d], ref [Q, 4] normalised boxes; attn_mask [Q, Q] bool, True = query i may not see key j."""
        # the first reference keeps its gradient (learned anchors are trained through layer 1's box); later ones
        # are detached as in Deformable DETR's iterative refinement
        tgt, ref = content[None], ref[None]
        logits, boxes, hidden, refs = [], [], [], []
        for layer_idx, layer in enumerate(self.decoder):
            query_pos = self.query_pos(sine_embed(ref, self.d // 4))
            tgt = layer(tgt, query_pos, ref, memory.src, memory.shapes, attn_mask)
            box = self.box_from(layer_idx, tgt, ref)
            logits.append(self.class_heads[layer_idx](tgt)[0, :, 0])
            boxes.append(box[0])
            hidden.append(tgt[0])
            refs.append(ref[0])
            ref = box.detach()
        return DecoderOutput(torch.stack(logits), torch.stack(boxes), torch.stack(hidden), torch.stack(refs))
