"""The `file` backend and the det_db export: MOTRv2's det_db JSON and MOTChallenge det/det.txt.

det_db: ``{"DanceTrack/train/dancetrack0016/img1/00001863.txt": ["x,y,w,h,score\\n", ...], ...}``: keys are the
image path relative to the data root with ``.jpg`` replaced by ``.txt``, values top-left xywh in pixels and a score
(a sixth field with a class is accepted on import); every frame has a key (``[]`` when empty), or MOTRv2 raises.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from motforge.datasets.index import SequenceIndex
from motforge.datasets.mot_text import read_mot_table
from motforge.errors import InputError
from motforge.io.atomic import write_text_atomic


def det_db_key(index: SequenceIndex, frame: int, root: str | Path, prefix: str | None = None) -> str:
    """Key of a frame: its image path relative to the folder above the dataset root (``prefix`` replaces the root's
    name)."""
    root = Path(root).resolve()
    relative = (Path(index.img_dir) / str(index.frame_files[frame - 1])).resolve().relative_to(root)
    name = prefix if prefix else root.name
    return str(Path(name) / relative.with_suffix(".txt")).replace("\\", "/")


def format_number(value: float) -> str:
    """Shortest plain form with at most 4 decimals: 618.0, 1088.79, 0.9423."""
    return np.format_float_positional(round(float(value), 4), trim="0")


def det_db_lines(boxes_xyxy: np.ndarray, scores: np.ndarray) -> list[str]:
    lines = []
    for (x1, y1, x2, y2), s in zip(boxes_xyxy.astype(np.float64), scores.astype(np.float64)):
        lines.append(",".join(format_number(v) for v in (x1, y1, x2 - x1, y2 - y1, s)) + "\n")
    return lines


def load_det_db(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "det_db JSON is missing")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON: {exc.msg}", exc.lineno) from None
    if not isinstance(data, dict):
        raise InputError(path, "det_db must be a JSON object mapping frame keys to lists of 'x,y,w,h,score' strings")
    return data


def parse_det_db_entry(path: Path, key: str, lines: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(lines, list):
        raise InputError(path, f"key {key!r}: value must be a list of strings")
    boxes, scores, classes = [], [], []
    for i, line in enumerate(lines, start=1):
        if not isinstance(line, str):
            raise InputError(
                path, f"key {key!r}, entry {i}: expected a string 'x,y,w,h,score', got {type(line).__name__}"
            )
        fields = line.strip().split(",")
        if len(fields) not in (5, 6):
            raise InputError(
                path,
                f"key {key!r}, entry {i}: {len(fields)} fields in {line.strip()!r}, expected x,y,w,h,score[,class]",
            )
        try:
            values = [float(f) for f in fields]
        except ValueError:
            raise InputError(path, f"key {key!r}, entry {i}: non-numeric field in {line.strip()!r}") from None
        x, y, w, h, s = values[:5]
        if w <= 0 or h <= 0:
            raise InputError(path, f"key {key!r}, entry {i}: non-positive box size in {line.strip()!r}")
        boxes.append((x, y, x + w, y + h))
        scores.append(s)
        classes.append(int(values[5]) if len(values) == 6 else 0)
    return np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores, np.float64), np.asarray(classes, np.int16)


def detect_from_det_db(index: SequenceIndex, settings: dict, root: str | Path, score_threshold: float):
    path = Path(settings["path"])
    data = load_det_db(path)
    results = []
    for t in range(1, index.seq_length + 1):
        key = det_db_key(index, t, root, settings.get("prefix") or None)
        if key not in data:
            raise InputError(
                path,
                f"no entry for frame key {key!r} (every frame needs a key, [] when empty; check detector.file.prefix)",
            )
        boxes, scores, classes = parse_det_db_entry(path, key, data[key])
        keep = scores >= score_threshold
        results.append((boxes[keep], scores[keep], classes[keep]))
    return results, {"model": str(path), "format": "det_db"}


def detect_from_det_txt(index: SequenceIndex, score_threshold: float, path: str | Path | None = None):
    path = Path(path) if path else Path(index.img_dir).parent / "det" / "det.txt"
    table = read_mot_table(path, min_columns=7, max_columns=10, seq_length=index.seq_length, unique_ids=False)
    values = table.values
    results = []
    order = np.argsort(values[:, 0], kind="stable")
    values = values[order]
    starts = np.searchsorted(values[:, 0], np.arange(1, index.seq_length + 2))
    for t in range(1, index.seq_length + 1):
        rows = values[starts[t - 1] : starts[t]]
        boxes = (
            np.stack([rows[:, 2], rows[:, 3], rows[:, 2] + rows[:, 4], rows[:, 3] + rows[:, 5]], axis=1)
            if len(rows)
            else np.zeros((0, 4))
        )
        keep = rows[:, 6] >= score_threshold
        results.append((boxes[keep], rows[keep, 6], np.zeros(int(keep.sum()), np.int16)))
    return results, {"model": str(path), "format": "det_txt"}


def write_det_db(entries: dict[str, list[str]], out: str | Path) -> None:
    write_text_atomic(out, json.dumps(entries, sort_keys=True) + "\n")


class FileBackend:
    """``file``: boxes from a MOTRv2 det_db JSON or each sequence's MOT ``det/det.txt`` (no model runs)."""

    name = "file"

    def check(self, block: dict, key: str, context) -> None:  # noqa: ANN001
        from motforge.errors import ConfigError

        file = block["file"]
        if file["format"] == "det_db" and not (file["path"] and (context.base_dir / file["path"]).is_file()):
            raise ConfigError(f"{key}.file.path", f"det_db JSON {file['path']!r} not found")

    def uses_gpu(self, block: dict) -> bool:
        return False

    def detect(self, index: SequenceIndex, block: dict, run) -> tuple[list, dict]:  # noqa: ANN001
        from motforge.errors import ConfigError

        file, threshold = block["file"], float(block["score_threshold"])
        if file["format"] == "det_db":
            if run.dataset_root is None:
                raise ConfigError("detector.file", "det_db import needs the dataset root to build frame keys")
            return detect_from_det_db(index, file, run.dataset_root, threshold)
        return detect_from_det_txt(index, threshold, file["path"] or None)


ENTRY = FileBackend()
