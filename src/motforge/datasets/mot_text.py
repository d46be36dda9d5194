"""Strict readers for MOTChallenge text files: gt.txt / det.txt / tracker rows, seqinfo.ini and seqmaps.

TrackEval sniffs the delimiter from the first line only and silently misreads the rest when they differ; these
readers instead stop at the first bad line and say which file, which line and what is wrong.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motforge.errors import InputError

#: canonical GT columns (MOTChallenge order); tracker and detection files use the same first 7 columns
GT_COLUMNS = ("frame", "id", "x", "y", "w", "h", "consider", "cls", "vis")


@dataclass(frozen=True)
class MotTable:
    """A parsed MOTChallenge table: float64 values [N, C] and the 1-based source line of each row."""

    path: Path
    values: np.ndarray
    lines: np.ndarray

    @property
    def num_rows(self) -> int:
        return int(self.values.shape[0])


def _split_line(text: str, comma: bool) -> list[str]:
    if comma:
        return [field.strip() for field in text.split(",")]
    return text.split()


def read_mot_table(
    path: str | Path,
    min_columns: int,
    max_columns: int,
    seq_length: int | None = None,
    unique_ids: bool = True,
    positive_size: bool = True,
) -> MotTable:
    """Read a MOTChallenge-style table and validate it line by line.

    A UTF-8 byte-order mark is skipped. Checks: delimiter consistent with the first data line (comma, optionally
    followed by spaces, or whitespace), the same column count on every line within ``[min_columns, max_columns]``,
    numeric and finite fields (``float`` accepts 'nan' and 'inf'), integer frame in ``1..seq_length``, width and
    height > 0, and (``unique_ids``) no identity twice in one frame.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file is missing")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a UTF-8 byte-order mark (Windows editors) is not data
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read file: {exc}") from exc
    rows: list[list[float]] = []
    line_numbers: list[int] = []
    comma: bool | None = None
    width: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if comma is None:
            comma = "," in line
            delimiter_name = "comma" if comma else "whitespace"
        elif comma and "," not in line:
            raise InputError(
                path, f"mixed delimiters: line uses whitespace but line {line_numbers[0]} uses commas", number
            )
        elif not comma and "," in line:
            raise InputError(
                path, f"mixed delimiters: line uses commas but line {line_numbers[0]} uses whitespace", number
            )
        fields = _split_line(line, comma)
        if comma and re.search(r"\S\s+\S", re.sub(r"\s*,\s*", ",", line)):
            raise InputError(path, "mixed delimiters: fields separated by both commas and spaces", number)
        if width is None:
            if not min_columns <= len(fields) <= max_columns:
                expected = f"{min_columns}" if min_columns == max_columns else f"{min_columns} to {max_columns}"
                raise InputError(
                    path,
                    f"wrong column count: {len(fields)} {delimiter_name}-separated fields, expected {expected}",
                    number,
                )
            width = len(fields)
        elif len(fields) != width:
            raise InputError(
                path, f"wrong column count: {len(fields)} fields, but line {line_numbers[0]} has {width}", number
            )
        try:
            rows.append([float(field) for field in fields])
        except ValueError:
            bad = next(f for f in fields if not _is_number(f))
            column = fields.index(bad) + 1
            raise InputError(path, f"non-numeric field {bad!r} in column {column}", number) from None
        line_numbers.append(number)
    values = np.asarray(rows, dtype=np.float64).reshape(len(rows), width or min_columns)
    lines = np.asarray(line_numbers, dtype=np.int64)
    bad = np.argwhere(~np.isfinite(values))  # float() accepts 'nan' and 'inf'; no box or frame is either
    if bad.size:
        row, column = bad[0]
        raise InputError(path, f"non-finite value {values[row, column]:g} in column {column + 1}", int(lines[row]))
    table = MotTable(path, values, lines)
    if table.num_rows:
        _validate_rows(table, seq_length, unique_ids, positive_size)
    return table


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _validate_rows(table: MotTable, seq_length: int | None, unique_ids: bool, positive_size: bool) -> None:
    values, lines, path = table.values, table.lines, table.path
    frames = values[:, 0]
    bad = np.flatnonzero(frames != np.round(frames))
    if bad.size:
        raise InputError(path, f"frame {frames[bad[0]]:g} is not an integer", int(lines[bad[0]]))
    upper = seq_length if seq_length is not None else np.inf
    bad = np.flatnonzero((frames < 1) | (frames > upper))
    if bad.size:
        limit = f"1..{seq_length}" if seq_length is not None else ">= 1"
        raise InputError(path, f"frame {int(frames[bad[0]])} outside {limit} (seqLength)", int(lines[bad[0]]))
    if positive_size:
        bad = np.flatnonzero((values[:, 4] <= 0) | (values[:, 5] <= 0))
        if bad.size:
            i = bad[0]
            raise InputError(path, f"non-positive box size w={values[i, 4]:g} h={values[i, 5]:g}", int(lines[i]))
    if unique_ids:
        order = np.lexsort((values[:, 1], frames))
        pairs = values[order][:, :2]
        same = np.flatnonzero(np.all(pairs[1:] == pairs[:-1], axis=1))
        if same.size:
            first, second = sorted((int(lines[order[same[0]]]), int(lines[order[same[0] + 1]])))
            frame, ident = pairs[same[0]]
            raise InputError(path, f"id {ident:g} appears twice in frame {int(frame)} (also on line {first})", second)


