"""Training the dense model from the caches: determinism, resume after SIGKILL, the online tracker end to end."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from motforge.config import block_defaults, model_defaults
from motforge.datasets.frame_cache import open_frame_cache, write_frame_cache
from motforge.datasets.index import build_index, write_index
from motforge.datasets.layouts import locate
from motforge.depth.bins import write_depth_bins
from motforge.depth.teacher import run_depth_teacher
from motforge.detect.stage import run_detector
from motforge.families.dense.model import COMPONENTS, DenseTracker
from motforge.families.dense.train import dense_config, train_dense
from motforge.masks.instance_depth import instance_depths
from motforge.masks.stage import run_masks
from motforge.synthdance.generate import SynthConfig, generate_sequence
from motforge.training.clips import ClipDataset, ClipSettings, SequenceFiles
from motforge.training.loop import load_checkpoint

BINS = {"num_bins": 150, "d_min": 1e-3, "d_max": 256.0, "fg_weight": 6, "train_short_side": 96, "stride": 8}


def model_config(steps: int, **train) -> dict:
    """A tiny dense model; everything not set here comes from the family's schema defaults."""
    return model_defaults(
        "dense",
        backbone="small",
        channels=16,
        embed_dim=32,
        histogram_bins=25,
        input={"width": 160, "height": 96},
        components={c: True for c in COMPONENTS},
        clip={"length": 3, "max_interval": 2},
        augment={"flip": 0.5, "crop": 0.2, "occlusion": 0.1, "id_swap": 0.1, "colour": 0.5},
        train={
            "steps": steps,
            "batch_clips": 1,
            "lr": 1e-3,
            "weight_decay": 5e-4,
            "identity_warmup_steps": 2,
            "checkpoint_every": 4,
            "seed": 0,
            "workers": 0,
            "threads": 1,
            "amp": True,
            "device": "cpu",
            **train,
        },
    )


@pytest.fixture(scope="module")
def caches(tmp_path_factory) -> list[SequenceFiles]:
    """One tiny synthdance train sequence with every cache the trainer reads."""
    root = tmp_path_factory.mktemp("sd")
    cfg = SynthConfig(
        seed=7, sequences={"train": 1, "val": 0, "test": 0}, frames=16, width=160, height=96, dancers=(5, 6)
    )
    generate_sequence(root / "train" / "synthdance0001", "synthdance0001", cfg, progress=False)
    index = build_index(locate("synthdance", "synthdance", root, "train", "synthdance0001", ["train"]))
    out = root / "cache"
    write_index(index, out / "index.h5")
    write_frame_cache(index, 160, 96, out / "frames.zarr", progress=False)
    run_depth_teacher(
        index,
        block_defaults("depth", {"backend": "provided", "cache_short_side": 96, "device": "cpu"}),
        out / "depth.zarr",
        progress=False,
    )
    write_depth_bins(out / "depth.zarr", out / "depth_bins.zarr", BINS, progress=False)
    masks = run_masks(
        index, block_defaults("masks", {"backend": "box", "mask_short_side": 96}), out / "masks.h5", progress=False
    )
    instance_depths(
        index,
        masks,
        out / "depth.zarr",
        {"histogram_bins": 25, "sigma": 3.0},
        BINS,
        out / "instance_depth.h5",
        progress=False,
    )
    run_detector(
        index,
        block_defaults("detector", {"backend": "background", "score_threshold": 0.05}),
        out / "detections.h5",
        progress=False,
    )
    return [
        SequenceFiles(
            out / "index.h5",
            out / "frames.zarr",
            out / "depth_bins.zarr",
            out / "instance_depth.h5",
            out / "detections.h5",
        )
    ]


