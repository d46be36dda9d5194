"""``python -m motforge`` subcommands of this stage: detector pseudo-boxes and their exports."""

from __future__ import annotations

import argparse
from pathlib import Path

from motforge.cli_support import AddCommand, json_object
from motforge.errors import MotforgeError


def cmd_detect(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index
    from motforge.detect.stage import run_detector

    index = read_index(args.index)
    dets = run_detector(index, args.detector, args.out, dataset_root=args.dataset_root, progress=not args.no_progress)
    print(
        f"{index.name}: {len(dets.scores)} boxes in {dets.num_frames} frames ({args.detector['backend']}) -> {args.out}"
    )


def cmd_export(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index

    indexes = [read_index(p) for p in args.index]
    if args.kind == "det-db":
        from motforge.detect.files import det_db_key, det_db_lines, write_det_db
        from motforge.detect.store import read_detections

        if len(args.detections or []) != len(indexes):
            raise MotforgeError("export det-db needs one --detections per --index")
        entries: dict[str, list[str]] = {}
        for index, path in zip(indexes, args.detections):
            dets = read_detections(path)
            for t in range(1, index.seq_length + 1):
                boxes, scores, _ = dets.frame(t)
                entries[det_db_key(index, t, args.root, args.prefix)] = det_db_lines(boxes, scores)
        write_det_db(entries, args.out)
        print(f"det_db with {len(entries)} frame keys -> {args.out}")
    elif args.kind == "yolo":
        from motforge.detect.export import export_yolo

        print(f"Ultralytics dataset -> {export_yolo(indexes, args.out)}")
    else:
        from motforge.detect.export import export_coco

        print(f"COCO JSON -> {export_coco(indexes, args.out)}")


def cmd_train_detector(args: argparse.Namespace) -> None:
    from motforge.detect.train import train_ultralytics

    best = train_ultralytics(args.data, args.train_config, args.out, device=args.device)
    print(f"trained detector -> {best}")


def add_commands(add: AddCommand) -> None:
    p = add("detect", cmd_detect, "run a detector backend over a sequence into detections.h5")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--detector", type=json_object, required=True, help="detector config block as JSON")
    p.add_argument("--dataset-root", type=Path, help="dataset root (det_db keys are relative to it)")
    p.add_argument("--out", type=Path, required=True)

    p = add(
        "export", cmd_export, "export GT or detections for other tools: MOTRv2 det_db, Ultralytics dataset, COCO JSON"
    )
    p.add_argument("kind", choices=["det-db", "yolo", "coco"])
    p.add_argument("--index", type=Path, nargs="+", required=True)
    p.add_argument("--detections", type=Path, nargs="+", help="detections.h5 per --index (det-db)")
    p.add_argument("--root", type=Path, help="dataset root (det-db keys are relative to the folder above it)")
    p.add_argument("--prefix", default=None, help="first key component instead of the root's folder name (det-db)")
    p.add_argument("--out", type=Path, required=True)

    p = add("train-detector", cmd_train_detector, "train an Ultralytics detector on an exported dataset (data.yaml)")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--train-config", type=json_object, required=True, help="detector.train block as JSON")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, required=True, help="folder for the run; best.pt lands in it")
