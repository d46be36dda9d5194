"""The input holes a new user hit (issue 16): each is an error naming the file (and line) or is accepted as valid.

Broken: NaN/Inf in gt.txt or det.txt, a frame cut short, a frame of another size, an empty split, a header-only
seqmap, a sequence folder with a space. Valid but unusual: a UTF-8 BOM, seqinfo.ini's imDir other than img1, a
dataset without ground truth. Parse-time errors are checked through a Snakemake dry run; a job-time error must reach
the terminal (the local profile's show-failed-logs).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from motforge.config import validate_config
from motforge.datasets.index import _image_size, build_index
from motforge.datasets.layouts import discover, locate
from motforge.datasets.mot_text import read_mot_table
from motforge.detect.files import detect_from_det_txt
from motforge.errors import ConfigError, InputError

from conftest import ROOT, run_snakemake, write_mini_sequence

BOM = "\ufeff"
SEQ = "dancetrack0001"


def source(root: Path, seq: str = SEQ, split: str = "val", gt_splits: tuple[str, ...] = ("val",)):
    return locate("mine", "dancetrack", root, split, seq, list(gt_splits))


@pytest.mark.parametrize("bad, column", [("nan", 5), ("inf", 3), ("-inf", 6), ("NaN", 4)])
def test_non_finite_gt_value_names_file_and_line(tmp_path, bad, column):
    rows = ["1,1,5,6,10,20,1,1,1", "2,1,5,6,10,20,1,1,1", "3,1,5,6,10,20,1,1,1"]
    fields = rows[2].split(",")
    fields[column - 1] = bad
    rows[2] = ",".join(fields)
    write_mini_sequence(tmp_path / "val" / SEQ, gt_rows=rows)
    with pytest.raises(InputError) as err:
        build_index(source(tmp_path))
    assert err.value.path.endswith("gt/gt.txt") and err.value.line == 3
    assert f"non-finite value {float(bad):g} in column {column}" in str(err.value)


def test_non_finite_detection_score_names_det_txt_line(tmp_path):
    write_mini_sequence(tmp_path / "val" / SEQ)
    index = build_index(source(tmp_path))
    det = tmp_path / "val" / SEQ / "det" / "det.txt"
    det.parent.mkdir()
    det.write_text("1,-1,5,6,10,20,0.9\n\n2,-1,5,6,10,20,inf\n")
    with pytest.raises(InputError) as err:
        detect_from_det_txt(index, 0.1)
    assert str(err.value) == f"{det}:3: non-finite value inf in column 7"


def test_finite_tables_still_read(tmp_path):
    path = tmp_path / "det.txt"
    path.write_text("1,-1,5,6,10,20,0.9\n2,-1,5.5,6,1e3,20,-1\n")
    table = read_mot_table(path, 7, 10, unique_ids=False)
    assert table.values[1].tolist() == [2, -1, 5.5, 6, 1000, 20, -1]


def _truncate(path: Path, fraction: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def test_truncated_jpeg_is_named_at_index_time(tmp_path):
    write_mini_sequence(tmp_path / "val" / SEQ, width=160, height=120)
    frame = tmp_path / "val" / SEQ / "img1" / "00000004.jpg"
    _truncate(frame, 0.6)
    with pytest.raises(InputError) as err:
        build_index(source(tmp_path))
    assert err.value.path == str(frame) and "truncated JPEG" in err.value.problem


def test_truncated_png_is_named_at_index_time(tmp_path):
    seq = tmp_path / "val" / SEQ
    write_mini_sequence(seq, width=160, height=120)
    rng = np.random.default_rng(1)
    for jpg in sorted((seq / "img1").glob("*.jpg")):
        cv2.imwrite(str(jpg.with_suffix(".png")), rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
        jpg.unlink()
    (seq / "seqinfo.ini").write_text((seq / "seqinfo.ini").read_text().replace(".jpg", ".png"))
    assert build_index(source(tmp_path)).seq_length == 6  # complete PNGs pass
    frame = seq / "img1" / "00000002.png"
    _truncate(frame, 0.6)
    with pytest.raises(InputError) as err:
        build_index(source(tmp_path))
    assert err.value.path == str(frame) and "truncated PNG" in err.value.problem


def _real_images() -> list[Path]:
    """Images written by other encoders than OpenCV's (photos shipped with matplotlib and ultralytics)."""
    import importlib.util

    import matplotlib

    sample = Path(matplotlib.get_data_path()) / "sample_data"
    # ultralytics' folder, found without importing it (importing it reads its safe-load flag once, too early here)
    assets = Path(importlib.util.find_spec("ultralytics").submodule_search_locations[0]) / "assets"
    return [
        sample / "grace_hopper.jpg",
        sample / "logo2.png",
        sample / "Minduka_Present_Blue_Pack.png",
        assets / "bus.jpg",
        assets / "zidane.jpg",
    ]


