"""Depth labels: FDTA's LID against hand-computed values, VDA's streaming alignment, backends and stores."""
from __future__ import annotations

import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from motforge.datasets.index import SequenceIndex, build_index
from motforge.datasets.layouts import locate
from motforge.depth.bins import label_size, write_depth_bins
from motforge.depth.lid import lid_bin_size, lid_centres, lid_edges, lid_index, lid_midpoints, normalise_disparity
from motforge.depth.store import create_frame_store, open_frame_store
from motforge.depth.streaming import INFER_LEN, STEP, blend, scale_and_shift, stream_depth
from motforge.depth.teacher import run_depth_teacher
from motforge.errors import InputError, MissingWeightsError
from motforge.synthdance.generate import SynthConfig, generate_sequence


# ---------------------------------------------------------------- LID (FDTA appendix B.1.2, eqs. 11-12)

def test_lid_by_hand():
    # K = 4 over [0, 10]: bin_size = 2 * 10 / (4 * 5) = 1; edges 0, 1, 3, 6, 10
    assert lid_bin_size(4, 0.0, 10.0) == 1.0
    assert np.allclose(lid_edges(4, 0.0, 10.0), [0, 1, 3, 6, 10])
    # b_i = (i + 0.5)^2 * 1/2 - 1/8 + 0 = 0, 1, 3, 6; b_K = d_max
    assert np.allclose(lid_centres(4, 0.0, 10.0), [0.0, 1.0, 3.0, 6.0, 10.0])
    values = np.array([0.0, 0.5, 0.999, 1.0, 2.9, 3.0, 5.99, 6.0, 9.99, 10.0, 12.0, -0.1, np.nan, np.inf])
    assert lid_index(values, 4, 0.0, 10.0).tolist() == [0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 4]


def test_lid_fdta_dancetrack_setting():
    k, d_min, d_max = 150, 1e-3, 256.0
    size = 2 * (d_max - d_min) / (k * (k + 1))
    assert lid_bin_size(k, d_min, d_max) == pytest.approx(size)
    centres = lid_centres(k, d_min, d_max)
    assert len(centres) == k + 1 and centres[-1] == d_max
    assert centres[10] == pytest.approx(10.5**2 * size / 2 - size / 8 + d_min)
    index = lid_index(np.array([255.0, 0.0, 256.0, 300.0]), k, d_min, d_max)
    assert index.tolist() == [149, 150, 150, 150]  # nearest valid bin; below d_min and >= d_max are background
    assert set(np.unique(lid_index(np.linspace(0, 300, 10001), k, d_min, d_max))) <= set(range(k + 1))


def test_lid_round_trip_within_half_a_bin():
    k, d_min, d_max = 150, 1e-3, 256.0
    depth = np.random.default_rng(0).uniform(d_min, d_max - 1e-6, 100000)
    index = lid_index(depth, k, d_min, d_max)
    edges = lid_edges(k, d_min, d_max)
    width = edges[index + 1] - edges[index]
    assert np.all(np.abs(lid_midpoints(k, d_min, d_max)[index] - depth) <= width / 2 + 1e-9)
    # the paper's bin values are the lower edges: within one bin below the value
    assert np.all((depth - lid_centres(k, d_min, d_max)[index] >= -1e-9) & (depth - lid_centres(k, d_min, d_max)[index] < width))


def test_normalisation_is_per_sequence_with_255_nearest():
    disparity = np.array([0.0, 0.5, 2.0])
    assert normalise_disparity(disparity, 2.0).tolist() == [0.0, 63.75, 255.0]


# ---------------------------------------------------------------- the streaming loop (VDA's window scheme)

def _true_depth(t: int) -> np.ndarray:
    return (1.0 + t + np.arange(12, dtype=np.float32).reshape(3, 4)) / 10.0


