"""The ByteTrack baseline: identities through crossings, the low-score stage, per-instance state."""

from __future__ import annotations

import numpy as np

from motforge.config import model_defaults
from motforge.families.bytetrack.tracker import ByteTracker, ByteTrackParams
from motforge.tracking import kalman
from motforge.tracking.association import assign as match


def params(**overrides) -> ByteTrackParams:
    """The schema's defaults, with ``overrides``."""
    return ByteTrackParams.from_model(model_defaults("bytetrack", **overrides))


def _box(cx, cy, w=20.0, h=50.0):
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def test_kalman_learns_constant_velocity():
    mean, cov = kalman.initiate(kalman.xyxy_to_xyah(_box(0, 0))[0])
    for t in range(1, 15):
        means, covs = kalman.predict(mean[None], cov[None])
        mean, cov = kalman.update(means[0], covs[0], kalman.xyxy_to_xyah(_box(4.0 * t, 0))[0])
    predicted, _ = kalman.predict(mean[None], cov[None])
    assert abs(predicted[0, 0] - 4.0 * 15) < 1.0 and abs(predicted[0, 4] - 4.0) < 0.3


def test_round_trip_box_state():
    box = np.array([[10.0, 20.0, 40.0, 100.0]])
    assert np.allclose(kalman.xyah_to_xyxy(kalman.xyxy_to_xyah(box)), box)


def test_identities_survive_a_crossing_with_occlusion_gap():
    """Two people walk towards each other at 5 px/frame and cross at frame 20; in frames 18-22 only the front one is
    detected. Each id must follow its own person the whole way: id 1 the one walking right (x = 10 + 5t), id 2 the
    one walking left (x = 210 - 5t), id 2 absent while hidden and back on its own path after the crossing."""
    tracker = ByteTracker(params())
    paths: dict[int, dict[int, float]] = {}
    for t in range(40):
        a = _box(10 + 5 * t, 100)
        b = _box(210 - 5 * t, 100)
        boxes = [a] if 18 <= t <= 22 else [a, b]  # the crossing: only the front one is detected
        for ident, box, _ in tracker.update(np.array(boxes), np.full(len(boxes), 0.9)):
            paths.setdefault(ident, {})[t] = (box[0] + box[2]) / 2
    assert sorted(paths) == [1, 2]
    assert sorted(paths[1]) == list(range(40))
    assert sorted(paths[2]) == [t for t in range(40) if not 18 <= t <= 22]
    # the output box is the Kalman-updated state: within 1.5 px of its detection (the filter lags by at most 1.02 px
    # while it learns the velocity); a swap at the crossing would put an id 10 px or more off its path
    assert np.allclose([paths[1][t] for t in range(40)], [10 + 5 * t for t in range(40)], atol=1.5)
    assert np.allclose([paths[2][t] for t in sorted(paths[2])], [210 - 5 * t for t in sorted(paths[2])], atol=1.5)


def test_low_score_boxes_keep_a_track_alive():
    tracker = ByteTracker(params(track_high=0.5, track_low=0.1))
    out = []
    for t in range(10):
        score = 0.9 if t < 5 else 0.2  # occluded: the detector becomes unsure
        out.append(tracker.update(np.array([_box(50 + 2 * t, 80)]), np.array([score])))
    assert all(len(o) == 1 and o[0][0] == 1 for o in out)


def test_new_tracks_need_confirmation_after_first_frame():
    tracker = ByteTracker(params())
    assert tracker.update(np.zeros((0, 4)), np.zeros(0)) == []
    assert tracker.update(np.array([_box(50, 50)]), np.array([0.9])) == []  # tentative
    out = tracker.update(np.array([_box(51, 50)]), np.array([0.9]))
    assert [o[0] for o in out] == [1]


def test_ids_do_not_leak_between_instances():
    for _ in range(2):
        tracker = ByteTracker(params())
        out = tracker.update(np.array([_box(50, 50)]), np.array([0.9]))
        assert out[0][0] == 1


def test_match_respects_minimum_iou():
    iou = np.array([[0.9, 0.1], [0.05, 0.15]])
    pairs, free_rows, free_cols = match(iou, 0.2)
    assert pairs == [(0, 0)] and free_rows == [1] and free_cols == [1]
