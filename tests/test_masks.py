"""Masks and instance-depth soft labels: SAM2 end to end (random weights), CPU backends against GT, labels by hand."""

from __future__ import annotations

from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest

from motforge.config import block_defaults
from motforge.datasets.index import SequenceIndex, build_index
from motforge.datasets.layouts import locate
from motforge.depth.store import create_frame_store
from motforge.masks.backends import box_masks, grabcut_masks
from motforge.masks.instance_depth import FROM_BOX, FROM_MASK, instance_depths, read_instance_depth, soft_label
from motforge.masks.stage import frame_rows, run_masks
from motforge.masks.store import MaskTable, decode, encode, read_masks
from motforge.synthdance.generate import SynthConfig, generate_sequence

BINS = {"num_bins": 150, "d_min": 1e-3, "d_max": 256.0}


@pytest.fixture(scope="module")
def sequence(tmp_path_factory) -> SequenceIndex:
    root = tmp_path_factory.mktemp("sd")
    cfg = SynthConfig(
        seed=11, sequences={"train": 0, "val": 1, "test": 0}, frames=12, width=320, height=192, dancers=(6, 7)
    )
    generate_sequence(root / "val" / "synthdance0001", "synthdance0001", cfg, progress=False)
    return build_index(locate("synthdance", "synthdance", root, "val", "synthdance0001", ["val"]))


def _gt_mask(index: SequenceIndex, frame: int) -> np.ndarray:
    return cv2.imread(str(Path(index.img_dir).parent / "masks" / f"{frame:08d}.png"), cv2.IMREAD_UNCHANGED)


def _mean_iou(index: SequenceIndex, table: MaskTable) -> float:
    ious = []
    for t, rows in frame_rows(index).items():
        gt = cv2.resize(_gt_mask(index, t), (table.width, table.height), interpolation=cv2.INTER_NEAREST)
        for row, mask in zip(rows, table.rows(rows)):
            target = gt == index.gt["id"][row]
            ious.append(np.logical_and(mask, target).sum() / np.logical_or(mask, target).sum())
    return float(np.mean(ious))


def test_rle_round_trip():
    masks = np.random.default_rng(0).random((3, 17, 23)) > 0.6
    assert np.array_equal(decode(encode(masks), 17, 23), masks)


def test_cpu_backends_against_gt(sequence, tmp_path):
    """Measured on the default synthdance run: GrabCut 0.57 mean IoU, box 0.27 (visible GT masks)."""
    settings = {"backend": "grabcut", "mask_short_side": 192, "grabcut": {"iterations": 3, "margin": 0.15}}
    grabcut = run_masks(sequence, block_defaults("masks", settings), tmp_path / "grabcut.h5", progress=False)
    box = run_masks(
        sequence, block_defaults("masks", {**settings, "backend": "box"}), tmp_path / "box.h5", progress=False
    )
    g, b = _mean_iou(sequence, grabcut), _mean_iou(sequence, box)
    assert g > 0.45 and 0.15 < b < 0.45 and g > b + 0.15
    stored = read_masks(tmp_path / "grabcut.h5")
    assert len(stored.counts) == sequence.num_boxes and stored.attrs["backend"] == "grabcut"
    assert np.array_equal(stored.rows(np.arange(5)), grabcut.rows(np.arange(5)))


def test_box_masks_are_the_clipped_boxes():
    masks, scores = box_masks(np.zeros((10, 12, 3), np.uint8), np.array([[2, 3, 5, 7], [-4, -4, 2, 2]], float))
    assert masks[0].sum() == 12 and masks[0, 3:7, 2:5].all() and masks[1].sum() == 4 and scores.tolist() == [1.0, 1.0]


def test_grabcut_masks_stay_inside_their_box_and_degenerate_boxes_are_empty():
    image = np.zeros((40, 60, 3), np.uint8)
    image[10:30, 20:35] = (0, 0, 255)  # a red block on black
    masks, scores = grabcut_masks(image, np.array([[15, 5, 40, 35], [50, 5, 51, 6]], float))
    assert masks.shape == (2, 40, 60)
    assert not masks[0][:, :15].any() and not masks[0][:, 40:].any()  # never outside the box
    assert masks[0][12:28, 22:33].all()  # the object inside it is found
    assert not masks[1].any() and scores[1] == 0.0  # a 1-pixel box yields an empty mask, recorded with score 0


