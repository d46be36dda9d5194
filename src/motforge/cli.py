"""``python -m motforge <stage> ...``: one subcommand per pipeline stage; every workflow rule calls one of these.

Values come as explicit arguments (JSON for a stage's settings block), never from a global config, so a rule's
command line says everything the stage depends on. Errors in the input end with a one-line message naming the
file and line (or config key) and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from motforge.errors import MotforgeError


def _json(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


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


def cmd_prepare(args: argparse.Namespace) -> None:
    from motforge.datasets.index import build_index, write_index

    from motforge.datasets.layouts import locate

    ds = args.dataset_config
    decoded = args.out.parent / "video" if ds["format"] == "video" else None  # written by decode-video
    gt_splits = ds.get("gt_splits", ["train", "val"])
    source = locate(args.dataset, ds["format"], ds["root"], args.split, args.seq, gt_splits, decoded_dir=decoded)
    index = build_index(source, annotation_only=ds.get("annotation_only", False))
    write_index(index, args.out)
    print(f"{index.name} ({index.split}): {index.seq_length} frames {index.width}x{index.height} @ {index.fps:g} fps, {index.num_boxes} GT boxes")


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


def cmd_detect(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index
    from motforge.depth.teacher import resolve_device
    from motforge.detect.stage import run_detector

    index = read_index(args.index)
    device = str(resolve_device(args.detector.get("device", "cpu")))
    dets = run_detector(index, args.detector, args.out, dataset_root=args.dataset_root, device=device, progress=not args.no_progress)
    print(f"{index.name}: {len(dets.scores)} boxes in {dets.num_frames} frames ({args.detector.get('backend')}) -> {args.out}")


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


def cmd_track(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index
    from motforge.track.results import write_results

    index = read_index(args.index)
    model = args.model_config
    family = model.get("family")
    if family == "oracle":
        from motforge.track.run import track_oracle

        arrays = track_oracle(index)
    elif family == "dense":
        import torch

        from motforge.detect.store import read_detections
        from motforge.model.dense import DenseConfig, DenseTracker
        from motforge.track.dense_tracker import DenseTrackParams
        from motforge.track.run import track_dense
        from motforge.train.frame_cache import open_frame_cache
        from motforge.train.trainer import load_checkpoint

        if not args.checkpoint or not args.frames:
            raise MotforgeError("the dense family needs --checkpoint and --frames")
        state = load_checkpoint(args.checkpoint)
        model = DenseTracker(DenseConfig(**json.loads(state["dense_config"])))
        model.load_state_dict(state["model"])
        # Snakemake (and SLURM job scripts) export the job's thread allotment as OMP_NUM_THREADS; taking the
        # model's training threads instead would oversubscribe the cores when several track jobs run at once.
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or args.model_config.get("train", {}).get("threads", 2)))
        params = DenseTrackParams(**args.model_config["track"])
        proposals = read_detections(args.detections) if params.proposals == "detections" and args.detections else None
        arrays = track_dense(index, open_frame_cache(args.frames), model, params, proposals=proposals, progress=not args.no_progress)
    elif family == "bytetrack":
        from motforge.detect.store import read_detections
        from motforge.track.bytetrack import ByteTrackParams
        from motforge.track.run import track_bytetrack

        if not args.detections:
            raise MotforgeError("the bytetrack family needs --detections")
        params = ByteTrackParams(**{k: v for k, v in model.items() if k != "family"})
        arrays = track_bytetrack(index, read_detections(args.detections), params, progress=not args.no_progress)
    else:
        raise MotforgeError(f"unknown model family {family!r}")
    write_results(args.out, *arrays)
    print(f"{index.name}: {len(arrays[0])} rows, {len(set(arrays[1].tolist()))} ids -> {args.out}")


def cmd_frames(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index
    from motforge.train.frame_cache import write_frame_cache

    index = read_index(args.index)
    write_frame_cache(index, args.width, args.height, args.out, progress=not args.no_progress)
    print(f"{index.name}: {index.seq_length} frames cached at {args.width}x{args.height} -> {args.out}")


def cmd_train(args: argparse.Namespace) -> None:
    from motforge.depth.teacher import resolve_device
    from motforge.train.clips import SequenceFiles
    from motforge.train.trainer import train_dense

    n = len(args.index)
    def aligned(values, name):
        if values and len(values) != n:
            raise MotforgeError(f"train needs one --{name} per --index")
        return values or [None] * n

    sequences = [SequenceFiles(i, f, b, d, p) for i, f, b, d, p in zip(args.index, aligned(args.frames, "frames"), aligned(args.depth_bins, "depth-bins"),
                                                                        aligned(args.instance_depth, "instance-depth"), aligned(args.detections, "detections"))]
    device = str(resolve_device(args.model_config["train"].get("device", "auto")))
    summary = train_dense(sequences, args.model_config, args.bins_config, args.out, args.resume, device=device, progress=not args.no_progress)
    print(f"trained {summary['steps']} steps (resumed from {summary['resumed_from']}), data wait {summary['data_wait_share']:.1%} -> {args.out}")


def cmd_ablation(args: argparse.Namespace) -> None:
    from motforge.train.ablation import write_ablation

    table = write_ablation(args.eval_dir, args.name, args.out)
    print(table)


def cmd_submission(args: argparse.Namespace) -> None:
    import zipfile

    from motforge.io.atomic import atomic_path

    with atomic_path(args.out) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in args.tracks:
                archive.write(path, arcname=Path(path).name)
    print(f"{len(args.tracks)} result files -> {args.out}")


def cmd_eval_gt(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index
    from motforge.evaluate.gt_folder import write_gt_folder

    seqmap = write_gt_folder([read_index(p) for p in args.index], args.out)
    print(f"GT folder for {len(args.index)} sequences -> {seqmap.parent}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from motforge.evaluate.trackeval_runner import evaluate_folders

    headline = evaluate_folders(args.gt_folder, args.seqmap, args.tracks, args.out, benchmark=args.benchmark, preproc=not args.no_preproc, cores=args.cores)
    print(headline.lines(), end="")


def cmd_headline(args: argparse.Namespace) -> None:
    from motforge.evaluate.headline import Headline

    headline = Headline.read(args.source)
    headline.write(args.out)
    print(headline.lines(), end="")


def cmd_depth_cue(args: argparse.Namespace) -> None:
    from motforge.analysis.depth_cue import depth_cue, predicted_instance_depth, summarise
    from motforge.datasets.index import read_index
    from motforge.io.atomic import write_text_atomic
    from motforge.model.dense import DenseConfig, DenseTracker
    from motforge.train.frame_cache import open_frame_cache
    from motforge.train.trainer import load_checkpoint

    if len(args.index) != len(args.instance_depth) or (args.checkpoint and len(args.frames or []) != len(args.index)):
        raise MotforgeError("depth-cue needs one --instance-depth (and, with --checkpoint, one --frames) per --index")
    model = None
    if args.checkpoint:
        state = load_checkpoint(args.checkpoint)
        model = DenseTracker(DenseConfig(**json.loads(state["dense_config"])))
        model.load_state_dict(state["model"])
    samples: dict = {}
    for i, (index_path, labels) in enumerate(zip(args.index, args.instance_depth)):
        index = read_index(index_path)
        predicted = predicted_instance_depth(model, index, open_frame_cache(args.frames[i])) if model is not None else None
        for name, values in depth_cue(index, labels, predicted, args.min_iou).items():
            for key, v in values.items():
                samples.setdefault(name, {}).setdefault(key, []).extend(v)
    summary = summarise(samples, args.gamma)
    write_text_atomic(args.out, json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def cmd_depth(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index
    from motforge.depth.teacher import run_depth_teacher

    index = read_index(args.index)
    attrs = run_depth_teacher(index, args.depth_config, args.out, allow_downloads=args.allow_downloads, progress=not args.no_progress)
    print(f"{index.name}: {index.seq_length} depth frames ({attrs['backend']}, {attrs['kind']}) at {attrs['cache_size'][0]}x{attrs['cache_size'][1]} -> {args.out}")


def cmd_depth_bins(args: argparse.Namespace) -> None:
    from motforge.depth.bins import write_depth_bins

    attrs = write_depth_bins(args.depth, args.out, args.bins_config, progress=not args.no_progress)
    print(f"LID bins K={attrs['num_bins']} at {attrs['label_size'][0]}x{attrs['label_size'][1]} (sequence max {attrs['sequence_max']:.4g}) -> {args.out}")


def cmd_quality(args: argparse.Namespace) -> None:
    if args.kind != "detections" and len(args.index) != len(args.depth or []):
        raise MotforgeError("quality needs one --depth store per --index")
    if args.kind == "depth":
        from motforge.depth.quality import depth_quality

        report = depth_quality(args.index, args.depth, args.out)
        print(json.dumps(report["mean"]))
        return
    if args.kind == "detections":
        from motforge.detect.quality import detection_quality

        report = detection_quality(args.index, args.detections, args.out, score_threshold=(args.quality_config or {}).get("score_threshold", 0.05))
        print(json.dumps(report["overall"]))
        return
    from motforge.masks.quality import instance_quality

    if not (len(args.index) == len(args.masks or []) == len(args.instance_depth or [])):
        raise MotforgeError("quality instances needs --masks and --instance-depth per --index")
    settings = args.quality_config or {}
    report = instance_quality(args.index, args.masks, args.instance_depth, args.depth, args.out, settings.get("compare_backends", ["box", "grabcut"]),
                              settings.get("frame_step", 5), settings.get("grabcut"))
    print(json.dumps(report["methods"]))


def cmd_show(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index
    from motforge.depth.show import show_depth
    from motforge.depth.store import open_frame_store

    index = read_index(args.index)
    if args.kind == "tracks":
        from motforge.track.show import show_tracks

        if not args.tracks:
            raise MotforgeError("show tracks needs --tracks")
        detections = None
        if args.detections:
            from motforge.detect.store import read_detections

            detections = read_detections(args.detections)
        depth = open_frame_store(args.depth) if args.depth else None
        progress = not args.no_progress
        out = show_tracks(index, args.tracks, args.out, detections, depth, args.frame, args.trail, progress=progress)
        print(f"-> {out}")
        return
    if args.kind == "masks":
        from motforge.masks.instance_depth import read_instance_depth
        from motforge.masks.show import show_masks
        from motforge.masks.store import read_masks

        if not args.masks:
            raise MotforgeError("show masks needs --masks")
        instance = read_instance_depth(args.instance_depth) if args.instance_depth else None
        print(f"-> {show_masks(index, read_masks(args.masks), instance, args.frame or 1, args.out)}")
        return
    if not args.depth:
        raise MotforgeError("show depth needs --depth")
    bins = open_frame_store(args.bins) if args.bins else None
    frames = [args.frame] if args.frame else None
    out = show_depth(index, open_frame_store(args.depth), bins, args.out, frames=frames, progress=not args.no_progress)
    print(f"-> {out}")


def cmd_masks(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index
    from motforge.depth.teacher import resolve_device
    from motforge.masks.stage import run_masks

    index = read_index(args.index)
    settings = args.masks_config
    table = run_masks(index, settings, args.out, device=str(resolve_device(settings.get("device", "cpu"))), progress=not args.no_progress)
    print(f"{index.name}: {len(table.counts)} masks ({settings['backend']}, {int(table.empty.sum())} empty) at {table.width}x{table.height} -> {args.out}")


def cmd_instance_depth(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index
    from motforge.masks.instance_depth import instance_depths
    from motforge.masks.store import read_masks

    index = read_index(args.index)
    counts = instance_depths(index, read_masks(args.masks), args.depth, args.instance_config, args.bins_config, args.out, progress=not args.no_progress)
    print(f"{index.name}: {counts} -> {args.out}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m motforge", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="<stage>")

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        p.add_argument("--no-progress", action="store_true", help="hide progress bars")
        return p

    p = add("generate", cmd_generate, "render one synthdance sequence (or write a split's seqmap)")
    p.add_argument("--synth", type=_json, default={}, help="generator settings as JSON (config datasets.<ds>.synth)")
    p.add_argument("--seq", help="sequence name, e.g. synthdance0001")
    p.add_argument("--out", type=Path, help="sequence folder to create")
    p.add_argument("--root", type=Path, help="dataset root (with --seqmap-split)")
    p.add_argument("--seqmap-split", help="write {root}/{split}_seqmap.txt instead of a sequence")

    p = add("prepare", cmd_prepare, "convert one raw sequence into the canonical index.h5")
    p.add_argument("--dataset", required=True)
    p.add_argument("--dataset-config", type=_json, required=True, help="the dataset's config block as JSON")
    p.add_argument("--seq", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--out", type=Path, required=True)

    p = add("decode-video", cmd_decode_video, "decode a video once into a MOTChallenge folder (img1/, seqinfo.ini)")
    p.add_argument("--video", type=Path, required=True)
    p.add_argument("--jpeg-quality", type=int, default=95)
    p.add_argument("--out", type=Path, required=True, help="folder to create (results/<ds>/seqs/<seq>/video)")

    p = add("summary", cmd_summary, "read every sequence of a dataset and report sequence, frame and box counts")
    p.add_argument("--format", required=True)
    p.add_argument("--root", type=Path, required=True)
    p.add_argument("--splits", default="val", help="comma-separated splits")
    p.add_argument("--gt-splits", default=None, help="comma-separated splits that must have GT (default: all)")
    p.add_argument("--name", default=None)
    p.add_argument("--annotation-only", action="store_true", help="no images: sizes from seqinfo.ini")

    p = add("detect", cmd_detect, "run a detector backend over a sequence into detections.h5")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--detector", type=_json, required=True, help="detector config block as JSON")
    p.add_argument("--dataset-root", type=Path, help="dataset root (det_db keys are relative to it)")
    p.add_argument("--out", type=Path, required=True)

    p = add("export", cmd_export, "export GT or detections for other tools: MOTRv2 det_db, Ultralytics dataset, COCO JSON")
    p.add_argument("kind", choices=["det-db", "yolo", "coco"])
    p.add_argument("--index", type=Path, nargs="+", required=True)
    p.add_argument("--detections", type=Path, nargs="+", help="detections.h5 per --index (det-db)")
    p.add_argument("--root", type=Path, help="dataset root (det-db keys are relative to the folder above it)")
    p.add_argument("--prefix", default=None, help="first key component instead of the root's folder name (det-db)")
    p.add_argument("--out", type=Path, required=True)

    p = add("train-detector", cmd_train_detector, "train an Ultralytics detector on an exported dataset (data.yaml)")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--train-config", type=_json, required=True, help="detector.train block as JSON")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, required=True, help="folder for the run; best.pt lands in it")

    p = add("track", cmd_track, "run a model's online tracker over a sequence into MOTChallenge rows")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--detections", type=Path)
    p.add_argument("--model-config", type=_json, required=True, help="model config block as JSON")
    p.add_argument("--checkpoint", type=Path, help="dense: trained checkpoint.pt")
    p.add_argument("--frames", type=Path, help="dense: the sequence's frame cache at the model's input size")
    p.add_argument("--out", type=Path, required=True)

    p = add("frames", cmd_frames, "cache a sequence's decoded frames at a training resolution (uint8 zarr)")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--height", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)

    p = add("train", cmd_train, "train a dense model from the caches (resumes from --resume/last.pt after a kill)")
    p.add_argument("--index", type=Path, nargs="+", required=True)
    p.add_argument("--frames", type=Path, nargs="+", required=True)
    p.add_argument("--depth-bins", type=Path, nargs="*")
    p.add_argument("--instance-depth", type=Path, nargs="*")
    p.add_argument("--detections", type=Path, nargs="*")
    p.add_argument("--model-config", type=_json, required=True)
    p.add_argument("--bins-config", type=_json, required=True, help="labels.depth_bins block as JSON")
    p.add_argument("--resume", type=Path, required=True, help="folder for the rolling resume checkpoint")
    p.add_argument("--out", type=Path, required=True)

    p = add("ablation", cmd_ablation, "collect evaluation folders of ablation runs into a mean/std table and a plot")
    p.add_argument("--eval-dir", type=Path, nargs="+", required=True)
    p.add_argument("--name", nargs="+", required=True, help="variant name per --eval-dir (runs of one variant share a name)")
    p.add_argument("--out", type=Path, required=True, help="ablation.csv (a .png is written beside it)")

    p = add("submission", cmd_submission, "zip result files (one <seq>.txt each) for the DanceTrack/SportsMOT servers")
    p.add_argument("--tracks", type=Path, nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True)

    p = add("eval-gt", cmd_eval_gt, "write the TrackEval GT folder and seqmap for a set of sequences")
    p.add_argument("--index", type=Path, nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True)

    p = add("evaluate", cmd_evaluate, "TrackEval HOTA/CLEAR/Identity on MOTChallenge-style folders; prints the hota.txt lines")
    p.add_argument("--gt-folder", type=Path, required=True, help="DIR with <seq>/gt/gt.txt and <seq>/seqinfo.ini")
    p.add_argument("--seqmap", type=Path, required=True, help="seqmap file (first line: name)")
    p.add_argument("--tracks", type=Path, required=True, help="DIR with <seq>.txt result files")
    p.add_argument("--out", type=Path, required=True, help="output folder (summary, detailed CSV, hota.txt)")
    p.add_argument("--benchmark", default="MOT17", choices=["MOT15", "MOT16", "MOT17", "MOT20"])
    p.add_argument("--no-preproc", action="store_true", help="skip TrackEval's distractor preprocessing")
    p.add_argument("--cores", type=int, default=1)

    p = add("depth", cmd_depth, "run the depth teacher over a sequence into depth.zarr (float16, cache resolution)")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--depth-config", type=_json, required=True, help="the dataset's depth block as JSON")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--allow-downloads", action="store_true", help="allow fetching weights from the Hugging Face hub")

    p = add("depth-bins", cmd_depth_bins, "FDTA LID bin labels (uint8 zarr) from a depth store")
    p.add_argument("--depth", type=Path, required=True)
    p.add_argument("--bins-config", type=_json, required=True, help="labels.depth_bins block as JSON")
    p.add_argument("--out", type=Path, required=True)

    p = add("masks", cmd_masks, "one mask per GT box of a sequence into masks.h5 (COCO RLE)")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--masks-config", type=_json, required=True, help="the dataset's masks block as JSON")
    p.add_argument("--out", type=Path, required=True)

    p = add("instance-depth", cmd_instance_depth, "DepTR-MOT instance-depth soft labels per GT row into instance_depth.h5")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--masks", type=Path, required=True)
    p.add_argument("--depth", type=Path, required=True)
    p.add_argument("--instance-config", type=_json, required=True, help="labels.instance_depth block as JSON")
    p.add_argument("--bins-config", type=_json, required=True, help="labels.depth_bins block as JSON (FDTA scale)")
    p.add_argument("--out", type=Path, required=True)

    p = add("quality", cmd_quality, "label quality against synthdance ground truth (depth: AbsRel, delta<1.25; instances: mask IoU, instance-depth AbsRel)")
    p.add_argument("kind", choices=["depth", "instances", "detections"])
    p.add_argument("--index", type=Path, nargs="+", required=True)
    p.add_argument("--depth", type=Path, nargs="+")
    p.add_argument("--detections", type=Path, nargs="+")
    p.add_argument("--masks", type=Path, nargs="+")
    p.add_argument("--instance-depth", type=Path, nargs="+")
    p.add_argument("--quality-config", type=_json, help="labels.quality block (+ masks.grabcut) as JSON")
    p.add_argument("--out", type=Path, required=True)

    p = add("show", cmd_show, "draw labels over frames for a person to check (PNG for one frame, MP4 for a sequence)")
    p.add_argument("kind", choices=["depth", "masks", "tracks"])
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--depth", type=Path)
    p.add_argument("--masks", type=Path)
    p.add_argument("--instance-depth", type=Path)
    p.add_argument("--bins", type=Path)
    p.add_argument("--tracks", type=Path, help="tracks: a result file (results/<ds>/tracks/<model>/<seq>.txt)")
    p.add_argument("--detections", type=Path, help="tracks: also draw the detector's boxes (detections.h5)")
    p.add_argument("--trail", type=int, default=20, help="tracks: frames of trail behind each identity")
    p.add_argument("--frame", type=int, help="frame to draw (PNG output)")
    p.add_argument("--out", type=Path, required=True, help="out.png (one frame) or out.mp4 (whole sequence)")

    p = add("depth-cue", cmd_depth_cue, "how well instance depth (labels, and a model's head on GT boxes) separates overlapping objects")
    p.add_argument("--index", type=Path, nargs="+", required=True)
    p.add_argument("--instance-depth", type=Path, nargs="+", required=True, help="instance_depth.h5 per --index")
    p.add_argument("--frames", type=Path, nargs="+", help="frame cache per --index at the model's input size")
    p.add_argument("--checkpoint", type=Path, help="a dense model's checkpoint.pt (without it only the labels are measured)")
    p.add_argument("--gamma", type=float, default=0.2, help="the tracker's depth weight, to express the median gap as a penalty")
    p.add_argument("--min-iou", type=float, default=0.1, help="boxes overlapping more than this form a pair")
    p.add_argument("--out", type=Path, required=True)

    p = add("headline", cmd_headline, "copy a model's headline metrics to results/<ds>/hota.txt (validating it)")
    p.add_argument("--source", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except MotforgeError as exc:
        print(f"motforge {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0
