"""Shared fixtures: paths to the project, the shared real test data, and tiny hand-made datasets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from motforge.detect.ultralytics_backend import offline_environment

# motforge sets Ultralytics' offline and safe-load flags before Ultralytics is imported (it reads them once, at import);
# tests import Ultralytics directly too, so the flags are set before any test module does
offline_environment()

ROOT = Path(__file__).resolve().parents[1]
#: the shared folder beside the checkout (as CI lays it out); MOTFORGE_SHARED points elsewhere
SHARED = Path(os.environ.get("MOTFORGE_SHARED", ROOT.parent / "shared"))
TESTDATA = SHARED / "testdata"
if not TESTDATA.is_dir():
    raise RuntimeError(f"{TESTDATA} is missing: the tests read real data from ../shared/testdata (set MOTFORGE_SHARED)")
BIN = Path(sys.executable).parent


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m motforge`` as the workflow does."""
    return subprocess.run([sys.executable, "-m", "motforge", *map(str, args)], cwd=cwd, capture_output=True, text=True)


def snakemake_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_snakemake(workdir: Path, *args: str, configfile: Path | None = None) -> subprocess.CompletedProcess:
    """Run the project's Snakefile with ``workdir`` as working directory (results/ and logs/ land there)."""
    cmd = [str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--cores", "2", *args]
    if configfile is not None:  # last: --configfile takes every following word
        cmd += ["--configfile", str(configfile)]
    return subprocess.run(cmd, capture_output=True, text=True, env=snakemake_env(), cwd=workdir)


def completed_run(work: Path, config_text: str) -> Path:
    """``work`` after a full run of the default target with ``config_text`` as its config (a module fixture's base)."""
    (work / "config.yaml").write_text(config_text)
    result = run_snakemake(work, configfile=work / "config.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return work


def write_mini_sequence(
    seq_dir: Path, frames: int = 6, width: int = 64, height: int = 48, gt_rows: list[str] | None = None, digits: int = 8
) -> None:
    """A tiny MOTChallenge sequence: JPEG frames, seqinfo.ini and gt/gt.txt (two boxes per frame)."""
    (seq_dir / "img1").mkdir(parents=True)
    (seq_dir / "gt").mkdir()
    rng = np.random.default_rng(0)
    for t in range(1, frames + 1):
        cv2.imwrite(
            str(seq_dir / "img1" / f"{t:0{digits}d}.jpg"), rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        )
    if gt_rows is None:
        gt_rows = [f"{t},{i},{5 + 10 * i},{6 + t},10,20,1,1,1" for t in range(1, frames + 1) for i in (1, 2)]
    (seq_dir / "gt" / "gt.txt").write_text("".join(r + "\n" for r in gt_rows))
    (seq_dir / "seqinfo.ini").write_text(
        f"[Sequence]\nname={seq_dir.name}\nimDir=img1\nframeRate=20\nseqLength={frames}\nimWidth={width}\nimHeight={height}\nimExt=.jpg\n"
    )


@pytest.fixture
def mini_dancetrack(tmp_path: Path) -> Path:
    """DanceTrack layout with one val sequence and a val seqmap."""
    root = tmp_path / "DanceTrack"
    write_mini_sequence(root / "val" / "dancetrack0001")
    (root / "val_seqmap.txt").write_text("name\ndancetrack0001\n")
    return root
