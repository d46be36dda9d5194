"""``python -m motforge`` subcommands of this stage: TrackEval scores, headlines and ablation tables."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from motforge.cli_support import AddCommand


def cmd_eval_gt(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index
    from motforge.evaluate.gt_folder import write_gt_folder

    seqmap = write_gt_folder([read_index(p) for p in args.index], args.out)
    print(f"GT folder for {len(args.index)} sequences -> {seqmap.parent}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from motforge.evaluate.trackeval_runner import evaluate_folders

    headline = evaluate_folders(
        args.gt_folder,
        args.seqmap,
        args.tracks,
        args.out,
        benchmark=args.benchmark,
        preproc=not args.no_preproc,
        cores=args.cores,
    )
    print(headline.lines(), end="")


def cmd_headline(args: argparse.Namespace) -> None:
    from motforge.evaluate.headline import Headline

    headline = Headline.read(args.source)
    headline.write(args.out)
    print(headline.lines(), end="")


def cmd_ablation(args: argparse.Namespace) -> None:
    from motforge.evaluate.ablation import write_ablation

    table = write_ablation(args.eval_dir, args.name, args.out, json.loads(args.paper))
    print(table)


def cmd_submission(args: argparse.Namespace) -> None:
    import zipfile

    from motforge.io.atomic import atomic_path

    with atomic_path(args.out) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in args.tracks:
                archive.write(path, arcname=Path(path).name)
    print(f"{len(args.tracks)} result files -> {args.out}")


def add_commands(add: AddCommand) -> None:
    p = add("eval-gt", cmd_eval_gt, "write the TrackEval GT folder and seqmap for a set of sequences")
    p.add_argument("--index", type=Path, nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True)

    p = add(
        "evaluate",
        cmd_evaluate,
        "TrackEval HOTA/CLEAR/Identity on MOTChallenge-style folders; prints the hota.txt lines",
    )
    p.add_argument("--gt-folder", type=Path, required=True, help="DIR with <seq>/gt/gt.txt and <seq>/seqinfo.ini")
    p.add_argument("--seqmap", type=Path, required=True, help="seqmap file (first line: name)")
    p.add_argument("--tracks", type=Path, required=True, help="DIR with <seq>.txt result files")
    p.add_argument("--out", type=Path, required=True, help="output folder (summary, detailed CSV, hota.txt)")
    p.add_argument("--benchmark", default="MOT17", choices=["MOT15", "MOT16", "MOT17", "MOT20"])
    p.add_argument("--no-preproc", action="store_true", help="skip TrackEval's distractor preprocessing")
    p.add_argument("--cores", type=int, default=1)

    p = add("headline", cmd_headline, "copy a model's headline metrics to results/<ds>/hota.txt (validating it)")
    p.add_argument("--source", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)

    p = add("ablation", cmd_ablation, "collect evaluation folders of ablation runs into a mean/std table and a plot")
    p.add_argument("--eval-dir", type=Path, nargs="+", required=True)
    p.add_argument(
        "--name", nargs="+", required=True, help="variant name per --eval-dir (runs of one variant share a name)"
    )
    p.add_argument("--out", type=Path, required=True, help="ablation.csv (a .png is written beside it)")
    p.add_argument(
        "--paper", default="{}", help="JSON: variant -> {sign, source}, the HOTA change its paper reports (config)"
    )

    p = add("submission", cmd_submission, "zip result files (one <seq>.txt each) for the DanceTrack/SportsMOT servers")
    p.add_argument("--tracks", type=Path, nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True)
