"""MOTR's track query drop and false-positive insertion, by hand at probabilities 0 and 1."""

from __future__ import annotations

import torch

from motforge.families.query.augment import drop_and_insert

ACTIVE = torch.tensor([[0.2, 0.2, 0.1, 0.1], [0.8, 0.8, 0.1, 0.1]])
FREE = torch.tensor([[0.5, 0.5, 0.1, 0.1], [0.8, 0.78, 0.1, 0.1], [0.21, 0.2, 0.1, 0.1]])


def test_insert_takes_the_most_overlapping_free_query() -> None:
    keep, fp = drop_and_insert(ACTIVE, FREE, 0.0, 1.0, torch.Generator().manual_seed(0))
    assert keep.tolist() == [True, True]
    assert fp.tolist() == [1, 2]  # active 0 -> free 2, active 1 -> free 1 (free 0 overlaps none)


def test_drop_all_and_insert_none() -> None:
    keep, fp = drop_and_insert(ACTIVE, FREE, 1.0, 1.0, torch.Generator().manual_seed(0))
    assert keep.tolist() == [False, False] and fp.tolist() == []  # dropped tracks bring no false positive
    keep, fp = drop_and_insert(ACTIVE, FREE, 0.0, 0.0, torch.Generator().manual_seed(0))
    assert keep.tolist() == [True, True] and fp.tolist() == []
