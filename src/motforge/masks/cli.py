"""``python -m motforge`` subcommands of this stage: instance masks and DepTR-MOT instance-depth labels."""

from __future__ import annotations

import argparse
from pathlib import Path

from motforge.cli_support import AddCommand, json_object


def cmd_masks(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index
    from motforge.masks.stage import run_masks

    index = read_index(args.index)
    settings = args.masks_config
    table = run_masks(index, settings, args.out, progress=not args.no_progress)
    print(
        f"{index.name}: {len(table.counts)} masks ({settings['backend']}, {int(table.empty.sum())} empty) at "
        f"{table.width}x{table.height} -> {args.out}"
    )


def cmd_instance_depth(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index
    from motforge.masks.instance_depth import instance_depths
    from motforge.masks.store import read_masks

    index = read_index(args.index)
    counts = instance_depths(
        index,
        read_masks(args.masks),
        args.depth,
        args.instance_config,
        args.bins_config,
        args.out,
        progress=not args.no_progress,
    )
    print(f"{index.name}: {counts} -> {args.out}")


def add_commands(add: AddCommand) -> None:
    p = add("masks", cmd_masks, "one mask per GT box of a sequence into masks.h5 (COCO RLE)")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--masks-config", type=json_object, required=True, help="the dataset's masks block as JSON")
    p.add_argument("--out", type=Path, required=True)

    p = add(
        "instance-depth", cmd_instance_depth, "DepTR-MOT instance-depth soft labels per GT row into instance_depth.h5"
    )
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--masks", type=Path, required=True)
    p.add_argument("--depth", type=Path, required=True)
    p.add_argument("--instance-config", type=json_object, required=True, help="labels.instance_depth block as JSON")
    p.add_argument(
        "--bins-config", type=json_object, required=True, help="labels.depth_bins block as JSON (FDTA scale)"
    )
    p.add_argument("--out", type=Path, required=True)
