"""MOTIP's ID decoder (Gao et al., "Multiple Object Tracking as ID Prediction"), FDTA's association (sec. 3.5, eq. 9).

Association as in-context ID prediction. Each clip (or, online, each set of live tracks) gets labels from a
dictionary of K ID tokens; a history token is an object's feature concatenated with its ID token's embedding, a
current token is a detection's feature concatenated with the embedding of the newborn token (index K). L decoder
layers (post-norm; self-attention among the current tokens of one frame, skipped in the first layer;
cross-attention to the history; FFN) and a linear head on the ID half of each token give logits over K + 1
classes (K = "newborn"); L_ID is their cross-entropy, averaged over the current tokens.

Where FDTA and MOTIP's paper are silent this follows MOTIP's code (MCG-NJU/MOTIP, ``models/motip/id_decoder.py``,
``runtime_tracker.py`` and its DanceTrack config): token width = feature + ID width, heads of 32 channels, FFN
ratio 2 with GELU, attention with a zero key/value (``add_zero_attn``) so a current token without history is
defined; a learned per-layer, per-head bias indexed by the frame difference (current - history, < ``rel_pe_length``)
added to the cross-attention logits; a current token sees only history of strictly earlier frames; the history
features are the trajectory-modelled ones (in FDTA: the Temporal Adapter's output), current features raw.
Online, detections take their arg-max ID ("object-max", MOTIP's DanceTrack setting), see ``object_max``.
Not (yet) as MOTIP: one random labelling per clip (MOTIP trains 6 groups) and no trajectory-switch augmentation
(MOTIP: p = 0.5); motforge's occlusion hides single frames (``augment.occlusion``), MOTIP hides spans with p = 0.5.
The relative bias is learned only for the frame differences a training clip contains (clip.length - 1): with the
CPU config's 4-frame clips, differences of 4 and more keep their zero start while tracking reads up to 29.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

NEG = float("-inf")


class IDDecoderLayer(nn.Module):
    def __init__(self, width: int, heads: int, ffn: int, self_attention: bool) -> None:
        super().__init__()
        self.self_attn = (
            nn.MultiheadAttention(width, heads, batch_first=True, add_zero_attn=True) if self_attention else None
        )
        self.self_norm = nn.LayerNorm(width) if self_attention else None
        self.cross_attn = nn.MultiheadAttention(width, heads, batch_first=True, add_zero_attn=True)
        self.cross_norm = nn.LayerNorm(width)
        self.ffn = nn.Sequential(nn.Linear(width, ffn), nn.GELU(), nn.Linear(ffn, width))
        self.ffn_norm = nn.LayerNorm(width)

    def forward(self, current, history, self_mask, cross_mask) -> torch.Tensor:
        if self.self_attn is not None:
            current = self.self_norm(current + self.self_attn(current, current, current, attn_mask=self_mask)[0])
        current = self.cross_norm(current + self.cross_attn(current, history, history, attn_mask=cross_mask)[0])
        return self.ffn_norm(current + self.ffn(current))


class IDDecoder(nn.Module):
    def __init__(
        self, feature_dim: int, num_ids: int, layers: int, head_dim: int, ffn_ratio: int, rel_pe_length: int
    ) -> None:
        super().__init__()
        width = 2 * feature_dim  # feature + ID embedding (MOTIP: equal halves)
        if width % head_dim:
            raise ValueError(f"ID decoder width {width} is not a multiple of head_dim {head_dim}")
        self.num_ids, self.rel_pe_length, self.heads = num_ids, rel_pe_length, width // head_dim
        self.id_embed = nn.Embedding(num_ids + 1, feature_dim)  # MOTIP's bias-free Linear on one-hot labels
        self.layers = nn.ModuleList(
            IDDecoderLayer(width, self.heads, ffn_ratio * width, self_attention=i > 0) for i in range(layers)
        )
        self.classify = nn.Linear(feature_dim, num_ids + 1, bias=False)
        for weight in self.parameters():  # MOTIP: xavier_uniform on every matrix
            if weight.dim() > 1:
                nn.init.xavier_uniform_(weight)
        self.rel_bias = nn.Parameter(torch.zeros(layers, rel_pe_length, self.heads))  # zero-initialised as MOTIP

    def forward(
        self,
        current: torch.Tensor,
        current_time: torch.Tensor,
        history: torch.Tensor,
        history_ids: torch.Tensor,
        history_time: torch.Tensor,
    ) -> torch.Tensor:
        """current [Nq, C] features of frames ``current_time`` [Nq]; history [Ns, C] trajectory features with ID labels
        ``history_ids`` [Ns] (0..K-1) of frames ``history_time`` [Ns] -> logits [Nq, K + 1]. Current tokens of one
        frame attend to each other; each attends to history tokens of frames 1..rel_pe_length-1 earlier."""
        newborn = self.id_embed.weight[self.num_ids].expand(current.shape[0], -1)
        q = torch.cat([current, newborn], dim=1)[None]
        kv = torch.cat([history, self.id_embed(history_ids)], dim=1)[None]
        same_frame = current_time[:, None] == current_time[None, :]
        self_mask = torch.zeros(q.shape[1], q.shape[1], device=q.device).masked_fill(~same_frame, NEG)
        delta = current_time[:, None] - history_time[None, :]  # [Nq, Ns]
        visible = (delta > 0) & (delta < self.rel_pe_length)
        x = q
        for i, layer in enumerate(self.layers):
            bias = self.rel_bias[i][delta.clamp(0, self.rel_pe_length - 1)]  # [Nq, Ns, H]
            cross = bias.permute(2, 0, 1).masked_fill(~visible[None], NEG)  # [H, Nq, Ns]
            heads_self = self_mask[None].expand(self.heads, -1, -1)
            x = layer(x, kv, heads_self, cross)
        return self.classify(x[0, :, -self.classify.in_features :])


def clip_id_labels(identities: torch.Tensor, num_ids: int, generator: torch.Generator) -> dict[int, int]:
    """MOTIP's per-clip labels: a random permutation of the K dictionary IDs given to the clip's identities (when a
    clip has more than K identities, a random K of them get labels and the rest are left out)."""
    order = torch.randperm(len(identities), generator=generator)[:num_ids]
    labels = torch.randperm(num_ids, generator=generator)[: len(order)]
    return {int(identities[o]): int(label) for o, label in zip(order.tolist(), labels.tolist())}


def id_targets(
    frame_ids: list[torch.Tensor], visible: list[torch.Tensor], labels: dict[int, int], num_ids: int
) -> list[torch.Tensor]:
    """Per frame, the target class of every object: its label when the identity has a visible token in an earlier
    frame of the clip, else K (newborn); -1 for objects without a label or not visible (ignored)."""
    seen: set[int] = set()
    targets = []
    for ids, vis in zip(frame_ids, visible):
        t = torch.full((len(ids),), -1, dtype=torch.long)
        for row, ident in enumerate(ids.tolist()):
            if ident in labels and bool(vis[row]):
                t[row] = labels[ident] if ident in seen else num_ids
        targets.append(t)
        seen |= {i for i, v in zip(ids.tolist(), vis.tolist()) if v and i in labels}
    return targets


def id_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """L_ID: cross-entropy over K + 1 classes, the mean over current tokens with a target (MOTIP)."""
    keep = targets >= 0
    if not keep.any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits[keep], targets[keep])


def object_max(probs: torch.Tensor, live: set[int], id_score: float) -> list[int | None]:
    """MOTIP's object-max assignment: each detection takes its arg-max class; it is newborn (None) when that class is
    the newborn token or no live track's label, when the probability is below ``id_score``, or when another
    detection claims the same label with a higher probability."""
    conf, label = probs.max(dim=1)
    best: dict[int, int] = {}
    for d, (c, lab) in enumerate(zip(conf.tolist(), label.tolist())):
        if lab in live and c >= id_score and (lab not in best or c > conf[best[lab]]):
            best[lab] = d
    owner = {d: lab for lab, d in best.items()}
    return [owner.get(d) for d in range(probs.shape[0])]
