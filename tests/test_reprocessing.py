"""Reprocessing with Snakemake's own mechanisms, checked on `snakemake -n` job lists after a complete run of two
small datasets: one dataset, one sequence, one stage after a teacher config change, and the torchrun launch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import completed_run, run_snakemake

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # its fixture runs the DAG of two datasets

DATASET = """
  {name}:
    format: synthdance
    root: resources/{name}
    splits: [train, val]
    synth: {{seed: {seed}, sequences: {{train: 1, val: 1, test: 0}}, frames: 20, width: 320,
      height: 192, dancers: [5, 6]}}
    models: [baseline]
    default_model: baseline
"""
TWO_DATASETS = (
    "datasets:"
    + DATASET.format(name="synthdance", seed=1)
    + DATASET.format(name="synthmini", seed=2)
    + "progress: false\n"
)


def planned_jobs(output: str) -> list[tuple[str, str]]:
    """(rule, output) of every job of a dry run."""
    return re.findall(r"^(?:local)?rule (\w+):\n(?:.*\n)*?\s+output: (.+)$", output, re.M)


@pytest.fixture(scope="module")
def done(tmp_path_factory) -> Path:
    return completed_run(tmp_path_factory.mktemp("reprocess"), TWO_DATASETS)


def dry_run(work: Path, *args: str, config: Path | None = None) -> list[tuple[str, str]]:
    result = run_snakemake(work, "-n", *args, configfile=config or work / "config.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return planned_jobs(result.stdout)


def test_complete_run_leaves_nothing_to_do(done):
    assert dry_run(done) == []


def test_one_dataset_reruns_all_of_it_and_nothing_else(done):
    jobs = dry_run(done, "--forceall", "results/synthmini/complete.txt")
    outputs = [out for _, out in jobs]
    assert outputs and all("synthmini" in out for out in outputs), [o for o in outputs if "synthmini" not in o]
    rules = {rule for rule, _ in jobs}
    assert {
        "generate_synthmini",
        "prepare_index",
        "depth",
        "depth_bins",
        "masks",
        "instance_depth",
        "detect",
        "track",
        "evaluate",
        "headline",
        "dataset",
    } <= rules


def test_one_sequence_reruns_its_stages_and_the_dataset_summaries(done):
    jobs = dry_run(
        done, "results/synthmini/complete.txt", "--forcerun", "results/synthmini/seqs/synthdance0002/index.h5"
    )
    per_sequence = [(rule, out) for rule, out in jobs if "/seqs/" in out or "/tracks/" in out]
    assert per_sequence and all("synthmini/" in out and "synthdance0002" in out for _, out in per_sequence), (
        per_sequence
    )
    assert "synthdance0001" not in "".join(out for _, out in jobs) and all("synthmini/" in out for _, out in jobs)
    assert {rule for rule, _ in per_sequence} == {
        "prepare_index",
        "depth",
        "depth_bins",
        "masks",
        "instance_depth",
        "detect",
        "track",
    }
    assert {rule for rule, out in jobs if "/seqs/" not in out and "/tracks/" not in out} >= {
        "evaluate",
        "headline",
        "dataset",
    }


def test_teacher_config_change_reruns_that_stage_and_its_dependents_only(done):
    changed = done / "masks_changed.yaml"
    changed.write_text(
        TWO_DATASETS.replace(
            "    default_model: baseline\n", "    default_model: baseline\n    masks: {mask_short_side: 128}\n", 1
        )
    )
    jobs = dry_run(done, config=changed)
    assert sorted({rule for rule, _ in jobs}) == ["dataset", "instance_depth", "instances_quality", "masks", "report"]
    assert all("/synthdance/" in out for _, out in jobs)
    assert sorted(rule for rule, _ in jobs).count("masks") == 2  # both GT sequences of the changed dataset


def test_more_than_one_process_launches_torchrun(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        TWO_DATASETS + "models:\n  baseline: {family: bytetrack}\n  dense: {family: dense, train: {processes: 2}}\n"
    )
    result = run_snakemake(tmp_path, "-n", "-p", "results/synthdance/models/dense/checkpoint.pt", configfile=config)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "torchrun --standalone --nproc-per-node 2 -m motforge train" in result.stdout


def test_a_tracker_only_variant_from_another_configfile_reuses_the_training(tmp_path):
    """A model that extends another and changes only its tracker settings tracks with that model's checkpoint, also
    when it comes from a second --configfile (Snakemake merges it first, so the variant precedes its base)."""
    (tmp_path / "config.yaml").write_text(
        TWO_DATASETS + "models:\n  baseline: {family: bytetrack}\n  dense: {family: dense}\n"
    )
    variant = tmp_path / "variant.yaml"
    variant.write_text("models:\n  dense_gamma_0: {extends: dense, track: {gamma: 0.0}}\n")
    target = "results/synthdance/tracks/dense_gamma_0/synthdance0002.txt"
    cmd = ["-n", "-p", target, "--configfile", str(tmp_path / "config.yaml")]
    result = run_snakemake(tmp_path, *cmd, configfile=variant)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "results/synthdance/models/dense/checkpoint.pt" in result.stdout
    assert "models/dense_gamma_0/checkpoint.pt" not in result.stdout
