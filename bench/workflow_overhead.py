"""The cost of the workflow itself on a generated config with 100 synthetic sequences: `snakemake -n` over the whole
DAG (target <= 5 s), a no-op rerun after completion, and the per-job overhead of a rule (one prepare job through
Snakemake vs the CLI subprocess vs calling the library function in-process), printed as ratios."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

CONFIG = """
datasets:
  synthdance:
    format: synthdance
    root: resources/synthdance
    splits: [train, val, test]
    synth: {seed: 0, sequences: {train: 40, val: 40, test: 20}, frames: 2, width: 64, height: 64, dancers: [5, 5],
      noise: 0}
progress: false
"""


def snakemake(work: Path, *args: str) -> float:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    start = time.perf_counter()
    subprocess.run(
        [
            str(BIN / "snakemake"),
            "-s",
            str(ROOT / "Snakefile"),
            "-d",
            str(work),
            "--configfile",
            str(work / "config.yaml"),
            *args,
        ],
        check=True,
        capture_output=True,
        env=env,
        cwd=work,
    )
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        work = Path(name)
        (work / "config.yaml").write_text(CONFIG)
        dry = min(snakemake(work, "-n", "--quiet") for _ in range(3))
        jobs = subprocess.run(
            [
                str(BIN / "snakemake"),
                "-s",
                str(ROOT / "Snakefile"),
                "-d",
                str(work),
                "--configfile",
                str(work / "config.yaml"),
                "-n",
                "--quiet",
                "rules",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        ).stdout
        total = next((line.split()[-1] for line in jobs.splitlines() if line.startswith("total")), "?")
        indexes = [f"results/synthdance/seqs/synthdance{i:04d}/index.h5" for i in range(1, 101)]
        build = snakemake(work, "--cores", "2", *indexes)
        noop = min(snakemake(work, "--cores", "2", *indexes) for _ in range(3))
        one = indexes[0]
        job = min(snakemake(work, "--cores", "1", "--force", one) for _ in range(3))
        import json

        from motforge.datasets.index import build_index, write_index
        from motforge.datasets.layouts import locate

        settings = json.dumps(
            {
                "format": "synthdance",
                "root": str(work / "resources/synthdance"),
                "splits": ["train"],
                "gt_splits": ["train", "val"],
                "seqmaps": {},
                "annotation_only": False,
            }
        )
        start = time.perf_counter()
        for _ in range(3):
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "motforge",
                    "prepare",
                    "--dataset",
                    "synthdance",
                    "--dataset-config",
                    settings,
                    "--seq",
                    "synthdance0001",
                    "--split",
                    "train",
                    "--out",
                    str(work / "cli.h5"),
                ],
                check=True,
                capture_output=True,
            )
        cli = (time.perf_counter() - start) / 3
        start = time.perf_counter()
        for _ in range(20):
            write_index(
                build_index(
                    locate(
                        "synthdance",
                        "synthdance",
                        work / "resources/synthdance",
                        "train",
                        "synthdance0001",
                        ["train", "val"],
                    )
                ),
                work / "direct.h5",
            )
        direct = (time.perf_counter() - start) / 20
    print(f"100 synthetic sequences, whole DAG ({total} jobs):")
    print(f"  snakemake -n (parse + DAG):           {dry:6.2f} s   (target <= 5 s)")
    print(f"  building 100 indexes (300 jobs):     {build:6.2f} s")
    print(f"  no-op rerun of those targets:         {noop:6.2f} s")
    print("per-job overhead of one prepare job:")
    print(f"  library call in-process:              {direct * 1000:7.1f} ms")
    print(f"  CLI subprocess (python -m motforge):  {cli * 1000:7.1f} ms  ({cli / direct:.0f}x the call)")
    print(
        f"  one Snakemake job (parse+DAG+run):    {job * 1000:7.1f} ms  ({job / direct:.0f}x the call, "
        f"{job / cli:.1f}x the CLI)"
    )


if __name__ == "__main__":
    main()
