"""The ``query`` family through the family interface: schema and key paths, inputs by switch, a tiny training run
through the shared loop (loss parts weighed as configured, checkpoint rebuilds the model) and its online tracker
over the cached sequence (detector proposals come back as rows in original pixels)."""

from __future__ import annotations

import copy
import csv
import json

import numpy as np
import pytest
import torch
import yaml
from torchvision.ops import box_iou

from motforge.config import block_defaults, model_defaults, validate_config
from motforge.datasets.frame_cache import open_frame_cache, write_frame_cache
from motforge.datasets.index import build_index, read_index, write_index
from motforge.datasets.layouts import locate
from motforge.detect.stage import run_detector
from motforge.detect.store import read_detections
from motforge.errors import ConfigError
from motforge.families import TrainFiles, registry
from motforge.families.query.clip_loss import ClipFrame, clip_loss
from motforge.families.query.config import BLOCK_KEYS, defaults, from_block
from motforge.families.query.model import QueryTracker
from motforge.families.query.train import load_query
from motforge.synthdance.generate import SynthConfig, generate_sequence
from motforge.tracking.runner import run_tracker
from motforge.training.loop import load_checkpoint

from conftest import ROOT

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
WIDTH, HEIGHT = 320, 192  # the sequence's original size; the model reads 96 x 64 (scale 10/3 and 3)


@pytest.fixture(scope="module")
def caches(tmp_path_factory) -> TrainFiles:
    """One tiny synthdance train sequence: index, 96x64 frame cache and background-model detections."""
    root = tmp_path_factory.mktemp("sdq")
    cfg = SynthConfig(
        seed=5, sequences={"train": 1, "val": 0, "test": 0}, frames=12, width=WIDTH, height=HEIGHT, dancers=(4, 5)
    )
    generate_sequence(root / "train" / "synthdance0001", "synthdance0001", cfg, progress=False)
    index = build_index(locate("synthdance", "synthdance", root, "train", "synthdance0001", ["train"]))
    out = root / "cache"
    write_index(index, out / "index.h5")
    write_frame_cache(index, 96, 64, out / "frames.zarr", progress=False)
    detector = block_defaults("detector", {"backend": "background", "score_threshold": 0.05})
    run_detector(index, detector, out / "detections.h5", progress=False)
    return TrainFiles(out / "index.h5", {"frames": out / "frames.zarr", "detections": out / "detections.h5"})


def tiny_model(**settings) -> dict:
    return model_defaults(
        "query",
        input={"width": 96, "height": 64},
        transformer={"d_model": 16, "n_heads": 2, "ffn_dim": 32, "num_queries": 8},
        components={"proposals": True, "pld": True, "rfs": True, "tgd": True},
        clip={"length": 2, "max_interval": 2},
        train={
            "steps": 3,
            "batch_clips": 1,
            "lr": 1e-4,
            "workers": 0,
            "threads": 1,
            "device": "cpu",
            "checkpoint_every": 10,
        },
        loss_weights={"pld": 0.5, "tgd": 2.0},
        **settings,
    )


