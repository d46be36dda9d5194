"""The canonical per-sequence index (index.h5): frames, sizes, fps, split and the GT table.

Every later stage reads a sequence through this file, so benchmark quirks (BFT's flags, MOT17's detector copies,
DanceTrack's wrong seqinfo size for dancetrack0041) are settled once, here. Sizes come from the image headers, not
the ini; in annotation-only mode (no images on disk) they come from seqinfo.ini.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import h5py
import numpy as np
from PIL import Image

from motforge.datasets.layouts import SequenceSource
from motforge.datasets.mot_text import SeqInfo, read_mot_table, read_seqinfo
from motforge.errors import InputError
from motforge.io.atomic import atomic_path
from motforge.io.h5attrs import new_dataset, open_complete

INDEX_VERSION = 1
FRAME_NAME = re.compile(r"^(\d+)(\.(?:jpg|jpeg|png|JPG|JPEG|PNG))$")
DEFAULT_DIGITS = {"dancetrack": 8, "synthdance": 8}
GT_FIELDS = ("frame", "id", "x", "y", "w", "h", "consider", "cls", "vis")
GT_DTYPES = (np.int32, np.int64, np.float32, np.float32, np.float32, np.float32, np.int8, np.int16, np.float32)


@dataclass
class SequenceIndex:
    """One sequence in canonical form; ``gt`` maps GT_FIELDS to equal-length arrays (empty when no GT)."""

    dataset: str
    name: str
    split: str
    format: str
    img_dir: str
    frame_files: np.ndarray  # [T] str
    widths: np.ndarray  # [T] int32
    heights: np.ndarray  # [T] int32
    fps: float
    has_gt: bool
    annotation_only: bool
    gt: dict[str, np.ndarray]

    @property
    def seq_length(self) -> int:
        return int(len(self.frame_files))

    @property
    def width(self) -> int:
        return int(self.widths[0])

    @property
    def height(self) -> int:
        return int(self.heights[0])

    @property
    def num_boxes(self) -> int:
        return int(len(self.gt["frame"]))

    def frame_path(self, frame: int) -> Path:
        """Path of the 1-based ``frame``."""
        return Path(self.img_dir) / str(self.frame_files[frame - 1])

    def gt_rows(self) -> np.ndarray:
        """GT as [N, 9] float64 in MOTChallenge column order."""
        return (
            np.stack([self.gt[k].astype(np.float64) for k in GT_FIELDS], axis=1) if self.num_boxes else np.zeros((0, 9))
        )


def _empty_gt() -> dict[str, np.ndarray]:
    return {k: np.zeros(0, dtype=d) for k, d in zip(GT_FIELDS, GT_DTYPES)}


def _frame_listing(source: SequenceSource, seq_length: int | None, ini_ext: str | None) -> tuple[list[str], int]:
    if not source.img_dir.is_dir():
        raise InputError(source.img_dir, "image folder is missing (use annotation_only: true for evaluation-only use)")
    numbered: dict[int, str] = {}
    digits: set[int] = set()
    for entry in source.img_dir.iterdir():
        match = FRAME_NAME.match(entry.name)
        if match and (ini_ext is None or match.group(2).lower() == ini_ext.lower()):
            numbered[int(match.group(1))] = entry.name
            digits.add(len(match.group(1)))
    if seq_length is None:
        if not numbered:
            raise InputError(source.img_dir, "no frame images (000001.jpg, ...) found")
        seq_length = max(numbered)
    files = []
    for frame in range(1, seq_length + 1):
        if frame not in numbered:
            width = max(digits) if digits else DEFAULT_DIGITS.get(source.format, 6)
            ext = ini_ext or ".jpg"
            raise InputError(
                source.img_dir / f"{frame:0{width}d}{ext}",
                f"missing frame image: frame {frame} of seqLength {seq_length}",
            )
        files.append(numbered[frame])
    return files, seq_length


#: bytes at the end of a file searched for the end-of-image marker (encoders may pad a little after it)
TAIL_BYTES = 64
#: a complete JPEG ends with the EOI marker FFD9 (it cannot occur inside entropy-coded data, where FF is stuffed),
#: a complete PNG with its IEND chunk
END_MARKERS = {"JPEG": b"\xff\xd9", "PNG": b"IEND"}


def _image_size(path: Path, check_end: bool = True) -> tuple[int, int]:
    """Width and height from the image header, without decoding; ``check_end`` also reads the last bytes for the
    end-of-image marker, which a file cut short (an interrupted copy) lacks."""
    try:
        with open(path, "rb") as handle, Image.open(handle) as image:
            size, kind = image.size, image.format
            if check_end and kind in END_MARKERS:
                handle.seek(max(0, handle.seek(0, 2) - TAIL_BYTES))
                if END_MARKERS[kind] not in handle.read():
                    raise InputError(
                        path, f"truncated {kind} image: no end-of-image marker in its last {TAIL_BYTES} bytes"
                    )
    except InputError:
        raise
    except Exception as exc:  # PIL raises several types for broken files
        raise InputError(path, f"unreadable image: {exc}") from None
    return size


def _image_sizes(img_dir: Path, files: list[str], check_end: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame sizes from the headers; every frame must be complete and as large as the first."""
    widths = np.empty(len(files), dtype=np.int32)
    heights = np.empty(len(files), dtype=np.int32)
    for i, name in enumerate(files):
        path = img_dir / name
        widths[i], heights[i] = _image_size(path, check_end)
        if widths[i] <= 0 or heights[i] <= 0:
            raise InputError(path, "image has zero size")
        if (widths[i], heights[i]) != (widths[0], heights[0]):
            raise InputError(
                path,
                f"frame {i + 1} is {widths[i]}x{heights[i]}, but frame 1 ({files[0]}) is "
                f"{widths[0]}x{heights[0]}; every frame of a sequence must have one size",
            )
    return widths, heights