@pytest.mark.parametrize("image", _real_images(), ids=lambda p: p.name)
def test_real_images_pass_the_end_of_image_check_and_fail_it_cut(tmp_path, image):
    with Image.open(image) as decoded:
        expected = decoded.size
    assert _image_size(image) == expected
    cut = tmp_path / image.name
    cut.write_bytes(image.read_bytes()[: int(image.stat().st_size * 0.6)])
    with pytest.raises(InputError, match="truncated (JPEG|PNG) image: no end-of-image marker"):
        _image_size(cut)
    assert _image_size(cut, check_end=False) == expected  # the header alone does not show it


def test_frame_of_another_size_is_named(tmp_path):
    write_mini_sequence(tmp_path / "val" / SEQ, width=64, height=48)
    frame = tmp_path / "val" / SEQ / "img1" / "00000005.jpg"
    cv2.imwrite(str(frame), np.zeros((48, 72, 3), np.uint8))
    with pytest.raises(InputError) as err:
        build_index(source(tmp_path))
    assert err.value.path == str(frame)
    assert "frame 5 is 72x48, but frame 1 (00000001.jpg) is 64x48" in err.value.problem


def test_byte_order_marks_are_accepted(tmp_path):
    plain, marked = tmp_path / "plain", tmp_path / "marked"
    for root in (plain, marked):
        write_mini_sequence(root / "val" / SEQ)
        (root / "val_seqmap.txt").write_text(f"name\n{SEQ}\n")
    for name in ("gt/gt.txt", "seqinfo.ini"):
        path = marked / "val" / SEQ / name
        path.write_text(BOM + path.read_text(), encoding="utf-8")
    (marked / "val_seqmap.txt").write_text(BOM + f"name\n{SEQ}\n", encoding="utf-8")
    assert (marked / "val_seqmap.txt").read_bytes()[:3] == b"\xef\xbb\xbf"
    a = build_index(discover("mine", "dancetrack", plain, ["val"], ["val"])[0])
    b = build_index(discover("mine", "dancetrack", marked, ["val"], ["val"])[0])
    assert b.name == SEQ and b.fps == a.fps == 20.0 and b.num_boxes == a.num_boxes == 12
    np.testing.assert_array_equal(b.gt_rows(), a.gt_rows())


def test_imdir_other_than_img1_is_honoured(tmp_path):
    seq = tmp_path / "val" / SEQ
    write_mini_sequence(seq)
    (seq / "img1").rename(seq / "frames")
    ini = seq / "seqinfo.ini"
    ini.write_text(ini.read_text().replace("imDir=img1", "imDir=frames"))
    index = build_index(source(tmp_path))
    assert Path(index.img_dir) == (seq / "frames").resolve() and index.seq_length == 6
    assert index.frame_path(6).is_file()


def test_imdir_outside_the_sequence_is_refused_with_its_line(tmp_path):
    seq = tmp_path / "val" / SEQ
    write_mini_sequence(seq)
    ini = seq / "seqinfo.ini"
    ini.write_text(ini.read_text().replace("imDir=img1", "imDir=../other"))
    with pytest.raises(InputError) as err:
        build_index(source(tmp_path))
    assert err.value.path == str(ini) and err.value.line == 3 and "imDir = '../other'" in err.value.problem


def test_empty_split_and_header_only_seqmap_stop_discovery(tmp_path):
    write_mini_sequence(tmp_path / "val" / SEQ)
    (tmp_path / "test").mkdir()
    with pytest.raises(InputError) as err:
        discover("mine", "dancetrack", tmp_path, ["val", "test"], ["val"])
    assert err.value.path == str(tmp_path / "test") and "split 'test' has no sequences" in err.value.problem
    (tmp_path / "val_seqmap.txt").write_text("name\n\n")
    with pytest.raises(InputError) as err:
        discover("mine", "dancetrack", tmp_path, ["val"], ["val"])
    assert (
        err.value.path == str(tmp_path / "val_seqmap.txt")
        and "lists no sequences (only its header)" in err.value.problem
    )


def test_sequence_folder_with_a_space_is_named(tmp_path):
    write_mini_sequence(tmp_path / "val" / "my clip")
    with pytest.raises(InputError) as err:
        discover("mine", "mot", tmp_path, ["val"], ["val"])
    assert err.value.path == str(tmp_path / "val") and "folder 'my clip'" in err.value.problem  # the listing names it


