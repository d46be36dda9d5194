"""``python -m motforge`` subcommands of this stage: frame caches and training a family."""
from __future__ import annotations

import argparse
from pathlib import Path

from motforge.cli_support import AddCommand, json_object
from motforge.errors import MotforgeError


def cmd_frames(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index
    from motforge.io.frame_cache import write_frame_cache

    index = read_index(args.index)
    write_frame_cache(index, args.width, args.height, args.out, progress=not args.no_progress)
    print(f"{index.name}: {index.seq_length} frames cached at {args.width}x{args.height} -> {args.out}")


def cmd_train(args: argparse.Namespace) -> None:
    """Train a model of a family that trains, from the caches of its training sequences."""
    from motforge.families import CACHED_INPUTS, TrainFiles, registry

    family = registry().get(args.model_config.get("family", ""), "model.family")
    n = len(args.index)
    given = {name: getattr(args, name) or [] for name in CACHED_INPUTS}
    for name, values in given.items():
        if values and len(values) != n:
            raise MotforgeError(f"train needs one --{name.replace('_', '-')} per --index (got {len(values)} for {n})")
    files = [TrainFiles(index, {name: values[i] for name, values in given.items() if values}) for i, index in enumerate(args.index)]
    missing = [name for name in family.train_inputs(args.model_config) if not given[name]]
    if missing:
        raise MotforgeError(f"the {family.name} family trains on {', '.join('--' + m.replace('_', '-') for m in missing)}")
    summary = family.train(files, args.model_config, args.bins_config, args.out, args.resume, progress=not args.no_progress)
    print(f"trained {summary['steps']} steps (resumed from {summary['resumed_from']}), data wait {summary['data_wait_share']:.1%} -> {args.out}")


def add_commands(add: AddCommand) -> None:
    p = add("frames", cmd_frames, "cache a sequence's decoded frames at a training resolution (uint8 zarr)")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--height", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)

    p = add("train", cmd_train, "train a dense model from the caches (resumes from --resume/last.pt after a kill)")
    p.add_argument("--index", type=Path, action="append", required=True, help="index.h5 of a training sequence (repeat)")
    p.add_argument("--frames", type=Path, action="append", help="frame cache per --index (repeat)")
    p.add_argument("--depth-bins", type=Path, action="append", help="depth_bins.zarr per --index (repeat)")
    p.add_argument("--instance-depth", type=Path, action="append", help="instance_depth.h5 per --index (repeat)")
    p.add_argument("--detections", type=Path, action="append", help="detections.h5 per --index (repeat)")
    p.add_argument("--model-config", type=json_object, required=True)
    p.add_argument("--bins-config", type=json_object, required=True, help="labels.depth_bins block as JSON")
    p.add_argument("--resume", type=Path, required=True, help="folder for the rolling resume checkpoint")
    p.add_argument("--out", type=Path, required=True)
