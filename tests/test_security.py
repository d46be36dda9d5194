"""Untrusted files and names (issue 19): no code runs from a checkpoint or a config name, no path leaves its folder.

Each hole of the issue has a test with a live payload (shown to run when loaded the unsafe way) or a hostile name,
and checks that the payload did not run, nothing was written outside results/ and logs/, and the error names the
setting (config key) or the file and line.
"""

from __future__ import annotations

import copy
import os
import pickle
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from motforge.config import validate_config
from motforge.datasets.layouts import discover, locate
from motforge.errors import ConfigError, InputError
from motforge.io.weights import UnsafeCheckpointError
from motforge.names import NAME_PATTERN, name_problem

from conftest import ROOT, run_snakemake, write_mini_sequence

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


class Payload:
    """Unpickling this calls os.system, which creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


@pytest.fixture
def payload(tmp_path) -> tuple[Path, Path, Path]:
    """(torch.save zip checkpoint, legacy pickle checkpoint, marker); both files are shown to run the payload when
    unpickled the unsafe way, so a test that finds no marker proves the loader refused them."""
    marker = tmp_path / "payload-ran"
    zipped, legacy = tmp_path / "evil.pt", tmp_path / "evil_legacy.pt"
    torch.save({"model": Payload(marker), "weights": torch.zeros(2)}, zipped)
    with open(legacy, "wb") as f:
        pickle.dump({"model": Payload(marker)}, f, protocol=2)
    for path in (zipped, legacy):
        try:
            torch.load(path, map_location="cpu", weights_only=False)
        except RuntimeError:  # the legacy reader unpickles (runs the payload), then misses torch's magic number
            pass
        assert marker.exists(), f"the payload in {path} is not live"
        marker.unlink()
    return zipped, legacy, marker


# ------------------------------------------------------------------ 1. checkpoints are data


@pytest.mark.parametrize("kind", [0, 1], ids=["zip", "legacy"])
def test_motforge_checkpoint_loader_refuses_a_payload(payload, kind):
    from motforge.training.loop import load_checkpoint

    path, marker = payload[kind], payload[2]
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint(path)
    assert not marker.exists()
    assert str(path) in str(err.value) and "dense-model checkpoint" in str(err.value)
    if kind == 0:  # the zip format names the refused global
        assert "posix.system" in str(err.value)


def test_plain_weights_still_load(tmp_path):
    from motforge.training.loop import load_checkpoint

    state = {"model": {"w": torch.arange(6.0).reshape(2, 3)}, "step": 7, "dense_config": '{"a": 1}'}
    torch.save(state, tmp_path / "ok.pt")
    loaded = load_checkpoint(tmp_path / "ok.pt")
    assert loaded["step"] == 7 and torch.equal(loaded["model"]["w"], state["model"]["w"])


def test_backbone_pretrained_refuses_a_payload(payload):
    from motforge.nn.backbone import BackboneFPN

    with pytest.raises(UnsafeCheckpointError, match=r"models\.<model>\.pretrained") as err:
        BackboneFPN("small", 8, pretrained=str(payload[0]))
    assert str(payload[0]) in str(err.value) and not payload[2].exists()


def test_vda_backend_refuses_a_payload(payload, tmp_path):
    from motforge.depth.backends.video_depth_anything import load_network

    repo = tmp_path / "Video-Depth-Anything"
    (repo / "video_depth_anything").mkdir(parents=True)
    (repo / "video_depth_anything" / "__init__.py").write_text("")
    (repo / "video_depth_anything" / "video_depth.py").write_text(
        "import torch\n\n\nclass VideoDepthAnything(torch.nn.Module):\n"
        "    def __init__(self, **kwargs):\n        super().__init__()\n"
    )
    settings = {"repo": str(repo), "encoder": "vits", "checkpoint": str(payload[0]), "metric": False, "input_size": 28}
    for name in ("video_depth_anything.video_depth", "video_depth_anything"):
        sys.modules.pop(name, None)
    try:
        with pytest.raises(UnsafeCheckpointError, match=r"depth\.video_depth_anything\.checkpoint") as err:
            load_network(settings, torch.device("cpu"), allow_downloads=False)
    finally:
        for name in ("video_depth_anything.video_depth", "video_depth_anything"):
            sys.modules.pop(name, None)
        if str(repo.resolve()) in sys.path:
            sys.path.remove(str(repo.resolve()))
    assert str(payload[0]) in str(err.value) and not payload[2].exists()


def test_sam2_backend_refuses_a_payload(payload):
    pytest.importorskip("sam2")
    from motforge.masks.backends import Sam2Masker

    with pytest.raises(UnsafeCheckpointError, match=r"masks\.sam2\.checkpoint") as err:
        Sam2Masker("configs/sam2.1/sam2.1_hiera_t.yaml", str(payload[0]), "cpu")
    assert str(payload[0]) in str(err.value) and "posix.system" in str(err.value) and not payload[2].exists()


def _ultralytics():
    from motforge.detect.ultralytics_backend import offline_environment

    offline_environment()  # before the first import: Ultralytics reads ULTRALYTICS_SAFE_LOAD then
    return pytest.importorskip("ultralytics")


def test_ultralytics_backend_refuses_a_payload_and_still_loads_a_random_yolov8n(payload, tmp_path):
    ultralytics = _ultralytics()
    from motforge.detect.ultralytics_backend import load_yolo

    for path in payload[:2]:
        with pytest.raises(UnsafeCheckpointError, match=r"detector\.ultralytics\.model") as err:
            load_yolo(path)
        assert str(path) in str(err.value) and not payload[2].exists()
    weights = tmp_path / "yolov8n-random.pt"
    ultralytics.YOLO("yolov8n.yaml").save(str(weights))
    model = load_yolo(weights)
    assert sum(p.numel() for p in model.model.parameters()) == sum(
        p.numel() for p in ultralytics.YOLO("yolov8n.yaml").model.parameters()
    )


def test_ultralytics_training_refuses_payload_starting_weights(payload, tmp_path):
    _ultralytics()
    from motforge.detect.train import train_ultralytics

    settings = {"model": str(payload[0]), "epochs": 1, "imgsz": 32, "batch": 1}
    with pytest.raises(UnsafeCheckpointError, match=r"detector\.train\.model"):
        train_ultralytics(tmp_path / "data.yaml", settings, tmp_path / "detector")
    assert not payload[2].exists() and not (tmp_path / "detector").exists()


def test_ultralytics_safe_load_flag_is_what_stops_the_payload(payload):
    """Control: in a fresh process without ULTRALYTICS_SAFE_LOAD, Ultralytics itself runs the payload, so the
    refusals above come from the flag motforge sets, not from the file being unreadable."""
    _ultralytics()
    env = {k: v for k, v in os.environ.items() if k != "ULTRALYTICS_SAFE_LOAD"}
    code = (
        f"from ultralytics.nn.tasks import torch_safe_load\n"
        f"try:\n    torch_safe_load({str(payload[0])!r})\nexcept Exception:\n    pass\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=120)
    assert payload[2].exists()


# ------------------------------------------------------------------ 2. SAM2 configs


def _synth_config(**masks) -> dict:
    ds = {"format": "synthdance", "root": "gen", "masks": {"backend": "sam2", "sam2": masks}}
    return {"datasets": {"s": ds}, "progress": False}


@pytest.mark.parametrize(
    "name",
    [
        "../../somewhere/evil.yaml",
        "/abs/evil.yaml",
        "configs/../../../evil.yaml",
        "configs/sam2.1/../../../../evil.yaml",
        "sam2.1/sam2.1_hiera_t.yaml",
    ],
)
def test_sam2_config_escape_is_refused_by_the_schema(name, tmp_path):
    (tmp_path / "sam2.pt").write_bytes(b"")
    with pytest.raises(ConfigError) as err:
        validate_config(_synth_config(config=name, checkpoint="sam2.pt"), SCHEMA, tmp_path)
    assert err.value.key_path == "datasets.s.masks.sam2.config" and "does not match" in str(err.value)


def test_sam2_config_must_be_one_of_the_package_configs(tmp_path):
    pytest.importorskip("sam2")
    (tmp_path / "sam2.pt").write_bytes(b"")
    validate_config(_synth_config(config="configs/sam2/sam2_hiera_s.yaml", checkpoint="sam2.pt"), SCHEMA, tmp_path)
    with pytest.raises(ConfigError, match="not a config of the installed sam2 package") as err:
        validate_config(_synth_config(config="configs/sam2.1/evil.yaml", checkpoint="sam2.pt"), SCHEMA, tmp_path)
    assert err.value.key_path == "datasets.s.masks.sam2.config"
    assert "configs/sam2.1/sam2.1_hiera_t.yaml" in str(err.value)


def test_sam2_job_refuses_a_config_outside_the_package(tmp_path):
    """The job itself (masks CLI) does not hand an escaping name to Hydra: the YAML below would create the marker
    when instantiated (a nested _target_ runs before its parent), as it does through build_sam2 unchecked."""
    sam2 = pytest.importorskip("sam2")
    from motforge.masks.backends import Sam2Masker

    marker = tmp_path / "hydra-ran"
    evil = tmp_path / "evil.yaml"
    evil.write_text(
        yaml.safe_dump(
            {
                "model": {
                    "_target_": "builtins.dict",
                    "payload": {"_target_": "builtins.open", "file": str(marker), "mode": "w"},
                }
            }
        )
    )
    escape = os.path.relpath(evil, Path(sam2.__file__).parent)
    with pytest.raises(ConfigError, match="not a config of the installed sam2 package") as err:
        Sam2Masker(escape, None, "cpu", allow_random=True)
    assert err.value.key_path == "masks.sam2.config" and not marker.exists()


# ------------------------------------------------------------------ 3. names


def test_name_rule():
    for good in ("dancetrack0001", "MOT17-02", "v_-6Os86HzwCs_c009", "synthdance0001", "_x", "a.b", "gamma_0", "9"):
        assert name_problem(good, "sequence") is None, good
    for bad in (
        ".",
        "..",
        "-rf",
        "--help",
        "a/b",
        "../../../../escape",
        "v(",
        "a;b",
        "$(id)",
        "x`id`",
        "{seq}",
        "a b",
        "",
        ".hidden",
        "a\nb",
        "é",
        "x" * 129,
    ):
        problem = name_problem(bad, "sequence")
        assert problem is not None and repr(bad) in problem and "letters, digits, '_', '.' and '-'" in problem, bad
    assert name_problem(3, "split") == "split name must be a string, got int 3"


def test_schema_property_names_use_the_same_rule():
    schema = yaml.safe_load(SCHEMA.read_text())
    for key in ("datasets", "models"):
        assert schema["properties"][key]["propertyNames"]["pattern"] == f"^{NAME_PATTERN}$"


def _dataset(tmp_path: Path, seqmap: str | None = None, folders: tuple[str, ...] = ("dancetrack0001",)) -> Path:
    root = tmp_path / "DanceTrack"
    for name in folders:
        write_mini_sequence(root / "val" / name, frames=2)
    if seqmap is not None:
        (root / "val_seqmap.txt").write_text(seqmap)
    return root


@pytest.mark.parametrize("line", ["..", ".", "-rf", "--help", "a;touch pwned", "../../etc"])
def test_bad_seqmap_line_is_refused_with_file_and_line(line, tmp_path):
    root = _dataset(tmp_path, seqmap=f"name\ndancetrack0001\n{line}\n")
    with pytest.raises(InputError) as err:
        discover("d", "dancetrack", root, ["val"], ["val"])
    assert err.value.path == str(root / "val_seqmap.txt") and err.value.line == 3
    assert repr(line) in err.value.problem and "use only letters, digits" in err.value.problem
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("folder", ["-rf", "--help", "x;touch pwned", "a b"])
def test_bad_folder_in_a_listing_is_refused_naming_the_folder(folder, tmp_path):
    root = _dataset(tmp_path, folders=("dancetrack0001", folder))
    with pytest.raises(InputError) as err:
        discover("d", "dancetrack", root, ["val"], ["val"])
    assert err.value.path == str(root / "val") and repr(folder) in err.value.problem


def test_mot17_listing_checks_names_too(tmp_path):
    root = tmp_path / "MOT17"
    write_mini_sequence(root / "train" / "MOT17-02-FRCNN", frames=2)
    write_mini_sequence(root / "train" / "--help-FRCNN", frames=2)
    with pytest.raises(InputError) as err:
        discover("m", "mot17", root, ["train"], ["train"])
    assert err.value.path == str(root / "train") and "'--help-FRCNN'" in err.value.problem


def test_split_dotdot_is_refused(tmp_path):
    root = _dataset(tmp_path, seqmap="name\ndancetrack0001\n")
    (root / "val_seqmap.txt").rename(tmp_path / "_seqmap.txt")  # a split '..' would read tmp_path's folders
    with pytest.raises(ConfigError) as err:
        discover("d", "dancetrack", root, [".."], [".."])
    assert err.value.key_path == "datasets.d.splits"
    with pytest.raises(InputError):  # a job handed a bad split or sequence directly refuses it too
        locate("d", "dancetrack", root, "..", "DanceTrack", ["val"])
    config = {"datasets": {"d": {"format": "dancetrack", "root": "DanceTrack", "splits": ["val", ".."]}}}
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA, tmp_path)
    assert err.value.key_path == "datasets.d.splits[1]" and "'..'" in str(err.value)


BASE = {"datasets": {"s": {"format": "synthdance", "root": "gen"}}, "progress": False}


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"ablation": {"variants": {"../../../../escape": {"seed": 3}}}}, "ablation.variants.../../../../escape"),
        ({"ablation": {"variants": {"v(": {"track": {"gamma": 0.0}}}}}, "ablation.variants.v("),
        ({"ablation": {"base_model": "--help"}}, "ablation.base_model"),
        ({"datasets": {"-rf": {"format": "synthdance", "root": "gen"}}}, "datasets.-rf"),
        ({"datasets": {"a;b": {"format": "synthdance", "root": "gen"}}}, "datasets.a;b"),
        (
            {"datasets": {"s": {"format": "synthdance", "root": "gen", "splits": ["val", "--help"]}}},
            "datasets.s.splits[1]",
        ),
        ({"datasets": {"s": {"format": "synthdance", "root": "gen", "eval_split": "-rf"}}}, "datasets.s.eval_split"),
        ({"models": {"base;line": {"family": "bytetrack"}}}, "models.base;line"),
        ({"datasets": {"s": {"format": "synthdance", "root": "gen/{seq}"}}}, "datasets.s.root"),
        ({"results": "results/{ds}"}, "results"),
        ({"logs": "logs}"}, "logs"),
        ({"results": "-rf"}, "results"),
    ],
)
def test_bad_names_and_folders_in_the_config_name_the_key(change, key, tmp_path):
    config = {**copy.deepcopy(BASE), **copy.deepcopy(change)}
    validate_config(copy.deepcopy(BASE), SCHEMA, tmp_path)  # the base is fine
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA, tmp_path)
    assert err.value.key_path == key, str(err.value)
    assert list(tmp_path.iterdir()) == []


DRY = """
datasets:
  synthdance:
    format: synthdance
    root: -synth
    splits: [train, val]
    synth: {seed: 1, sequences: {train: 1, val: 1, test: 0}, frames: 40, width: 320, height: 192, dancers: [5, 7]}
    models: [baseline, dense]