def test_trains_and_tracks_through_the_family_interface(caches, tmp_path):
    family = registry().get("query", "model.family")
    model = tiny_model()
    assert family.trains and family.input_size(model) == (96, 64)
    files = [TrainFiles(caches.index, {k: caches.inputs[k] for k in family.train_inputs(model)})]
    summary = family.train(files, model, {}, tmp_path / "m", tmp_path / "r", progress=False)
    assert summary["steps"] == 3
    rows = list(csv.DictReader(open(tmp_path / "m" / "train_log.csv")))
    assert len(rows) == 3 and {"set", "pld", "tgd"} <= set(rows[0])
    for row in rows:  # the loop's total weighs the parts by loss_weights (set 1, pld 0.5, tgd 2)
        parts = float(row["set"]) + 0.5 * float(row["pld"]) + 2.0 * float(row.get("tgd") or 0.0)
        assert float(row["total"]) == pytest.approx(parts, rel=1e-5)
    # the checkpoint rebuilds the trained model with the block's configuration
    state = load_checkpoint(tmp_path / "m" / "checkpoint.pt")
    loaded = load_query(tmp_path / "m" / "checkpoint.pt")
    assert loaded.cfg == from_block(model)
    assert all(torch.equal(v, state["model"][k]) for k, v in loaded.state_dict().items())

    # tracking: everything is born and reported (thresholds 0), so frame t's newborn rows are the 8 anchor queries
    # plus one per detector box of frame t, which (barely trained box heads) sit on that box in original pixels
    model["track"].update({"birth": 0.0, "death": 0.0, "max_missed": 10, "report": 0.0, "duplicate_iou": 1.0})
    tracker = family.tracker(model, tmp_path / "m" / "checkpoint.pt", 1)
    index = read_index(caches.index)
    needs = family.track_inputs(model)
    assert needs == ["frames", "detections"]
    dets = read_detections(caches.inputs["detections"])
    frames, ids, boxes, _ = run_tracker(index, tracker, dets, open_frame_cache(caches.inputs["frames"]), progress=False)
    seen = 0
    checked = 0
    for t in range(1, index.seq_length + 1):
        here = frames == t
        assert len(set(ids[here].tolist())) == here.sum()  # ids unique within a frame
        newborn = here & (ids > seen)
        det_boxes = dets.frame(t)[0].clip([0, 0, 0, 0], [WIDTH, HEIGHT, WIDTH, HEIGHT])
        det_boxes = det_boxes[(det_boxes[:, 2] > det_boxes[:, 0]) & (det_boxes[:, 3] > det_boxes[:, 1])]
        assert newborn.sum() == 8 + len(det_boxes)
        if len(det_boxes):
            iou = box_iou(torch.as_tensor(det_boxes), torch.as_tensor(boxes[newborn]))
            assert (iou.max(dim=1).values > 0.9).all(), t
            checked += len(det_boxes)
        seen = int(ids[here].max())
    assert checked > 0  # some frame had detector boxes


def test_clip_terms_are_the_normalised_parts() -> None:
    """Two frames with two objects each: eq. 5 (PLD on) divides each frame by its 2 objects, MOTR's collective
    average by the clip's 4; the named terms the loop weighs sum to the clip loss."""
    g = torch.Generator().manual_seed(1)
    gt = torch.tensor([[0.3, 0.4, 0.2, 0.3], [0.7, 0.6, 0.15, 0.25]])
    clip = [
        ClipFrame(
            torch.randn(3, 64, 96, generator=g),
            gt + 0.02 * t,
            torch.tensor([5, 9]),
            gt + 0.01,
            torch.tensor([0.9, 0.3]),
        )
        for t in range(2)
    ]
    torch.manual_seed(0)
    result = clip_loss(QueryTracker(defaults(pld=True, tgd=True)), clip, torch.Generator().manual_seed(0))
    assert set(result.terms) == {"set", "pld", "tgd"}
    for name in ("set", "pld", "tgd"):
        assert result.terms[name].item() == pytest.approx(result.parts[name] / 2, rel=1e-5)
    assert result.total.item() == pytest.approx(sum(result.parts[k] for k in ("set", "pld", "tgd")) / 2, rel=1e-5)
    torch.manual_seed(0)
    result = clip_loss(QueryTracker(defaults()), clip)
    assert set(result.terms) == {"set"}
    assert result.terms["set"].item() == pytest.approx(result.parts["set"] / 4, rel=1e-5)


def test_tgd_is_the_mean_over_its_groups() -> None:
    """With unscaled copies (scale 0) every TGD group equals the one-group case (eq. 4's mask keeps them apart), so
    the mean over K = 4 groups (Group DETR's normalisation) gives one group's L_g; a sum would give 4 times it."""
    g = torch.Generator().manual_seed(3)
    gt = torch.tensor([[0.3, 0.4, 0.2, 0.3], [0.7, 0.6, 0.15, 0.25]])
    clip = [ClipFrame(torch.randn(3, 64, 96, generator=g), gt + 0.02 * t, torch.tensor([5, 9])) for t in range(3)]
    parts = {}
    for groups in (1, 4):
        torch.manual_seed(0)
        model = QueryTracker(defaults(tgd=True, tgd_groups=groups, tgd_scale=0.0)).eval()
        parts[groups] = clip_loss(model, clip).parts
    assert parts[1]["tgd"] > 0
    assert parts[4]["tgd"] == pytest.approx(parts[1]["tgd"], rel=1e-4)
    assert parts[4]["set"] == pytest.approx(parts[1]["set"], rel=1e-4)