# --- configuration and workflow -------------------------------------------------------------------------------------

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
NO_GT = """
datasets:
  mine:
    format: mot
    root: data
    splits: [test]
    gt_splits: []
    models: [baseline]
    depth: {backend: none}
    masks: {backend: none}
    detector: {backend: background}
progress: false
models:
  baseline: {family: bytetrack}
"""


def _dataset(**overrides) -> dict:
    ds = {
        "format": "mot",
        "root": ".",
        "splits": ["test"],
        "depth": {"backend": "none"},
        "masks": {"backend": "none"},
        "detector": {"backend": "background"},
    }
    return {"datasets": {"mine": {**ds, **overrides}}, "models": {"baseline": {"family": "bytetrack"}}}


def test_dataset_without_ground_truth_is_valid(tmp_path):
    config = validate_config(_dataset(gt_splits=[]), SCHEMA, tmp_path)
    assert config["datasets"]["mine"]["eval_split"] is None
    with_gt = validate_config(_dataset(splits=["train", "val"]), SCHEMA, tmp_path)
    assert with_gt["datasets"]["mine"]["eval_split"] == "val"  # the default where GT exists is unchanged
    with pytest.raises(ConfigError, match=r"datasets\.mine\.eval_split.*'test' has no ground truth"):
        validate_config(_dataset(gt_splits=[], eval_split="test"), SCHEMA, tmp_path)
    oracle = _dataset(gt_splits=[], models=["baseline", "oracle"])
    oracle["models"]["oracle"] = {"family": "oracle"}
    with pytest.raises(ConfigError, match=r"datasets\.mine\.models\[1\].*replays ground truth"):
        validate_config(oracle, SCHEMA, tmp_path)


def _no_gt_workdir(tmp_path: Path) -> Path:
    write_mini_sequence(tmp_path / "data" / "test" / "clip1")
    shutil.rmtree(tmp_path / "data" / "test" / "clip1" / "gt")
    (tmp_path / "config.yaml").write_text(NO_GT)
    return tmp_path


def test_default_target_of_a_dataset_without_gt_makes_tracks_not_metrics(tmp_path):
    work = _no_gt_workdir(tmp_path)
    result = run_snakemake(work, "-n", configfile=work / "config.yaml")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "results/mine/tracks/baseline/clip1.txt" in result.stdout and "results/mine/det_db.json" in result.stdout
    assert "rule evaluate:" not in result.stdout and "rule headline:" not in result.stdout


def test_hota_of_a_dataset_without_gt_stops_before_any_job(tmp_path):
    work = _no_gt_workdir(tmp_path)
    result = run_snakemake(work, "results/mine/hota.txt", configfile=work / "config.yaml")
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "dataset 'mine' has no ground truth" in log and "results/mine/hota.txt" in log
    assert not (work / "results").exists()


@pytest.mark.parametrize("case", ["header-only seqmap", "space in folder"])
def test_parse_time_errors_reach_the_terminal(tmp_path, case):
    data = tmp_path / "data"
    if case == "header-only seqmap":
        write_mini_sequence(data / "test" / "clip1")
        (data / "seqmaps").mkdir()
        (data / "seqmaps" / "test.txt").write_text("name\n")
        expected = f"{data / 'seqmaps' / 'test.txt'}: seqmap of split 'test' lists no sequences"
    else:
        write_mini_sequence(data / "test" / "clip 1")
        expected = f"{data / 'test'}: folder 'clip 1' in this split folder: sequence name 'clip 1' is not allowed"
    (tmp_path / "config.yaml").write_text(NO_GT.replace("root: data", f"root: {data}"))
    result = run_snakemake(tmp_path, "-n", configfile=tmp_path / "config.yaml")
    assert result.returncode != 0 and expected in result.stdout + result.stderr, result.stderr[-2000:]


def test_failed_job_prints_its_one_line_error_on_the_terminal(tmp_path):
    """The local profile (profiles/default, show-failed-logs) is loaded, so a job's `file:line: problem` is shown."""
    write_mini_sequence(tmp_path / "data" / "test" / "clip1", gt_rows=["1,1,5,6,10,20,1,1,1", "2,1,5,6,nan,20,1,1,1"])
    config = NO_GT.replace("gt_splits: []", "gt_splits: [test]\n    eval_split: test")
    (tmp_path / "config.yaml").write_text(config)
    result = run_snakemake(tmp_path, "results/mine/seqs/clip1/index.h5", configfile=tmp_path / "config.yaml")
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Using workflow specific profile" in log and str(ROOT / "profiles" / "default") in log
    gt = Path("data") / "test" / "clip1" / "gt" / "gt.txt"
    assert f"motforge prepare: error: {gt}:2: non-finite value nan in column 5" in log, log[-3000:]
    assert not (tmp_path / "results" / "mine" / "seqs" / "clip1" / "index.h5").exists()