def _image_folder(source: SequenceSource, info: SeqInfo) -> Path:
    """The frame folder seqinfo.ini names in ``imDir`` (MOTChallenge's format; img1 in every benchmark), kept
    inside the sequence folder."""
    folder = Path(info.im_dir.strip().rstrip("/\\"))
    if not info.im_dir.strip() or folder.is_absolute() or ".." in folder.parts:
        raise InputError(
            info.path, f"imDir = {info.im_dir!r} must name a folder inside {source.seq_dir}", info.im_dir_line
        )
    return source.seq_dir / folder


def build_index(source: SequenceSource, annotation_only: bool = False) -> SequenceIndex:
    """Read and validate one raw sequence."""
    info = read_seqinfo(source.ini_path) if source.ini_path is not None else None
    if info is not None:
        source = replace(source, img_dir=_image_folder(source, info))
    if info is None and annotation_only:
        raise InputError(source.seq_dir, "annotation-only mode needs a seqinfo.ini for the frame count and size")
    seq_length = info.seq_length if info is not None else None
    if annotation_only:
        assert info is not None
        digits = DEFAULT_DIGITS.get(source.format, 6)
        files = [f"{f:0{digits}d}{info.im_ext}" for f in range(1, info.seq_length + 1)]
        widths = np.full(info.seq_length, info.im_width, dtype=np.int32)
        heights = np.full(info.seq_length, info.im_height, dtype=np.int32)
    else:
        files, seq_length = _frame_listing(source, seq_length, info.im_ext if info is not None else None)
        widths, heights = _image_sizes(source.img_dir, files)
    fps = info.frame_rate if info is not None else float(source.default_fps or 25.0)
    gt = _read_gt(source, seq_length)
    return SequenceIndex(
        dataset=source.dataset,
        name=source.name,
        split=source.split,
        format=source.format,
        img_dir=str(source.img_dir.resolve()),
        frame_files=np.asarray(files),
        widths=widths,
        heights=heights,
        fps=float(fps),
        has_gt=gt is not None,
        annotation_only=annotation_only,
        gt=gt if gt is not None else _empty_gt(),
    )


def _read_gt(source: SequenceSource, seq_length: int) -> dict[str, np.ndarray] | None:
    path = source.gt_path
    if path is None or not path.is_file():
        if source.needs_gt:
            raise InputError(
                path or source.seq_dir, f"gt.txt is missing, but split {source.split!r} needs ground truth"
            )
        return None
    min_columns = 6 if source.rewrite_flags else 9
    table = read_mot_table(path, min_columns=min_columns, max_columns=10, seq_length=seq_length)
    if table.num_rows == 0:
        if source.needs_gt:
            raise InputError(path, f"gt.txt is empty, but split {source.split!r} needs ground truth")
        return None
    values = table.values
    if source.rewrite_flags:
        padded = np.ones((values.shape[0], 9))
        padded[:, :6] = values[:, :6]
        values = padded
    order = np.lexsort((values[:, 1], values[:, 0]))
    values = values[order]
    return {k: values[:, i].astype(d) for i, (k, d) in enumerate(zip(GT_FIELDS, GT_DTYPES))}


def write_index(index: SequenceIndex, path: str | Path) -> None:
    """Write index.h5 completely or not at all."""
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs.update(
                version=INDEX_VERSION,
                dataset=index.dataset,
                name=index.name,
                split=index.split,
                format=index.format,
                img_dir=index.img_dir,
                fps=index.fps,
                seq_length=index.seq_length,
                width=index.width,
                height=index.height,
                has_gt=index.has_gt,
                annotation_only=index.annotation_only,
            )
            frames = f.create_group("frames")
            new_dataset(frames, "file", data=index.frame_files.astype("S"))
            new_dataset(frames, "width", data=index.widths)
            new_dataset(frames, "height", data=index.heights)
            gt = f.create_group("gt")
            for key in GT_FIELDS:
                new_dataset(gt, key, data=index.gt[key])
            f.attrs["complete"] = True


def read_index(path: str | Path) -> SequenceIndex:
    """Load an index.h5 written by :func:`write_index`."""
    with open_complete(path, "index", "prepare") as f:
        if f.attrs.get("version") != INDEX_VERSION:
            raise InputError(path, "not a complete motforge index (rebuild it with the prepare stage)")
        a = f.attrs
        return SequenceIndex(
            dataset=str(a["dataset"]),
            name=str(a["name"]),
            split=str(a["split"]),
            format=str(a["format"]),
            img_dir=str(a["img_dir"]),
            frame_files=f["frames/file"][:].astype(str),
            widths=f["frames/width"][:],
            heights=f["frames/height"][:],
            fps=float(a["fps"]),
            has_gt=bool(a["has_gt"]),
            annotation_only=bool(a["annotation_only"]),
            gt={k: f[f"gt/{k}"][:] for k in GT_FIELDS},
        )
