"""Depth labels: FDTA's LID against hand-computed values, VDA's streaming alignment, backends and stores."""

from __future__ import annotations

import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from motforge.config import block_defaults
from motforge.datasets.index import SequenceIndex, build_index
from motforge.datasets.layouts import locate
from motforge.depth.backends.video_depth_anything import network_input_size
from motforge.depth.bins import label_size, write_depth_bins
from motforge.depth.lid import lid_bin_size, lid_centres, lid_edges, lid_index, lid_midpoints, normalise_disparity
from motforge.depth.store import create_frame_store, open_frame_store
from motforge.depth.streaming import INFER_LEN, STEP, blend, scale_and_shift, stream_depth
from motforge.depth.teacher import run_depth_teacher
from motforge.errors import ConfigError, InputError, MissingWeightsError
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


def test_lid_bins_are_narrow_at_low_disparity_as_fdta_code():
    """FDTA's code bins disparity (255 = nearest) with widths growing with the value: far objects get the fine
    bins. Binning depth, or 255 - disparity, would flip this and fail here."""
    edges = lid_edges(150, 1e-3, 256.0)
    width = np.diff(edges)
    assert np.all(np.diff(width) > 0)
    far, near = normalise_disparity(np.array([0.1, 1.0]), 1.0)
    assert lid_index(np.array([near]), 150, 1e-3, 256.0)[0] > lid_index(np.array([far]), 150, 1e-3, 256.0)[0]
    assert (
        width[lid_index(np.array([near]), 150, 1e-3, 256.0)[0]]
        > 3 * width[lid_index(np.array([far]), 150, 1e-3, 256.0)[0]]
    )


def test_lid_round_trip_within_half_a_bin():
    k, d_min, d_max = 150, 1e-3, 256.0
    depth = np.random.default_rng(0).uniform(d_min, d_max - 1e-6, 100000)
    index = lid_index(depth, k, d_min, d_max)
    edges = lid_edges(k, d_min, d_max)
    width = edges[index + 1] - edges[index]
    assert np.all(np.abs(lid_midpoints(k, d_min, d_max)[index] - depth) <= width / 2 + 1e-9)
    # the paper's bin values are the lower edges: within one bin below the value
    assert np.all(
        (depth - lid_centres(k, d_min, d_max)[index] >= -1e-9) & (depth - lid_centres(k, d_min, d_max)[index] < width)
    )


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
    stream_depth(
        60, iter(range(60)), lambda w: (seen.append(list(w)), np.ones((INFER_LEN, 1, 1)))[1], lambda t0, d: None
    )
    assert seen[0] == list(range(32))
    # window 2: slots 0..9 = previous keyframes (first frame, frame 12, frames 24..31), then frames 32..53
    assert seen[1] == [0, 12] + list(range(24, 32)) + list(range(32, 54))
    assert (
        seen[2][:2] == [0, 34]
        and seen[2][2:10] == list(range(46, 54))
        and seen[2][10:] == list(range(54, 60)) + [59] * 16
    )


def test_scale_shift_and_blend():
    x = np.array([1.0, 2.0, 3.0])
    assert np.allclose(scale_and_shift(x, 2 * x + 1), (2.0, 1.0))
    blended = blend(np.zeros((3, 1, 1), np.float32), np.ones((3, 1, 1), np.float32))
    assert blended.ravel().tolist() == [0.0, 0.5, 1.0]


# ---------------------------------------------------------------- backends end to end


@pytest.fixture(scope="module")
def small_sequence(tmp_path_factory) -> SequenceIndex:
    root = tmp_path_factory.mktemp("sd")
    cfg = SynthConfig(
        seed=5, sequences={"train": 0, "val": 1, "test": 0}, frames=50, width=128, height=72, dancers=(5, 6)
    )
    generate_sequence(root / "val" / "synthdance0001", "synthdance0001", cfg, progress=False)
    return build_index(locate("synthdance", "synthdance", root, "val", "synthdance0001", ["val"]))


