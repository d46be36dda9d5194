"""Where each benchmark keeps its sequences, images and annotations.

A layout turns (format, root, split) into SequenceSource records: which folder holds the frames, how frames are
named, where the ground truth and seqinfo.ini are, and whether GT must exist. Listing happens when the workflow is
parsed, so sequence names come from seqmaps or folder listings, never from running a job. Every split and sequence
name must follow motforge.names (no '.', '..', '/', leading '-', braces...): it becomes a folder under results/ and a
command-line value; a bad one is refused naming the seqmap line or the listed folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from motforge.datasets.mot_text import read_seqmap, seqmap_line
from motforge.errors import ConfigError, InputError
from motforge.names import name_problem

FORMATS = ("synthdance", "dancetrack", "sportsmot", "mot17", "mot20", "bft", "mot", "video")
MOT17_DETECTOR_SUFFIX = re.compile(r"-(DPM|FRCNN|SDP)$")
MOT17_PREFERRED_VARIANT = ("FRCNN", "SDP", "DPM")


@dataclass(frozen=True)
class SequenceSource:
    """Everything a converter needs to read one raw sequence."""

    dataset: str
    format: str
    name: str
    split: str
    seq_dir: Path
    img_dir: Path
    gt_path: Path | None
    ini_path: Path | None
    needs_gt: bool
    default_fps: float | None = None
    rewrite_flags: bool = False  # BFT: consider/class/visibility rewritten to 1 (class -1 breaks TrackEval)

    @property
    def input_files(self) -> list[Path]:
        """Files a workflow rule depends on (so an edited annotation re-indexes the sequence)."""
        files = [p for p in (self.gt_path, self.ini_path) if p is not None and p.exists()]
        return files or [self.seq_dir]


def _find_seqmap(root: Path, split: str, dataset_format: str) -> Path | None:
    candidates = [
        root / f"{split}_seqmap.txt",
        root / "seqmaps" / f"{split}_seqmap.txt",
        root / "seqmaps" / f"{dataset_format}-{split}.txt",
        root / "seqmaps" / f"{split}.txt",
    ]
    return next((c for c in candidates if c.is_file()), None)


def _listed_sequences(
    root: Path, split: str, dataset_format: str, seqmap: Path | None
) -> tuple[list[str], Path | None]:
    split_dir = root / split
    seqmap = seqmap or _find_seqmap(root, split, dataset_format)
    if seqmap is not None:
        names = read_seqmap(seqmap)
        if not names:
            raise InputError(seqmap, f"seqmap of split {split!r} lists no sequences (only its header)")
        for name in names:
            problem = name_problem(name, "sequence")
            if problem:
                raise InputError(seqmap, problem, seqmap_line(seqmap, name))
            if not (split_dir / name).is_dir():
                raise InputError(
                    seqmap,
                    f"seqmap names sequence {name!r} but {split_dir / name} does not exist",
                    seqmap_line(seqmap, name),
                )
        return names, seqmap
    if not split_dir.is_dir():
        raise InputError(split_dir, f"split folder for split {split!r} is missing (and no seqmap was found)")
    names = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    _check_listed(split_dir, names)
    return names, None


def _check_listed(folder: Path, names: list[str]) -> None:
    """Sequence folders found by listing ``folder`` must have usable names too."""
    for name in names:
        problem = name_problem(name, "sequence")
        if problem:
            raise InputError(
                folder,
                f"folder {name!r} in this split folder: {problem} (rename it, or list the sequences in a seqmap)",
            )


def discover(
    dataset: str,
    dataset_format: str,
    root: str | Path,
    splits: list[str],
    gt_splits: list[str],
    seqmaps: dict[str, str] | None = None,
) -> list[SequenceSource]:
    """All sequences of the requested splits, in seqmap (or sorted folder) order."""
    if dataset_format not in FORMATS:
        raise ConfigError(
            f"datasets.{dataset}.format", f"unknown format {dataset_format!r}; choose one of {', '.join(FORMATS)}"
        )
    root = Path(root)
    if dataset_format == "video":  # a file or a folder of files; see motforge.datasets.video
        from motforge.datasets.video import discover_videos

        sources = discover_videos(dataset, root, splits, gt_splits)
        _check_unique(sources, dataset)
        return sources
    if not root.is_dir():
        raise InputError(root, f"dataset root of {dataset!r} does not exist (config datasets.{dataset}.root)")
    seqmaps = seqmaps or {}
    sources: list[SequenceSource] = []
    for split in splits:
        problem = name_problem(split, "split")
        if problem:
            raise ConfigError(f"datasets.{dataset}.splits", problem)
        needs_gt = split in gt_splits
        explicit = Path(seqmaps[split]) if split in seqmaps else None
        if dataset_format == "bft":
            sources += _discover_bft(dataset, root, split, needs_gt, explicit)
            continue
        if dataset_format in ("mot17",):
            sources += _discover_mot17(dataset, root, split, needs_gt)
            continue
        names, _ = _listed_sequences(root, split, dataset_format, explicit)
        sources += [_mot_style_source(dataset, dataset_format, root, split, name, needs_gt) for name in names]
    _check_splits_and_names(sources, splits, root)
    _check_unique(sources, dataset)
    return sources


def _check_splits_and_names(sources: list[SequenceSource], splits: list[str], root: Path) -> None:
    """Every split has a sequence and every name fits in a path and a wildcard: said when the workflow is parsed,
    not as a missing rule or an argparse message in a later job."""
    for split in splits:
        if not any(s.split == split for s in sources):
            raise InputError(
                root / split, f"split {split!r} has no sequences (an empty folder, or a seqmap with only its header)"
            )
    for s in sources:
        problem = name_problem(s.name, "sequence")
        if problem:
            raise InputError(s.seq_dir, f"{problem} (rename the folder and its seqmap line)")


def _mot_style_source(
    dataset: str, dataset_format: str, root: Path, split: str, name: str, needs_gt: bool
) -> SequenceSource:
    seq_dir = root / split / name
    return SequenceSource(
        dataset=dataset,
        format=dataset_format,
        name=name,
        split=split,
        seq_dir=seq_dir,
        img_dir=seq_dir / "img1",
        gt_path=seq_dir / "gt" / "gt.txt",
        ini_path=seq_dir / "seqinfo.ini",
        needs_gt=needs_gt,
    )


def locate(
    dataset: str,
    dataset_format: str,
    root: str | Path,
    split: str,
    name: str,
    gt_splits: list[str],
    decoded_dir: Path | None = None,
) -> SequenceSource:
    """The source of one sequence whose name and split are already known (from parse-time discovery).

    Unlike :func:`discover` this does not read seqmaps or list sibling sequences, so a job converting one sequence
    does not depend on the others existing yet (synthdance generates them in parallel). A video is read from
    ``decoded_dir``, where the prepare stage decoded it.
    """
    root = Path(root)
    for value, kind in ((split, "split"), (name, "sequence")):
        problem = name_problem(value, kind)
        if problem:
            raise InputError(root, problem)
    if dataset_format == "video":
        from motforge.datasets.video import locate_video

        return locate_video(dataset, root, split, name, gt_splits, decoded_dir)
    needs_gt = split in gt_splits
    if dataset_format == "bft":
        return _bft_source(dataset, root, split, name, needs_gt)
    if dataset_format == "mot17":
        matches = [s for s in _discover_mot17(dataset, root, split, needs_gt) if s.name == name]
        if not matches:
            raise InputError(root / split, f"no MOT17 sequence {name!r} (with a -DPM/-FRCNN/-SDP variant folder)")
        return matches[0]
    return _mot_style_source(dataset, dataset_format, root, split, name, needs_gt)


def _discover_mot17(dataset: str, root: Path, split: str, needs_gt: bool) -> list[SequenceSource]:
    """One canonical sequence per video (MOT17-02), read from one detector variant; the GT is identical in all."""
    split_dir = root / split
    if not split_dir.is_dir():
        raise InputError(split_dir, f"split folder for split {split!r} is missing")
    variants: dict[str, dict[str, Path]] = {}
    folders = sorted(p for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    _check_listed(split_dir, [p.name for p in folders])
    for folder in folders:
        match = MOT17_DETECTOR_SUFFIX.search(folder.name)
        base = folder.name[: match.start()] if match else folder.name
        variants.setdefault(base, {})[match.group(1) if match else ""] = folder
    sources = []
    for base, by_detector in variants.items():
        chosen = next(
            (by_detector[d] for d in MOT17_PREFERRED_VARIANT if d in by_detector), next(iter(by_detector.values()))
        )
        sources.append(
            SequenceSource(
                dataset,
                "mot17",
                base,
                split,
                chosen,
                chosen / "img1",
                chosen / "gt" / "gt.txt",
                chosen / "seqinfo.ini",
                needs_gt,
            )
        )
    return sources


def _discover_bft(dataset: str, root: Path, split: str, needs_gt: bool, seqmap: Path | None) -> list[SequenceSource]:
    """BFT: frames directly in {split}/<seq>/, annotations in annotations_mot/{split}/<seq>.txt, no seqinfo.ini."""
    names, _ = _listed_sequences(root, split, "bft", seqmap)
    return [_bft_source(dataset, root, split, name, needs_gt) for name in names]


def _bft_source(dataset: str, root: Path, split: str, name: str, needs_gt: bool) -> SequenceSource:
    return SequenceSource(
        dataset=dataset,
        format="bft",
        name=name,
        split=split,
        seq_dir=root / split / name,
        img_dir=root / split / name,
        gt_path=root / "annotations_mot" / split / f"{name}.txt",
        ini_path=None,
        needs_gt=needs_gt,
        default_fps=25.0,
        rewrite_flags=True,
    )


def _check_unique(sources: list[SequenceSource], dataset: str) -> None:
    seen: dict[str, str] = {}
    for s in sources:
        if s.name in seen:
            raise ConfigError(
                f"datasets.{dataset}.splits", f"sequence {s.name!r} occurs in splits {seen[s.name]!r} and {s.split!r}"
            )
        seen[s.name] = s.split
