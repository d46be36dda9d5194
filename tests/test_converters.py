"""Converters: every malformed input stops with the file, the line and the problem, and leaves no output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from motforge.datasets.index import build_index, read_index
from motforge.datasets.layouts import discover, locate

from conftest import TESTDATA, run_cli, run_snakemake, write_mini_sequence

DATASET = {
    "format": "dancetrack",
    "splits": ["val"],
    "gt_splits": ["train", "val"],
    "seqmaps": {},
    "annotation_only": False,
}


def prepare(root: Path, out: Path, seq: str = "dancetrack0001", split: str = "val", **overrides):
    cfg = dict(DATASET, root=str(root), **overrides)
    return run_cli(
        "prepare",
        "--dataset",
        "dancetrack",
        "--dataset-config",
        json.dumps(cfg),
        "--seq",
        seq,
        "--split",
        split,
        "--out",
        out,
    )


def assert_failed_cleanly(result, results_dir: Path, *words: str):
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr.strip().splitlines()[-1]
    for word in words:
        assert word in message, message
    leftovers = [p for p in results_dir.rglob("*") if p.is_file()] if results_dir.exists() else []
    assert leftovers == []


GT_CASES = {
    "wrong column count": ("1,1,5,6,10,20,1,1,1\n1,2,15,6,10,20,1,1\n", 2, "wrong column count"),
    "non-numeric field": ("1,1,5,6,10,20,1,1,1\n1,2,15,six,10,20,1,1,1\n", 2, "non-numeric field 'six'"),
    "frame outside seqLength": ("1,1,5,6,10,20,1,1,1\n7,2,15,6,10,20,1,1,1\n", 2, "frame 7 outside 1..6"),
    "non-positive width": ("1,1,5,6,10,20,1,1,1\n2,1,5,6,-4,20,1,1,1\n", 2, "non-positive box size"),
    "non-positive height": ("1,1,5,6,10,0,1,1,1\n", 1, "non-positive box size"),
    "id twice in one frame": (
        "1,1,5,6,10,20,1,1,1\n1,2,15,6,10,20,1,1,1\n1,1,25,6,10,20,1,1,1\n",
        3,
        "id 1 appears twice in frame 1",
    ),
    "mixed delimiters": ("1,1,5,6,10,20,1,1,1\n2 1 5 6 10 20 1 1 1\n", 2, "mixed delimiters"),
}


@pytest.mark.parametrize("case", sorted(GT_CASES))
def test_malformed_gt(mini_dancetrack, tmp_path, case):
    text, line, words = GT_CASES[case]
    gt = mini_dancetrack / "val" / "dancetrack0001" / "gt" / "gt.txt"
    gt.write_text(text)
    results = tmp_path / "results"
    result = prepare(mini_dancetrack, results / "dancetrack" / "seqs" / "dancetrack0001" / "index.h5")
    assert_failed_cleanly(result, results, f"{gt}:{line}:", words)


def test_missing_frame_image(mini_dancetrack, tmp_path):
    missing = mini_dancetrack / "val" / "dancetrack0001" / "img1" / "00000004.jpg"
    missing.unlink()
    results = tmp_path / "results"
    result = prepare(mini_dancetrack, results / "index.h5")
    assert_failed_cleanly(result, results, str(missing), "missing frame image: frame 4 of seqLength 6")


def test_unreadable_image(mini_dancetrack, tmp_path):
    broken = mini_dancetrack / "val" / "dancetrack0001" / "img1" / "00000002.jpg"
    broken.write_text("this is not a JPEG")
    results = tmp_path / "results"
    result = prepare(mini_dancetrack, results / "index.h5")
    assert_failed_cleanly(result, results, str(broken), "unreadable image")


@pytest.mark.parametrize("how", ["empty", "missing"])
def test_gt_required_in_split_with_gt(mini_dancetrack, tmp_path, how):
    gt = mini_dancetrack / "val" / "dancetrack0001" / "gt" / "gt.txt"
    if how == "empty":
        gt.write_text("")
    else:
        gt.unlink()
    results = tmp_path / "results"
    result = prepare(mini_dancetrack, results / "index.h5")
    assert_failed_cleanly(result, results, str(gt), f"gt.txt is {how}", "split 'val' needs ground truth")


def test_test_split_without_gt_is_fine(tmp_path):
    root = tmp_path / "DanceTrack"
    write_mini_sequence(root / "test" / "dancetrack0099")
    (root / "test" / "dancetrack0099" / "gt" / "gt.txt").unlink()
    source = locate("dancetrack", "dancetrack", root, "test", "dancetrack0099", ["train", "val"])
    index = build_index(source)
    assert not index.has_gt and index.num_boxes == 0 and index.seq_length == 6


def test_non_positive_size_in_seqinfo(mini_dancetrack, tmp_path):
    ini = mini_dancetrack / "val" / "dancetrack0001" / "seqinfo.ini"
    ini.write_text(ini.read_text().replace("imWidth=64", "imWidth=0"))
    results = tmp_path / "results"
    result = prepare(mini_dancetrack, results / "index.h5")
    assert_failed_cleanly(result, results, f"{ini}:6:", "imWidth")


def test_sizes_come_from_images_not_the_ini(mini_dancetrack, tmp_path):
    """DanceTrack's ini is wrong for dancetrack0041; the image header wins."""
    ini = mini_dancetrack / "val" / "dancetrack0001" / "seqinfo.ini"
    ini.write_text(ini.read_text().replace("imWidth=64", "imWidth=1920"))
    out = tmp_path / "results" / "index.h5"
    assert prepare(mini_dancetrack, out).returncode == 0
    index = read_index(out)
    assert (index.width, index.height, index.seq_length, index.num_boxes) == (64, 48, 6, 12)
    assert index.frame_path(3).name == "00000003.jpg" and index.frame_path(3).is_file()