FAKE_VDA = textwrap.dedent(
    '''
    import torch
    import torch.nn as nn

    EMBED_DIMS = {"vits": 384, "vitb": 768, "vitl": 1024}


    class Encoder(nn.Module):
        """Per frame, like DINOv2: 'tokens' = a 1x1 convolution of each pixel, 'class token' = the frame's mean."""

        def __init__(self, embed_dim):
            super().__init__()
            self.patch_embed = nn.Module()
            self.patch_embed.proj = nn.Conv2d(3, embed_dim, 14, 14)  # its width tells the encoder, as upstream's
            self.pixel = nn.Conv2d(3, 1, 1)

        def get_intermediate_layers(self, x, n, return_class_token=False):
            assert return_class_token
            tokens = self.pixel(x).flatten(1).unsqueeze(-1)  # [N, H * W, 1]
            return tuple((tokens, x.mean(dim=(1, 2, 3)).unsqueeze(-1)) for _ in n)


    class Head(nn.Module):
        """Mixes a window's frames, like the temporal DPT head: depth = g * y + s, g and s from the window's mean."""

        def forward(self, features, patch_h, patch_w, frame_length):
            tokens, cls = features[-1]
            y = tokens.view(-1, 1, patch_h * 14, patch_w * 14)
            m = torch.tanh(cls.view(-1, frame_length).mean(1)).repeat_interleave(frame_length).view(-1, 1, 1, 1)
            return ((1 + 0.5 * m) * y + 12 + 4 * m,)


    class VideoDepthAnything(nn.Module):
        """Upstream's constructor signature (no **kwargs), structure (pretrained encoder per frame, head over the
        window) and input contract: [B, T, 3, H, W] -> [B, T, H, W] with T = num_frames = 32 (the temporal head is
        built for it) and H, W multiples of 14 (the ViT patch size).

        The output can be predicted: per pixel y = w . x + b (a 1x1 convolution over the normalised RGB input, weights
        from the checkpoint), then depth = g * y + s with g = 1 + 0.5 tanh(m), s = 12 + 4 tanh(m), m = the mean of
        the whole window's input. Every window thus gets its own affine map, which the alignment must undo."""

        def __init__(self, encoder="vitl", features=256, out_channels=[256, 512, 1024, 1024], use_bn=False,
                     use_clstoken=False, num_frames=32, pe="ape", metric=False):
            super().__init__()
            self.intermediate_layer_idx = {"vits": [2, 5, 8, 11], "vitb": [2, 5, 8, 11], "vitl": [4, 11, 17, 23]}
            self.encoder, self.num_frames, self.metric = encoder, num_frames, metric
            self.pretrained = Encoder(EMBED_DIMS[encoder])
            self.head = Head()

        def forward(self, x):
            b, t, c, h, w = x.shape
            if t != self.num_frames or c != 3 or h % 14 or w % 14:
                raise ValueError(f"input {tuple(x.shape)}: T must be {self.num_frames}, H and W multiples of 14")
            layers = self.intermediate_layer_idx[self.encoder]
            features = self.pretrained.get_intermediate_layers(x.flatten(0, 1), layers, return_class_token=True)
            depth = self.head(features, h // 14, w // 14, t)[0]
            return torch.relu(depth).squeeze(1).unflatten(0, (b, t))
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
    network = module.VideoDepthAnything(encoder="vits", features=64, out_channels=[48, 96, 192, 384])
    torch.save(network.state_dict(), checkpoint)
    yield repo, checkpoint
    sys.modules.pop("video_depth_anything.video_depth", None)
    sys.modules.pop("video_depth_anything", None)


def _vda_settings(repo: Path, checkpoint: Path | str) -> dict:
    return {
        "backend": "video_depth_anything",
        "cache_short_side": 36,
        "device": "cpu",
        "video_depth_anything": {
            "repo": str(repo),
            "encoder": "vits",
            "checkpoint": str(checkpoint),
            "metric": False,
            "input_size": 28,
        },
    }


def test_network_input_size_follows_upstream_rule():
    """Sizes worked out by hand from upstream's Resize (lower_bound, keep aspect, nearest multiple of 14, up only
    below the minimum) and its >1.78:1 shrink, e.g. 768x576 at 518: scale 518/576, width 690.67 -> 49.33 * 14 -> 686."""
    table = [
        ((768, 576, 518), (686, 518)),  # 4:3; rounding both sides up (the old rule) gave 700x518
        ((640, 480, 518), (686, 518)),
        ((1173, 880, 518), (686, 518)),  # 690.47 -> 686
        ((576, 768, 518), (518, 686)),  # portrait
        ((1920, 1080, 518), (924, 518)),  # 16:9: 920.89 -> 65.78 -> 924 (both rules agree)
        ((1280, 720, 518), (924, 518)),
        ((2560, 1080, 518), (924, 392)),  # ratio 2.37 > 1.78: int(518 * 1.777 / 2.370) = 388 -> 392; 929.2 -> 924
        ((640, 480, 520), (700, 532)),  # 520 -> 518 is below the minimum, so up to 532; 693.33 -> 700
        ((128, 72, 42), (70, 42)),  # 74.67 -> 5.33 * 14 -> 70 (the old rule: 84)
        ((128, 72, 28), (56, 28)),  # 49.78 -> 3.56 -> 56
    ]
    for (width, height, input_size), expected in table:
        assert network_input_size(width, height, input_size) == expected, (width, height, input_size)


@pytest.fixture(scope="module")
def ramp_sequence(small_sequence, tmp_path_factory) -> SequenceIndex:
    """The small sequence with brightness rising over time (lossless PNG), so windows' mean inputs differ a lot."""
    folder = tmp_path_factory.mktemp("ramp") / "img1"
    folder.mkdir()
    names = []
    for t in range(small_sequence.seq_length):
        image = cv2.imread(str(small_sequence.frame_path(t + 1)), cv2.IMREAD_COLOR).astype(np.float32)
        names.append(f"{t + 1:08d}.png")
        cv2.imwrite(str(folder / names[-1]), np.clip(image * (0.3 + 0.03 * t), 0, 255).astype(np.uint8))
    return SequenceIndex(**{**small_sequence.__dict__, "img_dir": str(folder), "frame_files": np.asarray(names)})


def _expected_fake_vda(index: SequenceIndex, checkpoint: Path, net_size: tuple[int, int], cache: tuple[int, int]):
    """The fake network's output worked out from upstream's preprocessing: RGB / 255, bicubic resize to the network
    size, ImageNet normalisation; y = w . x + b with the checkpoint's head; per window g, s from the window's mean
    input; bilinear (align_corners) to the cache size. Returns y per frame and a function window inputs -> (g, s)."""
    state = torch.load(checkpoint, weights_only=True)
    w, b = state["pretrained.pixel.weight"].reshape(3).numpy(), float(state["pretrained.pixel.bias"])
    mean, std = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)
    inputs = []
    for t in range(index.seq_length):
        rgb = cv2.imread(str(index.frame_path(t + 1)))[:, :, ::-1].astype(np.float32) / 255.0
        inputs.append((cv2.resize(rgb, net_size, interpolation=cv2.INTER_CUBIC) - mean) / std)
    inputs = np.stack(inputs).astype(np.float64)  # [T, h, w, 3]
    y = inputs @ w.astype(np.float64) + b

    def affine(frames: list[int]) -> tuple[float, float]:
        m = np.tanh(inputs[frames].mean())
        return 1 + 0.5 * m, 12 + 4 * m

    def to_cache(depth: np.ndarray) -> np.ndarray:
        up = torch.nn.functional.interpolate(
            torch.from_numpy(depth)[:, None], size=(cache[1], cache[0]), mode="bilinear", align_corners=True
        )
        return up[:, 0].numpy()

    return y, affine, to_cache


def test_vda_backend_stores_predicted_values(ramp_sequence, fake_vda_repo, tmp_path):
    """Relative depth: every window is re-aligned onto the first window's map, so each stored frame equals
    g0 * y_t + s0 (window 0's affine map), whatever window produced it. A BGR/RGB swap, a missing normalisation, another
    resize rule or interpolation, or a wrong alignment changes the values by far more than float16 rounding."""
    repo, checkpoint = fake_vda_repo
    settings = _vda_settings(repo, checkpoint)
    settings["video_depth_anything"]["input_size"] = 42  # 128x72 -> 70x42 by upstream's rule (rounding up: 84x42)
    out = tmp_path / "depth.zarr"
    run_depth_teacher(ramp_sequence, block_defaults("depth", settings), out, progress=False)
    store = open_frame_store(out)
    assert store.shape == (50, 36, 64) and store.dtype == np.float16 and store.chunks == (1, 36, 64)
    attrs = dict(store.attrs)
    assert attrs["backend"] == "video_depth_anything" and attrs["kind"] == "disparity" and attrs["encoder"] == "vits"
    assert attrs["model"] == "video_depth_anything_vits.pth" and attrs["input_size"] == [70, 42]
    assert attrs["complete"] is True
    y, affine, to_cache = _expected_fake_vda(ramp_sequence, checkpoint, (70, 42), (64, 36))
    g0, s0 = affine(list(range(32)))
    g1, s1 = affine([0, 12] + list(range(24, 50)) + [49] * 4)
    assert abs(g1 - g0) > 0.05, "the ramp must give the windows different maps, or alignment would not be tested"
    expected = to_cache((g0 * y + s0).astype(np.float32))
    stored = store[:].astype(np.float32)
    assert np.allclose(stored, expected, rtol=1e-3, atol=0), np.abs(stored - expected).max()
    assert float(store.attrs["disparity_max"]) == float(stored.max())


def test_vda_metric_model_is_not_realigned(ramp_sequence, fake_vda_repo, tmp_path):
    """Metric depth keeps each window's own scale (upstream: scale 1, shift 0), blended over the 8-frame overlap."""
    repo, checkpoint = fake_vda_repo
    settings = _vda_settings(repo, checkpoint)
    settings["video_depth_anything"].update(metric=True, input_size=42)
    out = tmp_path / "depth.zarr"
    run_depth_teacher(ramp_sequence, block_defaults("depth", settings), out, progress=False)
    store = open_frame_store(out)
    assert store.attrs["kind"] == "metric" and store.attrs["model"] == "metric_video_depth_anything_vits.pth"
    y, affine, to_cache = _expected_fake_vda(ramp_sequence, checkpoint, (70, 42), (64, 36))
    (g0, s0), (g1, s1) = affine(list(range(32))), affine([0, 12] + list(range(24, 50)) + [49] * 4)
    window0, window1 = to_cache((g0 * y + s0).astype(np.float32)), to_cache((g1 * y + s1).astype(np.float32))
    stored = store[:].astype(np.float32)
    assert np.allclose(stored[:24], window0[:24], rtol=1e-3, atol=0)  # window 0 alone
    weights = (np.arange(8) / 7.0)[:, None, None]  # frames 24..31: window 0 fading into window 1
    assert np.allclose(stored[24:32], (1 - weights) * window0[24:32] + weights * window1[24:32], rtol=1e-3, atol=0)
    assert np.allclose(stored[32:46], window1[32:46], rtol=1e-3, atol=0)  # window 1 at its own scale
    assert not np.allclose(stored[32:46], window0[32:46], rtol=1e-2, atol=0)  # which the alignment would have removed


def test_stream_metric_uses_scale_one_shift_zero():
    calls = []

    def forward(window):
        calls.append(len(calls))
        return np.stack([(1.0 + len(calls)) * _true_depth(t) for t in window])

    out = np.zeros((60, 3, 4), np.float32)
    stream_depth(60, iter(range(60)), forward, lambda t0, d: out.__setitem__(slice(t0, t0 + len(d)), d), metric=True)
    assert np.allclose(out[40], 3.0 * _true_depth(40)) and np.allclose(out[10], 2.0 * _true_depth(10))


@pytest.mark.parametrize("frames", [20, 54, 131])
def test_batched_windows_equal_one_at_a_time(frames):
    """Windows sent through the network in batches of 3 give the same frames, byte for byte, as one at a time."""

    def forward_windows(windows):
        return np.stack(
            [np.stack([(1.0 + sum(w) % 7) * _true_depth(t) + 0.5 * (sum(w) % 3) for t in w]) for w in windows]
        )

    results, batches = [], []
    for per_batch in (1, 3):
        out = np.full((frames, 3, 4), np.nan, np.float32)

        def counted(windows):
            batches.append(len(windows))
            return forward_windows([list(w) for w in windows])

        stream_depth(
            frames,
            iter(range(frames)),
            None,
            lambda t0, d: out.__setitem__(slice(t0, t0 + len(d)), d),
            forward_windows=counted,
            windows_per_batch=per_batch,
        )
        results.append(out)
    assert np.array_equal(results[0], results[1]) and np.isfinite(results[0]).all()
    windows = -(-frames // STEP)
    assert batches[:windows] == [1] * windows
    assert batches[windows:] == [3] * (windows // 3) + ([windows % 3] if windows % 3 else [])


def test_vda_backend_batched_store_is_byte_identical(ramp_sequence, fake_vda_repo, tmp_path):
    from test_reliability import digest

    repo, checkpoint = fake_vda_repo
    for per_batch in (1, 2):
        settings = _vda_settings(repo, checkpoint)
        settings["video_depth_anything"]["windows_per_batch"] = per_batch
        run_depth_teacher(
            ramp_sequence, block_defaults("depth", settings), tmp_path / str(per_batch) / "depth.zarr", progress=False
        )
    assert digest(tmp_path / "1" / "depth.zarr") == digest(tmp_path / "2" / "depth.zarr")


def test_vda_corrupt_checkpoint_names_file_key_and_cause(small_sequence, fake_vda_repo, tmp_path):
    repo, checkpoint = fake_vda_repo
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(ConfigError, match=rf"depth\.video_depth_anything\.checkpoint.*{broken}.*not a PyTorch"):
        run_depth_teacher(
            small_sequence,
            block_defaults("depth", _vda_settings(repo, broken)),
            tmp_path / "depth.zarr",
            progress=False,
        )
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    with pytest.raises(ConfigError, match=rf"{truncated}.*truncated"):
        run_depth_teacher(
            small_sequence,
            block_defaults("depth", _vda_settings(repo, truncated)),
            tmp_path / "depth.zarr",
            progress=False,
        )
    assert not (tmp_path / "depth.zarr").exists()


def test_vda_encoder_mismatch_says_what_the_file_is(small_sequence, fake_vda_repo, tmp_path):
    repo, checkpoint = fake_vda_repo  # a vits file
    settings = _vda_settings(repo, checkpoint)
    settings["video_depth_anything"]["encoder"] = "vitb"
    with pytest.raises(ConfigError, match="looks like vits, the config asks for vitb") as caught:
        run_depth_teacher(small_sequence, block_defaults("depth", settings), tmp_path / "depth.zarr", progress=False)
    assert str(checkpoint) in str(caught.value) and "depth.video_depth_anything.checkpoint" in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1


def test_vda_missing_checkpoint_names_the_file(small_sequence, fake_vda_repo, tmp_path):
    repo, _ = fake_vda_repo
    missing = tmp_path / "nowhere" / "video_depth_anything_vits.pth"
    with pytest.raises(MissingWeightsError, match=str(missing)):
        run_depth_teacher(
            small_sequence,
            block_defaults("depth", _vda_settings(repo, missing)),
            tmp_path / "depth.zarr",
            progress=False,
        )
    assert not (tmp_path / "depth.zarr").exists()


def test_vda_missing_repo(small_sequence, tmp_path):
    with pytest.raises(MissingWeightsError, match="video_depth.py is missing"):
        run_depth_teacher(
            small_sequence,
            block_defaults("depth", _vda_settings(tmp_path / "no-repo", tmp_path / "x.pth")),
            tmp_path / "depth.zarr",
            progress=False,
        )


def test_depth_anything_v2_backend_with_tiny_random_model(small_sequence, tmp_path):
    import transformers  # installed by the Makefile: a broken install fails here, never skips

    backbone = transformers.Dinov2Config(
        image_size=56,
        patch_size=14,
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=64,
        out_features=["stage1", "stage2", "stage3", "stage4"],
        reshape_hidden_states=False,
    )
    config = transformers.DepthAnythingConfig(
        backbone_config=backbone,
        fusion_hidden_size=16,
        neck_hidden_sizes=[8, 16, 32, 32],
        reassemble_hidden_size=32,
        head_hidden_size=8,
        patch_size=14,
    )
    torch.manual_seed(0)
    model_dir = tmp_path / "da2-tiny"
    transformers.DepthAnythingForDepthEstimation(config).save_pretrained(model_dir)
    transformers.DPTImageProcessor(
        size={"height": 56, "width": 56}, keep_aspect_ratio=True, ensure_multiple_of=14
    ).save_pretrained(model_dir)
    settings = {
        "backend": "depth_anything_v2",
        "cache_short_side": 36,
        "device": "cpu",
        "depth_anything_v2": {"model": str(model_dir), "batch_size": 8},
    }
    out = tmp_path / "depth.zarr"
    run_depth_teacher(small_sequence, block_defaults("depth", settings), out, progress=False)
    store = open_frame_store(out)
    assert (
        store.shape == (50, 36, 64)
        and store.attrs["backend"] == "depth_anything_v2"
        and store.attrs["kind"] == "disparity"
    )


def test_provided_depth_and_bins(small_sequence, tmp_path):
    depth_out = tmp_path / "depth.zarr"
    run_depth_teacher(
        small_sequence,
        block_defaults("depth", {"backend": "provided", "cache_short_side": 36, "device": "cpu"}),
        depth_out,
        progress=False,
    )
    store = open_frame_store(depth_out)
    assert store.attrs["kind"] == "metric" and store.shape == (50, 36, 64)
    gt = cv2.imread(str(Path(small_sequence.img_dir).parent / "depth" / "00000007.png"), cv2.IMREAD_UNCHANGED) / 1000.0
    assert np.allclose(
        store[6].astype(np.float32), cv2.resize(gt, (64, 36), interpolation=cv2.INTER_NEAREST), rtol=2e-3
    )
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
    run_depth_teacher(
        small_sequence, block_defaults("depth", settings), tmp_path / "whole" / "depth.zarr", progress=False
    )
    run_depth_teacher(
        small_sequence,
        block_defaults("depth", {**settings, "resume": False}),
        tmp_path / "plain" / "depth.zarr",
        progress=False,
    )

    original, calls = streaming.scale_and_shift, []

    def crash_in_third_window(prediction, target):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        return original(prediction, target)

    out = tmp_path / "crashed" / "depth.zarr"
    monkeypatch.setattr(streaming, "scale_and_shift", crash_in_third_window)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_depth_teacher(small_sequence, block_defaults("depth", settings), out, progress=False)
    assert (
        not out.exists()
        and (out.parent / ".depth.zarr.partial").is_dir()
        and (out.parent / ".depth.zarr.resume.npz").is_file()
    )
    monkeypatch.setattr(streaming, "scale_and_shift", original)
    capsys.readouterr()
    run_depth_teacher(small_sequence, block_defaults("depth", settings), out, progress=False)
    assert (
        "resuming after frame 46 of 50" in capsys.readouterr().err
    )  # window 1 made 24 final frames, window 2 another 22
    assert digest(out) == digest(tmp_path / "whole" / "depth.zarr") == digest(tmp_path / "plain" / "depth.zarr")
    assert sorted(p.name for p in out.parent.iterdir()) == ["depth.zarr"], "partial store or state left behind"


def test_resume_state_of_other_settings_is_not_used(small_sequence, fake_vda_repo, tmp_path, monkeypatch, capsys):
    """A real partial store and a valid state file, left by a crashed run with another input size (same store shape,
    so only the fingerprint tells them apart), must be discarded: the rerun starts over and equals a clean run."""
    from test_reliability import digest

    repo, checkpoint = fake_vda_repo
    settings = {**_vda_settings(repo, checkpoint), "resume": True}
    run_depth_teacher(
        small_sequence, block_defaults("depth", settings), tmp_path / "clean" / "depth.zarr", progress=False
    )
    other = {**settings, "video_depth_anything": {**settings["video_depth_anything"], "input_size": 42}}
    out = tmp_path / "crashed" / "depth.zarr"
    restore = _crash_in_second_alignment(monkeypatch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_depth_teacher(small_sequence, block_defaults("depth", other), out, progress=False)
    restore()
    partial, state = out.parent / ".depth.zarr.partial", out.parent / ".depth.zarr.resume.npz"
    # what the crash left is usable by a rerun of the *same* settings (so only the fingerprint can refuse it)
    from motforge.depth.store import _resume_state

    leftover = zarr_attrs(partial)
    assert leftover["input_size"] == [70, 42] and int(np.load(state)["written"]) > 0
    assert _resume_state(partial, state, leftover["resume_fingerprint"], (50, 36, 64)) is not None
    capsys.readouterr()
    run_depth_teacher(small_sequence, block_defaults("depth", settings), out, progress=False)
    assert "resuming" not in capsys.readouterr().err
    assert open_frame_store(out).attrs["input_size"] == [56, 28]
    assert digest(out) == digest(tmp_path / "clean" / "depth.zarr")
    assert sorted(p.name for p in out.parent.iterdir()) == ["depth.zarr"]


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


@pytest.mark.parametrize("tear", ["state", "store"])
def test_torn_resume_leftovers_start_over(small_sequence, fake_vda_repo, tmp_path, monkeypatch, capsys, tear):
    """A kill can tear the state file (half written) or the partial store (its metadata gone): either way the rerun
    starts over instead of failing or continuing from garbage, and ends equal to a clean run."""
    from test_reliability import digest

    repo, checkpoint = fake_vda_repo
    settings = {**_vda_settings(repo, checkpoint), "resume": True}
    run_depth_teacher(
        small_sequence, block_defaults("depth", settings), tmp_path / "clean" / "depth.zarr", progress=False
    )
    out = tmp_path / "crashed" / "depth.zarr"
    restore = _crash_in_second_alignment(monkeypatch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_depth_teacher(small_sequence, block_defaults("depth", settings), out, progress=False)
    restore()
    partial, state = out.parent / ".depth.zarr.partial", out.parent / ".depth.zarr.resume.npz"
    if tear == "state":
        state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    else:
        (partial / "zarr.json").unlink()
    capsys.readouterr()
    run_depth_teacher(small_sequence, block_defaults("depth", settings), out, progress=False)
    assert "resuming" not in capsys.readouterr().err
    assert digest(out) == digest(tmp_path / "clean" / "depth.zarr")
    assert sorted(p.name for p in out.parent.iterdir()) == ["depth.zarr"]


def zarr_attrs(path: Path) -> dict:
    import zarr

    return dict(zarr.open_array(str(path), mode="r").attrs)


def test_window_network_encodes_each_input_once_and_matches_the_plain_forward(tmp_path):
    """Keyframe features kept from the previous call and the padding frame encoded once give the same depth as the
    network's own forward on every full window, while the encoder sees each distinct input exactly once."""
    import importlib.util

    from motforge.depth.backends.video_depth_anything import WindowNetwork

    (tmp_path / "fake_vda_net.py").write_text(FAKE_VDA)
    spec = importlib.util.spec_from_file_location("fake_vda_net", tmp_path / "fake_vda_net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(1)
    model = module.VideoDepthAnything(encoder="vits").eval()
    encoded = []
    plain_encoder = model.pretrained.get_intermediate_layers

    def counting_encoder(x, *args, **kwargs):
        encoded.append(len(x))
        return plain_encoder(x, *args, **kwargs)

    model.pretrained.get_intermediate_layers = counting_encoder
    frames = [torch.randn(3, 28, 42) * (1 + t / 10) for t in range(75)]
    for per_batch in (1, 2):
        encoded.clear()
        network, windows, got = WindowNetwork(model), [], []

        def forward_windows(batch):
            windows.extend(batch)
            with torch.no_grad():
                got.extend(network(batch, lambda x: x))
            return np.zeros((len(batch), INFER_LEN, 1, 1), np.float32)

        stream_depth(
            75, iter(frames), None, lambda t0, d: None, forward_windows=forward_windows, windows_per_batch=per_batch
        )
        assert sum(encoded) == 75, encoded  # 4 windows: 32 + 22 + 21 + 0 new inputs (the padding repeats frame 74)
        model.pretrained.get_intermediate_layers = plain_encoder
        with torch.no_grad():
            for window, depth in zip(windows, got):
                assert torch.allclose(depth, model(torch.stack(window)[None])[0], rtol=1e-6, atol=1e-5)
        model.pretrained.get_intermediate_layers = counting_encoder


def test_vda_resume_after_a_crash_inside_a_batch_of_windows(
    small_sequence, fake_vda_repo, tmp_path, monkeypatch, capsys
):
    """Windows 0 and 1 go through the network together and the crash hits window 1's alignment: the saved state is
    window 0's (inputs consumed: 32, although the reader had taken all 50), and the rerun ends identical to a clean
    one-window-at-a-time run."""
    from motforge.depth import streaming
    from test_reliability import digest

    repo, checkpoint = fake_vda_repo
    settings = {**_vda_settings(repo, checkpoint), "resume": True}
    settings["video_depth_anything"]["windows_per_batch"] = 2
    clean = {**_vda_settings(repo, checkpoint), "resume": False}
    run_depth_teacher(small_sequence, block_defaults("depth", clean), tmp_path / "clean" / "depth.zarr", progress=False)
    original = streaming.scale_and_shift

    def crash(prediction, target):
        raise RuntimeError("simulated crash")

    out = tmp_path / "crashed" / "depth.zarr"
    monkeypatch.setattr(streaming, "scale_and_shift", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_depth_teacher(small_sequence, block_defaults("depth", settings), out, progress=False)
    with np.load(out.parent / ".depth.zarr.resume.npz") as saved:
        assert int(saved["consumed"]) == 32 and int(saved["written"]) == 24 and int(saved["next_start"]) == 22
    monkeypatch.setattr(streaming, "scale_and_shift", original)
    capsys.readouterr()
    run_depth_teacher(small_sequence, block_defaults("depth", settings), out, progress=False)
    assert "resuming after frame 24 of 50" in capsys.readouterr().err
    assert digest(out) == digest(tmp_path / "clean" / "depth.zarr")