def test_sam2_backend_end_to_end_with_random_tiny_model(sequence, tmp_path):
    import sam2  # noqa: F401  (installed by the Makefile: a broken install fails, never skips)
    import torch

    from motforge.masks.backends import SAM2, Sam2Masker

    torch.manual_seed(0)
    two_frames = SequenceIndex(
        **{
            **sequence.__dict__,
            "frame_files": sequence.frame_files[:2],
            "widths": sequence.widths[:2],
            "heights": sequence.heights[:2],
            "gt": {k: v[sequence.gt["frame"] <= 2] for k, v in sequence.gt.items()},
        }
    )
    masker = Sam2Masker("configs/sam2.1/sam2.1_hiera_t.yaml", None, "cpu", allow_random=True)
    settings = {
        "backend": "sam2",
        "mask_short_side": 96,
        "sam2": {"config": "configs/sam2.1/sam2.1_hiera_t.yaml", "checkpoint": "", "batch_size": 2},
    }
    settings = block_defaults("masks", settings)
    table = run_masks(
        two_frames,
        settings,
        tmp_path / "masks.h5",
        masker=SAM2.masker(settings, "masks.device", sam2_masker=masker),
        progress=False,
    )
    stored = read_masks(tmp_path / "masks.h5")
    assert len(stored.counts) == two_frames.num_boxes > 0
    assert (stored.height, stored.width) == (96, 160)
    assert np.isfinite(stored.scores).all() and stored.attrs["backend"] == "sam2"
    assert np.array_equal(stored.rows(np.arange(len(stored.counts))), table.rows(np.arange(len(table.counts))))
    assert np.array_equal(stored.empty, stored.areas == 0)
    # alignment with GT: row i must be SAM2's answer for GT row i's box on GT row i's frame. Worked out here one box
    # per call, from frames read and scaled by the test (RGB, 160 x 96: scale 0.5), encoded in reverse order
    gt = two_frames.gt
    small = {
        t: cv2.resize(cv2.imread(str(two_frames.frame_path(t))), (160, 96), interpolation=cv2.INTER_AREA)
        for t in (1, 2)
    }
    rgb = {t: cv2.cvtColor(image, cv2.COLOR_BGR2RGB) for t, image in small.items()}
    masker.encode([rgb[2], rgb[1]])
    rows = {t: np.flatnonzero(gt["frame"] == t) for t in (1, 2)}
    xyxy = np.stack([gt["x"], gt["y"], gt["x"] + gt["w"], gt["y"] + gt["h"]], axis=1).astype(np.float64)
    box = lambda r: 0.5 * xyxy[r : r + 1]  # noqa: E731
    for k in range(max(len(rows[1]), len(rows[2]))):
        r1, r2 = rows[1][min(k, len(rows[1]) - 1)], rows[2][min(k, len(rows[2]) - 1)]
        (m2, s2), (m1, s1) = masker.prompt([box(r2), box(r1)])
        for r, m, sc in ((r1, m1[0], s1[0]), (r2, m2[0], s2[0])):
            got = stored.rows(np.array([r]))[0]
            assert (got & m).sum() / max(1, (got | m).sum()) > 0.99, r
            assert stored.scores[r] == pytest.approx(sc, abs=1e-4), r
    assert len(np.unique(stored.scores)) == len(stored.scores)  # random weights still tell the rows apart


def test_sam2_missing_checkpoint_is_a_clear_error():
    import sam2  # noqa: F401

    from motforge.errors import MissingWeightsError
    from motforge.masks.backends import Sam2Masker

    with pytest.raises(MissingWeightsError, match="nowhere/sam2.1_hiera_tiny.pt"):
        Sam2Masker("configs/sam2.1/sam2.1_hiera_t.yaml", "/nowhere/sam2.1_hiera_tiny.pt", "cpu")


def test_soft_label_by_hand():
    # 20 pixels at 2.0, 20 at 4.0, one outlier at 100: mean 5.37, std 15.0 -> the outlier (|100 - 5.37| > 45) is dropped
    values = np.array([2.0] * 20 + [4.0] * 20 + [100.0])
    label = soft_label(values, bins=4, sigma=3.0)
    assert label["mean"] == pytest.approx(values.mean()) and label["median"] == 4.0
    assert label["hist_min"] == 2.0 and label["hist_max"] == 4.0  # outlier filtered before min-max normalisation
    assert label["hist"].tolist() == [0.5, 0.0, 0.0, 0.5] and label["hist"].sum() == pytest.approx(1.0)
    assert label["mode"] == pytest.approx(2.0 + 0.5 / 4 * 2.0)  # first of the tied bins, at its centre
    assert soft_label(np.full(5, 3.0), bins=25, sigma=3.0)["hist"][0] == 1.0


