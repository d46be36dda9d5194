"""Detector backends: Ultralytics' real predict path, YOLOX decoding through onnxruntime, det_db and det.txt files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from motforge.config import block_defaults
from motforge.datasets.index import SequenceIndex, build_index
from motforge.datasets.layouts import locate
from motforge.detect.boxes import decode_yolox, letterbox, postprocess, yolox_grids
from motforge.detect.files import det_db_key, det_db_lines, load_det_db
from motforge.detect.stage import run_detector
from motforge.detect.store import read_detections
from motforge.errors import InputError, MissingWeightsError
from motforge.synthdance.generate import SynthConfig, generate_sequence

from conftest import run_cli


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[Path, SequenceIndex]:
    root = tmp_path_factory.mktemp("data") / "synthdance"
    cfg = SynthConfig(
        seed=2, sequences={"train": 0, "val": 1, "test": 0}, frames=4, width=160, height=96, dancers=(5, 5)
    )
    generate_sequence(root / "val" / "synthdance0001", "synthdance0001", cfg, progress=False)
    return root, build_index(locate("synthdance", "synthdance", root, "val", "synthdance0001", ["val"]))


# ------------------------------------------------------------------ Ultralytics


def _yolov8n_with_known_output(path: Path) -> None:
    """A yolov8n whose head ignores its input: final convs zeroed, biases set so that only the stride-32 level fires
    (person logit 2, score sigmoid(2) = 0.881; every other logit -20) and each side's DFL distribution is one-hot at
    1 stride, so every stride-32 anchor predicts the 64 x 64 box around its centre (in network pixels)."""
    import torch
    from ultralytics import YOLO

    model = YOLO("yolov8n.yaml")
    head = model.model.model[-1]
    assert list(head.stride) == [8, 16, 32] and head.reg_max == 16
    with torch.no_grad():
        for level in range(3):
            for conv in (head.cv2[level][-1], head.cv3[level][-1]):
                conv.weight.zero_()
                conv.bias.fill_(-20.0)
            head.cv2[level][-1].bias.view(4, 16)[:, 1] = 20.0
        head.cv3[2][-1].bias[0] = 2.0
    model.save(str(path))


def test_ultralytics_real_predict_path_un_letterboxes(dataset, tmp_path):
    import ultralytics  # noqa: F401  (installed by the Makefile: a broken install fails, never skips)

    from motforge.detect.ultralytics_backend import offline_environment

    offline_environment()
    weights = tmp_path / "yolov8n-known.pt"
    _yolov8n_with_known_output(weights)
    _, index = dataset
    two = SequenceIndex(
        **{
            **index.__dict__,
            "frame_files": index.frame_files[:2],
            "widths": index.widths[:2],
            "heights": index.heights[:2],
        }
    )
    # imgsz 256 != the 160 x 96 frame: letterbox ratio min(256 / 160, 256 / 96) = 1.6 -> 256 x 154 (x scale 256 / 160,
    # y scale 154 / 96), padded to 256 x 160 with 3 rows on top (stride multiple)
    settings = {"model": str(weights), "nms": 0.7, "classes": None, "batch_size": 2, "imgsz": 256}
    cfg = {"backend": "ultralytics", "score_threshold": 0.5, "ultralytics": settings}
    dets = run_detector(two, block_defaults("detector", cfg), tmp_path / "detections.h5", progress=False)
    stored = read_detections(tmp_path / "detections.h5")
    assert stored.num_frames == 2 and stored.attrs["backend"] == "ultralytics" and stored.attrs["model"] == str(weights)
    assert len(stored.scores) == len(dets.scores)
    # stride-32 anchors of the 256 x 160 input: 8 x 5 centres (16 + 32 i, 16 + 32 j); neighbours overlap with IoU 1/3,
    # so NMS at 0.7 keeps all 40; mapped back to frame pixels and clipped to the frame
    expected = []
    for j in range(5):
        for i in range(8):
            cx, cy = 16 + 32 * i, 16 + 32 * j
            x1, x2 = np.clip([(cx - 32) * 160 / 256, (cx + 32) * 160 / 256], 0, 160)
            y1, y2 = np.clip([(cy - 32 - 3) * 96 / 154, (cy + 32 - 3) * 96 / 154], 0, 96)
            expected.append([x1, y1, x2, y2])
    expected = np.array(expected)
    expected = expected[np.lexsort((expected[:, 0], expected[:, 1]))]
    for t in (1, 2):
        boxes, scores, classes = dets.frame(t)
        assert len(boxes) == 40  # unconditional: the head is known to fire at every stride-32 anchor
        got = boxes[np.lexsort((boxes[:, 0], boxes[:, 1]))]
        # 0.1 px: Ultralytics versions differ in rounding the letterbox gain; a missing un-letterbox is off by tens
        assert np.allclose(got, expected, atol=0.1)
        assert np.allclose(scores, 1 / (1 + np.exp(-2.0)), atol=1e-4) and set(classes.tolist()) == {0}
    import os

    assert os.environ["YOLO_OFFLINE"] == "True" and os.environ["YOLO_AUTOINSTALL"] == "False"


def test_ultralytics_bare_name_is_refused(dataset, tmp_path):
    _, index = dataset
    cfg = {
        "backend": "ultralytics",
        "score_threshold": 0.05,
        "ultralytics": {"model": "yolov8n.pt", "nms": 0.7, "classes": [0], "batch_size": 2},
    }
    with pytest.raises(MissingWeightsError, match="never does at run time"):
        run_detector(index, block_defaults("detector", cfg), tmp_path / "d.h5", progress=False)
    assert not (tmp_path / "d.h5").exists()


def test_train_detector_then_detect_with_it(dataset, tmp_path):
    """Export -> 1 epoch of a random yolov8n on 4 frames (CPU, offline) -> the ultralytics backend uses best.pt."""
    import ultralytics  # noqa: F401

    root, index = dataset
    index_path = tmp_path / "index.h5"
    from motforge.datasets.index import write_index

    write_index(index, index_path)
    assert run_cli("export", "yolo", "--index", index_path, "--out", tmp_path / "yolo").returncode == 0
    labels = sorted((tmp_path / "yolo" / "labels" / "val").iterdir())
    assert len(labels) == 4 and all(line.startswith("0 ") for line in labels[0].read_text().splitlines())
    assert len(labels[0].read_text().splitlines()) == int((index.gt["frame"] == 1).sum())  # every dancer of frame 1
    assert (tmp_path / "yolo" / "images" / "val" / "synthdance0001_00000001.jpg").is_symlink()
    result = run_cli(
        "train-detector",
        "--data",
        tmp_path / "yolo" / "data.yaml",
        "--train-config",
        json.dumps({"model": "yolov8n.yaml", "epochs": 1, "imgsz": 64, "batch": 4, "workers": 0, "val": False}),
        "--out",
        tmp_path / "detector",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    cfg = {
        "backend": "ultralytics",
        "score_threshold": 0.0,
        "ultralytics": {
            "model": str(tmp_path / "detector" / "best.pt"),
            "nms": 0.7,
            "classes": None,
            "batch_size": 4,
            "imgsz": 64,
        },
    }
    assert run_detector(index, block_defaults("detector", cfg), tmp_path / "d.h5", progress=False).num_frames == 4


def test_yolo_export_label_lines_by_hand(tmp_path):
    """Ultralytics' label format, 'class cx cy w h' normalised by the frame size, on hand-made GT rows of a 64 x 48
    frame: a plain box, one clipped by the frame, rows the export must drop (not considered, another class, less
    than a pixel left after clipping)."""
    from motforge.datasets.index import write_index

    from conftest import write_mini_sequence

    root = tmp_path / "DanceTrack"
    rows = [
        "1,1,5,6,10,20,1,1,1",
        "1,2,-4,40,10,20,1,1,1",
        "1,3,30,10,8,8,0,1,1",
        "1,4,20,20,8,8,1,2,1",
        "1,5,63.5,10,8,8,1,1,1",
        "2,1,6,6,10,20,1,1,1",
    ]
    write_mini_sequence(root / "val" / "dancetrack0001", frames=2, gt_rows=rows)
    source = locate("dancetrack", "dancetrack", root, "val", "dancetrack0001", ["val"])
    write_index(build_index(source), tmp_path / "index.h5")
    assert run_cli("export", "yolo", "--index", tmp_path / "index.h5", "--out", tmp_path / "yolo").returncode == 0
    labels = tmp_path / "yolo" / "labels" / "val"
    # (5, 6, 10, 20): centre (10, 16) / (64, 48), size 10 / 64, 20 / 48; (-4, 40, 10, 20) clipped to x 0..6, y 40..48
    assert (labels / "dancetrack0001_00000001.txt").read_text() == (
        "0 0.156250 0.333333 0.156250 0.416667\n0 0.046875 0.916667 0.093750 0.166667\n"
    )
    assert (labels / "dancetrack0001_00000002.txt").read_text() == "0 0.171875 0.333333 0.156250 0.416667\n"


# ------------------------------------------------------------------ YOLOX (ONNX)


def _yolox_onnx(path: Path, size: tuple[int, int], raw: np.ndarray) -> None:
    """A tiny ONNX model with YOLOX's output layout: images [1,3,H,W] -> output [1, A, 5+C] (a fixed tensor here)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    const = helper.make_node("Constant", [], ["raw"], value=numpy_helper.from_array(raw[None].astype(np.float32)))
    zero = helper.make_node("ReduceSum", ["images"], ["summed"], keepdims=0)
    scale = helper.make_node("Mul", ["summed", "zero_f"], ["nothing"])
    add = helper.make_node("Add", ["raw", "nothing"], ["output"])
    graph = helper.make_graph(
        [const, zero, scale, add],
        "yolox_layout",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size[0], size[1]])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, raw.shape[0], raw.shape[1]])],
        initializer=[numpy_helper.from_array(np.array(0.0, np.float32), "zero_f")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def _encode(
    cx: float,
    cy: float,
    w: float,
    h: float,
    anchor: int,
    size: tuple[int, int],
    raw: np.ndarray,
    obj: float,
    cls: float,
) -> None:
    grids, strides = yolox_grids(size)
    s = strides[anchor, 0]
    raw[anchor, :4] = [cx / s - grids[anchor, 0], cy / s - grids[anchor, 1], np.log(w / s), np.log(h / s)]
    raw[anchor, 4] = obj
    raw[anchor, 5] = cls


def test_yolox_decoding_letterbox_and_nms(dataset, tmp_path):
    import onnxruntime  # noqa: F401

    size = (64, 96)  # network input h, w
    anchors = sum((size[0] // s) * (size[1] // s) for s in (8, 16, 32))
    raw = np.zeros((anchors, 6), np.float32)
    raw[:, 2:4] = 0.0
    # known boxes in network pixels; the frame is 160x96 -> ratio min(64/96, 96/160) = 0.6
    _encode(30, 20, 12, 24, 10, size, raw, obj=0.9, cls=0.9)  # box A, score 0.81
    _encode(31, 21, 12, 24, 11, size, raw, obj=0.8, cls=0.8)  # overlaps A, score 0.64 -> removed by NMS
    _encode(70, 40, 16, 30, 100, size, raw, obj=0.5, cls=0.5)  # box B, score 0.25
    _encode(10, 10, 4, 4, 5, size, raw, obj=0.1, cls=0.2)  # score 0.02 < threshold
    model = tmp_path / "yolox.onnx"
    _yolox_onnx(model, size, raw)
    _, index = dataset
    cfg = {"backend": "yolox", "score_threshold": 0.05, "yolox": {"model": str(model), "nms": 0.7, "classes": None}}
    dets = run_detector(index, block_defaults("detector", cfg), tmp_path / "d.h5", progress=False)
    boxes, scores, _ = dets.frame(1)
    order = np.argsort(-scores)
    ratio = 0.6
    expected = np.array([[24, 8, 36, 32], [62, 25, 78, 55]]) / ratio
    assert np.allclose(boxes[order], expected, atol=1e-3)
    assert np.allclose(scores[order], [0.81, 0.25], atol=1e-5)
    assert read_detections(tmp_path / "d.h5").attrs["input_size"] == "[64, 96]"


def test_letterbox_pads_with_114_bottom_right():
    image = np.zeros((50, 100, 3), np.uint8)
    tensor, ratio = letterbox(image, (64, 64))
    assert ratio == 0.64 and tensor.shape == (3, 64, 64)
    assert tensor[:, :32, :].max() == 0 and tensor[:, 33:, :].min() == 114


def test_decode_rejects_wrong_anchor_count():
    with pytest.raises(ValueError, match="anchors"):
        decode_yolox(np.zeros((5, 6)), (64, 64))


def test_postprocess_class_filter():
    decoded = np.array([[10, 10, 4, 4, 0.9, 0.9, 0.1], [30, 30, 4, 4, 0.9, 0.1, 0.9]], np.float32)
    boxes, scores, labels = postprocess(decoded, 1.0, 0.05, 0.7, classes=[1])
    assert labels.tolist() == [1] and np.allclose(boxes, [[28, 28, 32, 32]])


# ------------------------------------------------------------------ det_db and det.txt


def _det_db(root: Path, index: SequenceIndex) -> dict:
    keys = [det_db_key(index, t, root) for t in range(1, index.seq_length + 1)]
    return {
        keys[0]: ["618.0,270.5,138.0,289.0,0.94\n", "10.25,20.0,30.0,40.0,0.0513\n"],
        keys[1]: [],
        keys[2]: ["1.0,2.0,3.0,4.0,0.5\n"],
        keys[3]: [],
    }


def test_det_db_keys_look_like_motrv2(dataset):
    root, index = dataset
    assert (
        det_db_key(index, 7 if index.seq_length >= 7 else 3, root) == "synthdance/val/synthdance0001/img1/00000003.txt"
    )
    assert det_db_key(index, 1, root, prefix="DanceTrack") == "DanceTrack/val/synthdance0001/img1/00000001.txt"


def test_det_db_round_trip_is_identical(dataset, tmp_path):
    root, index = dataset
    source = tmp_path / "det_db.json"
    source.write_text(json.dumps(_det_db(root, index), sort_keys=True) + "\n")
    cfg = {"backend": "file", "score_threshold": 0.05, "file": {"format": "det_db", "path": str(source), "prefix": ""}}
    run_detector(index, block_defaults("detector", cfg), tmp_path / "detections.h5", dataset_root=root, progress=False)
    from motforge.datasets.index import write_index

    write_index(index, tmp_path / "index.h5")
    result = run_cli(
        "export",
        "det-db",
        "--index",
        tmp_path / "index.h5",
        "--detections",
        tmp_path / "detections.h5",
        "--root",
        root,
        "--out",
        tmp_path / "out.json",
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.json").read_text() == source.read_text()


def test_det_db_six_fields_with_class_accepted(dataset, tmp_path):
    root, index = dataset
    db = _det_db(root, index)
    first = det_db_key(index, 1, root)
    db[first] = ["1.0,2.0,3.0,4.0,0.9,0\n"]
    (tmp_path / "db.json").write_text(json.dumps(db))
    cfg = {
        "backend": "file",
        "score_threshold": 0.05,
        "file": {"format": "det_db", "path": str(tmp_path / "db.json"), "prefix": ""},
    }
    dets = run_detector(index, block_defaults("detector", cfg), tmp_path / "d.h5", dataset_root=root, progress=False)
    assert dets.frame(1)[0].tolist() == [[1.0, 2.0, 4.0, 6.0]]


@pytest.mark.parametrize(
    "entry, words",
    [
        (["1.0,2.0,3.0,0.9\n"], "entry 1: 4 fields"),
        (["1.0,2.0,3.0,4.0,0.9\n", "1.0,2.0,x,4.0,0.9\n"], "entry 2: non-numeric"),
        (["1.0,2.0,0.0,4.0,0.9\n"], "non-positive box size"),
        ("1.0,2.0,3.0,4.0,0.9", "must be a list"),
    ],
)
def test_malformed_det_db_names_key_and_entry(dataset, tmp_path, entry, words):
    root, index = dataset
    db = _det_db(root, index)
    key = det_db_key(index, 3, root)
    db[key] = entry
    (tmp_path / "db.json").write_text(json.dumps(db))
    cfg = {
        "backend": "file",
        "score_threshold": 0.05,
        "file": {"format": "det_db", "path": str(tmp_path / "db.json"), "prefix": ""},
    }
    with pytest.raises(InputError) as info:
        run_detector(index, block_defaults("detector", cfg), tmp_path / "d.h5", dataset_root=root, progress=False)
    assert key in str(info.value) and words in str(info.value)
    assert not (tmp_path / "d.h5").exists()


def test_det_db_missing_frame_key(dataset, tmp_path):
    root, index = dataset
    db = _det_db(root, index)
    del db[det_db_key(index, 4, root)]
    (tmp_path / "db.json").write_text(json.dumps(db))
    cfg = {
        "backend": "file",
        "score_threshold": 0.05,
        "file": {"format": "det_db", "path": str(tmp_path / "db.json"), "prefix": ""},
    }
    with pytest.raises(InputError, match="00000004.txt"):
        run_detector(index, block_defaults("detector", cfg), tmp_path / "d.h5", dataset_root=root, progress=False)


def test_det_txt_import_and_errors(dataset, tmp_path):
    root, index = dataset
    det = Path(index.img_dir).parent / "det" / "det.txt"
    det.parent.mkdir(exist_ok=True)
    det.write_text("1,-1,10,20,30,40,0.9,-1,-1,-1\n1,-1,50,20,30,40,0.03,-1,-1,-1\n3,-1,1,2,3,4,0.5,-1,-1,-1\n")
    cfg = {"backend": "file", "score_threshold": 0.05, "file": {"format": "det_txt", "path": "", "prefix": ""}}
    dets = run_detector(index, block_defaults("detector", cfg), tmp_path / "d.h5", progress=False)
    assert (
        dets.frame(1)[0].tolist() == [[10, 20, 40, 60]]
        and len(dets.frame(2)[0]) == 0
        and dets.frame(3)[1].tolist() == [0.5]
    )
    det.write_text("1,-1,10,20,30,40,0.9,-1,-1,-1\n9,-1,1,2,3,4,0.5,-1,-1,-1\n")
    with pytest.raises(InputError, match=f"{det}:2: frame 9 outside 1..4"):
        run_detector(index, block_defaults("detector", cfg), tmp_path / "d2.h5", progress=False)
    det.unlink()


def test_det_db_lines_format():
    assert det_db_lines(np.array([[618.0, 270.5, 756.0, 559.5]]), np.array([0.94])) == [
        "618.0,270.5,138.0,289.0,0.94\n"
    ]


def test_load_det_db_rejects_broken_json(tmp_path):
    (tmp_path / "db.json").write_text('{"a": [\n  "1,2,3,4,0.5\\n",\n}')
    with pytest.raises(InputError, match="db.json:3"):
        load_det_db(tmp_path / "db.json")


# ------------------------------------------------------------------ checkpoint errors (file, config key, likely cause)


def test_ultralytics_corrupt_or_bare_checkpoint_is_one_clear_line(dataset, tmp_path):
    pytest.importorskip("ultralytics")
    import torch

    from motforge.errors import ConfigError

    _, index = dataset
    broken = tmp_path / "yolov8n.pt"
    broken.write_bytes(b"<html>502 Bad Gateway</html>")
    bare = tmp_path / "state_dict.pt"
    torch.save({"model.0.conv.weight": torch.zeros(16, 3, 3, 3)}, bare)
    for path, cause in ((broken, "not a PyTorch checkpoint"), (bare, "bare state_dict")):
        cfg = {
            "backend": "ultralytics",
            "score_threshold": 0.05,
            "ultralytics": {"model": str(path), "nms": 0.7, "classes": [0], "batch_size": 2},
        }
        with pytest.raises(ConfigError, match=rf"detector\.ultralytics\.model.*{path}.*{cause}") as caught:
            run_detector(index, block_defaults("detector", cfg), tmp_path / "d.h5", progress=False)
        assert len(str(caught.value).splitlines()) == 1
    assert not (tmp_path / "d.h5").exists()


def test_ultralytics_classes_the_model_lacks_are_refused(dataset, tmp_path):
    pytest.importorskip("ultralytics")
    from motforge.detect.ultralytics_backend import offline_environment
    from motforge.errors import ConfigError

    offline_environment()
    from ultralytics import YOLO

    weights = tmp_path / "yolov8n-3cls.pt"
    YOLO("yolov8n.yaml").save(str(weights))
    model = YOLO(str(weights))
    _, index = dataset
    nc = len(model.names)
    cfg = {
        "backend": "ultralytics",
        "score_threshold": 0.05,
        "ultralytics": {"model": str(weights), "nms": 0.7, "classes": [0, nc], "batch_size": 2},
    }
    with pytest.raises(ConfigError, match=rf"detector\.ultralytics\.classes.*\[{nc}\].*{nc} classes"):
        run_detector(index, block_defaults("detector", cfg), tmp_path / "d.h5", progress=False)


def test_yolox_corrupt_onnx_and_foreign_layout(dataset, tmp_path):
    pytest.importorskip("onnxruntime")
    from motforge.errors import ConfigError

    _, index = dataset
    broken = tmp_path / "yolox_s.onnx"
    broken.write_bytes(b"\x00\x01 not protobuf" * 10)
    cfg = {"backend": "yolox", "score_threshold": 0.05, "yolox": {"model": str(broken), "nms": 0.7, "classes": None}}
    with pytest.raises(ConfigError, match=rf"detector\.yolox\.model.*{broken}.*not a loadable ONNX model"):
        run_detector(index, block_defaults("detector", cfg), tmp_path / "d.h5", progress=False)
    size = (64, 96)
    anchors = (8 * 12) + (4 * 6) + (2 * 3)  # 64x96 at strides 8, 16, 32: 126
    foreign = tmp_path / "yolov8n.onnx"  # channels-first [1, 4 + 80, anchors], as Ultralytics exports
    _yolox_onnx(foreign, size, np.zeros((84, anchors), np.float32))
    cfg["yolox"]["model"] = str(foreign)
    with pytest.raises(ConfigError, match=rf"{foreign}: output \[1, 84, 126\] is not \[1, 126, 5 \+ classes\].*ultra"):
        run_detector(index, block_defaults("detector", cfg), tmp_path / "d.h5", progress=False)
    good = tmp_path / "yolox_2cls.onnx"  # a YOLOX head with 2 classes: class 2 does not exist
    _yolox_onnx(good, size, np.zeros((anchors, 7), np.float32))
    cfg["yolox"].update(model=str(good), classes=[2])
    with pytest.raises(ConfigError, match=r"detector\.yolox\.classes.*\[2\].*2 classes"):
        run_detector(index, block_defaults("detector", cfg), tmp_path / "d.h5", progress=False)
    assert not (tmp_path / "d.h5").exists()