@dataclass(frozen=True)
class SeqInfo:
    """The [Sequence] section of a MOTChallenge seqinfo.ini."""

    path: Path
    name: str
    im_dir: str
    frame_rate: float
    seq_length: int
    im_width: int
    im_height: int
    im_ext: str
    im_dir_line: int | None = None  # where imDir is set, for messages about the folder


def read_seqinfo(path: str | Path) -> SeqInfo:
    """Parse seqinfo.ini; every required key is checked and a bad value names its line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "seqinfo.ini is missing")
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keep camelCase keys
    try:
        parser.read_string(path.read_text(encoding="utf-8-sig"))
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot parse ini: {exc}") from exc
    if "Sequence" not in parser:
        raise InputError(path, "no [Sequence] section")
    section = parser["Sequence"]
    raw_lines = path.read_text(encoding="utf-8-sig").splitlines()

    def line_of(key: str) -> int | None:
        for number, raw in enumerate(raw_lines, start=1):
            if raw.split("=")[0].strip().lower() == key.lower():
                return number
        return None

    def get(key: str, kind: type, default: object = None) -> object:
        if key not in section:
            if default is not None:
                return default
            raise InputError(path, f"missing key {key!r} in [Sequence]")
        try:
            value = kind(section[key].strip())
        except ValueError:
            raise InputError(path, f"{key} = {section[key]!r} is not a valid {kind.__name__}", line_of(key)) from None
        if kind in (int, float) and value <= 0:
            raise InputError(path, f"{key} = {section[key]!r} must be positive", line_of(key))
        return value

    return SeqInfo(
        path=path,
        name=str(get("name", str, path.parent.name)),
        im_dir=str(get("imDir", str, "img1")),
        frame_rate=float(get("frameRate", float)),
        seq_length=int(get("seqLength", int)),
        im_width=int(get("imWidth", int)),
        im_height=int(get("imHeight", int)),
        im_ext=str(get("imExt", str, ".jpg")),
        im_dir_line=line_of("imDir"),
    )


def read_seqmap(path: str | Path) -> list[str]:
    """Sequence names of a TrackEval seqmap; the first line must be the header ``name`` (TrackEval skips it)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "seqmap is missing")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(path, f"cannot read seqmap: {exc}") from None
    if not lines or lines[0].strip().split(",")[0].strip() != "name":
        first = lines[0].strip() if lines else ""
        raise InputError(
            path, f"seqmap must start with the header 'name' (TrackEval skips the first line), found {first!r}", 1
        )
    names: list[str] = []
    for number, raw in enumerate(lines[1:], start=2):
        name = raw.strip().split(",")[0].strip()
        if not name:
            continue
        if name in names:
            raise InputError(path, f"sequence {name!r} listed twice", number)
        names.append(name)
    return names


def seqmap_line(path: str | Path, name: str) -> int | None:
    """1-based line of ``name`` in a seqmap, for error messages."""
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8-sig").splitlines(), start=1):
        if raw.strip().split(",")[0].strip() == name:
            return number
    return None