def test_clips_are_a_function_of_seed_and_item(caches):
    settings = ClipSettings(
        length=3, max_interval=2, flip=0.5, crop=0.2, occlusion=0.1, id_swap=0.0, colour=0.5, solarize=0.0
    )
    a = ClipDataset(caches, settings, num_items=5, seed=3)[2]
    b = ClipDataset(caches, settings, num_items=5, seed=3)[2]
    resumed = ClipDataset(caches, settings, num_items=5, seed=3, start_item=2)[0]
    assert torch.equal(a["images"], b["images"]) and torch.equal(a["images"], resumed["images"])
    assert a["images"].shape == (3, 3, 96, 160) and a["depth_bins"].shape == (3, 12, 20)
    assert all(len(bx) == len(i) for bx, i in zip(a["boxes"], a["ids"]))


def test_colour_augmentation_changes_pixels_only(caches):
    """Colour on: same boxes (geometry is drawn first), other pixels; off: no colour draw, so results stay as before."""
    common = dict(length=3, max_interval=2, flip=0.5, crop=0.2, occlusion=0.0, id_swap=0.0, solarize=0.0)
    plain, coloured = ClipSettings(**common, colour=0.0), ClipSettings(**common, colour=1.0)
    a, b = ClipDataset(caches, plain, num_items=3, seed=1)[1], ClipDataset(caches, coloured, num_items=3, seed=1)[1]
    assert all(torch.equal(x, y) for x, y in zip(a["boxes"], b["boxes"]))
    assert not torch.equal(a["images"], b["images"])


def test_recolour_by_hand():
    from motforge.training.colour import Recolour

    red = np.zeros((1, 2, 3), dtype=np.uint8)
    red[..., 0] = 200  # pure red: hue 0, saturation 255, value 200
    green = Recolour(hue=60, saturation=1.0, brightness=1.0)(red)  # +120 degrees
    assert green[0, 0].tolist() == [0, 200, 0]
    grey = Recolour(hue=0, saturation=0.0, brightness=0.5)(red)  # no saturation, half the value
    assert grey[0, 0].tolist() == [100, 100, 100]


def test_solarize_by_hand():
    """Channel values at or above the threshold become 255 - value, the others stay (RandAugment's solarize)."""
    from motforge.training.colour import SOLARIZE_THRESHOLD_RANGE, Solarize

    image = np.array([[[200, 90, 128], [127, 255, 0]]], dtype=np.uint8)
    assert Solarize(128)(image).tolist() == [[[55, 90, 127], [127, 0, 0]]]
    thresholds = {Solarize.draw(np.random.default_rng(k)).threshold for k in range(200)}
    assert min(thresholds) >= SOLARIZE_THRESHOLD_RANGE[0] and max(thresholds) <= SOLARIZE_THRESHOLD_RANGE[1]


def test_solarize_switch_changes_pixels_only(caches):
    """Solarize on: same boxes (geometry is drawn first), other pixels."""
    common = dict(length=3, max_interval=2, flip=0.5, crop=0.2, occlusion=0.0, id_swap=0.0, colour=0.0)
    plain, on = ClipSettings(**common, solarize=0.0), ClipSettings(**common, solarize=1.0)
    a, b = ClipDataset(caches, plain, num_items=3, seed=1)[1], ClipDataset(caches, on, num_items=3, seed=1)[1]
    assert all(torch.equal(x, y) for x, y in zip(a["boxes"], b["boxes"]))
    assert not torch.equal(a["images"], b["images"])


#: the trainer's documented loss weights (FDTA / MOTRv3 detection 2 / 5 / 2, QDTrack embed 0.25, the rest 1), two of
#: them overridden by the config of the test below
WEIGHTS = {
    "cls": 2.0,
    "l1": 3.0,
    "giou": 2.0,
    "pld": 1.0,
    "depth": 1.0,
    "qd_embed": 0.5,
    "qd_aux": 1.0,
    "ia": 1.0,
    "inst_depth": 1.0,
    "assoc": 10.0,
    "id": 0.5,
}


