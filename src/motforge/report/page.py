"""Assemble results/<ds>/report.html from what the workflow already wrote: TrackEval tables (hota.txt and
pedestrian_detailed.csv per model), label-quality JSON, training loss curves, the ablation plot, and a few frames
drawn with the existing label viewers (depth/show.py, masks/show.py) and the tracks. Nothing is recomputed, so the
rule stays cheap; every picture is a base64 PNG inside the page (no side files, nothing fetched when opened)."""

from __future__ import annotations

import base64
import csv
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from motforge.errors import InputError
from motforge.evaluate.headline import Headline
from motforge.io.atomic import write_text_atomic

#: per-sequence columns of TrackEval's pedestrian_detailed.csv (fractions) shown as percentages, and counts
PER_SEQUENCE = (
    ("HOTA", "HOTA___AUC"),
    ("DetA", "DetA___AUC"),
    ("AssA", "AssA___AUC"),
    ("IDF1", "IDF1"),
    ("MOTA", "MOTA"),
)
PER_SEQUENCE_COUNTS = (("IDSW", "IDSW"),)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_WIDTH = 1200  # frame strips wider than this are scaled down (the page stays a few MB)

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1300px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.default td { font-weight: bold; }
img { max-width: 100%; display: block; margin: 0.3em 0 1em; border: 1px solid #ddd; }
.note { color: #666; }
"""


@dataclass
class ReportInputs:
    """Paths the report reads; any may be absent (a section then says what is missing and why)."""

    dataset: str
    default_model: str = ""
    eval_dirs: list[Path] = field(default_factory=list)  # results/<ds>/eval/<model>
    quality: list[Path] = field(default_factory=list)  # results/<ds>/label_quality/*.json
    training: list[Path] = field(default_factory=list)  # results/<ds>/models/<model>
    tracks: list[Path] = field(default_factory=list)  # results/<ds>/tracks/<model>/<seq>.txt
    ablation: Path | None = None  # results/<ds>/ablation.png (shown when it exists)
    index: Path | None = None  # the sequence whose frames are shown
    depth: Path | None = None
    bins: Path | None = None
    masks: Path | None = None
    instance_depth: Path | None = None
    frames: int = 3


def png_data_uri(png: bytes, source: str | Path) -> str:
    if not png.startswith(PNG_SIGNATURE):
        raise InputError(source, "not a PNG file")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def image_data_uri(image: np.ndarray, source: str) -> str:
    """A BGR image as an embedded PNG, scaled to at most MAX_WIDTH."""
    if image.shape[1] > MAX_WIDTH:
        height = int(round(image.shape[0] * MAX_WIDTH / image.shape[1]))
        image = cv2.resize(image, (MAX_WIDTH, height), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise InputError(source, "could not encode the picture as PNG")
    return png_data_uri(encoded.tobytes(), source)


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{html.escape(alt)}">'


def _table(header: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def headline_section(inputs: ReportInputs) -> str:
    if not inputs.eval_dirs:
        return "<h2>Metrics</h2><p class=note>Not evaluated: the dataset has no evaluation split with ground truth.</p>"
    rows, classes = [], []
    for folder in inputs.eval_dirs:
        h = Headline.read(folder / "hota.txt")
        rows.append(
            [
                folder.name,
                f"{h.HOTA:.2f}",
                f"{h.DetA:.2f}",
                f"{h.AssA:.2f}",
                f"{h.IDF1:.2f}",
                f"{h.MOTA:.2f}",
                str(h.IDSW),
            ]
        )
        classes.append("default" if folder.name == inputs.default_model else "")
    note = (
        f"<p class=note>TrackEval HOTA / CLEAR / Identity, combined over the evaluation split; bold: the default model "
        f"({html.escape(inputs.default_model)}), whose line is hota.txt.</p>"
    )
    return "<h2>Metrics</h2>" + note + _table(["model", "HOTA", "DetA", "AssA", "IDF1", "MOTA", "IDSW"], rows, classes)


def read_detailed(path: Path) -> dict[str, dict[str, float]]:
    """{sequence (and COMBINED): {column: value}} from TrackEval's pedestrian_detailed.csv."""
    if not path.is_file():
        raise InputError(path, "TrackEval's per-sequence table is missing")
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        table = {}
        for number, row in enumerate(reader, start=2):
            try:
                table[row["seq"]] = {k: float(v) for k, v in row.items() if k != "seq"}
            except (KeyError, ValueError, TypeError) as exc:
                raise InputError(path, f"not a TrackEval detailed table row ({exc})", number) from None
    return table


def per_sequence_section(inputs: ReportInputs) -> str:
    if not inputs.eval_dirs:
        return ""
    parts = ["<h2>Per sequence</h2>"]
    for folder in inputs.eval_dirs:
        table = read_detailed(folder / "pedestrian_detailed.csv")
        header = ["sequence"] + [name for name, _ in PER_SEQUENCE + PER_SEQUENCE_COUNTS]
        rows = []
        for seq in [s for s in table if s != "COMBINED"] + (["COMBINED"] if "COMBINED" in table else []):
            values = table[seq]
            rows.append(
                [seq]
                + [f"{100 * values[col]:.2f}" for _, col in PER_SEQUENCE]
                + [f"{values[col]:.0f}" for _, col in PER_SEQUENCE_COUNTS]
            )
        parts.append(f"<h3>{html.escape(folder.name)}</h3>" + _table(header, rows))
    return "".join(parts)


def _flatten(value: object, prefix: str = "") -> list[tuple[str, str]]:
    """Scalars of a JSON document as (dotted key, text); lists of numbers are summarised by their length."""
    if isinstance(value, dict):
        out = []
        for key, sub in value.items():
            out += _flatten(sub, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, list):
        return (
            [(prefix, f"[{len(value)} values]")]
            if value and not all(isinstance(v, dict) for v in value)
            else [item for i, v in enumerate(value) for item in _flatten(v, f"{prefix}[{i}]")]
        )
    if isinstance(value, float):
        return [(prefix, f"{value:.4g}")]
    return [(prefix, str(value))]


def quality_section(inputs: ReportInputs) -> str:
    if not inputs.quality:
        return (
            "<h2>Label quality</h2><p class=note>No label-quality files: they need ground-truth depth and masks "
            "(synthdance) or ground truth for the detections.</p>"
        )
    parts = ["<h2>Label quality</h2>"]
    for path in inputs.quality:
        try:
            document = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(path, f"cannot read label-quality JSON: {exc}") from None
        parts.append(
            f"<h3>{html.escape(Path(path).stem)}</h3>"
            + _table(["quantity", "value"], [list(r) for r in _flatten(document)])
        )
    return "".join(parts)


def training_section(inputs: ReportInputs) -> str:
    parts = []
    for folder in inputs.training:
        png = folder / "loss_curves.png"
        if not png.is_file():
            raise InputError(png, "training wrote no loss curves")
        parts.append(
            f"<h3>{html.escape(folder.name)}</h3>"
            + _img(png_data_uri(png.read_bytes(), png), f"loss curves of {folder.name}")
        )
    if inputs.ablation is not None and inputs.ablation.is_file():
        parts.append(
            "<h3>Ablation</h3>" + _img(png_data_uri(inputs.ablation.read_bytes(), inputs.ablation), "ablation")
        )
    return ("<h2>Training</h2>" + "".join(parts)) if parts else ""


def tracks_section(inputs: ReportInputs) -> str:
    """Per model: sequences, boxes, identities and boxes per frame (the only numbers a dataset without GT has)."""
    from motforge.report.tracks import read_tracks

    by_model: dict[str, list[np.ndarray]] = {}
    for path in inputs.tracks:
        by_model.setdefault(Path(path).parent.name, []).append(read_tracks(path))
    if not by_model:
        return ""
    rows = []
    for model, tables in by_model.items():
        boxes = sum(len(t) for t in tables)
        identities = sum(len(np.unique(t[:, 1])) for t in tables if len(t))
        frames = sum(len(np.unique(t[:, 0])) for t in tables if len(t))
        rows.append([model, str(len(tables)), str(boxes), str(identities), f"{boxes / max(frames, 1):.2f}"])
    return "<h2>Tracks</h2>" + _table(
        ["model", "sequences", "boxes", "identities", "boxes per frame with tracks"], rows
    )


def frame_numbers(seq_length: int, count: int) -> list[int]:
    """``count`` frames spread over the sequence, away from its first and last frame."""
    return sorted({int(round(seq_length * (k + 1) / (count + 1))) or 1 for k in range(count)})


def frames_section(inputs: ReportInputs) -> str:
    if inputs.index is None:
        return ""
    from motforge.datasets.index import read_index
    from motforge.io.frames import read_frame
    from motforge.report.tracks import draw_tracks, read_tracks

    index = read_index(inputs.index)
    frames = frame_numbers(index.seq_length, inputs.frames)
    parts = [f"<h2>Frames of {html.escape(index.name)}</h2>"]
    if inputs.depth is not None:
        from motforge.depth.bins import sequence_max
        from motforge.depth.show import depth_panel
        from motforge.depth.store import open_frame_store

        depth = open_frame_store(inputs.depth)
        bins = open_frame_store(inputs.bins) if inputs.bins is not None else None
        peak = sequence_max(depth)
        parts.append("<h3>Depth: frame | teacher disparity | depth bins</h3>")
        parts += [
            _img(image_data_uri(depth_panel(index, depth, bins, f, peak), str(inputs.depth)), f"depth frame {f}")
            for f in frames
        ]
    if inputs.masks is not None:
        from motforge.masks.instance_depth import read_instance_depth
        from motforge.masks.show import draw_masks
        from motforge.masks.store import read_masks

        masks = read_masks(inputs.masks)
        instance = read_instance_depth(inputs.instance_depth) if inputs.instance_depth is not None else None
        parts.append("<h3>Masks and instance depth</h3>")
        parts += [
            _img(image_data_uri(draw_masks(index, masks, instance, f), str(inputs.masks)), f"masks frame {f}")
            for f in frames
        ]
    shown = [p for p in inputs.tracks if Path(p).stem == index.name]
    for path in shown:
        rows = read_tracks(path, index.seq_length)
        model = Path(path).parent.name
        parts.append(f"<h3>Tracks of {html.escape(model)}</h3>")
        parts += [
            _img(
                image_data_uri(draw_tracks(read_frame(index.frame_path(f)), rows, f, f"{model} #{f}"), str(path)),
                f"tracks of {model} frame {f}",
            )
            for f in frames
        ]
    return "".join(parts)


def render_report(inputs: ReportInputs) -> str:
    title = f"motforge report: {inputs.dataset}"
    sections = [
        headline_section(inputs),
        per_sequence_section(inputs),
        tracks_section(inputs),
        quality_section(inputs),
        training_section(inputs),
        frames_section(inputs),
    ]
    return (
        f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head>\n<body><h1>{html.escape(title)}</h1>\n"
        + "\n".join(s for s in sections if s)
        + "\n</body></html>\n"
    )


def write_report(inputs: ReportInputs, out: str | Path) -> Path:
    """Write the page atomically (a failed section leaves no half page behind)."""
    write_text_atomic(out, render_report(inputs))
    return Path(out)
