"""QDTrack's online matching (SysCV/qdtrack's tracker) against outcomes worked out by hand."""

from __future__ import annotations

import torch

from motforge.families.dense.qdtrack_matching import (
    SUPPRESSED,
    UNMATCHED,
    QDTrackThresholds,
    greedy_match,
    new_backdrops,
    remove_duplicates,
)

QDTRACK = QDTrackThresholds(
    init_score=0.8, obj_score=0.5, match_score=0.5, nms_conf=0.5, nms_backdrop_iou=0.3, nms_class_iou=0.7
)


def test_duplicates_use_the_score_dependent_iou_and_count_dropped_boxes():
    """In score order A .9, B .8, E .7, C .4, D .35. B overlaps A at IoU 0.5 (<= 0.7): kept. E overlaps A at 0.9
    (> 0.7): dropped. C scores below obj_score and overlaps A at 1/3 (> 0.3): dropped. D overlaps only C (1/3),
    which is itself dropped, and is dropped all the same (QDTrack compares with every higher-scored box)."""
    a, b, e, c, d = [0, 0, 10, 10], [0, 0, 10, 5], [0, 0, 10, 9], [5, 0, 15, 10], [10, 0, 20, 10]
    boxes = torch.tensor([c, a, d, e, b], dtype=torch.float32)
    scores = torch.tensor([0.4, 0.9, 0.35, 0.7, 0.8])
    assert remove_duplicates(boxes, scores, QDTRACK).tolist() == [1, 4]


def test_greedy_match_closes_columns_requires_strictly_more_and_suppresses_low_scores():
    """Memo: tracks 5 and 7, one backdrop. det0 (.9) takes track 5 (.8) and closes its column; det1 (.6) then sees
    track 7 at exactly 0.5 (not > 0.5): unmatched; det2 (.4 <= obj_score) matches track 7 at .9 (> nms_conf): -2;
    det3 (.7) is most similar to the backdrop: unmatched."""
    similarity = torch.tensor([[0.8, 0.1, 0.1], [0.7, 0.5, 0.3], [0.1, 0.9, 0.0], [0.2, 0.1, 0.7]])
    memo_ids = torch.tensor([5, 7, UNMATCHED])
    scores = torch.tensor([0.9, 0.6, 0.4, 0.7])  # rows are taken in the given order; only each row's score matters
    ids = greedy_match(similarity, memo_ids, scores, QDTRACK)
    assert ids.tolist() == [5, UNMATCHED, SUPPRESSED, UNMATCHED]


def test_backdrops_are_unmatched_boxes_not_overlapping_a_higher_one():
    """Score-ordered: 0 tracked; 1 unmatched and alone; 2 unmatched but overlaps 1 at 1/3 (> 0.3); 3 suppressed."""
    boxes = torch.tensor([[0, 0, 10, 10], [50, 0, 60, 10], [55, 0, 65, 10], [100, 0, 110, 10]], dtype=torch.float32)
    ids = torch.tensor([5, UNMATCHED, UNMATCHED, SUPPRESSED])
    assert new_backdrops(boxes, ids, QDTRACK).tolist() == [1]
