"""``python -m motforge`` subcommands of this stage: the depth teacher and FDTA depth bins."""

from __future__ import annotations

import argparse
from pathlib import Path

from motforge.cli_support import AddCommand, json_object


def cmd_depth(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index
    from motforge.depth.teacher import run_depth_teacher

    index = read_index(args.index)
    attrs = run_depth_teacher(
        index, args.depth_config, args.out, allow_downloads=args.allow_downloads, progress=not args.no_progress
    )
    print(
        f"{index.name}: {index.seq_length} depth frames ({attrs['backend']}, {attrs['kind']}) at "
        f"{attrs['cache_size'][0]}x{attrs['cache_size'][1]} -> {args.out}"
    )


def cmd_depth_bins(args: argparse.Namespace) -> None:
    from motforge.depth.bins import write_depth_bins

    attrs = write_depth_bins(args.depth, args.out, args.bins_config, progress=not args.no_progress)
    print(
        f"LID bins K={attrs['num_bins']} at {attrs['label_size'][0]}x{attrs['label_size'][1]} (sequence max "
        f"{attrs['sequence_max']:.4g}) -> {args.out}"
    )


def add_commands(add: AddCommand) -> None:
    p = add("depth", cmd_depth, "run the depth teacher over a sequence into depth.zarr (float16, cache resolution)")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--depth-config", type=json_object, required=True, help="the dataset's depth block as JSON")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--allow-downloads", action="store_true", help="allow fetching weights from the Hugging Face hub")

    p = add("depth-bins", cmd_depth_bins, "FDTA LID bin labels (uint8 zarr) from a depth store")
    p.add_argument("--depth", type=Path, required=True)
    p.add_argument("--bins-config", type=json_object, required=True, help="labels.depth_bins block as JSON")
    p.add_argument("--out", type=Path, required=True)