def test_training_is_deterministic_on_cpu(caches, tmp_path):
    from motforge.families.dense.train import dense_config
    from motforge.training.loop import seed_everything

    cfg = model_config(4)
    cfg["loss_weights"].update(l1=3.0, qd_embed=0.5, id=0.5)
    train_dense(caches, cfg, BINS, tmp_path / "a", tmp_path / "ra", progress=False)
    train_dense(caches, cfg, BINS, tmp_path / "b", tmp_path / "rb", progress=False)
    a, b = load_checkpoint(tmp_path / "a" / "checkpoint.pt"), load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    rows = list(csv.DictReader(open(tmp_path / "a" / "train_log.csv")))
    assert len(rows) == 4 and {"cls", "depth", "qd_embed", "ia", "inst_depth", "assoc", "pld"} <= set(rows[-1])
    for row in rows:  # the logged total is the weighted sum of the logged parts
        parts = {k: float(v) for k, v in row.items() if k in WEIGHTS and v != ""}
        assert {"cls", "l1", "giou", "pld", "depth", "qd_embed", "qd_aux", "inst_depth", "assoc", "id"} <= set(parts)
        assert float(row["total"]) == pytest.approx(sum(WEIGHTS[k] * v for k, v in parts.items()), rel=1e-4)
    assert float(rows[-1]["ia"]) > 0  # the identity loss is on after its 2 warm-up steps
    # the steps moved every trained part: the trainer's start (seed 0) rebuilt here, each module's largest change
    # well above what 4 steps of weight decay alone do (lr 1e-3 x 5e-4 x |w| per step)
    seed_everything(0)
    start = DenseTracker(dense_config(cfg, BINS)).state_dict()
    for part in ("backbone", "head", "spatial", "embed", "identity", "instance_depth", "association"):
        keys = [k for k in start if k.startswith(part + ".") and start[k].is_floating_point()]
        assert keys and max(float((a["model"][k] - start[k]).abs().max()) for k in keys) > 1e-4, part
    assert (tmp_path / "a" / "loss_curves.png").stat().st_size > 1000


def test_resume_after_sigkill(caches, tmp_path):
    """Kill the training process after its first checkpoint, run again: it resumes and finishes."""
    cfg = model_config(40, checkpoint_every=8)
    args = [
        sys.executable,
        "-m",
        "motforge",
        "train",
        "--index",
        str(caches[0].index),
        "--frames",
        str(caches[0].frames),
        "--depth-bins",
        str(caches[0].depth_bins),
        "--instance-depth",
        str(caches[0].instance_depth),
        "--detections",
        str(caches[0].detections),
        "--model-config",
        json.dumps(cfg),
        "--bins-config",
        json.dumps(BINS),
        "--resume",
        str(tmp_path / "resume"),
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
    ]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (tmp_path / "resume" / "last.pt").exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "training finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "out" / "checkpoint.pt").exists()  # nothing that looks finished
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["steps"] == 40 and summary["resumed_from"] >= 8
    assert not (tmp_path / "resume" / "last.pt").exists()
    uninterrupted = train_dense(caches, cfg, BINS, tmp_path / "u", tmp_path / "ru", progress=False)
    assert uninterrupted["steps"] == 40
    # clips and RoI jitter are functions of (seed, step), optimiser state is in the checkpoint: the resumed run ends
    # on exactly the weights of the uninterrupted one (CPU, deterministic algorithms)
    resumed, straight = (
        load_checkpoint(tmp_path / "out" / "checkpoint.pt"),
        load_checkpoint(tmp_path / "u" / "checkpoint.pt"),
    )
    assert all(torch.equal(resumed["model"][k], straight["model"][k]) for k in straight["model"])
    losses = lambda folder: [r["total"] for r in csv.DictReader(open(folder / "train_log.csv"))]  # noqa: E731
    assert losses(tmp_path / "out") == losses(tmp_path / "u")


