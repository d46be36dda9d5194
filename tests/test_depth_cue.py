"""The depth-cue analysis: pair gaps, per-object steps and order agreement, checked against values built by hand."""
from __future__ import annotations

import numpy as np

from motforge.analysis.depth_cue import depth_cue, predicted_instance_depth, summarise
from motforge.datasets.index import read_index
from motforge.masks.instance_depth import FROM_MASK, read_instance_depth
from motforge.families.dense.model import DenseTracker
from motforge.datasets.frame_cache import open_frame_cache
from motforge.families.dense.train import dense_config
from test_train import BINS, caches, model_config  # noqa: F401  (module fixture reused)


def test_labels_agree_with_themselves_and_a_reversed_prediction_disagrees(caches):  # noqa: F811
    files = caches[0]
    index = read_index(files.index)
    inst = read_instance_depth(files.instance_depth)
    label = np.where(inst["source"] == FROM_MASK, inst["fdta_value"] / 255.0, np.nan)
    same = summarise(depth_cue(index, files.instance_depth, label.copy()), gamma=0.5)
    assert same["label"]["overlapping_pairs"] > 0 and same["label"]["order_accuracy"] == 1.0
    assert same["model"] == same["label"]
    assert np.isclose(same["label"]["penalty_median"], 0.5 * same["label"]["pair_gap_median"])
    raw = depth_cue(index, files.instance_depth, 1.0 - label)
    ties = np.mean(np.asarray(raw["label"]["pair_gap"]) == 0)  # equal label depths keep their (absent) order
    reversed_order = summarise(raw, gamma=0.5)["model"]
    assert np.isclose(reversed_order["order_accuracy"], ties) and ties < 0.5
    assert np.isclose(reversed_order["pair_gap_median"], same["label"]["pair_gap_median"])


def test_pair_gap_and_step_by_hand(caches):  # noqa: F811
    files = caches[0]
    index = read_index(files.index)
    gt = index.gt
    # a made-up depth: each object's id / 100 plus 0.001 per frame
    values = gt["id"] / 100.0 + 0.001 * gt["frame"]
    samples = depth_cue(index, files.instance_depth, values.astype(np.float32))["model"]
    assert np.allclose(samples["self_step"], 0.001, atol=1e-6)
    assert all(np.isclose(g * 100, round(g * 100), atol=1e-3) and g > 0 for g in samples["pair_gap"])  # id differences / 100


def test_model_predictions_cover_every_gt_row(caches):  # noqa: F811
    files = caches[0]
    index = read_index(files.index)
    model = DenseTracker(dense_config(model_config(1), BINS))
    predicted = predicted_instance_depth(model, index, open_frame_cache(files.frames))
    assert predicted.shape == (index.num_boxes,) and np.isfinite(predicted).all()
