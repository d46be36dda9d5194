"""Write the GT folder TrackEval reads (``<seq>/gt/gt.txt``, ``<seq>/seqinfo.ini``, ``seqmap.txt``) from indexes."""

from __future__ import annotations

from pathlib import Path

from motforge.datasets.index import SequenceIndex
from motforge.io.atomic import atomic_path


def _gt_text(index: SequenceIndex) -> str:
    rows = index.gt_rows()
    lines = []
    for r in rows:
        lines.append(
            f"{int(r[0])},{int(r[1])},{r[2]:.7g},{r[3]:.7g},{r[4]:.7g},{r[5]:.7g},{int(r[6])},{int(r[7])},{r[8]:.7g}\n"
        )
    return "".join(lines)


def _seqinfo(index: SequenceIndex) -> str:
    ext = Path(str(index.frame_files[0])).suffix if index.seq_length else ".jpg"
    return (
        "[Sequence]\n"
        f"name={index.name}\nimDir=img1\nframeRate={index.fps:g}\nseqLength={index.seq_length}\n"
        f"imWidth={index.width}\nimHeight={index.height}\nimExt={ext}\n"
    )


def write_gt_folder(indexes: list[SequenceIndex], out: str | Path) -> Path:
    """One folder (written atomically) holding every sequence's GT and the seqmap; returns the seqmap path."""
    out = Path(out)
    with atomic_path(out, directory=True) as tmp:
        for index in indexes:
            if not index.has_gt:
                raise ValueError(f"sequence {index.name} has no ground truth to evaluate against")
            (tmp / index.name / "gt").mkdir(parents=True)
            (tmp / index.name / "gt" / "gt.txt").write_text(_gt_text(index))
            (tmp / index.name / "seqinfo.ini").write_text(_seqinfo(index))
        (tmp / "seqmap.txt").write_text("name\n" + "".join(f"{i.name}\n" for i in indexes))
    return out / "seqmap.txt"
