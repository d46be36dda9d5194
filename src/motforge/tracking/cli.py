"""``python -m motforge`` subcommands of this stage: online tracking and submissions."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from motforge.cli_support import AddCommand, json_object
from motforge.errors import MotforgeError


def cmd_track(args: argparse.Namespace) -> None:
    """The model's family builds its online tracker; the runner feeds it the inputs the family asked for."""
    from motforge.datasets.index import read_index
    from motforge.detect.store import read_detections
    from motforge.families import registry
    from motforge.io.frame_cache import open_frame_cache
    from motforge.tracking.results import write_results
    from motforge.tracking.runner import run_tracker

    index = read_index(args.index)
    model = args.model_config
    family = registry().get(model.get("family", ""), "model.family")
    needs = family.track_inputs(model)
    missing = [name for name in needs if getattr(args, name) is None] + (["checkpoint"] if family.trains and args.checkpoint is None else [])
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


def cmd_submission(args: argparse.Namespace) -> None:
    import zipfile

    from motforge.io.atomic import atomic_path

    with atomic_path(args.out) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in args.tracks:
                archive.write(path, arcname=Path(path).name)
    print(f"{len(args.tracks)} result files -> {args.out}")


def add_commands(add: AddCommand) -> None:
    p = add("track", cmd_track, "run a model's online tracker over a sequence into MOTChallenge rows")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--detections", type=Path)
    p.add_argument("--model-config", type=json_object, required=True, help="model config block as JSON")
    p.add_argument("--checkpoint", type=Path, help="the trained checkpoint.pt (families that train)")
    p.add_argument("--frames", type=Path, help="the sequence's frame cache at the family's input size")
    p.add_argument("--depth-bins", type=Path, help="depth_bins.zarr (families that read it)")
    p.add_argument("--instance-depth", type=Path, help="instance_depth.h5 (families that read it)")
    p.add_argument("--out", type=Path, required=True)

    p = add("submission", cmd_submission, "zip result files (one <seq>.txt each) for the DanceTrack/SportsMOT servers")
    p.add_argument("--tracks", type=Path, nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True)
