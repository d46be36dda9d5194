"""``analysis.query_scores.classify_queries`` against a hand-sorted frame."""

from __future__ import annotations

import pytest
import torch

from motforge.analysis.query_scores import CATEGORIES, classify_queries, summarise


def test_classify_queries_by_hand() -> None:
    """Two GT objects; 2 learned + 2 proposal detect queries, then 2 track queries.
    q0 learned on g0, which track q4 covers -> duplicate; q1 learned at IoU 0.5 exactly with g0 -> false (needs > 0.5);
    q2 proposal on g1, which no track covers (q5 drifted) -> new; q3 proposal on nothing -> false."""
    gt = torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 0.0, 30.0, 10.0]])
    boxes = torch.tensor(
        [
            [0.0, 0.0, 10.0, 10.0],
            [0.0, 0.0, 10.0, 5.0],
            [20.0, 0.0, 30.0, 10.0],
            [100.0, 100.0, 110.0, 110.0],
            [0.5, 0.0, 10.5, 10.0],
            [50.0, 50.0, 60.0, 60.0],
        ]
    )
    scores = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    out = classify_queries(scores, boxes, n_detect=4, n_learned=2, gt_boxes=gt)
    expected = {
        "learned_duplicate": [0.1],
        "learned_false": [0.2],
        "proposal_new": [0.3],
        "proposal_false": [0.4],
        "track_on_object": [0.5],
        "track_drifted": [0.6],
    }
    for name in CATEGORIES:
        assert out[name] == pytest.approx(expected.get(name, [])), name


def test_no_ground_truth_makes_every_query_false_or_drifted() -> None:
    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0]] * 3)
    out = classify_queries(torch.tensor([0.9, 0.8, 0.7]), boxes, 2, 1, torch.zeros(0, 4))
    assert len(out["learned_false"]) == 1 and len(out["proposal_false"]) == 1 and len(out["track_drifted"]) == 1


def test_summary_shares_at_the_thresholds() -> None:
    s = summarise({"track_on_object": [0.2, 0.4, 0.6, 0.8]}, birth=0.6, death=0.4)
    assert s["track_on_object"]["at_birth"] == 0.5 and s["track_on_object"]["at_death"] == 0.75
    assert s["track_drifted"] == {"count": 0}
