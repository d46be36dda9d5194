"""Data-parallel training with torchrun on CPU (Gloo): ranks read different clips, gradients are averaged (the ranks
end on identical weights), rank 0 alone writes, the checkpoint loads into a single process, and a killed run resumes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from motforge.families.dense.model import DenseTracker
from motforge.families.dense.train import dense_config, train_dense
from motforge.training.loop import load_checkpoint

from test_train import BINS, caches, model_config  # noqa: F401  (module fixture reused)

pytestmark = pytest.mark.ddp
WORKER = Path(__file__).with_name("ddp_worker.py")


def _torchrun(
    tmp_path: Path, sequences, model: dict, out: str, record: str, die_after_checkpoint: bool = False
) -> subprocess.CompletedProcess:
    spec = {
        "sequences": [
            [str(p) if p else "" for p in (s.index, s.frames, s.depth_bins, s.instance_depth, s.detections)]
            for s in sequences
        ],
        "model": model,
        "bins": BINS,
        "out": str(tmp_path / out),
        "resume": str(tmp_path / f"{out}.resume"),
        "record": str(tmp_path / record),
        "die_after_checkpoint": die_after_checkpoint,
    }
    spec_path = tmp_path / f"{record}.spec.json"
    spec_path.write_text(json.dumps(spec))
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        str(WORKER),
        str(spec_path),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def _records(tmp_path: Path, record: str) -> list[dict]:
    return [json.loads((tmp_path / f"{record}.rank{r}.json").read_text()) for r in (0, 1)]


def test_two_processes_shard_clips_average_gradients_and_resume(caches, tmp_path):  # noqa: F811
    model = model_config(4, checkpoint_every=2)
    result = _torchrun(tmp_path, caches, model, "ddp", "full")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rank0, rank1 = _records(tmp_path, "full")
    assert rank0["processes"] == rank1["processes"] == 2
    assert rank0["items"] == [0, 2, 4, 6] and rank1["items"] == [1, 3, 5, 7], (
        "ranks must read disjoint shards of the clip sequence"
    )
    assert rank0["parameters_sha256"] == rank1["parameters_sha256"], (
        "gradients were not averaged: the ranks' parameters differ"
    )

    # only rank 0 wrote, and what it wrote is a plain single-process checkpoint
    assert sorted(p.name for p in (tmp_path / "ddp").iterdir()) == [
        "checkpoint.pt",
        "loss_curves.png",
        "summary.json",
        "train_log.csv",
    ]
    state = load_checkpoint(tmp_path / "ddp" / "checkpoint.pt")
    single = DenseTracker(dense_config(model, BINS))
    single.load_state_dict(state["model"])  # strict: no DDP 'module.' prefixes
    assert state["step"] == 4

    # one process with the same per-step clips would differ: averaging over two ranks is a different optimisation
    alone = train_dense(caches, model, BINS, tmp_path / "alone", tmp_path / "alone.resume", progress=False)
    assert alone["parameters_sha256"] != rank0["parameters_sha256"]

    # killed right after the step-2 checkpoint, the rerun resumes from it and ends on the same weights
    died = _torchrun(tmp_path, caches, model, "ddp2", "killed", die_after_checkpoint=True)
    assert (
        died.returncode != 0 and (tmp_path / "ddp2.resume" / "last.pt").is_file() and not (tmp_path / "ddp2").exists()
    )
    resumed = _torchrun(tmp_path, caches, model, "ddp2", "resumed")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    r0, r1 = _records(tmp_path, "resumed")
    assert r0["resumed_from"] == 2 and r0["items"] == [4, 6] and r1["items"] == [5, 7]
    assert r0["parameters_sha256"] == r1["parameters_sha256"] == rank0["parameters_sha256"]
    assert r0["weights_sha256"] == rank0["weights_sha256"], (
        "rank 0's saved state after the resume differs from the uninterrupted run"
    )
    resumed_state = load_checkpoint(tmp_path / "ddp2" / "checkpoint.pt")["model"]
    assert all(torch.equal(resumed_state[k], state["model"][k]) for k in state["model"])