def _seqmap_config(tmp_path: Path, root: Path) -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "datasets:\n"
        "  dancetrack:\n"
        "    format: dancetrack\n"
        f"    root: {root}\n"
        "    splits: [val]\n"
        "models:\n  baseline: {family: bytetrack}\n"
    )
    return cfg


def test_seqmap_naming_missing_sequence_fails_at_parse_time(mini_dancetrack, tmp_path):
    seqmap = mini_dancetrack / "val_seqmap.txt"
    seqmap.write_text("name\ndancetrack0001\ndancetrack0007\n")
    work = tmp_path / "work"
    work.mkdir()
    result = run_snakemake(work, "-n", configfile=_seqmap_config(tmp_path, mini_dancetrack))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"{seqmap}:3:" in output and "dancetrack0007" in output
    assert not (work / "results").exists()


def test_seqmap_without_header_fails_at_parse_time(mini_dancetrack, tmp_path):
    seqmap = mini_dancetrack / "val_seqmap.txt"
    seqmap.write_text("dancetrack0001\n")
    work = tmp_path / "work"
    work.mkdir()
    result = run_snakemake(work, "--cores", "1", configfile=_seqmap_config(tmp_path, mini_dancetrack))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"{seqmap}:1:" in output and "header 'name'" in output
    assert not (work / "results").exists()


def test_failed_job_in_workflow_leaves_nothing_under_results(mini_dancetrack, tmp_path):
    gt = mini_dancetrack / "val" / "dancetrack0001" / "gt" / "gt.txt"
    gt.write_text("1,1,5,6,10,20,1,1,1\n1,1,5,6,10,20,1,1,1\n")
    work = tmp_path / "work"
    work.mkdir()
    result = run_snakemake(
        work, "--show-failed-logs", "results/dancetrack/hota.txt", configfile=_seqmap_config(tmp_path, mini_dancetrack)
    )
    assert result.returncode != 0
    assert f"{gt}:2:" in result.stdout + result.stderr
    leftovers = [p for p in (work / "results").rglob("*") if p.is_file()] if (work / "results").exists() else []
    assert leftovers == []


def test_sportsmot_annotation_only_counts():
    """SportsMOT val GT as shipped (comma+space rows, ids from 0, ini without trailing newline)."""
    result = run_cli(
        "summary", "--format", "sportsmot", "--root", TESTDATA / "sportsmot", "--splits", "val", "--annotation-only"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("45 sequences, 26970 frames, 295573 boxes")


def test_mot17_one_canonical_sequence_per_video(tmp_path):
    root = tmp_path / "MOT17"
    for detector in ("DPM", "FRCNN", "SDP"):
        write_mini_sequence(root / "train" / f"MOT17-02-{detector}", digits=6)
    write_mini_sequence(root / "train" / "MOT17-04-FRCNN", digits=6)
    sources = discover("mot17", "mot17", root, ["train"], ["train"])
    assert [s.name for s in sources] == ["MOT17-02", "MOT17-04"]
    assert sources[0].seq_dir.name == "MOT17-02-FRCNN"


def test_bft_layout_rewrites_flags(tmp_path):
    root = tmp_path / "BFT"
    seq = root / "train" / "Flock01"
    write_mini_sequence(seq, digits=6)
    for sub in ("img1",):
        for f in (seq / sub).iterdir():
            f.rename(seq / f.name)
    (root / "annotations_mot" / "train").mkdir(parents=True)
    (root / "annotations_mot" / "train" / "Flock01.txt").write_text(
        "1,3,5,6,10,20,-1,-1,-1,-1\n2,3,6,6,10,20,-1,-1,-1,-1\n"
    )
    [source] = discover("bft", "bft", root, ["train"], ["train"])
    index = build_index(source)
    assert index.seq_length == 6 and index.fps == 25.0
    assert np.all(index.gt["consider"] == 1) and np.all(index.gt["cls"] == 1) and np.all(index.gt["vis"] == 1)