@pytest.mark.parametrize("frames", [1, 20, 32, 33, 54, 100, 131])
def test_stream_realigns_windows_with_arbitrary_scale_and_shift(frames):
    """A network whose output is the true depth under a different affine map per window is re-aligned exactly."""
    rng = np.random.default_rng(frames)
    calls = []

    def forward(window):
        a, b = rng.uniform(0.3, 3.0), rng.uniform(0.0, 2.0)
        calls.append((a, b))
        return np.stack([a * _true_depth(t) + b for t in window])

    out = np.full((frames, 3, 4), np.nan, np.float32)
    order = []

    def sink(t0, depth):
        order.append(t0)
        out[t0 : t0 + len(depth)] = depth

    stream_depth(frames, iter(range(frames)), forward, sink)
    a0, b0 = calls[0]
    expected = np.stack([a0 * _true_depth(t) + b0 for t in range(frames)])
    assert np.allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert order == sorted(order) and len(calls) == -(-frames // STEP)


def test_window_inputs_follow_the_keyframe_scheme():
    seen = []
    stream_depth(60, iter(range(60)), lambda w: (seen.append(list(w)), np.ones((INFER_LEN, 1, 1)))[1], lambda t0, d: None)
    assert seen[0] == list(range(32))
    # window 2: slots 0..9 = previous keyframes (first frame, frame 12, frames 24..31), then frames 32..53
    assert seen[1] == [0, 12] + list(range(24, 32)) + list(range(32, 54))
    assert seen[2][:2] == [0, 34] and seen[2][2:10] == list(range(46, 54)) and seen[2][10:] == list(range(54, 60)) + [59] * 16


def test_scale_shift_and_blend():
    x = np.array([1.0, 2.0, 3.0])
    assert np.allclose(scale_and_shift(x, 2 * x + 1), (2.0, 1.0))
    blended = blend(np.zeros((3, 1, 1), np.float32), np.ones((3, 1, 1), np.float32))
    assert blended.ravel().tolist() == [0.0, 0.5, 1.0]


# ---------------------------------------------------------------- backends end to end

@pytest.fixture(scope="module")
def small_sequence(tmp_path_factory) -> SequenceIndex:
    root = tmp_path_factory.mktemp("sd")
    cfg = SynthConfig(seed=5, sequences={"train": 0, "val": 1, "test": 0}, frames=50, width=128, height=72, dancers=(5, 6))
    generate_sequence(root / "val" / "synthdance0001", "synthdance0001", cfg, progress=False)
    return build_index(locate("synthdance", "synthdance", root, "val", "synthdance0001", ["val"]))


FAKE_VDA = textwrap.dedent(
    '''
    import torch
    import torch.nn as nn


    class VideoDepthAnything(nn.Module):
        """Same constructor and forward contract as the real network: [B, T, 3, H, W] -> [B, T, H, W]."""

        def __init__(self, encoder="vits", features=64, out_channels=(48, 96, 192, 384), **kwargs):
            super().__init__()
            self.encoder = encoder
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.head = nn.Conv2d(4, 1, 1)

        def forward(self, x):
            b, t, c, h, w = x.shape
            y = self.head(torch.relu(self.conv(x.flatten(0, 1))))
            return torch.relu(y).squeeze(1).unflatten(0, (b, t))
    '''
)


@pytest.fixture
def fake_vda_repo(tmp_path) -> tuple[Path, Path]:
    repo = tmp_path / "Video-Depth-Anything"
    (repo / "video_depth_anything").mkdir(parents=True)
    (repo / "video_depth_anything" / "__init__.py").write_text("")
    (repo / "video_depth_anything" / "video_depth.py").write_text(FAKE_VDA)
    import importlib.util
    import sys

    sys.modules.pop("video_depth_anything.video_depth", None)
    sys.modules.pop("video_depth_anything", None)
    spec = importlib.util.spec_from_file_location("fake_vda", repo / "video_depth_anything" / "video_depth.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(0)
    checkpoint = tmp_path / "video_depth_anything_vits.pth"
    torch.save(module.VideoDepthAnything().state_dict(), checkpoint)
    yield repo, checkpoint
    sys.modules.pop("video_depth_anything.video_depth", None)
    sys.modules.pop("video_depth_anything", None)


def _vda_settings(repo: Path, checkpoint: Path | str) -> dict:
    return {
        "backend": "video_depth_anything", "cache_short_side": 36, "device": "cpu",
        "video_depth_anything": {"repo": str(repo), "encoder": "vits", "checkpoint": str(checkpoint), "metric": False, "input_size": 28},
    }


def test_vda_backend_writes_store(small_sequence, fake_vda_repo, tmp_path):
    repo, checkpoint = fake_vda_repo
    out = tmp_path / "depth.zarr"
    run_depth_teacher(small_sequence, _vda_settings(repo, checkpoint), out, progress=False)
    store = open_frame_store(out)
    assert store.shape == (50, 36, 64) and store.dtype == np.float16 and store.chunks == (1, 36, 64)
    attrs = dict(store.attrs)
    assert attrs["backend"] == "video_depth_anything" and attrs["kind"] == "disparity" and attrs["encoder"] == "vits"
    assert attrs["model"] == "video_depth_anything_vits.pth" and attrs["input_size"] == [56, 28]
    assert attrs["complete"] is True
    assert np.isfinite(store[:].astype(np.float32)).all()


def test_vda_missing_checkpoint_names_the_file(small_sequence, fake_vda_repo, tmp_path):
    repo, _ = fake_vda_repo
    missing = tmp_path / "nowhere" / "video_depth_anything_vits.pth"
    with pytest.raises(MissingWeightsError, match=str(missing)):
        run_depth_teacher(small_sequence, _vda_settings(repo, missing), tmp_path / "depth.zarr", progress=False)
    assert not (tmp_path / "depth.zarr").exists()


def test_vda_missing_repo(small_sequence, tmp_path):
    with pytest.raises(MissingWeightsError, match="video_depth.py is missing"):
        run_depth_teacher(small_sequence, _vda_settings(tmp_path / "no-repo", tmp_path / "x.pth"), tmp_path / "depth.zarr", progress=False)


def test_depth_anything_v2_backend_with_tiny_random_model(small_sequence, tmp_path):
    import transformers  # installed by the Makefile: a broken install fails here, never skips
    backbone = transformers.Dinov2Config(image_size=56, patch_size=14, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                                         intermediate_size=64, out_features=["stage1", "stage2", "stage3", "stage4"], reshape_hidden_states=False)
    config = transformers.DepthAnythingConfig(backbone_config=backbone, fusion_hidden_size=16, neck_hidden_sizes=[8, 16, 32, 32],
                                              reassemble_hidden_size=32, head_hidden_size=8, patch_size=14)
    torch.manual_seed(0)
    model_dir = tmp_path / "da2-tiny"
    transformers.DepthAnythingForDepthEstimation(config).save_pretrained(model_dir)
    transformers.DPTImageProcessor(size={"height": 56, "width": 56}, keep_aspect_ratio=True, ensure_multiple_of=14).save_pretrained(model_dir)
    settings = {"backend": "depth_anything_v2", "cache_short_side": 36, "device": "cpu", "depth_anything_v2": {"model": str(model_dir), "batch_size": 8}}
    out = tmp_path / "depth.zarr"
    run_depth_teacher(small_sequence, settings, out, progress=False)
    store = open_frame_store(out)
    assert store.shape == (50, 36, 64) and store.attrs["backend"] == "depth_anything_v2" and store.attrs["kind"] == "disparity"


def test_provided_depth_and_bins(small_sequence, tmp_path):
    depth_out = tmp_path / "depth.zarr"
    run_depth_teacher(small_sequence, {"backend": "provided", "cache_short_side": 36, "device": "cpu"}, depth_out, progress=False)
    store = open_frame_store(depth_out)
    assert store.attrs["kind"] == "metric" and store.shape == (50, 36, 64)
    gt = cv2.imread(str(Path(small_sequence.img_dir).parent / "depth" / "00000007.png"), cv2.IMREAD_UNCHANGED) / 1000.0
    assert np.allclose(store[6].astype(np.float32), cv2.resize(gt, (64, 36), interpolation=cv2.INTER_NEAREST), rtol=2e-3)
    settings = {"num_bins": 150, "d_min": 1e-3, "d_max": 256.0, "fg_weight": 6, "train_short_side": 72, "stride": 8}
    bins_out = tmp_path / "depth_bins.zarr"
    attrs = write_depth_bins(depth_out, bins_out, settings, progress=False)
    bins = open_frame_store(bins_out)
    assert bins.dtype == np.uint8 and bins.shape == (50, 9, 16) and attrs["label_size"] == [16, 9]
    assert label_size(1920, 1080, 800, 8) == (178, 100)
    values = bins[:]
    assert values.max() <= 150 and values.min() >= 0
    # the nearest pixel of the sequence maps to 255 on FDTA's scale: the highest occupied bin is the one holding 255
    assert values.max() <= lid_index(np.array([255.0]), 150, 1e-3, 256.0)[0]


def test_bins_by_hand_on_a_two_frame_metric_store(tmp_path):
    """Two 4x8 frames of metric depth binned to a 2x4 label map (original 8x4, train short side 4, stride 2), so each
    label cell is the INTER_AREA mean of a 2x2 block. K = 4 over [0, 256): bin size 2 * 256 / 20 = 25.6, edges 0,
    25.6, 76.8, 153.6, 256; bin 4 is background. The nearest pixel of the sequence (0.5 m, disparity 2) is in frame 2,
    so frame 1 is scaled by it too: value = (1 / depth) / 2 * 255 = 127.5 / depth."""
    cells = [  # per label cell: the four depths of its 2x2 block (metres; 0 = no depth)
        [[1, 1, 1, 1], [4, 4, 4, 4], [0, 0, 0, 0], [1, 1, 10, 10]],
        [[2, 2, 2, 2], [100, 100, 100, 100], [0.8, 0.8, 0.8, 0.8], [3, 3, 3, 3]],
    ]
    frame1 = np.zeros((4, 8), np.float32)
    for r, row in enumerate(cells):
        for c, block in enumerate(row):
            frame1[2 * r : 2 * r + 2, 2 * c : 2 * c + 2] = np.reshape(block, (2, 2))
    frame2 = np.full((4, 8), 8.0, np.float32)
    frame2[0:2, 0:2] = 0.5
    attrs = {"kind": "metric", "backend": "provided", "original_size": [8, 4]}
    with create_frame_store(tmp_path / "depth.zarr", 2, 4, 8, "float16", attrs) as store:
        store[0], store[1] = frame1, frame2
    settings = {"num_bins": 4, "d_min": 0.0, "d_max": 256.0, "fg_weight": 6, "train_short_side": 4, "stride": 2}
    attrs = write_depth_bins(tmp_path / "depth.zarr", tmp_path / "bins.zarr", settings, progress=False)
    assert attrs["label_size"] == [4, 2] and attrs["sequence_max"] == pytest.approx(2.0)
    # frame 1: 127.5 -> 2; 31.9 -> 1; no depth -> 4; mean of disparities (127.5 + 12.75) / 2 = 70.1 -> 1 (averaging
    # depths first would give 127.5 / 5.5 = 23.2 -> 0); 63.75 -> 1; 1.3 -> 0; 159.4 -> 3; 42.5 -> 1
    # frame 2: 255 -> 3; 127.5 / 8 = 15.9 -> 0
    expected = np.array([[[2, 1, 4, 1], [1, 0, 3, 1]], [[3, 0, 0, 0], [0, 0, 0, 0]]], np.uint8)
    assert np.array_equal(open_frame_store(tmp_path / "bins.zarr")[:], expected)


def test_incomplete_store_is_refused(tmp_path):
    import zarr

    zarr.create_array(store=str(tmp_path / "half.zarr"), shape=(2, 2, 2), chunks=(1, 2, 2), dtype="float16")
    with pytest.raises(InputError, match="incomplete"):
        open_frame_store(tmp_path / "half.zarr")


def test_vda_resumes_exactly_after_a_crash(small_sequence, fake_vda_repo, tmp_path, monkeypatch, capsys):
    """A crash in the third window leaves the store of two windows and their stream state; the rerun continues from
    there (keyframe inputs reloaded, reference and pending maps restored) and ends byte-identical to one run."""
    from motforge.depth import streaming
    from test_reliability import digest

    repo, checkpoint = fake_vda_repo
    settings = {**_vda_settings(repo, checkpoint), "resume": True}
    run_depth_teacher(small_sequence, settings, tmp_path / "whole" / "depth.zarr", progress=False)
    run_depth_teacher(small_sequence, {**settings, "resume": False}, tmp_path / "plain" / "depth.zarr", progress=False)

    original, calls = streaming.scale_and_shift, []

    def crash_in_third_window(prediction, target):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        return original(prediction, target)

    out = tmp_path / "crashed" / "depth.zarr"
    monkeypatch.setattr(streaming, "scale_and_shift", crash_in_third_window)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_depth_teacher(small_sequence, settings, out, progress=False)
    assert not out.exists() and (out.parent / ".depth.zarr.partial").is_dir() and (out.parent / ".depth.zarr.resume.npz").is_file()
    monkeypatch.setattr(streaming, "scale_and_shift", original)
    capsys.readouterr()
    run_depth_teacher(small_sequence, settings, out, progress=False)
    assert "resuming after frame 46 of 50" in capsys.readouterr().err  # window 1 made 24 final frames, window 2 another 22
    assert digest(out) == digest(tmp_path / "whole" / "depth.zarr") == digest(tmp_path / "plain" / "depth.zarr")
    assert sorted(p.name for p in out.parent.iterdir()) == ["depth.zarr"], "partial store or state left behind"


def _crash_in_second_alignment(monkeypatch):
    """Make the VDA stream raise in its second window alignment (after window 1's frames and state are saved)."""
    from motforge.depth import streaming

    original, calls = streaming.scale_and_shift, []

    def crash(prediction, target):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        return original(prediction, target)

    monkeypatch.setattr(streaming, "scale_and_shift", crash)
    return lambda: monkeypatch.setattr(streaming, "scale_and_shift", original)


def test_resume_state_of_other_settings_is_not_used(small_sequence, fake_vda_repo, tmp_path, monkeypatch, capsys):
    """A real partial store and a valid state file, left by a crashed run with another input size (same store shape,
    so only the fingerprint tells them apart), must be discarded: the rerun starts over and equals a clean run."""
    from test_reliability import digest

    repo, checkpoint = fake_vda_repo
    settings = {**_vda_settings(repo, checkpoint), "resume": True}
    run_depth_teacher(small_sequence, settings, tmp_path / "clean" / "depth.zarr", progress=False)
    other = {**settings, "video_depth_anything": {**settings["video_depth_anything"], "input_size": 42}}
    out = tmp_path / "crashed" / "depth.zarr"
    restore = _crash_in_second_alignment(monkeypatch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_depth_teacher(small_sequence, other, out, progress=False)
    restore()
    partial, state = out.parent / ".depth.zarr.partial", out.parent / ".depth.zarr.resume.npz"
    # what the crash left is usable by a rerun of the *same* settings (so only the fingerprint can refuse it)
    from motforge.depth.store import _resume_state

    leftover = zarr_attrs(partial)
    assert leftover["input_size"] == [84, 42] and int(np.load(state)["written"]) > 0
    assert _resume_state(partial, state, leftover["resume_fingerprint"], (50, 36, 64)) is not None
    capsys.readouterr()
    run_depth_teacher(small_sequence, settings, out, progress=False)
    assert "resuming" not in capsys.readouterr().err
    assert open_frame_store(out).attrs["input_size"] == [56, 28]
    assert digest(out) == digest(tmp_path / "clean" / "depth.zarr")
    assert sorted(p.name for p in out.parent.iterdir()) == ["depth.zarr"]


@pytest.mark.parametrize("tear", ["state", "store"])
def test_torn_resume_leftovers_start_over(small_sequence, fake_vda_repo, tmp_path, monkeypatch, capsys, tear):
    """A kill can tear the state file (half written) or the partial store (its metadata gone): either way the rerun
    starts over instead of failing or continuing from garbage, and ends equal to a clean run."""
    from test_reliability import digest

    repo, checkpoint = fake_vda_repo
    settings = {**_vda_settings(repo, checkpoint), "resume": True}
    run_depth_teacher(small_sequence, settings, tmp_path / "clean" / "depth.zarr", progress=False)
    out = tmp_path / "crashed" / "depth.zarr"
    restore = _crash_in_second_alignment(monkeypatch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_depth_teacher(small_sequence, settings, out, progress=False)
    restore()
    partial, state = out.parent / ".depth.zarr.partial", out.parent / ".depth.zarr.resume.npz"
    if tear == "state":
        state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    else:
        (partial / "zarr.json").unlink()
    capsys.readouterr()
    run_depth_teacher(small_sequence, settings, out, progress=False)
    assert "resuming" not in capsys.readouterr().err
    assert digest(out) == digest(tmp_path / "clean" / "depth.zarr")
    assert sorted(p.name for p in out.parent.iterdir()) == ["depth.zarr"]


def zarr_attrs(path: Path) -> dict:
    import zarr

    return dict(zarr.open_array(str(path), mode="r").attrs)
