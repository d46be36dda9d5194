"""Crash safety and determinism of the label stages: SIGKILL mid-write leaves nothing that looks finished, the rerun
equals an uninterrupted run byte for byte, and two runs of the same config give byte-identical stores."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from motforge.config import block_defaults
from motforge.datasets.index import build_index, write_index
from motforge.datasets.layouts import locate
from motforge.synthdance.generate import SynthConfig, generate_sequence

BINS = {"num_bins": 150, "d_min": 1e-3, "d_max": 256.0, "fg_weight": 6, "train_short_side": 96, "stride": 8}


def digest(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        h.update(p.relative_to(path).as_posix().encode() if path.is_dir() else b"")
        h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def sequence(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sd")
    cfg = SynthConfig(
        seed=9, sequences={"train": 0, "val": 1, "test": 0}, frames=120, width=320, height=192, dancers=(6, 7)
    )
    generate_sequence(root / "val" / "synthdance0001", "synthdance0001", cfg, progress=False)
    index_path = root / "index.h5"
    write_index(build_index(locate("synthdance", "synthdance", root, "val", "synthdance0001", ["val"])), index_path)
    return index_path


def stage_args(stage: str, index: Path, out: Path, work: Path) -> list[str]:
    if stage == "depth":
        return [
            "depth",
            "--index",
            str(index),
            "--depth-config",
            json.dumps({"backend": "provided", "cache_short_side": 192, "device": "cpu"}),
            "--out",
            str(out),
        ]
    if stage == "masks":
        return [
            "masks",
            "--index",
            str(index),
            "--masks-config",
            json.dumps(
                {
                    "backend": "grabcut",
                    "mask_short_side": 192,
                    "device": "cpu",
                    "grabcut": {"iterations": 3, "margin": 0.15},
                }
            ),
            "--out",
            str(out),
        ]
    if stage == "detections":
        return [
            "detect",
            "--index",
            str(index),
            "--detector",
            json.dumps(block_defaults("detector", {"backend": "background", "score_threshold": 0.05, "device": "cpu"})),
            "--out",
            str(out),
        ]
    raise ValueError(stage)


def run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "motforge", *args, "--no-progress"], capture_output=True, text=True)


OUTPUT_NAME = {"depth": "depth.zarr", "masks": "masks.h5", "detections": "detections.h5"}


@pytest.mark.parametrize("stage", ["depth", "masks", "detections"])
def test_sigkill_mid_write_then_rerun_equals_uninterrupted(sequence, tmp_path, stage):
    reference = tmp_path / "reference" / OUTPUT_NAME[stage]
    assert run(stage_args(stage, sequence, reference, tmp_path)).returncode == 0
    rng = random.Random(stage)
    for attempt in range(8):  # a kill that arrives after the job ended proves nothing: try again, sooner
        killed = tmp_path / f"killed{attempt}" / OUTPUT_NAME[stage]
        killed.parent.mkdir()
        command = [sys.executable, "-m", "motforge", *stage_args(stage, sequence, killed, tmp_path), "--no-progress"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        # wait until the stage is writing (its temporary sibling exists), then kill at a random point
        temporary = f".{killed.name}.tmp-*"
        while time.time() < deadline and process.poll() is None and not list(killed.parent.glob(temporary)):
            time.sleep(0.001)
        writing = bool(list(killed.parent.glob(temporary)))
        time.sleep(rng.uniform(0.0, 0.3) if attempt == 0 else 0.0)  # then at once: some stages write for a few ms
        if process.poll() is None and writing:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        if process.returncode == -signal.SIGKILL:
            break
    else:
        pytest.fail("in 8 attempts the kill never landed while the stage was writing its temporary output")
    if killed.exists():
        # killed after the final rename: then the output is the complete one, never a partial one
        assert digest(killed) == digest(reference), "a killed job left a partial output that looks finished"
    assert run(stage_args(stage, sequence, killed, tmp_path)).returncode == 0
    assert digest(killed) == digest(reference)
    assert not list(killed.parent.glob(f".{killed.name}.tmp-*")), "stale temporary output left behind"


def test_label_stages_are_byte_identical_across_runs(sequence, tmp_path):
    outputs = {}
    for attempt in ("a", "b"):
        folder = tmp_path / attempt
        folder.mkdir()
        for stage in ("depth", "masks", "detections"):
            assert run(stage_args(stage, sequence, folder / OUTPUT_NAME[stage], folder)).returncode == 0
        assert (
            run(
                [
                    "depth-bins",
                    "--depth",
                    str(folder / "depth.zarr"),
                    "--bins-config",
                    json.dumps(BINS),
                    "--out",
                    str(folder / "depth_bins.zarr"),
                ]
            ).returncode
            == 0
        )
        assert (
            run(
                [
                    "instance-depth",
                    "--index",
                    str(sequence),
                    "--masks",
                    str(folder / "masks.h5"),
                    "--depth",
                    str(folder / "depth.zarr"),
                    "--instance-config",
                    json.dumps({"histogram_bins": 25, "sigma": 3.0}),
                    "--bins-config",
                    json.dumps(BINS),
                    "--out",
                    str(folder / "instance_depth.h5"),
                ]
            ).returncode
            == 0
        )
        outputs[attempt] = {
            name: digest(folder / name)
            for name in ("depth.zarr", "masks.h5", "detections.h5", "depth_bins.zarr", "instance_depth.h5")
        }
    assert outputs["a"] == outputs["b"]


def test_index_is_byte_identical(sequence, tmp_path):
    root = sequence.parent
    source = locate("synthdance", "synthdance", root, "val", "synthdance0001", ["val"])
    write_index(build_index(source), tmp_path / "a.h5")
    time.sleep(1.1)  # HDF5 would embed a different modification time if it tracked one
    write_index(build_index(source), tmp_path / "b.h5")
    assert digest(tmp_path / "a.h5") == digest(tmp_path / "b.h5")


def test_sigkill_of_a_resumable_depth_job_continues_where_it_stopped(sequence, tmp_path):
    """With depth.resume the killed job's finished frames are kept: the rerun starts after them and the store equals
    an uninterrupted run without resume, byte for byte."""
    settings = {"backend": "provided", "cache_short_side": 192, "device": "cpu"}
    reference = tmp_path / "reference" / "depth.zarr"
    assert (
        run(
            ["depth", "--index", str(sequence), "--depth-config", json.dumps(settings), "--out", str(reference)]
        ).returncode
        == 0
    )
    args = ["depth", "--index", str(sequence), "--depth-config", json.dumps({**settings, "resume": True})]
    for attempt in range(5):  # on a very fast machine the job may finish before the kill lands; try again
        out = tmp_path / f"killed{attempt}" / "depth.zarr"
        out.parent.mkdir()
        state = out.parent / ".depth.zarr.resume.npz"
        process = subprocess.Popen(
            [sys.executable, "-m", "motforge", *args, "--out", str(out), "--no-progress"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while time.time() < deadline and process.poll() is None and not state.exists():
            time.sleep(0.005)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        if process.returncode == -signal.SIGKILL and state.exists():
            break
    else:
        pytest.fail("the depth job finished before it could be killed in 5 attempts")
    assert not out.exists(), "a killed job left a store that looks finished"
    rerun = run([*args, "--out", str(out)])
    assert rerun.returncode == 0, rerun.stderr
    assert re.search(r"resuming after frame (\d+) of 120", rerun.stderr), rerun.stderr
    assert digest(out) == digest(reference)
    assert sorted(p.name for p in out.parent.iterdir()) == ["depth.zarr"]


def test_sigkill_of_a_resumable_mask_job_continues_where_it_stopped(sequence, tmp_path):
    settings = {
        "backend": "grabcut",
        "mask_short_side": 192,
        "device": "cpu",
        "grabcut": {"iterations": 3, "margin": 0.15},
    }
    reference = tmp_path / "reference" / "masks.h5"
    assert (
        run(
            ["masks", "--index", str(sequence), "--masks-config", json.dumps(settings), "--out", str(reference)]
        ).returncode
        == 0
    )
    args = ["masks", "--index", str(sequence), "--masks-config", json.dumps({**settings, "resume": True})]
    out = tmp_path / "killed" / "masks.h5"
    out.parent.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "motforge", *args, "--out", str(out), "--no-progress"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while (
        time.time() < deadline
        and process.poll() is None
        and len(list((out.parent / ".masks.h5.partial").glob("block-*.npz"))) < 2
    ):
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL and not out.exists()
    rerun = run([*args, "--out", str(out)])
    assert rerun.returncode == 0, rerun.stderr
    done = re.search(r"resuming with (\d+) of (\d+) frames done", rerun.stderr)
    assert done and 32 <= int(done.group(1)) < int(done.group(2)), rerun.stderr
    assert digest(out) == digest(reference)
    assert sorted(p.name for p in out.parent.iterdir()) == ["masks.h5"]
