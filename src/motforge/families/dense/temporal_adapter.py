"""FDTA Temporal Adapter (section 3.3): a transformer encoder over each track's history with the causal-and-missing
attention mask of eq. 3 and sinusoidal time encoding.

M[j, k] = 1 (blocked) if k > j (future) or frame k is missing; the diagonal is always kept so a query frame never
has an empty attention row (a missing query frame attends to itself only and its output is not used).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from motforge.families.dense.spatial_adapter import sinusoidal_encoding


def causal_missing_mask(present: torch.Tensor) -> torch.Tensor:
    """present [B, T] bool -> blocked [B, T, T] bool (True = may not attend)."""
    steps = present.shape[1]
    future = torch.triu(torch.ones(steps, steps, dtype=torch.bool, device=present.device), diagonal=1)
    missing = ~present[:, None, :].expand(-1, steps, -1)
    blocked = future[None] | missing
    eye = torch.eye(steps, dtype=torch.bool, device=present.device)[None]
    return blocked & ~eye


class TemporalAdapter(nn.Module):
    def __init__(self, dim: int, layers: int, heads: int = 4) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.heads = heads
        self.dim = dim

    def forward(self, history: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """history [B, T, D] (missing frames arbitrary), present [B, T] -> refined [B, T, D]."""
        steps = history.shape[1]
        time = sinusoidal_encoding(
            torch.arange(steps, device=history.device, dtype=torch.float32), self.dim, scale=100.0
        )
        x = torch.where(present[..., None], history, torch.zeros_like(history)) + time[None]
        mask = causal_missing_mask(present).repeat_interleave(self.heads, dim=0)
        return self.encoder(x, mask=mask)