@pytest.mark.parametrize("association", ["fusion", "qdtrack", "id_decoder"])
def test_dense_tracker_runs_on_a_trained_checkpoint(caches, tmp_path, association):
    """The online tracker (both association modes) with the trained model's embedding, association and depth
    terms, fed the GT boxes as proposals, on a sequence declared twice the size of the model input (the frame cache
    is 160 x 96, the GT and the output in 320 x 192 pixels): every GT row must come back as one output row on the
    GT box (exactly, in the qdtrack and id_decoder modes, which report detections), and with fusion (IoU in the
    score) each GT identity must keep one output id for the whole sequence; a 3-step model's embeddings are not
    expected to do that alone."""
    from scipy.optimize import linear_sum_assignment
    from torchvision.ops import box_iou

    from motforge.datasets.index import SequenceIndex, read_index
    from motforge.families import registry
    from motforge.tracking.runner import run_tracker

    cfg = model_config(3)
    train_dense(caches, cfg, BINS, tmp_path / "m", tmp_path / "r", progress=False)
    small = read_index(caches[0].index)
    gt = {**small.gt, **{k: small.gt[k] * 2 for k in ("x", "y", "w", "h")}}
    index = SequenceIndex(**{**small.__dict__, "widths": small.widths * 2, "heights": small.heights * 2, "gt": gt})
    gt_xyxy = np.stack([gt["x"], gt["y"], gt["x"] + gt["w"], gt["y"] + gt["h"]], axis=1).astype(np.float64)

    class GTProposals:
        num_frames = small.seq_length

        def frame(self, t: int):
            rows = gt["frame"] == t
            return gt_xyxy[rows], np.ones(int(rows.sum())), np.zeros(int(rows.sum()), np.int16)

    cfg["track"]["proposals"] = "detections"  # the GT boxes; default weights: embedding, IoU, association, gamma 0.2
    cfg["track"]["association"] = association
    tracker = registry().get("dense", "family").tracker(cfg, tmp_path / "m" / "checkpoint.pt", threads=1)
    frames, ids, boxes, scores = run_tracker(
        index, tracker, GTProposals(), open_frame_cache(caches[0].frames), progress=False
    )
    assert len(frames) == len(gt["frame"]) > 0
    identity: dict[int, int] = {}
    for t in np.unique(gt["frame"]):
        rows, out = np.flatnonzero(gt["frame"] == t), np.flatnonzero(frames == t)
        assert len(out) == len(rows), t
        iou = box_iou(torch.as_tensor(boxes[out]), torch.as_tensor(gt_xyxy[rows])).numpy()
        pairs = linear_sum_assignment(-iou)  # as CLEAR MOT matches outputs to GT within a frame
        assert iou[pairs].min() > (0.5 if association == "fusion" else 0.999), t  # on its GT box (original pixels)
        if association != "fusion":
            continue
        for k, j in zip(out[pairs[0]], pairs[1]):
            truth = int(gt["id"][rows[j]])
            assert identity.setdefault(int(ids[k]), truth) == truth, f"id switch at frame {t}"
    if association == "fusion":
        assert sorted(identity.values()) == sorted(np.unique(gt["id"]).tolist())  # one output id per GT identity


def test_checkpoints_load_with_weights_only(caches, tmp_path):
    train_dense(caches, model_config(2), BINS, tmp_path / "m", tmp_path / "r", progress=False)
    torch.load(tmp_path / "m" / "checkpoint.pt", weights_only=True)


