"""A tiny end-to-end Snakemake run on synthdance: real DAG, real stages, rerun semantics."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from motforge.evaluate.headline import Headline

from conftest import ROOT, completed_run, run_snakemake

# the module's fixture runs the whole tiny DAG inside the first test: more than the default 600 s on a busy 2-core box
pytestmark = pytest.mark.timeout(1800)

TINY = """
datasets:
  synthdance:
    format: synthdance
    root: resources/synthdance
    splits: [train, val]
    synth: {seed: 1, sequences: {train: 1, val: 2, test: 0}, frames: 40, width: 320, height: 192, dancers: [5, 7]}
    models: [baseline, dense, query]
progress: false
models:
  baseline: {family: bytetrack, max_lost: 30}
  dense:
    family: dense
    channels: 16
    embed_dim: 32
    input: {width: 160, height: 96}
    clip: {length: 3, max_interval: 2}
    train: {steps: 4, batch_clips: 1, lr: 1.0e-3, identity_warmup_steps: 1, workers: 0, threads: 1}
    track: {proposals: detections}
  query:
    family: query
    input: {width: 160, height: 96}
    transformer: {d_model: 16, n_heads: 2, ffn_dim: 32, num_queries: 8}
    components: {proposals: true, pld: true}
    clip: {length: 2, max_interval: 2}
    train: {steps: 3, batch_clips: 1, workers: 0, threads: 1}