@pytest.mark.parametrize("with_proposals", [True, False])
def test_pld_query_set_follows_distillation_proposals(with_proposals: bool) -> None:
    """One frame: L_p is eq. 3 over every original query (default) or over the learned detect queries only when
    ``distillation.proposals`` is off (the 3 proposal queries, rows 16-18, are left out)."""
    from motforge.families.query.losses import pld_loss

    g = torch.Generator().manual_seed(4)
    gt = torch.tensor([[0.3, 0.4, 0.2, 0.3], [0.7, 0.6, 0.15, 0.25]])
    dets = torch.tensor([[0.31, 0.41, 0.2, 0.3], [0.69, 0.6, 0.15, 0.25], [0.5, 0.2, 0.1, 0.1]])
    scores = torch.tensor([0.9, 0.6, 0.3])
    frame = ClipFrame(torch.randn(3, 64, 96, generator=g), gt, torch.tensor([5, 9]), dets, scores)
    torch.manual_seed(0)
    model = QueryTracker(defaults(proposals=True, pld=True, pld_proposals=with_proposals)).eval()
    result = clip_loss(model, [frame])
    with torch.no_grad():
        content, ref = model.detect_queries(torch.cat([dets, scores[:, None]], 1))
        out = model.decode(model.encode(frame.image), content, ref)
    rows = slice(None) if with_proposals else slice(0, 16)
    expected = sum(
        pld_loss(out.logits[layer, rows], out.boxes[layer, rows], dets, scores, model.cfg).item()
        for layer in range(out.logits.shape[0])
    )
    assert content.shape[0] == 16 + 3
    assert result.parts["pld"] == pytest.approx(expected, rel=1e-5)


def test_inputs_follow_the_switches() -> None:
    family = registry().get("query", "model.family")
    plain, pld = model_defaults("query"), model_defaults("query", components={"pld": True})
    proposals = model_defaults("query", components={"proposals": True})
    assert family.train_inputs(plain) == ["frames"] and family.track_inputs(plain) == ["frames"]
    assert family.train_inputs(pld) == ["frames", "detections"] and family.track_inputs(pld) == ["frames"]
    assert family.train_inputs(proposals) == family.track_inputs(proposals) == ["frames", "detections"]


def _config(model: dict) -> dict:
    return {
        "datasets": {
            "synthdance": {
                "format": "synthdance",
                "root": "resources/synthdance",
                "models": ["q"],
                "default_model": "q",
            }
        },
        "models": {"q": {"family": "query", **model}},
    }


@pytest.mark.parametrize(
    ("model", "key", "words"),
    [
        ({"components": {"tracklet_update": True}}, "models.q.components.tracklet_update", "needs sotd"),
        ({"transformer": {"d_model": 36}}, "models.q.transformer.d_model", "multiple of 8"),
        ({"components": {"rfs": True}, "transformer": {"dec_layers": 1}}, "models.q.components.rfs", "dec_layers >= 2"),
    ],
)
def test_config_errors_name_the_block_key(model, key, words) -> None:
    with pytest.raises(ConfigError) as info:
        validate_config(_config(model), SCHEMA, base_dir=ROOT)
    assert info.value.key_path == key, str(info.value)
    assert words in str(info.value)


def test_dancetrack_preset_is_the_papers_model() -> None:
    preset = yaml.safe_load((ROOT / "workflow" / "configs" / "query_dancetrack.yaml").read_text())
    config = validate_config(_config(copy.deepcopy(preset["models"]["query_dancetrack"])), SCHEMA, base_dir=ROOT)
    model = config["models"]["q"]
    cfg = from_block(model)
    # Deformable DETR / MOTR size; MOTRv3 sec. 4.1: 5-frame clips at intervals 1..10, lr 2e-4, weights 2 / 5 / 2
    assert (cfg.backbone, cfg.d_model, cfg.n_heads, cfg.n_points, cfg.enc_layers, cfg.dec_layers, cfg.num_queries) == (
        "resnet50",
        256,
        8,
        4,
        6,
        6,
        300,
    )
    assert (cfg.rfs, cfg.pld, cfg.tgd, cfg.proposals, cfg.tgd_groups) == (True, True, True, True, 4)
    assert (cfg.loss_cls, cfg.loss_l1, cfg.loss_giou) == (2.0, 5.0, 2.0)
    assert model["clip"] == {"length": 5, "max_interval": 10} and model["train"]["lr"] == 2e-4
    assert json.loads(json.dumps(model["input"])) == {"width": 1440, "height": 800}
    assert np.prod([model["train"]["batch_clips"], model["train"]["processes"]]) == 8  # MOTRv3's batch of 8 clips


