"""``python -m motforge`` subcommands of this stage: converting raw sequences into index.h5."""

from __future__ import annotations

import argparse
from pathlib import Path

from motforge.cli_support import AddCommand, json_object


def cmd_prepare(args: argparse.Namespace) -> None:
    from motforge.datasets.index import build_index, write_index
    from motforge.datasets.layouts import locate

    ds = args.dataset_config
    from motforge.datasets.video import DECODED_DIR

    decoded = args.out.parent / DECODED_DIR if ds["format"] == "video" else None  # written by decode-video
    source = locate(args.dataset, ds["format"], ds["root"], args.split, args.seq, ds["gt_splits"], decoded_dir=decoded)
    index = build_index(source, annotation_only=ds["annotation_only"])
    write_index(index, args.out)
    print(
        f"{index.name} ({index.split}): {index.seq_length} frames {index.width}x{index.height} @ {index.fps:g} "
        f"fps, {index.num_boxes} GT boxes"
    )


def cmd_decode_video(args: argparse.Namespace) -> None:
    from motforge.datasets.video import decode_video

    frames, fps = decode_video(args.video, args.out, jpeg_quality=args.jpeg_quality, progress=not args.no_progress)
    print(f"{args.video}: {frames} frames @ {fps:g} fps -> {args.out}")


def cmd_summary(args: argparse.Namespace) -> None:
    from motforge.datasets.index import build_index
    from motforge.datasets.layouts import discover

    splits = args.splits.split(",")
    gt_splits = args.gt_splits.split(",") if args.gt_splits is not None else splits
    sources = discover(args.name or args.format, args.format, args.root, splits, gt_splits)
    indexes = [build_index(s, annotation_only=args.annotation_only) for s in sources]
    frames = sum(i.seq_length for i in indexes)
    boxes = sum(i.num_boxes for i in indexes)
    ids = sum(len(set(i.gt["id"].tolist())) for i in indexes)
    print(f"{len(indexes)} sequences, {frames} frames, {boxes} boxes, {ids} identities (summed per sequence)")


def cmd_frames(args: argparse.Namespace) -> None:
    from motforge.datasets.frame_cache import write_frame_cache
    from motforge.datasets.index import read_index

    index = read_index(args.index)
    write_frame_cache(index, args.width, args.height, args.out, progress=not args.no_progress)
    print(f"{index.name}: {index.seq_length} frames cached at {args.width}x{args.height} -> {args.out}")


def add_commands(add: AddCommand) -> None:
    p = add("prepare", cmd_prepare, "convert one raw sequence into the canonical index.h5")
    p.add_argument("--dataset", required=True)
    p.add_argument("--dataset-config", type=json_object, required=True, help="the dataset's config block as JSON")
    p.add_argument("--seq", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--out", type=Path, required=True)

    p = add("summary", cmd_summary, "read every sequence of a dataset and report sequence, frame and box counts")
    p.add_argument("--format", required=True)
    p.add_argument("--root", type=Path, required=True)
    p.add_argument("--splits", default="val", help="comma-separated splits")
    p.add_argument("--gt-splits", default=None, help="comma-separated splits that must have GT (default: all)")
    p.add_argument("--name", default=None)
    p.add_argument("--annotation-only", action="store_true", help="no images: sizes from seqinfo.ini")

    p = add("frames", cmd_frames, "cache a sequence's decoded frames at a training resolution (uint8 zarr)")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--height", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)

    p = add("decode-video", cmd_decode_video, "decode a video once into a MOTChallenge folder (img1/, seqinfo.ini)")
    p.add_argument("--video", type=Path, required=True)
    p.add_argument("--jpeg-quality", type=int, default=95)
    p.add_argument("--out", type=Path, required=True, help="folder to create (results/<ds>/seqs/<seq>/video)")