"""


def _jobs(dry_run_output: str) -> dict[str, int]:
    """Job counts from the 'Job stats' table of a dry run."""
    stats = dry_run_output.split("Job stats:")[1].split("Reasons:")[0] if "Job stats:" in dry_run_output else ""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M) if m.group(1) != "total"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    return completed_run(tmp_path_factory.mktemp("tiny"), TINY)


def test_headline_written(tiny_run):
    text = (tiny_run / "results" / "synthdance" / "hota.txt").read_text().splitlines()
    assert text[0] == "HOTA DetA AssA IDF1 MOTA IDSW"
    headline = Headline.read(tiny_run / "results" / "synthdance" / "hota.txt")
    assert 0.0 < headline.HOTA < 100.0 and 0.0 < headline.DetA < 100.0
    eval_dir = tiny_run / "results" / "synthdance" / "eval" / "baseline"
    assert (eval_dir / "pedestrian_summary.txt").is_file() and (eval_dir / "pedestrian_detailed.csv").is_file()
    for seq in ("synthdance0001", "synthdance0002", "synthdance0003"):
        assert (tiny_run / "results" / "synthdance" / "seqs" / seq / "index.h5").is_file()
    assert sorted(p.name for p in (tiny_run / "results" / "synthdance" / "tracks" / "baseline").iterdir()) == [
        "synthdance0002.txt",
        "synthdance0003.txt",
    ]
    assert (tiny_run / "logs" / "synthdance" / "detect" / "synthdance0002.log").is_file()


def test_second_run_does_nothing(tiny_run):
    result = run_snakemake(tiny_run, "-n", configfile=tiny_run / "config.yaml")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_tracker_parameter_change_reruns_only_tracking_and_evaluation(tiny_run, tmp_path):
    changed = tmp_path / "changed.yaml"
    changed.write_text(TINY.replace("max_lost: 30", "max_lost: 12"))
    result = run_snakemake(tiny_run, "-n", configfile=changed)
    assert result.returncode == 0, result.stdout[-2000:]
    assert _jobs(result.stdout) == {"track": 2, "evaluate": 1, "headline": 1, "report": 1, "dataset": 1, "all": 1}


def test_detector_parameter_change_reruns_detection_onwards(tiny_run, tmp_path):
    changed = tmp_path / "changed.yaml"
    changed.write_text(TINY.replace("    synth:", "    detector: {score_threshold: 0.2}\n    synth:"))
    result = run_snakemake(tiny_run, "-n", configfile=changed)
    # the dense and query models (every model of the dataset is evaluated for the report) train on the detector's
    # pseudo boxes; baseline and query (MOTRv2 proposals) track on them
    assert _jobs(result.stdout) == {
        "detect": 3,
        "det_db": 1,
        "detections_quality": 1,
        "track": 6,
        "train": 2,
        "evaluate": 3,
        "headline": 1,
        "report": 1,
        "dataset": 1,
        "all": 1,
    }


def test_dense_model_trains_tracks_and_evaluates_through_the_dag(tiny_run):
    """4 training steps cannot make the model's own head fire, so the tiny config tracks MOTRv2-style on the
    detector's boxes (track.proposals: detections): then the tracks are not empty and TrackEval must have scored
    exactly the rows in the track files against exactly the rows of the GT files."""
    import csv
    import math

    result = run_snakemake(
        tiny_run,
        "results/synthdance/eval/dense/hota.txt",
        "results/synthdance/models/dense/loss_curves.png",
        configfile=tiny_run / "config.yaml",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = tiny_run / "results" / "synthdance"
    headline = Headline.read(results / "eval" / "dense" / "hota.txt")
    # a tracker that outputs nothing scores 0 on all three; HOTA averages sqrt(DetA_a AssA_a) over the IoU thresholds
    # a, so by Cauchy-Schwarz it cannot exceed sqrt(mean DetA x mean AssA)
    assert headline.HOTA > 0 and headline.DetA > 0 and headline.AssA > 0
    assert headline.HOTA <= math.sqrt(headline.DetA * headline.AssA) + 0.01
    detailed = {r["seq"]: r for r in csv.DictReader(open(results / "eval" / "dense" / "pedestrian_detailed.csv"))}
    for seq in ("synthdance0002", "synthdance0003"):
        track_rows = len((results / "tracks" / "dense" / f"{seq}.txt").read_text().splitlines())
        gt_rows = len((tiny_run / "resources" / "synthdance" / "val" / seq / "gt" / "gt.txt").read_text().splitlines())
        assert track_rows > 0 and int(float(detailed[seq]["Dets"])) == track_rows
        assert int(float(detailed[seq]["GT_Dets"])) == gt_rows
    summary = (results / "models" / "dense" / "summary.json").read_text()
    assert '"steps": 4' in summary
    for seq in ("synthdance0001", "synthdance0002", "synthdance0003"):
        assert (results / "seqs" / seq / "frames_160x96.zarr").is_dir()


def test_query_model_trains_tracks_and_evaluates_through_the_dag(tiny_run):
    """The query family goes through the same rules: frames + detections -> train (shared loop) -> track -> eval."""
    results = tiny_run / "results" / "synthdance"
    headline = Headline.read(results / "eval" / "query" / "hota.txt")
    assert 0.0 <= headline.HOTA <= 100.0
    assert '"steps": 3' in (results / "models" / "query" / "summary.json").read_text()
    header = (results / "models" / "query" / "train_log.csv").read_text().splitlines()[0].split(",")
    assert {"total", "set", "pld"} <= set(header) and "tgd" not in header
    tracks = sorted(p.name for p in (results / "tracks" / "query").iterdir())
    assert tracks == ["synthdance0002.txt", "synthdance0003.txt"]


def test_ablation_skips_a_variant_that_leaves_the_base_model_unchanged(tmp_path):
    """With PLD off in the base model, no_pseudo_labels would train the base model again: it is left out, and
    with_pseudo_labels (a no-op under the schema's PLD-on default) is run instead."""
    track_line = "    track: {proposals: detections}\n"
    base_off = TINY.replace(track_line, track_line + "    components: {pseudo_labels: false}\n", 1)
    assert base_off != TINY
    (tmp_path / "config.yaml").write_text(base_off + "ablation: {seeds: [0]}\n")
    result = run_snakemake(tmp_path, "-n", "results/synthdance/ablation.csv", configfile=tmp_path / "config.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    trained = set(re.findall(r"model=(dense__\w+?__s0)", result.stdout))
    assert "dense__with_pseudo_labels__s0" in trained and "dense__full__s0" in trained, trained
    assert "dense__no_pseudo_labels__s0" not in trained and "dense__no_temporal_adapter__s0" in trained, trained


def test_ablation_only_runs_the_named_variants(tmp_path):
    """``ablation.only`` keeps the named variants (and the full model) and drops the rest; a name that is no variant
    stops the DAG with an error naming the key."""
    (tmp_path / "config.yaml").write_text(TINY + "ablation: {seeds: [0], only: [no_instance_depth, gamma_0.4]}\n")
    result = run_snakemake(tmp_path, "-n", "results/synthdance/ablation.csv", configfile=tmp_path / "config.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    evaluated = set(re.findall(r"model=(dense__[\w.]+?__s0)\b", result.stdout))
    assert evaluated == {"dense__full__s0", "dense__no_instance_depth__s0", "dense__gamma_0.4__s0"}, evaluated
    (tmp_path / "config.yaml").write_text(TINY + "ablation: {seeds: [0], only: [no_such_variant]}\n")
    result = run_snakemake(tmp_path, "-n", "results/synthdance/ablation.csv", configfile=tmp_path / "config.yaml")
    assert (
        result.returncode != 0
        and "ablation.only names no variant: ['no_such_variant']" in result.stdout + result.stderr
    )


def test_lint_is_clean():
    result = run_snakemake(ROOT, "--lint")
    assert result.returncode == 0, result.stdout[-3000:]


def test_slurm_profile_dry_run_needs_no_cluster(tmp_path):
    (tmp_path / "config.yaml").write_text(TINY)
    result = run_snakemake(
        tmp_path, "-n", "--workflow-profile", str(ROOT / "profiles" / "slurm"), configfile=tmp_path / "config.yaml"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    jobs = _jobs(result.stdout)
    assert jobs.get("depth") == 3 and jobs.get("track", 0) >= 2 and jobs.get("evaluate", 0) >= 1, jobs
