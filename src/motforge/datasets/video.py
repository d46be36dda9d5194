"""The `video` format: one's own recordings (a video file, or a folder of them) as a dataset.

Each file is one sequence named after its stem, in the dataset's first split; MOTChallenge GT is optional, as
``<stem>.txt`` beside the file or ``gt/<stem>.txt``. The prepare stage decodes a file once, in order, into an ordinary
MOTChallenge sequence folder (``img1/000001.jpg`` ... and a ``seqinfo.ini`` with the container's frame rate) beside the
sequence's index, so every later stage reads the frames through the index as it does for any benchmark.

Decoding uses OpenCV's VideoCapture (its wheel bundles FFmpeg): on vtest.avi it gave the same pixels as PyAV, and
frames are read sequentially, never by seeking, so no container's inexact seek can shift a frame.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
from tqdm import tqdm

from motforge.datasets.layouts import SequenceSource
from motforge.errors import ConfigError, InputError
from motforge.names import name_problem

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm")
#: a sequence name becomes a path component and a Snakemake wildcard value (workflow/rules/common.smk)
DECODED_DIR = "video"  # beside index.h5: results/<ds>/seqs/<seq>/video/{img1/,seqinfo.ini}


def list_videos(dataset: str, root: str | Path) -> dict[str, Path]:
    """{sequence name: video file} of a video file or a folder of them, in name order; names are checked here."""
    root = Path(root)
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
        if not files:
            raise InputError(
                root, f"no video files ({', '.join(VIDEO_EXTENSIONS)}) in this folder (config datasets.{dataset}.root)"
            )
    else:
        raise InputError(root, f"dataset root of {dataset!r} does not exist (config datasets.{dataset}.root)")
    videos: dict[str, Path] = {}
    for path in files:
        if path.suffix.lower() not in VIDEO_EXTENSIONS:
            raise InputError(path, f"not a video file of a known container ({', '.join(VIDEO_EXTENSIONS)})")
        name = path.stem
        problem = name_problem(name, "sequence")
        if problem:
            raise InputError(path, f"{problem} (the sequence is named after the file's stem: rename the file)")
        if name in videos:
            raise InputError(path, f"two videos give the sequence name {name!r}: {videos[name].name} and {path.name}")
        videos[name] = path
    return videos


def gt_file(video: Path) -> Path:
    """The GT of a video: ``<stem>.txt`` beside it, else ``gt/<stem>.txt`` (the first path when neither exists)."""
    beside = video.with_suffix(".txt")
    in_gt = video.parent / "gt" / f"{video.stem}.txt"
    return in_gt if not beside.is_file() and in_gt.is_file() else beside


def video_source(
    dataset: str, video: Path, split: str, needs_gt: bool, decoded_dir: Path | None = None
) -> SequenceSource:
    """The source of one video. Frames come from ``decoded_dir`` (written by :func:`decode_video`); without it (a
    parse-time listing) the record only names the sequence and its files."""
    seq_dir = decoded_dir if decoded_dir is not None else video.parent
    return SequenceSource(
        dataset=dataset,
        format="video",
        name=video.stem,
        split=split,
        seq_dir=seq_dir,
        img_dir=seq_dir / "img1" if decoded_dir is not None else video,
        gt_path=gt_file(video),
        ini_path=seq_dir / "seqinfo.ini" if decoded_dir is not None else None,
        needs_gt=needs_gt,
    )


def discover_videos(dataset: str, root: str | Path, splits: list[str], gt_splits: list[str]) -> list[SequenceSource]:
    """Every video as a sequence of the first split (a video dataset has one split)."""
    split = splits[0]
    return [video_source(dataset, path, split, split in gt_splits) for path in list_videos(dataset, root).values()]


def locate_video(
    dataset: str, root: str | Path, split: str, name: str, gt_splits: list[str], decoded_dir: Path | None
) -> SequenceSource:
    videos = list_videos(dataset, root)
    if name not in videos:
        raise InputError(root, f"no video with the stem {name!r} (files: {', '.join(p.name for p in videos.values())})")
    if decoded_dir is None:
        raise ConfigError(
            f"datasets.{dataset}.format",
            "a video sequence is read from its decoded frames; give the folder to decode into",
        )
    return video_source(dataset, videos[name], split, split in gt_splits, decoded_dir)


def _open(path: Path) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise InputError(path, "OpenCV cannot open this video (unknown container or codec, or not a video)")
    return capture


def decode_video(
    video: str | Path, out_dir: str | Path, jpeg_quality: int = 95, progress: bool = True
) -> tuple[int, float]:
    """Decode every frame of ``video`` in order into ``out_dir``/img1/000001.jpg ... plus seqinfo.ini.

    Written to a sibling temporary folder and renamed, so a killed job leaves no half-decoded sequence. Returns
    (frames, fps); fps comes from the container.
    """
    video, out_dir = Path(video), Path(out_dir)
    capture = _open(video)
    fps = float(capture.get(cv2.CAP_PROP_FPS))
    if not fps > 0 or fps != fps:
        capture.release()
        raise InputError(video, f"the container states no frame rate (OpenCV reads {fps})")
    estimate = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    tmp = out_dir.with_name(f".{out_dir.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "img1").mkdir(parents=True)
    size = None
    count = 0
    try:
        with tqdm(total=estimate, desc=f"decode {video.name}", disable=not progress, mininterval=2.0) as bar:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                count += 1
                if size is None:
                    size = frame.shape[1], frame.shape[0]
                elif (frame.shape[1], frame.shape[0]) != size:
                    raise InputError(
                        video,
                        f"frame {count} is {frame.shape[1]}x{frame.shape[0]}, the first frame {size[0]}x{size[1]}",
                    )
                if not cv2.imwrite(
                    str(tmp / "img1" / f"{count:06d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
                ):
                    raise InputError(tmp / "img1" / f"{count:06d}.jpg", "could not write the decoded frame")
                bar.update()
        if size is None:
            raise InputError(video, "no frame could be decoded")
        ini = (
            f"[Sequence]\nname={video.stem}\nimDir=img1\nframeRate={fps:.10g}\nseqLength={count}\n"
            f"imWidth={size[0]}\nimHeight={size[1]}\nimExt=.jpg\n"
        )
        (tmp / "seqinfo.ini").write_text(ini)
        shutil.rmtree(out_dir, ignore_errors=True)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        capture.release()
    return count, fps