progress: false
models:
  baseline: {family: bytetrack}
  dense: {family: dense, channels: 16, embed_dim: 32, input: {width: 160, height: 96}, train: {steps: 2}}
"""


def test_every_rule_passes_values_that_no_parser_reads_as_flags(tmp_path):
    """A dataset root named '-synth' (relative, leading dash): every command of the dry run parses with motforge's
    own parser (single values are passed as --opt=VALUE), and one of them really runs."""
    from motforge.cli import build_parser

    (tmp_path / "config.yaml").write_text(DRY)
    result = run_snakemake(
        tmp_path,
        "-n",
        "-p",
        "results/synthdance/complete.txt",
        "results/synthdance/eval/dense/hota.txt",
        configfile=tmp_path / "config.yaml",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    commands = [line.split("Shell command:", 1)[1] for line in result.stdout.splitlines() if "Shell command:" in line]
    parsed = {}
    for command in commands:
        words = shlex.split(command.split(" > ")[0])
        if words[0].startswith("(printf"):  # the dataset rule's list of finished targets
            continue
        assert words[:3] == ["python", "-m", "motforge"], command
        args = build_parser().parse_args(words[3:])  # SystemExit (argparse: 'expected one argument') fails the test
        parsed.setdefault(" ".join(w for w in words[3:5] if not w.startswith("-")), []).append((words[3:], args))
    for stage in ("generate", "prepare", "detect", "track", "train", "frames", "evaluate", "headline", "export det-db"):
        assert stage in parsed, sorted(parsed)
    outs = {str(a.out) for _, a in parsed["generate"] if a.out}
    assert outs == {"-synth/train/synthdance0001", "-synth/val/synthdance0002"}
    assert {str(a.dataset_root) for _, a in parsed["detect"]} == {"-synth"}
    assert any(a.checkpoint for _, a in parsed["track"])
    words = next(w for w, a in parsed["generate"] if a.seqmap_split == "val")
    run = subprocess.run([sys.executable, "-m", "motforge", *words], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "-synth" / "val_seqmap.txt").read_text().split() == ["name", "synthdance0002"]


def test_a_bad_sequence_folder_stops_the_workflow_at_parse_time(tmp_path):
    """The refusal reaches the terminal with the folder named; nothing runs and nothing is written."""
    _dataset(tmp_path, folders=("dancetrack0001", "x;touch pwned"))
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "datasets": {
                    "d": {
                        "format": "dancetrack",
                        "root": "DanceTrack",
                        "splits": ["val"],
                        "gt_splits": ["val"],
                        "eval_split": "val",
                    }
                },
                "progress": False,
            }
        )
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_snakemake(tmp_path, "-n", configfile=tmp_path / "config.yaml")
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "DanceTrack/val: folder 'x;touch pwned'" in out and "use only letters, digits" in out
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".snakemake") == before
    assert not (tmp_path / "pwned").exists()
