"""synthdance: DanceTrack layout, determinism, and ground truth consistent with what is drawn."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from motforge.datasets.index import build_index
from motforge.datasets.layouts import locate
from motforge.datasets.mot_text import read_mot_table, read_seqinfo
from motforge.synthdance.camera import Camera
from motforge.synthdance.generate import SynthConfig, generate_sequence, sequence_names, write_seqmap

SMALL = SynthConfig(
    seed=3, sequences={"train": 1, "val": 1, "test": 1}, frames=30, width=320, height=192, dancers=(6, 8)
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthdance")
    for name, split in sequence_names(SMALL):
        generate_sequence(root / split / name, name, SMALL, progress=False)
    for split in ("train", "val", "test"):
        write_seqmap(root, split, SMALL)
    return root


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(folder).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def test_names_and_splits_like_dancetrack():
    assert sequence_names(SMALL) == [("synthdance0001", "train"), ("synthdance0002", "val"), ("synthdance0003", "test")]


def test_layout(generated):
    seq = generated / "val" / "synthdance0002"
    assert sorted(p.name for p in seq.iterdir()) == ["depth", "gt", "img1", "masks", "seqinfo.ini"]
    assert (seq / "img1" / "00000001.jpg").is_file() and (seq / "img1" / "00000030.jpg").is_file()
    info = read_seqinfo(seq / "seqinfo.ini")
    assert (info.seq_length, info.im_width, info.im_height, info.frame_rate) == (30, 320, 192, 20.0)
    table = read_mot_table(seq / "gt" / "gt.txt", 9, 9, seq_length=30)
    assert table.values.shape[1] == 9 and table.num_rows > 0
    assert (generated / "val_seqmap.txt").read_text() == "name\nsynthdance0002\n"
    test_seq = generated / "test" / "synthdance0003"
    assert not (test_seq / "gt").exists() and not (test_seq / "masks").exists()
    index = build_index(locate("synthdance", "synthdance", generated, "val", "synthdance0002", ["train", "val"]))
    assert index.num_boxes == table.num_rows


def test_deterministic_from_seed(generated, tmp_path):
    again = tmp_path / "again"
    generate_sequence(again, "synthdance0002", SMALL, progress=False)
    assert _digest(again) == _digest(generated / "val" / "synthdance0002")
    other = tmp_path / "other"
    generate_sequence(other, "synthdance0002", SynthConfig(**{**SMALL.__dict__, "seed": 4}), progress=False)
    assert _digest(other) != _digest(again)


def test_gt_matches_masks_depth_and_visibility(generated):
    seq = generated / "train" / "synthdance0001"
    gt = read_mot_table(seq / "gt" / "gt.txt", 9, 9).values
    counts = set(np.bincount(gt[:, 0].astype(int))[1:])
    assert min(counts) >= 1 and max(counts) <= 8
    for t in (1, 15, 30):
        ids = cv2.imread(str(seq / "masks" / f"{t:08d}.png"), cv2.IMREAD_UNCHANGED)
        depth = cv2.imread(str(seq / "depth" / f"{t:08d}.png"), cv2.IMREAD_UNCHANGED)
        assert ids.dtype == np.uint16 and depth.dtype == np.uint16
        assert depth.min() > 1000  # metres * 1000: everything is more than a metre away
        for row in gt[gt[:, 0] == t]:
            ident, x, y, w, h, vis = int(row[1]), row[2], row[3], row[4], row[5], row[8]
            ys, xs = np.nonzero(ids == ident)
            assert len(xs) > 0 and 0 < vis <= 1
            # every visible pixel lies inside the (amodal) GT box
            assert xs.min() >= x - 1 and xs.max() <= x + w and ys.min() >= y - 1 and ys.max() <= y + h
            # size follows depth: a person's box height ~ focal * 1.7 m / depth
            if vis > 0.9 and y > 0 and y + h < 192:
                median_depth = np.median(depth[ids == ident]) / 1000.0
                focal_range = (320 / (2 * np.tan(np.radians(66) / 2)), 320 / (2 * np.tan(np.radians(56) / 2)))
                assert focal_range[0] * 1.5 / median_depth < h < focal_range[1] * 2.0 / median_depth


def test_occlusion_follows_depth_order():
    """Two dancers overlapping in the image: the nearer one is visible, with its depth, wherever both are drawn."""
    from motforge.synthdance.dancer import draw_dancer
    from motforge.synthdance.generate import _composite

    cam = Camera(320, 192)
    near = draw_dancer(cam, 0.0, 5.0, 0.0, 1.7, 1.0, 0.3, 0.0)
    far = draw_dancer(cam, 0.3, 7.0, 0.0, 1.7, 1.0, 0.8, 0.0)
    frame = np.zeros((192, 320, 3), np.uint8)
    depth = np.full((192, 320), 50.0, np.float32)
    ids = np.zeros((192, 320), np.uint16)
    palette = np.full((9, 3), 200, np.uint8)
    for ident, sprite in sorted([(1, near), (2, far)], key=lambda s: -float(np.median(s[1].depth))):
        _composite(frame, depth, ids, sprite, palette, ident)

    def full_mask(sprite):
        mask = np.zeros((192, 320), bool)
        ys, xs = np.nonzero(sprite.labels)
        ys, xs = ys + sprite.top, xs + sprite.left
        keep = (ys >= 0) & (ys < 192) & (xs >= 0) & (xs < 320)
        mask[ys[keep], xs[keep]] = True
        return mask

    overlap = full_mask(near) & full_mask(far)
    assert overlap.sum() > 50
    assert np.all(ids[overlap] == 1)
    assert np.all(depth[overlap] < 6.0)  # the near dancer stands at 5 m, the far one at 7 m
    assert np.any(ids == 2)  # the far dancer is still partly visible


def test_camera_floor_depth_matches_projection():
    cam = Camera(320, 192)
    depth, world_x, world_z, on_floor = cam.background_depth(14.0)
    v, u = 150, 100
    assert on_floor[v, u]
    pu, pv, pd = cam.project(np.array([world_x[v, u]]), np.array([0.0]), np.array([world_z[v, u]]))
    assert pu[0] == pytest.approx(u, abs=1e-6) and pv[0] == pytest.approx(v, abs=1e-6)
    assert pd[0] == pytest.approx(depth[v, u], rel=1e-5)
