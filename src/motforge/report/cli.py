"""``python -m motforge`` subcommands of this stage: the per-dataset HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path

from motforge.cli_support import AddCommand


def cmd_report(args: argparse.Namespace) -> None:
    from motforge.report.page import ReportInputs, write_report

    inputs = ReportInputs(
        dataset=args.dataset,
        default_model=args.default_model or "",
        eval_dirs=args.eval or [],
        quality=args.quality or [],
        training=args.training or [],
        tracks=args.tracks or [],
        ablation=args.ablation,
        index=args.index,
        depth=args.depth,
        bins=args.bins,
        masks=args.masks,
        instance_depth=args.instance_depth,
        frames=args.frames,
    )
    print(f"-> {write_report(inputs, args.out)}")


def add_commands(add: AddCommand) -> None:
    p = add("report", cmd_report, "one self-contained HTML page per dataset: metrics, label quality, training, frames")
    p.add_argument("--dataset", required=True)
    p.add_argument("--default-model", help="the model whose metrics are hota.txt (shown in bold)")
    p.add_argument("--eval", type=Path, nargs="*", help="TrackEval output folders, results/<ds>/eval/<model>")
    p.add_argument("--quality", type=Path, nargs="*", help="label-quality JSON files")
    p.add_argument("--training", type=Path, nargs="*", help="folders with loss_curves.png: results/<ds>/models/<model>")
    p.add_argument("--tracks", type=Path, nargs="*", help="result files, results/<ds>/tracks/<model>/<seq>.txt")
    p.add_argument("--ablation", type=Path, help="ablation.png, shown when it exists")
    p.add_argument("--index", type=Path, help="index.h5 of the sequence whose frames are drawn")
    p.add_argument("--depth", type=Path)
    p.add_argument("--bins", type=Path)
    p.add_argument("--masks", type=Path)
    p.add_argument("--instance-depth", type=Path)
    p.add_argument("--frames", type=int, default=3, help="frames drawn per picture kind")
    p.add_argument("--out", type=Path, required=True)
