"""The depth-cue analysis: pair gaps, per-object steps and order agreement, checked against values built by hand."""

from __future__ import annotations

import numpy as np

from motforge.analysis.depth_cue import (
    LABEL_GAP_BANDS,
    depth_cue,
    predicted_depths,
    predicted_instance_depth,
    reference_depths,
    summarise,
)
from motforge.datasets.frame_cache import open_frame_cache
from motforge.datasets.index import read_index
from motforge.depth.bins import sequence_max, to_disparity
from motforge.depth.store import open_frame_store
from motforge.families.dense.model import DenseTracker
from motforge.families.dense.train import dense_config
from motforge.masks.instance_depth import FROM_MASK, read_instance_depth
from motforge.masks.store import read_masks

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
    # expected samples worked out here from the GT rows: one step per row whose object was in the previous frame,
    # one gap |id_a - id_b| / 100 per pair of rows of a frame with IoU > 0.1 whose labels are both mask-based
    present = {(int(f), int(i)) for f, i in zip(gt["frame"], gt["id"])}
    steps = sum((int(f) - 1, int(i)) in present for f, i in zip(gt["frame"], gt["id"]))
    has_label = read_instance_depth(files.instance_depth)["source"] == FROM_MASK
    gaps = []
    for t in np.unique(gt["frame"]):
        rows = np.flatnonzero(gt["frame"] == t)
        for n, a in enumerate(rows):
            for b in rows[n + 1 :]:
                iw = min(gt["x"][a] + gt["w"][a], gt["x"][b] + gt["w"][b]) - max(gt["x"][a], gt["x"][b])
                ih = min(gt["y"][a] + gt["h"][a], gt["y"][b] + gt["h"][b]) - max(gt["y"][a], gt["y"][b])
                inter = max(0.0, iw) * max(0.0, ih)
                union = gt["w"][a] * gt["h"][a] + gt["w"][b] * gt["h"][b] - inter
                if inter / union > 0.1 and has_label[a] and has_label[b]:
                    gaps.append(abs(int(gt["id"][a]) - int(gt["id"][b])) / 100.0)
    assert steps > 0 and len(gaps) > 0  # the fixture has both, so an empty sample list cannot pass
    assert len(samples["self_step"]) == steps and np.allclose(samples["self_step"], 0.001, atol=1e-6)
    assert np.allclose(sorted(samples["pair_gap"]), sorted(gaps), atol=1e-6)


def test_model_predictions_cover_every_gt_row(caches):  # noqa: F811
    files = caches[0]
    index = read_index(files.index)
    model = DenseTracker(dense_config(model_config(1), BINS))
    predicted = predicted_instance_depth(model, index, open_frame_cache(files.frames))
    assert predicted.shape == (index.num_boxes,) and np.isfinite(predicted).all()
    both = predicted_depths(model, index, open_frame_cache(files.frames))
    assert np.array_equal(both["model"], predicted)
    assert (
        np.isfinite(both["depth_map"]).all()
        and (both["depth_map"] >= 0).all()
        and (both["depth_map"] <= 256 / 255).all()
    )  # bin K is d_max
    summary = summarise(depth_cue(index, files.instance_depth, both), gamma=0.5)
    assert {"label", "model", "depth_map"} <= set(summary)


def test_depth_cue_accepts_one_flag_per_sequence():
    """Repeated --index / --instance-depth / --frames add up (argparse's default would keep only the last one and
    measure one sequence silently)."""
    from motforge.cli import build_parser

    args = build_parser().parse_args(
        ["depth-cue", "--index", "a.h5", "--instance-depth", "ia.h5", "--index", "b.h5", "c.h5"]
        + ["--instance-depth", "ib.h5", "ic.h5", "--frames", "fa", "--frames", "fb", "fc", "--out", "o.json"]
    )
    assert [p.name for p in args.index] == ["a.h5", "b.h5", "c.h5"]
    assert [p.name for p in args.instance_depth] == ["ia.h5", "ib.h5", "ic.h5"]
    assert [p.name for p in args.frames] == ["fa", "fb", "fc"]


def test_reference_ceilings_by_hand(caches):  # noqa: F811
    """The fixture's masks are boxes (``box`` backend), so every mask-pooled ceiling must equal the box mean of the
    teacher's map, which must in turn match the labels (the mean inside the mask) and a hand-computed box mean."""
    files = caches[0]
    folder = files.index.parent
    index = read_index(files.index)
    ref = reference_depths(index, folder / "depth.zarr", read_masks(folder / "masks.h5"), (20, 12))
    gt = index.gt
    assert np.allclose(ref["box_bottom"], (gt["y"] + gt["h"]) / index.height)
    store = open_frame_store(folder / "depth.zarr")
    _, dh, dw = store.shape
    peak = sequence_max(store)
    inst = read_instance_depth(files.instance_depth)
    row = int(np.argmax(gt["w"] * gt["h"]))  # the largest box: RoI sampling is closest to the pixel mean there
    raw = np.asarray(store[int(gt["frame"][row]) - 1], np.float32)
    s = dw / index.width
    x0, y0 = int(round(gt["x"][row] * s)), int(round(gt["y"][row] * s))
    x1, y1 = int(round((gt["x"][row] + gt["w"][row]) * s)), int(round((gt["y"][row] + gt["h"][row]) * s))
    mean_depth = raw[max(0, y0) : y1, max(0, x0) : x1].mean()  # the labels' order: pool, then convert
    by_hand = float(to_disparity(np.array([mean_depth]), store.attrs["kind"])[0]) / peak
    assert abs(ref["teacher_box"][row] - by_hand) < 0.02
    assert np.allclose(ref["teacher_mask_14"], ref["teacher_box"], atol=0.03)
    label = np.where(inst["source"] == FROM_MASK, inst["fdta_value"] / 255.0, np.nan)
    valid = np.isfinite(label)
    assert valid.sum() > 10 and np.median(np.abs(ref["teacher_box"][valid] - label[valid])) < 0.02
    # the grid ceilings read a coarser map: still finite and on the 0..1 scale
    for name in ("teacher_box_grid", "teacher_mask_grid"):
        assert np.isfinite(ref[name]).all() and (ref[name] >= 0).all() and (ref[name] <= 1 + 1e-6).all()
    summary = summarise(depth_cue(index, files.instance_depth, ref), gamma=0.2)
    assert summary["teacher_mask_14"]["order_accuracy"] > 0.8
    bands = summary["teacher_box"]["order_accuracy_by_label_gap"]
    assert sum(b["pairs"] for b in bands.values()) == summary["teacher_box"]["overlapping_pairs"]
    assert len(LABEL_GAP_BANDS) - 1 >= len(bands) > 0


def test_order_accuracy_by_label_gap_by_hand():
    samples = {
        "pair_gap": [0.1] * 5,
        "self_step": [0.01] * 5,
        "pair_order": [1.0, 0.0, 1.0, 1.0, 0.0],
        "label_gap": [0.005, 0.002, 0.02, 0.5, 0.2],
    }
    bands = summarise({"model": samples}, gamma=0.2)["model"]["order_accuracy_by_label_gap"]
    assert bands == {
        "0-0.01": {"pairs": 2, "order_accuracy": 0.5},
        "0.01-0.03": {"pairs": 1, "order_accuracy": 1.0},
        "0.1-inf": {"pairs": 2, "order_accuracy": 0.5},
    }