def test_instance_depth_on_crafted_maps(tmp_path):
    """Two boxes on a 10x20 depth map: one with a mask over a 2 m region inside a 5 m box, one with an empty mask."""
    depth = np.full((10, 20), 5.0, np.float32)
    depth[2:6, 2:6] = 2.0
    frame_files = np.array(["00000001.jpg"])
    gt = {
        "frame": np.array([1, 1], np.int32),
        "id": np.array([1, 2], np.int64),
        "x": np.array([1, 10], np.float32),
        "y": np.array([1, 2], np.float32),
        "w": np.array([7, 6], np.float32),
        "h": np.array([7, 5], np.float32),
        "consider": np.ones(2, np.int8),
        "cls": np.ones(2, np.int16),
        "vis": np.ones(2, np.float32),
    }
    index = SequenceIndex(
        "x", "seq", "val", "mot", str(tmp_path), frame_files, np.array([20]), np.array([10]), 20.0, True, False, gt
    )
    mask = np.zeros((2, 10, 20), bool)
    mask[0, 2:6, 2:6] = True
    table = MaskTable(
        10, 20, encode(mask), np.array([0.9, 0.0], np.float32), np.array([False, True]), mask.reshape(2, -1).sum(1)
    )
    with create_frame_store(
        tmp_path / "depth.zarr", 1, 10, 20, "float16", {"kind": "metric", "backend": "provided"}
    ) as store:
        store[0] = depth
    counts = instance_depths(
        index,
        table,
        tmp_path / "depth.zarr",
        {"histogram_bins": 25, "sigma": 3.0},
        BINS,
        tmp_path / "inst.h5",
        progress=False,
    )
    assert counts == {"rows": 2, "from_mask": 1, "from_box": 1, "no_pixels": 0}
    inst = read_instance_depth(tmp_path / "inst.h5")
    assert inst["source"].tolist() == [FROM_MASK, FROM_BOX]
    assert inst["median"][0] == pytest.approx(2.0) and inst["median"][1] == pytest.approx(5.0)
    assert inst["hist"][0].sum() == pytest.approx(1.0) and inst["hist"][0][0] == pytest.approx(1.0)
    assert inst["area_ratio"][0] == pytest.approx(16 / 49)
    assert inst["quality"][0] == pytest.approx(min(1.0, (16 / 49) / 0.25) * 1.0 * 0.9, rel=1e-5)
    # FDTA scale: disparity 1/2 is the sequence maximum -> 255, the 5 m box -> 102
    assert inst["fdta_value"][0] == pytest.approx(255.0) and inst["fdta_value"][1] == pytest.approx(102.0)
    with h5py.File(tmp_path / "inst.h5") as f:
        assert f.attrs["complete"] and f["hist"].shape == (2, 25)


def test_sam2_corrupt_checkpoint_names_file_key_and_cause(tmp_path):
    pytest.importorskip("sam2")
    import torch

    from motforge.errors import ConfigError
    from motforge.masks.backends import Sam2Masker

    broken = tmp_path / "sam2.1_hiera_tiny.pt"
    broken.write_bytes(b"404: Not Found")
    with pytest.raises(ConfigError, match=rf"masks\.sam2\.checkpoint.*{broken}.*not a PyTorch checkpoint"):
        Sam2Masker("configs/sam2.1/sam2.1_hiera_t.yaml", str(broken), "cpu")
    bare = tmp_path / "bare.pt"  # a plain state_dict: SAM2's checkpoints wrap it in {"model": ...}
    torch.save({"w": torch.zeros(2)}, bare)
    with pytest.raises(ConfigError, match=rf"{bare}.*without the 'model' entry"):
        Sam2Masker("configs/sam2.1/sam2.1_hiera_t.yaml", str(bare), "cpu")


def test_sam2_checkpoint_of_another_size_says_which(tmp_path):
    """A tiny checkpoint with the small config: one line saying the file looks like hiera_t, not 370 size mismatches."""
    pytest.importorskip("sam2")
    import torch
    from sam2.build_sam import build_sam2

    from motforge.errors import ConfigError
    from motforge.masks.backends import Sam2Masker

    torch.manual_seed(0)
    tiny = build_sam2("configs/sam2.1/sam2.1_hiera_t.yaml", None, device="cpu")
    checkpoint = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": tiny.state_dict()}, checkpoint)
    with pytest.raises(ConfigError, match="looks like sam2.1_hiera_t, the config asks for sam2.1_hiera_s") as caught:
        Sam2Masker("configs/sam2.1/sam2.1_hiera_s.yaml", str(checkpoint), "cpu")
    assert str(checkpoint) in str(caught.value) and len(str(caught.value).splitlines()) == 1
    # the right config loads it: the weights are the file's
    masker = Sam2Masker("configs/sam2.1/sam2.1_hiera_t.yaml", str(checkpoint), "cpu")
    loaded = masker.model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in tiny.state_dict().items())