@pytest.mark.parametrize("source", ["instance_head", "depth_map"])
def test_dense_tracker_depth_source(source):
    """track.depth_source picks the depth in gamma's term: the instance-depth head, or the Spatial Adapter's
    expected depth averaged in the box over 255 (the labels' 0..1 scale)."""
    from motforge.families.dense.model import DenseTracker
    from motforge.families.dense.tracker import DenseOnlineTracker, DenseTrackParams

    torch.manual_seed(0)
    cfg = model_config(1)
    model = DenseTracker(dense_config(cfg, BINS)).eval()
    tracker = DenseOnlineTracker(model, DenseTrackParams.from_model({**cfg["track"], "depth_source": source}))
    image = torch.randint(0, 255, (1, 3, 96, 160), dtype=torch.uint8)
    boxes = torch.tensor([[10.0, 10.0, 40.0, 80.0], [60.0, 5.0, 100.0, 90.0]])
    with torch.no_grad():
        out = model.frames(image)
        _, roi_feats = model.roi_embeddings(out, [boxes])
        got = tracker._depths(out, roi_feats, boxes)
        want = (
            model.instance_depths(out, [boxes], roi_feats)[0]
            if source == "instance_head"
            else model.expected_depth_at(out, [boxes]) / 255.0
        )
    assert got.shape == (2,) and torch.allclose(got, want)
    other = (
        model.expected_depth_at(out, [boxes]) / 255.0
        if source == "instance_head"
        else model.instance_depths(out, [boxes], roi_feats)[0]
    )
    assert not torch.allclose(got, other)


def test_a_checkpoint_config_from_before_the_id_decoder_and_temporal_layers_builds_the_same_model():
    """Checkpoints store DenseConfig; those written before ``id_decoder`` and ``temporal_layers`` existed were
    built without an ID decoder and with a 2-layer Temporal Adapter, and must load as that."""
    from dataclasses import asdict

    from motforge.families.dense.model import DenseConfig, DenseTracker

    saved = asdict(dense_config(model_config(1), BINS))
    del saved["id_decoder"], saved["temporal_layers"]
    saved["components"] = {k: v for k, v in saved["components"].items() if k != "id_decoder"}
    model = DenseTracker(DenseConfig(**saved))
    assert model.id_decoder is None and len(model.temporal.encoder.layers) == 2


def test_id_prediction_never_gives_one_id_token_to_two_live_tracks():
    """K = 2 ID tokens and three confident boxes a frame: the first frame starts two tracks and drops the third
    newborn (MOTIP drops newborns when every token is in use by a track seen in the frame); over later frames every
    reported track is live and the live tracks hold distinct tokens."""
    from motforge.families.dense.model import DenseTracker
    from motforge.families.dense.tracker import DenseOnlineTracker, DenseTrackParams

    torch.manual_seed(0)
    cfg = model_config(1)
    cfg["id_decoder"].update(num_ids=2, layers=1)
    model = DenseTracker(dense_config(cfg, BINS)).eval()
    tracker = DenseOnlineTracker(model, DenseTrackParams.from_model({**cfg["track"], "association": "id_decoder"}))
    boxes = torch.tensor([[0.0, 0.0, 10.0, 20.0], [30.0, 0.0, 40.0, 20.0], [60.0, 0.0, 70.0, 20.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    with torch.no_grad():
        for frame in range(1, 6):
            tracker.frame = frame
            rows = tracker._id_step(boxes, scores, torch.randn(3, cfg["embed_dim"]), None)
            live = {t.ident: t.label for t in tracker.tracks}
            assert len(set(live.values())) == len(live) <= 2
            assert {ident for ident, _, _ in rows} <= set(live)
            if frame == 1:
                assert len(rows) == 2 and sorted(live.values()) == [0, 1]


def test_a_checkpoint_of_another_dense_model_version_names_the_file(tmp_path):
    """A checkpoint whose tensors do not fit the current model (written before a layer was added) is refused with
    the file, what differs and how to fix it, not a wall of load_state_dict lines."""
    import json
    from dataclasses import asdict

    from motforge.errors import InputError
    from motforge.families.dense.model import DenseTracker
    from motforge.families.dense.train import load_dense

    cfg = dense_config(model_config(1), BINS)
    state = DenseTracker(cfg).state_dict()
    del state["spatial.depth_pe.weight"]
    path = tmp_path / "old.pt"
    torch.save({"model": state, "dense_config": json.dumps(asdict(cfg))}, path)
    with pytest.raises(InputError, match=r"old\.pt: written by another version.*spatial\.depth_pe\.weight.*again"):
        load_dense(path)
