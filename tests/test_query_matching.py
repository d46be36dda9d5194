"""Tracklet-aware assignment (MOTR sec. 3.3) and release-fetch supervision (MOTRv3 sec. 3.2), worked by hand."""

from __future__ import annotations

import torch

from motforge.families.query.config import defaults as query_defaults
from motforge.families.query.matching import layer_targets, tracklet_aware

GT_BOXES = torch.tensor(
    [
        [0.2, 0.2, 0.1, 0.1],  # id 7
        [0.6, 0.6, 0.1, 0.1],  # id 3
        [0.8, 0.8, 0.1, 0.1],
    ]
)  # id 5
GT_IDS = torch.tensor([7, 3, 5])
FAR = [0.5, 0.1, 0.05, 0.05]


def test_track_queries_keep_identity_and_detect_queries_get_only_free_boxes() -> None:
    cfg = query_defaults()
    # detect query 0 sits exactly on id 7's box, which track query 1 holds; detect query 1 is on the free id 3
    boxes = torch.tensor([GT_BOXES[0].tolist(), GT_BOXES[1].tolist(), FAR, FAR])
    target = tracklet_aware(torch.zeros(4), boxes, 2, torch.tensor([5, 7]), GT_BOXES, GT_IDS, cfg)
    assert target.tolist() == [-1, 1, 2, 0]
    # identity 8 left the frame: its track query becomes background and id 7's box is free for detect query 0
    target = tracklet_aware(torch.zeros(4), boxes, 2, torch.tensor([5, 8]), GT_BOXES, GT_IDS, cfg)
    assert target.tolist() == [0, 1, 2, -1]
    # LA-MOTR's separated detection: object queries are matched to every box, held ones included
    target = tracklet_aware(torch.zeros(4), boxes, 2, torch.tensor([5, 7]), GT_BOXES, GT_IDS, cfg, detect_all=True)
    assert target.tolist() == [0, 1, 2, 0]


def test_release_fetch_matches_all_labels_to_all_queries_in_early_decoders_only() -> None:
    # 3 decoder layers, 2 detect queries + 2 track queries (ids 5, 7). In every layer detect query 0 sits on id 5's
    # box and detect query 1 on id 7's box, while the track queries are far away: RFS gives those labels to the
    # detect queries in layers 1-2 and the track queries still hold them in the last layer.
    boxes = torch.tensor([GT_BOXES[2].tolist(), GT_BOXES[0].tolist(), FAR, [0.1, 0.9, 0.05, 0.05]]).repeat(3, 1, 1)
    logits = torch.zeros(3, 4)
    cfg = query_defaults(dec_layers=3, rfs=True)
    rfs = layer_targets(logits, boxes, 2, torch.tensor([5, 7]), GT_BOXES, GT_IDS, cfg)
    # the third label (id 3) goes to the remaining query nearest to it: track query 0 (FAR is nearer than (0.1, 0.9))
    assert [t.tolist() for t in rfs[:2]] == [[2, 0, 1, -1], [2, 0, 1, -1]]
    # last layer: tracklet-aware; the only free label, id 3 at (0.6, 0.6), is nearer detect query 0 (L1 0.4 vs 0.8)
    assert rfs[2].tolist() == [1, -1, 2, 0]
    base = layer_targets(logits, boxes, 2, torch.tensor([5, 7]), GT_BOXES, GT_IDS, query_defaults(dec_layers=3))
    assert [t.tolist() for t in base] == [[1, -1, 2, 0]] * 3
