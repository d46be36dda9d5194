"""``python -m motforge`` subcommands of this stage: training a model of any family and running its online tracker."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from motforge.cli_support import AddCommand, json_object
from motforge.errors import MotforgeError


def cmd_train(args: argparse.Namespace) -> None:
    """Train a model of a family that trains, from the caches of its training sequences."""
    from motforge.families import CACHED_INPUTS, TrainFiles, registry

    family = registry().get(args.model_config.get("family", ""), "model.family")
    n = len(args.index)
    given = {name: getattr(args, name) or [] for name in CACHED_INPUTS}
    for name, values in given.items():
        if values and len(values) != n:
            raise MotforgeError(f"train needs one --{name.replace('_', '-')} per --index (got {len(values)} for {n})")
    files = [
        TrainFiles(index, {name: values[i] for name, values in given.items() if values})
        for i, index in enumerate(args.index)
    ]
    missing = [name for name in family.train_inputs(args.model_config) if not given[name]]
    if missing:
        raise MotforgeError(
            f"the {family.name} family trains on {', '.join('--' + m.replace('_', '-') for m in missing)}"
        )
    summary = family.train(
        files, args.model_config, args.bins_config, args.out, args.resume, progress=not args.no_progress
    )
    print(
        f"trained {summary['steps']} steps (resumed from {summary['resumed_from']}), data wait "
        f"{summary['data_wait_share']:.1%} -> {args.out}"
    )


def cmd_track(args: argparse.Namespace) -> None:
    """The model's family builds its online tracker; the runner feeds it the inputs the family asked for."""
    from motforge.datasets.frame_cache import open_frame_cache
    from motforge.datasets.index import read_index
    from motforge.detect.store import read_detections
    from motforge.families import registry
    from motforge.tracking.results import write_results
    from motforge.tracking.runner import run_tracker

    index = read_index(args.index)
    model = args.model_config
    family = registry().get(model.get("family", ""), "model.family")
    needs = family.track_inputs(model)
    missing = [name for name in needs if getattr(args, name) is None] + (
        ["checkpoint"] if family.trains and args.checkpoint is None else []
    )
    if missing:
        raise MotforgeError(f"the {family.name} family needs {', '.join('--' + m.replace('_', '-') for m in missing)}")
    # Snakemake (and SLURM job scripts) export the job's thread allotment as OMP_NUM_THREADS
    threads = int(os.environ["OMP_NUM_THREADS"]) if os.environ.get("OMP_NUM_THREADS") else None
    tracker = family.tracker(model, args.checkpoint, threads)
    detections = read_detections(args.detections) if "detections" in needs else None
    frames = open_frame_cache(args.frames) if "frames" in needs else None
    arrays = run_tracker(index, tracker, detections, frames, progress=not args.no_progress)
    write_results(args.out, *arrays)
    print(f"{index.name}: {len(arrays[0])} rows, {len(set(arrays[1].tolist()))} ids -> {args.out}")


def add_commands(add: AddCommand) -> None:
    p = add("train", cmd_train, "train a dense model from the caches (resumes from --resume/last.pt after a kill)")
    p.add_argument(
        "--index", type=Path, action="append", required=True, help="index.h5 of a training sequence (repeat)"
    )
    p.add_argument("--frames", type=Path, action="append", help="frame cache per --index (repeat)")
    p.add_argument("--depth-bins", type=Path, action="append", help="depth_bins.zarr per --index (repeat)")
    p.add_argument("--instance-depth", type=Path, action="append", help="instance_depth.h5 per --index (repeat)")
    p.add_argument("--detections", type=Path, action="append", help="detections.h5 per --index (repeat)")
    p.add_argument("--model-config", type=json_object, required=True)
    p.add_argument("--bins-config", type=json_object, required=True, help="labels.depth_bins block as JSON")
    p.add_argument("--resume", type=Path, required=True, help="folder for the rolling resume checkpoint")
    p.add_argument("--out", type=Path, required=True)

    p = add("track", cmd_track, "run a model's online tracker over a sequence into MOTChallenge rows")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--detections", type=Path)
    p.add_argument("--model-config", type=json_object, required=True, help="model config block as JSON")
    p.add_argument("--checkpoint", type=Path, help="the trained checkpoint.pt (families that train)")
    p.add_argument("--frames", type=Path, help="the sequence's frame cache at the family's input size")
    p.add_argument("--depth-bins", type=Path, help="depth_bins.zarr (families that read it)")
    p.add_argument("--instance-depth", type=Path, help="instance_depth.h5 (families that read it)")
    p.add_argument("--out", type=Path, required=True)
