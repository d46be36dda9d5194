"""MOTRv2's training lifecycle inside a clip (``components.motr_carry``; motr.py ``match_for_single_frame``, qim.py
``_select_active_tracks``), worked by hand: free track slots in the assignment, identities kept while the object is
absent, released on drift, confident queries carried, and the default (off) unchanged."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from motforge.families.query.clip_loss import ClipFrame, Tracks, _next_tracks
from motforge.families.query.config import defaults as query_defaults
from motforge.families.query.matching import tracklet_aware
from motforge.families.query.model import QueryTracker

GT_BOXES = torch.tensor([[0.2, 0.2, 0.1, 0.1], [0.6, 0.6, 0.1, 0.1]])  # ids 7, 3
GT_IDS = torch.tensor([7, 3])
FAR = [0.9, 0.1, 0.05, 0.05]


def test_track_slots_without_identity_are_matched_and_inserted_false_positives_are_not() -> None:
    cfg = query_defaults()
    # detect query 0 is far; track query 0 (id -1, a carried slot) sits on id 3's box; track query 1 (id -2, an
    # inserted false positive) sits on id 7's box: id 3 goes to the slot, id 7 to the detect query (the only other
    # slot), and the false positive stays background
    boxes = torch.tensor([FAR, GT_BOXES[1].tolist(), GT_BOXES[0].tolist()])
    target = tracklet_aware(torch.zeros(3), boxes, 1, torch.tensor([-1, -2]), GT_BOXES, GT_IDS, cfg)
    assert target.tolist() == [0, 1, -1]


def _step(motr_carry: bool, track_ids: list[int], target: list[int], boxes: list[list[float]], scores: list[float]):
    """One _next_tracks call with 2 detect queries and the given track queries (last-layer boxes and scores)."""
    cfg = query_defaults(motr_carry=motr_carry, qim=False)
    model = QueryTracker(cfg)
    d, q = cfg.d_model, len(boxes)
    n = len(track_ids)
    hidden = torch.arange(q, dtype=torch.float)[:, None].expand(q, d)
    out = SimpleNamespace(
        hidden=hidden[None].repeat(cfg.dec_layers, 1, 1), boxes=torch.tensor([boxes] * cfg.dec_layers)
    )
    tracks = Tracks(torch.zeros(n, d), torch.tensor(boxes[2:]), torch.tensor(track_ids, dtype=torch.long))
    frame = ClipFrame(torch.zeros(3, 32, 32), GT_BOXES, GT_IDS)
    nxt = _next_tracks(
        model, tracks, torch.zeros(2, d), out, None, torch.tensor(target), frame, 2, None, torch.tensor(scores)
    )
    # hidden row k is filled with k, so each carried query is identified by its source index
    return nxt.ids.tolist(), nxt.content[:, 0].long().tolist()


def test_carry_keeps_absent_identities_releases_drift_and_carries_confident_queries() -> None:
    # queries: detect 0 (unmatched, score 0.8), detect 1 (unmatched, score 0.3), track id 9 (object absent,
    # background target), track id 7 (on its box), track id 3 (matched to its box but drifted: IoU 0.14)
    boxes = [FAR, FAR, FAR, GT_BOXES[0].tolist(), [0.65, 0.65, 0.1, 0.1]]
    target = [-1, -1, -1, 0, 1]
    scores = [0.8, 0.3, 0.2, 0.9, 0.9]
    ids, source = _step(True, [9, 7, 3], target, boxes, scores)
    # id 9 kept though its object left; id 3 released (IoU <= 0.5); detect 0 carried as a free slot, detect 1 not
    assert ids == [9, 7, -1, -1]
    assert source == [2, 3, 4, 0]
    # off (the default before this switch): the absent identity ends, drift keeps its id, nothing is carried
    ids, source = _step(False, [9, 7, 3], target, boxes, scores)
    assert ids == [7, 3]
    assert source == [3, 4]


def test_carried_slot_matched_to_a_new_object_takes_its_identity() -> None:
    # a carried slot (id -1) matched to id 3's box becomes track 3; a low-scored slot left unmatched is dropped
    boxes = [FAR, FAR, GT_BOXES[1].tolist(), FAR]
    ids, source = _step(True, [-1, -1], [-1, -1, 1, -1], boxes, [0.1, 0.1, 0.6, 0.4])
    assert ids == [3]
    assert source == [2]
