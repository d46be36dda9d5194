"""MOTIP's ID decoder (FDTA's association): labels, targets, attention masks, L_ID and object-max, by hand."""

from __future__ import annotations

import math

import pytest
import torch

from motforge.families.dense.id_decoder import IDDecoder, clip_id_labels, id_loss, id_targets, object_max


def test_clip_labels_are_a_permutation_of_the_dictionary_and_capped_at_k():
    g = torch.Generator().manual_seed(0)
    labels = clip_id_labels(torch.tensor([7, 3, 9]), 5, g)
    assert set(labels) == {7, 3, 9} and len(set(labels.values())) == 3 and set(labels.values()) <= set(range(5))
    many = clip_id_labels(torch.arange(10), 4, g)
    assert len(many) == 4 and sorted(many.values()) == [0, 1, 2, 3]


def test_targets_are_newborn_until_an_identity_was_visible_before():
    """Frame 0: ids 1, 2 (2 hidden); frame 1: 1, 2, 3; frame 2: 2, 4 (4 has no label). Labels 1->0, 2->1, 3->2, K=5.
    1 is newborn at 0 and label 0 at 1; 2 is hidden (ignored) at 0, newborn at 1 (never visible before), label 1 at 2;
    3 newborn at 1; 4 ignored."""
    ids = [torch.tensor([1, 2]), torch.tensor([1, 2, 3]), torch.tensor([2, 4])]
    visible = [torch.tensor([True, False]), torch.tensor([True, True, True]), torch.tensor([True, True])]
    targets = id_targets(ids, visible, {1: 0, 2: 1, 3: 2}, num_ids=5)
    assert [t.tolist() for t in targets] == [[5, -1], [0, 5, 5], [1, -1]]


def test_id_loss_is_the_mean_cross_entropy_over_targets():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [5.0, 5.0, 5.0]])
    targets = torch.tensor([0, 2, -1])
    expected = (-math.log(math.exp(2) / (math.exp(2) + 2)) - math.log(1 / (2 + math.e))) / 2
    assert id_loss(logits, targets).item() == pytest.approx(expected, rel=1e-6)


def test_current_tokens_see_only_strictly_earlier_history_within_the_window():
    """A history token changes a current token's logits only if it is 1..rel_pe_length-1 frames earlier; current
    tokens of another frame do not affect each other (the self-attention mask)."""
    torch.manual_seed(0)
    decoder = IDDecoder(feature_dim=8, num_ids=4, layers=2, head_dim=4, ffn_ratio=2, rel_pe_length=3).eval()
    with torch.no_grad():
        decoder.rel_bias.normal_()
    current, times = torch.randn(2, 8), torch.tensor([5, 6])
    history, hids = torch.randn(1, 8), torch.tensor([1])
    with torch.no_grad():
        base = decoder(current, times, history, hids, torch.tensor([4]))
        for t_hist, sees in ((5, [False, True]), (3, [True, False]), (2, [False, False]), (6, [False, False])):
            other = decoder(current, times, history * 3 + 1, hids, torch.tensor([t_hist]))
            ref = decoder(current, times, history, hids, torch.tensor([t_hist]))
            changed = [not torch.allclose(ref[q], other[q]) for q in range(2)]
            assert changed == sees, t_hist
        alone = decoder(current[:1], times[:1], history, hids, torch.tensor([4]))
    assert torch.allclose(alone[0], base[0], atol=1e-6)  # token of frame 6 does not reach the one of frame 5


def test_object_max_by_hand():
    """Live labels {0, 1}. det0 -> 0 (0.7); det1 -> 0 (0.8) wins label 0, det0 becomes newborn; det2 -> 1 at 0.15
    (< id_score 0.2): newborn; det3 -> 3 (no live track): newborn; det4 -> the newborn class 4."""
    probs = torch.tensor(
        [
            [0.7, 0.1, 0.1, 0.05, 0.05],
            [0.8, 0.1, 0.05, 0.0, 0.05],
            [0.14, 0.15, 0.14, 0.14, 0.14],
            [0.1, 0.1, 0.1, 0.6, 0.1],
            [0.1, 0.1, 0.1, 0.1, 0.6],
        ]
    )
    assert object_max(probs, {0, 1}, id_score=0.2) == [None, 0, None, None, None]
    assert object_max(probs, {0, 1}, id_score=0.1) == [None, 0, 1, None, None]
