"""``python -m motforge`` subcommands of this stage: generating synthdance sequences."""

from __future__ import annotations

import argparse
from pathlib import Path

from motforge.cli_support import AddCommand, json_object
from motforge.errors import MotforgeError


def cmd_generate(args: argparse.Namespace) -> None:
    from motforge.synthdance.generate import SynthConfig, generate_sequence, write_seqmap

    cfg = SynthConfig.from_dict(args.synth)
    if args.seqmap_split:
        write_seqmap(args.root, args.seqmap_split, cfg)
        return
    if not args.seq or not args.out:
        raise MotforgeError("generate needs --seq and --out (or --seqmap-split with --root)")
    rows = generate_sequence(args.out, args.seq, cfg, progress=not args.no_progress)
    print(f"{args.seq}: {cfg.frames} frames, {rows} GT rows -> {args.out}")


def add_commands(add: AddCommand) -> None:
    p = add("generate", cmd_generate, "render one synthdance sequence (or write a split's seqmap)")
    p.add_argument(
        "--synth", type=json_object, default={}, help="generator settings as JSON (config datasets.<ds>.synth)"
    )
    p.add_argument("--seq", help="sequence name, e.g. synthdance0001")
    p.add_argument("--out", type=Path, help="sequence folder to create")
    p.add_argument("--root", type=Path, help="dataset root (with --seqmap-split)")
    p.add_argument("--seqmap-split", help="write {root}/{split}_seqmap.txt instead of a sequence")
