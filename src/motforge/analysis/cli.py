"""``python -m motforge`` subcommands of this stage: label quality, pictures for a person to check, and the
depth-cue analysis."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from motforge.cli_support import AddCommand, json_object
from motforge.errors import MotforgeError


def _quality_config(args: argparse.Namespace) -> dict:
    if args.quality_config is None:
        raise MotforgeError(f"quality {args.kind} needs --quality-config (the workflow passes the config's settings)")
    return args.quality_config


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

        report = detection_quality(
            args.index, args.detections, args.out, score_threshold=_quality_config(args)["score_threshold"]
        )
        print(json.dumps(report["overall"]))
        return
    from motforge.masks.quality import instance_quality

    if not (len(args.index) == len(args.masks or []) == len(args.instance_depth or [])):
        raise MotforgeError("quality instances needs --masks and --instance-depth per --index")
    settings = _quality_config(args)
    report = instance_quality(
        args.index,
        args.masks,
        args.instance_depth,
        args.depth,
        args.out,
        settings["compare_backends"],
        settings["frame_step"],
        settings.get("grabcut"),
    )
    print(json.dumps(report["methods"]))


def cmd_show(args: argparse.Namespace) -> None:
    from motforge.datasets.index import read_index
    from motforge.depth.show import show_depth
    from motforge.depth.store import open_frame_store

    index = read_index(args.index)
    if args.kind == "tracks":
        from motforge.tracking.show import show_tracks

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


def cmd_depth_cue(args: argparse.Namespace) -> None:
    from motforge.analysis.depth_cue import depth_cue, predicted_depths, reference_depths, summarise
    from motforge.datasets.frame_cache import open_frame_cache
    from motforge.datasets.index import read_index
    from motforge.families.dense.train import load_dense
    from motforge.io.atomic import write_text_atomic
    from motforge.masks.store import read_masks

    if len(args.index) != len(args.instance_depth) or (args.checkpoint and len(args.frames or []) != len(args.index)):
        raise MotforgeError("depth-cue needs one --instance-depth (and, with --checkpoint, one --frames) per --index")
    if (args.depth or args.masks) and not (len(args.depth or []) == len(args.masks or []) == len(args.index)):
        raise MotforgeError("depth-cue's reference ceilings need one --depth and one --masks per --index")
    model = None
    if args.checkpoint:
        model = load_dense(args.checkpoint)
    samples: dict = {}
    for i, (index_path, labels) in enumerate(zip(args.index, args.instance_depth)):
        index = read_index(index_path)
        predicted = predicted_depths(model, index, open_frame_cache(args.frames[i])) if model is not None else {}
        if args.depth:
            predicted |= reference_depths(index, args.depth[i], read_masks(args.masks[i]), tuple(args.grid))
        for name, values in depth_cue(index, labels, predicted, args.min_iou).items():
            for key, v in values.items():
                samples.setdefault(name, {}).setdefault(key, []).extend(v)
    summary = summarise(samples, args.gamma)
    write_text_atomic(args.out, json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def _query_lifecycle(track: dict):  # noqa: ANN202
    """The query family's ``track`` block: the schema's defaults with the given keys replaced (unknown keys are
    errors), as the lifecycle the tracker runs."""
    from motforge.families.query import __file__ as query_package
    from motforge.families.query.config import block_defaults
    from motforge.families.query.inference import Lifecycle
    from motforge.families.schema import load_fragment

    block = block_defaults(load_fragment(query_package))["track"]
    unknown = sorted(set(track) - set(block))
    if unknown:
        raise MotforgeError(f"query-scores --track: unknown key(s) {', '.join(unknown)}; known: {', '.join(block)}")
    return Lifecycle(**{**block, **track})


def cmd_query_scores(args: argparse.Namespace) -> None:
    from motforge.analysis.query_scores import CATEGORIES, plot, sequence_scores, summarise
    from motforge.datasets.frame_cache import open_frame_cache
    from motforge.datasets.index import read_index
    from motforge.detect.store import read_detections
    from motforge.families.query.tracker import QueryFamilyTracker
    from motforge.families.query.train import load_query
    from motforge.io.atomic import write_text_atomic

    if len(args.frames) != len(args.index) or (args.detections and len(args.detections) != len(args.index)):
        raise MotforgeError("query-scores needs one --frames (and, for proposals, one --detections) per --index")
    rule = _query_lifecycle(args.track or {})
    model = load_query(args.checkpoint)
    if model.cfg.proposals and not args.detections:
        raise MotforgeError(f"{args.checkpoint}: the model uses MOTRv2 proposals; give one --detections per --index")
    tracker = QueryFamilyTracker(model, rule)
    samples: dict[str, list[float]] = {name: [] for name in CATEGORIES}
    for i, index_path in enumerate(args.index):
        detections = read_detections(args.detections[i]) if model.cfg.proposals else None
        seq = sequence_scores(
            tracker,
            read_index(index_path),
            open_frame_cache(args.frames[i]),
            detections,
            args.iou,
            not args.no_progress,
        )
        for name, values in seq.items():
            samples[name].extend(values)
    summary = summarise(samples, rule.birth, rule.death)
    write_text_atomic(args.out, json.dumps(summary, indent=2) + "\n")
    if args.plot:
        plot(samples, rule.birth, rule.death, args.checkpoint.parent.name, args.plot)
    for name, row in summary.items():
        if row["count"]:
            print(
                f"{name:19s} n={row['count']:6d}  q10/median/q90 {row['q10']:.3f} {row['median']:.3f} "
                f"{row['q90']:.3f}  >= birth {row['at_birth']:.2f}  >= death {row['at_death']:.2f}"
            )
        else:
            print(f"{name:19s} n=     0")


def add_commands(add: AddCommand) -> None:
    p = add(
        "quality",
        cmd_quality,
        "label quality against synthdance ground truth (depth: AbsRel, delta<1.25; instances: mask IoU, "
        "instance-depth AbsRel)",
    )
    p.add_argument("kind", choices=["depth", "instances", "detections"])
    p.add_argument("--index", type=Path, nargs="+", required=True)
    p.add_argument("--depth", type=Path, nargs="+")
    p.add_argument("--detections", type=Path, nargs="+")
    p.add_argument("--masks", type=Path, nargs="+")
    p.add_argument("--instance-depth", type=Path, nargs="+")
    p.add_argument("--quality-config", type=json_object, help="labels.quality block (+ masks.grabcut) as JSON")
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

    p = add(
        "depth-cue",
        cmd_depth_cue,
        "how well instance depth (labels, and a model's head on GT boxes) separates overlapping objects",
    )
    # action="extend": a repeated flag adds to the list (one --index per sequence works, as several values do)
    p.add_argument("--index", type=Path, nargs="+", action="extend", required=True)
    p.add_argument(
        "--instance-depth", type=Path, nargs="+", action="extend", required=True, help="instance_depth.h5 per --index"
    )
    p.add_argument(
        "--frames", type=Path, nargs="+", action="extend", help="frame cache per --index at the model's input size"
    )
    p.add_argument(
        "--checkpoint", type=Path, help="a dense model's checkpoint.pt (without it only the labels are measured)"
    )
    p.add_argument(
        "--depth", type=Path, nargs="+", action="extend", help="depth.zarr per --index: adds the reference ceilings"
    )
    p.add_argument("--masks", type=Path, nargs="+", action="extend", help="masks.h5 per --index (with --depth)")
    p.add_argument(
        "--grid",
        type=int,
        nargs=2,
        metavar=("W", "H"),
        default=(40, 24),
        help="the model's stride-8 map for the *_grid ceilings (40 24 for a 320x192 input)",
    )
    p.add_argument(
        "--gamma", type=float, default=0.2, help="the tracker's depth weight, to express the median gap as a penalty"
    )
    p.add_argument("--min-iou", type=float, default=0.1, help="boxes overlapping more than this form a pair")
    p.add_argument("--out", type=Path, required=True)

    p = add(
        "query-scores",
        cmd_query_scores,
        "score distributions of a query model's detect and track queries on GT sequences (new / duplicate / false, "
        "on object / drifted)",
    )
    p.add_argument("--checkpoint", type=Path, required=True, help="a query model's checkpoint.pt")
    p.add_argument("--index", type=Path, nargs="+", action="extend", required=True)
    p.add_argument(
        "--frames", type=Path, nargs="+", action="extend", required=True, help="frame cache per --index (model size)"
    )
    p.add_argument("--detections", type=Path, nargs="+", action="extend", help="detections.h5 per --index (proposals)")
    p.add_argument(
        "--track",
        type=json_object,
        help="the model's track block where it differs from the schema, as JSON (e.g. '{\"death\": 0.4}')",
    )
    p.add_argument("--iou", type=float, default=0.5, help="a box on an object overlaps its GT box by more than this")
    p.add_argument("--plot", type=Path, help="also draw the histograms (PNG)")
    p.add_argument("--out", type=Path, required=True, help="summary JSON")
