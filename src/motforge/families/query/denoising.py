"""MOTRv3's track group denoising (sec. 3.4, eq. 4; appendix B).

The N track queries are copied into K groups (K = 4 in the paper) appended after the M detect and N original track
queries. Each copy's reference box is scaled, never moved: centres stay, width and height are multiplied by
1 + u, u ~ U(-scale, scale), so every group keeps the original track queries' assignment (no re-matching).
MOTRv3 gives no value for the scale range; ``denoising.scale`` (0.4) is motforge's choice.
The self-attention mask stops leakage (eq. 4): an original query never sees an augmented one, and an augmented query
sees only its own group. Eq. 4 writes ``j > M + N`` with 0-based ids; read literally the first augmented query would
stay visible to the originals, so the boundary is taken as ``j >= M + N`` (the intent stated in appendix B).
"""

from __future__ import annotations

import torch


def scale_boxes(ref: torch.Tensor, groups: int, scale: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """[N, 4] (cx, cy, w, h) -> [groups * N, 4]: group g's boxes are rows g*N .. g*N+N-1."""
    copies = ref.detach().repeat(groups, 1)
    u = torch.rand(copies.shape[0], 2, generator=generator, device=ref.device if generator is None else "cpu")
    factor = 1 + (2 * u.to(ref.device) - 1) * scale
    wh = (copies[:, 2:] * factor).clamp(min=1e-4, max=1.0)
    return torch.cat([copies[:, :2], wh], dim=1)


def group_mask(n_detect: int, n_track: int, groups: int, device: torch.device | None = None) -> torch.Tensor:
    """[S, S] bool, S = M + N + K N; True where query i may not attend to key j (eq. 4's a_ij = 1)."""
    base = n_detect + n_track
    size = base + groups * n_track
    idx = torch.arange(size, device=device)
    within = torch.div(idx - base, max(n_track, 1), rounding_mode="floor")
    group = torch.where(idx >= base, within, torch.full_like(idx, -1))
    i, j = group[:, None], group[None, :]
    original_sees_augmented = (i < 0) & (j >= 0)
    augmented_other_group = (i >= 0) & (i != j)
    return original_sees_augmented | augmented_other_group