def test_ablation_overlay_variants_are_valid_query_models() -> None:
    """Each variant of workflow/configs/query_ablation.yaml, merged into config.yaml's query model as the ablation
    rule merges it, passes the schema and the family's checks and changes exactly the switches it names."""
    base = yaml.safe_load((ROOT / "config.yaml").read_text())["models"]["query"]
    overlay = yaml.safe_load((ROOT / "workflow" / "configs" / "query_ablation.yaml").read_text())["ablation"]
    assert overlay["base_model"] == "query" and len(overlay["variants"]) == 12
    assert set(overlay["paper"]) <= set(overlay["variants"])
    assert {claim["sign"] for claim in overlay["paper"].values()} <= {-1, 1}
    field_of = {key: field for field, key in BLOCK_KEYS.items()}

    def validated(model: dict) -> dict:
        return validate_config(_config({k: v for k, v in model.items() if k != "family"}), SCHEMA, ROOT)["models"]["q"]

    full = from_block(validated(base))
    for name, override in overlay["variants"].items():
        merged = copy.deepcopy(base)
        named = set()
        for block, values in override.items():
            merged[block] = {**merged.get(block, {}), **values}
            named |= {field_of[f"{block}.{key}"] for key in values}
        variant = from_block(validated(merged))
        changed = {f for f, v in vars(variant).items() if getattr(full, f) != v}
        assert changed == {f for f in named if getattr(full, f) != getattr(variant, f)} and changed, name


def test_dataclass_defaults_are_the_schema_defaults() -> None:
    """``defaults()`` reads schema.yaml itself (import layers); it must give what config validation fills in."""
    assert defaults() == from_block(model_defaults("query"))
    assert defaults(rfs=True) == from_block(model_defaults("query", components={"rfs": True}))


def test_training_is_reproducible_on_cpu(caches, tmp_path):
    """The model is built after the loop seeds every RNG (start_training), so two runs give the same weights."""
    family = registry().get("query", "model.family")
    model = tiny_model()
    model["train"]["steps"] = 2
    files = [TrainFiles(caches.index, {k: caches.inputs[k] for k in family.train_inputs(model)})]
    a = family.train(files, model, {}, tmp_path / "a", tmp_path / "ra", progress=False)
    b = family.train(files, model, {}, tmp_path / "b", tmp_path / "rb", progress=False)
    assert a["weights_sha256"] == b["weights_sha256"] and a["steps"] == 2


def test_query_scores_sorts_every_query_of_every_frame(caches, tmp_path):
    """``query-scores`` on a tiny checkpoint with thresholds 0 (every detect query is born, no track dies): each
    frame's 8 learned queries, its proposals and every track born before it land in exactly one category."""
    from motforge.cli import build_parser

    family = registry().get("query", "model.family")
    files = [TrainFiles(caches.index, dict(caches.inputs))]
    family.train(files, tiny_model(), {}, tmp_path / "m", tmp_path / "r", progress=False)
    track = '{"birth": 0.0, "death": 0.0, "report": 0.0, "duplicate_iou": 1.0}'
    argv = ["query-scores", "--checkpoint", str(tmp_path / "m" / "checkpoint.pt"), "--index", str(caches.index)]
    argv += ["--frames", str(caches.inputs["frames"]), "--detections", str(caches.inputs["detections"])]
    argv += ["--track", track, "--out", str(tmp_path / "s.json"), "--plot", str(tmp_path / "s.png"), "--no-progress"]
    args = build_parser().parse_args(argv)
    args.func(args)
    summary = json.loads((tmp_path / "s.json").read_text())
    index = read_index(caches.index)
    dets = read_detections(caches.inputs["detections"])
    per_frame = []
    for t in range(1, index.seq_length + 1):
        b = dets.frame(t)[0].clip([0, 0, 0, 0], [WIDTH, HEIGHT, WIDTH, HEIGHT])
        per_frame.append(8 + int(((b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])).sum()))
    count = {name: row["count"] for name, row in summary.items()}
    assert count["learned_new"] + count["learned_duplicate"] + count["learned_false"] == 8 * index.seq_length
    detect = sum(v for k, v in count.items() if not k.startswith("track"))
    assert detect == sum(per_frame)
    assert count["track_on_object"] + count["track_drifted"] == sum(np.cumsum(per_frame)[:-1])
    assert summary["proposal_new"]["at_birth"] == 1.0  # birth 0: every score is at or above it
    assert (tmp_path / "s.png").stat().st_size > 0

    bad = build_parser().parse_args(argv[:-7] + ["--track", '{"brith": 0.5}', "--out", str(tmp_path / "x.json")])
    with pytest.raises(Exception, match="unknown key"):
        bad.func(bad)
    assert not (tmp_path / "x.json").exists()
