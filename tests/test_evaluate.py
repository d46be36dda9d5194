"""Evaluation goes through PyPI trackeval and reproduces figures computed outside this project."""

from __future__ import annotations

from pathlib import Path

import pytest

from motforge.datasets.index import build_index
from motforge.datasets.layouts import discover
from motforge.evaluate.gt_folder import write_gt_folder
from motforge.evaluate.headline import Headline
from motforge.families import registry
from motforge.tracking.results import write_results
from motforge.tracking.runner import run_tracker

from conftest import TESTDATA, run_cli


def track_oracle(index):
    return run_tracker(index, registry().get("oracle", "family").tracker({}, None, None), progress=False)


def _tud_layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    """TUD files laid out as DIR/<seq>/gt/gt.txt + seqinfo.ini and tracks/<seq>.txt (links, read in place)."""
    gt_root, tracks = tmp_path / "gt", tmp_path / "tracks"
    tracks.mkdir()
    for seq in ("TUD-Campus", "TUD-Stadtmitte"):
        (gt_root / seq / "gt").mkdir(parents=True)
        (gt_root / seq / "gt" / "gt.txt").symlink_to(TESTDATA / "tud" / seq / "gt.txt")
        (gt_root / seq / "seqinfo.ini").symlink_to(TESTDATA / "tud" / seq / "seqinfo.ini")
        (tracks / f"{seq}.txt").symlink_to(TESTDATA / "tud" / seq / "test.txt")
    seqmap = tmp_path / "seqmap.txt"
    seqmap.write_text("name\nTUD-Campus\nTUD-Stadtmitte\n")
    return gt_root, seqmap, tracks


def test_tud_reference_metrics_through_cli(tmp_path):
    gt_root, seqmap, tracks = _tud_layout(tmp_path)
    out = tmp_path / "out"
    result = run_cli(
        "evaluate", "--gt-folder", gt_root, "--seqmap", seqmap, "--tracks", tracks, "--out", out, "--benchmark", "MOT15"
    )
    assert result.returncode == 0, result.stderr
    header, values = result.stdout.strip().splitlines()
    assert header == "HOTA DetA AssA IDF1 MOTA IDSW"
    headline = Headline.read(out / "hota.txt")
    assert headline.HOTA == pytest.approx(39.9957, abs=1e-3)
    assert headline.MOTA == pytest.approx(55.5116, abs=1e-3)
    assert headline.IDF1 == pytest.approx(62.4296, abs=1e-3)
    assert headline.DetA == pytest.approx(39.7683, abs=1e-3)
    assert headline.AssA == pytest.approx(41.2450, abs=1e-3)
    assert headline.IDSW == 14
    assert (out / "pedestrian_summary.txt").is_file() and (out / "pedestrian_detailed.csv").is_file()
    detailed = (out / "pedestrian_detailed.csv").read_text()
    assert "TUD-Campus" in detailed and "COMBINED" in detailed


def test_missing_tracker_file_is_named(tmp_path):
    gt_root, seqmap, tracks = _tud_layout(tmp_path)
    (tracks / "TUD-Stadtmitte.txt").unlink()
    result = run_cli(
        "evaluate", "--gt-folder", gt_root, "--seqmap", seqmap, "--tracks", tracks, "--out", tmp_path / "out"
    )
    assert result.returncode == 2
    assert "TUD-Stadtmitte.txt" in result.stderr and "missing" in result.stderr
    assert not (tmp_path / "out").exists()


def test_tracker_class_column_above_one_is_rejected(tmp_path):
    gt_root, seqmap, tracks = _tud_layout(tmp_path)
    bad = tracks / "TUD-Campus.txt"
    bad.unlink()
    bad.write_text("1,1,10,10,5,5,0.9,-1,-1,-1\n2,1,10,10,5,5,0.9,3,-1,-1\n")
    result = run_cli(
        "evaluate", "--gt-folder", gt_root, "--seqmap", seqmap, "--tracks", tracks, "--out", tmp_path / "out"
    )
    assert result.returncode == 2
    assert f"{bad}:2:" in result.stderr and "class column" in result.stderr


def test_sportsmot_gt_as_tracker_scores_100(tmp_path):
    sources = discover("sportsmot", "sportsmot", TESTDATA / "sportsmot", ["val"], ["val"])
    indexes = [build_index(s, annotation_only=True) for s in sources]
    assert len(indexes) == 45
    seqmap = write_gt_folder(indexes, tmp_path / "gt")
    tracks = tmp_path / "tracks"
    for index in indexes:
        write_results(tracks / f"{index.name}.txt", *track_oracle(index))
    result = run_cli(
        "evaluate",
        "--gt-folder",
        tmp_path / "gt",
        "--seqmap",
        seqmap,
        "--tracks",
        tracks,
        "--out",
        tmp_path / "out",
        "--cores",
        "2",
    )
    assert result.returncode == 0, result.stderr
    headline = Headline.read(tmp_path / "out" / "hota.txt")
    assert headline.HOTA == pytest.approx(100.0, abs=1e-9)
    assert headline.MOTA == pytest.approx(100.0, abs=1e-9)
    assert headline.IDF1 == pytest.approx(100.0, abs=1e-9)
    assert headline.IDSW == 0


def test_headline_format(tmp_path):
    h = Headline(HOTA=12.3456, DetA=1, AssA=2, IDF1=3, MOTA=-4.5, IDSW=7)
    h.write(tmp_path / "hota.txt")
    assert (tmp_path / "hota.txt").read_text() == "HOTA DetA AssA IDF1 MOTA IDSW\n12.346 1.000 2.000 3.000 -4.500 7\n"
    assert Headline.read(tmp_path / "hota.txt").IDSW == 7
