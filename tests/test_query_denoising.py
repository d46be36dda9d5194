"""MOTRv3 track group denoising (sec. 3.4, eq. 4, appendix B): scaled-not-moved boxes and the leakage mask."""

from __future__ import annotations

import torch

from motforge.families.query.denoising import group_mask, scale_boxes


def test_noise_keeps_centres_and_scales_sizes_within_the_range() -> None:
    ref = torch.tensor([[0.3, 0.4, 0.2, 0.1], [0.7, 0.6, 0.1, 0.3]])
    out = scale_boxes(ref, groups=4, scale=0.4, generator=torch.Generator().manual_seed(0))
    assert out.shape == (8, 4)
    assert torch.equal(out[:, :2], ref[:, :2].repeat(4, 1))  # centres untouched, group-major order
    ratio = out[:, 2:] / ref[:, 2:].repeat(4, 1)
    assert ((ratio >= 0.6 - 1e-6) & (ratio <= 1.4 + 1e-6)).all()
    assert (ratio - 1).abs().max() > 0.05  # the sizes really are noised


def test_mask_blocks_originals_from_groups_and_groups_from_each_other() -> None:
    # M = 1 detect query, N = 2 track queries, K = 2 groups: ids 0 | 1 2 | 3 4 | 5 6 ; 1 = blocked (eq. 4)
    expected = torch.tensor(
        [
            [0, 0, 0, 1, 1, 1, 1],
            [0, 0, 0, 1, 1, 1, 1],
            [0, 0, 0, 1, 1, 1, 1],
            [1, 1, 1, 0, 0, 1, 1],
            [1, 1, 1, 0, 0, 1, 1],
            [1, 1, 1, 1, 1, 0, 0],
            [1, 1, 1, 1, 1, 0, 0],
        ],
        dtype=torch.bool,
    )
    assert torch.equal(group_mask(1, 2, 2), expected)
