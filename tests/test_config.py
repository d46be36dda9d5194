"""Config validation at parse time: each class of mistake names its key and nothing runs."""

from __future__ import annotations

import copy

import pytest
import yaml

from motforge.config import validate_config
from motforge.errors import ConfigError

from conftest import ROOT, run_snakemake

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
BASE = {"datasets": {"synthdance": {"format": "synthdance", "root": "resources/synthdance"}}}


def _check(config: dict, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_config(copy.deepcopy(config), SCHEMA, base_dir=ROOT)
    assert info.value.key_path == key, str(info.value)
    assert words in str(info.value)


def test_defaults_are_filled():
    config = validate_config(copy.deepcopy(BASE), SCHEMA)
    ds = config["datasets"]["synthdance"]
    assert ds["detector"]["backend"] == "background"
    assert ds["detector"]["score_threshold"] == 0.05
    assert ds["detector"]["background"]["history"] == 200
    assert ds["synth"]["dancers"] == [5, 10]
    assert ds["eval"] == {"benchmark": "MOT17", "preproc": True}
    assert config["models"]["baseline"]["family"] == "bytetrack"
    assert config["resources"]["track"] == {"threads": 1, "mem_mb": 2000, "runtime": 30, "gpu": 0}


def test_project_config_is_valid():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    validate_config(config, SCHEMA, base_dir=ROOT)


def test_unknown_key():
    config = copy.deepcopy(BASE)
    config["datasets"]["synthdance"]["detektor"] = {}
    _check(config, "datasets.synthdance.detektor", "unknown key")


def test_wrong_type():
    config = copy.deepcopy(BASE)
    config["datasets"]["synthdance"]["synth"] = {"frames": "many"}
    _check(config, "datasets.synthdance.synth.frames", "not of type 'integer'")


def test_unknown_backend():
    config = copy.deepcopy(BASE)
    config["datasets"]["synthdance"]["detector"] = {"backend": "yolov99"}
    _check(config, "datasets.synthdance.detector.backend", "'yolov99' is not one of")


def test_missing_dataset_root():
    config = {"datasets": {"dancetrack": {"format": "dancetrack", "root": "/nowhere/DanceTrack"}}}
    _check(config, "datasets.dancetrack.root", "does not exist")


def test_negative_threshold():
    config = copy.deepcopy(BASE)
    config["datasets"]["synthdance"]["detector"] = {"score_threshold": -0.1}
    _check(config, "datasets.synthdance.detector.score_threshold", "less than the minimum")


def test_impossible_combination():
    config = copy.deepcopy(BASE)
    config["models"] = {"baseline": {"family": "bytetrack", "track_low": 0.7, "track_high": 0.5}}
    _check(config, "models.baseline.track_low", "above track_high")
    config = copy.deepcopy(BASE)
    config["datasets"]["synthdance"]["default_model"] = "dense"
    _check(config, "datasets.synthdance.default_model", "not in")


def test_workflow_stops_at_parse_time_naming_the_key(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "datasets:\n  synthdance:\n    format: synthdance\n    root: resources/synthdance\n    detector: "
        "{backend: yolov99}\n"
    )
    result = run_snakemake(tmp_path, configfile=cfg)
    assert result.returncode != 0
    assert "datasets.synthdance.detector.backend" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


def test_extends_fills_what_the_model_does_not_set():
    """workflow/configs/more_seeds.yaml: each extra seed is the project's `dense` model with only train.seed changed."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    extra = yaml.safe_load((ROOT / "workflow" / "configs" / "more_seeds.yaml").read_text())
    config["models"].update(extra["models"])
    models = validate_config(config, SCHEMA, base_dir=ROOT)["models"]
    for seed, name in ((1, "dense_s1"), (2, "dense_s2"), (3, "dense_s3")):
        expected = copy.deepcopy(models["dense"])
        expected["train"]["seed"] = seed
        assert models[name] == expected and "extends" not in models[name]
    assert models["dense"]["train"]["seed"] == 0  # the base is not touched


def test_extends_errors_name_the_key():
    config = copy.deepcopy(BASE)
    config["models"] = {"a": {"extends": "nowhere"}}
    _check(config, "models.a.extends", "'nowhere' is not defined")
    config["models"] = {"a": {"extends": "b"}, "b": {"extends": "a"}}
    _check(config, "models.b.extends", "cycle: a -> b -> a")  # the link that closes it


@pytest.mark.parametrize(
    ("model", "key", "words"),
    [
        ({"family": "query", "track": {"birth": 1.5}}, "models.m.track.birth", "greater than the maximum of 1"),
        ({"family": "query", "components": {"tgd": "yes"}}, "models.m.components.tgd", "not of type 'boolean'"),
        ({"family": "dense", "track": {"gamma": -1}}, "models.m.track.gamma", "less than the minimum of 0"),
        ({"family": "dense", "chanels": 16}, "models.m.chanels", "unknown key"),
    ],
)
def test_bad_value_inside_a_family_block_names_its_own_key(model, key, words):
    """A family's block is an allOf branch: a bad value there also leaves the block's keys 'unevaluated'; the error
    must name the bad value's key, not report a valid key of the block as unknown."""
    _check({**copy.deepcopy(BASE), "models": {"m": model}}, key, words)
