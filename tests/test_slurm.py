"""The SLURM profile against a real single-node SLURM with accounting (tests/slurm/start_local_slurm.sh).

Run by `make test-slurm` (which `make test` calls in CI). Without a cluster the test fails in CI and is reported as
skipped elsewhere, never silently passed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest

from motforge.evaluate.headline import Headline
from test_workflow import TINY

from conftest import ROOT, run_snakemake

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(1800)]  # a whole workflow through SLURM

#: small requests so every job fits the one test node; a cluster config edits the same block
SMALL_RESOURCES = (
    """
resources:
"""
    + "".join(
        f"  {family}: {{mem_mb: 1000, gpu: 0}}\n"
        for family in ("generate", "prepare", "depth", "labels", "masks", "detect", "frames", "track", "evaluate")
    )
    + """  train: {mem_mb: 2000, gpu: 0}
"""
)


def _cluster_up() -> bool:
    if shutil.which("sbatch") is None or shutil.which("sacct") is None:
        return False
    return subprocess.run(["sinfo", "-h"], capture_output=True, text=True).returncode == 0


@pytest.fixture(scope="module")
def cluster():
    if not _cluster_up():
        message = (
            "no SLURM cluster: run `make test-slurm` (starts one with tests/slurm/start_local_slurm.sh, needs root)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_tiny_workflow_runs_every_job_through_sbatch(cluster, tmp_path):
    (tmp_path / "config.yaml").write_text(TINY + SMALL_RESOURCES)
    started = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 5))  # sacct may hold older clusters' ids
    result = run_snakemake(
        tmp_path,
        "results/synthdance/hota.txt",
        "results/synthdance/eval/dense/hota.txt",
        "--workflow-profile",
        str(ROOT / "profiles" / "slurm"),
        "--slurm-init-seconds-before-status-checks",
        "2",
        configfile=tmp_path / "config.yaml",
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert 0.0 <= Headline.read(tmp_path / "results" / "synthdance" / "hota.txt").HOTA <= 100.0
    assert 0.0 <= Headline.read(tmp_path / "results" / "synthdance" / "eval" / "dense" / "hota.txt").HOTA <= 100.0

    job_ids = re.findall(r"submitted with SLURM jobid (\d+)", log)
    steps = re.findall(r"(\d+) of (\d+) steps \(100%\) done", log)
    assert steps and len(job_ids) == int(steps[-1][1]), f"{len(job_ids)} sbatch submissions for {steps} jobs"
    assert {"train", "track", "evaluate", "detect"} <= set(re.findall(r"rule (\w+):", log))
    sacct = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-S", started, "-j", ",".join(job_ids), "--format", "JobID,State"],
        capture_output=True,
        text=True,
        check=True,
    )
    states = dict(line.split("|") for line in sacct.stdout.split())
    assert set(states) == set(job_ids), f"sacct knows {sorted(states)} of {job_ids}"
    assert set(states.values()) == {"COMPLETED"}, states
