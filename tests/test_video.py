"""One's own footage: video files as a dataset, the `hog` people detector, track pictures and videos.

The real-footage checks use vtest.avi from Debian's opencv-doc package (a static camera over a campus path, people
walking; 768x576, 795 frames at 10 fps). CI installs the package (Makefile, target test) and these tests fail there
when the file is missing; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from motforge.config import block_defaults, validate_config
from motforge.datasets.index import read_index
from motforge.datasets.layouts import discover
from motforge.datasets.video import decode_video, list_videos
from motforge.errors import ConfigError, InputError

from conftest import ROOT, run_cli, run_snakemake

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
CONTAINERS = [("mp4", "mp4v"), ("avi", "MJPG"), ("mkv", "mp4v"), ("mov", "mp4v"), ("webm", "VP80")]


def vtest() -> Path:
    """vtest.avi, or a failure in CI (where the Makefile installs it) and a skip elsewhere."""
    if VTEST.is_file():
        return VTEST
    if os.environ.get("CI"):
        pytest.fail(f"{VTEST} is missing: CI must install Debian's opencv-doc (make test does when CI is set)")
    pytest.skip(f"{VTEST} is missing (apt-get install opencv-doc)")


def bar_video(path: Path, fourcc: str, frames: int = 12, fps: float = 12.5, size: tuple[int, int] = (96, 64)) -> None:
    """Frame i (0-based) is black with a white bar over columns 10+6i .. 17+6i: its position names the frame."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        image = np.zeros((size[1], size[0], 3), np.uint8)
        image[:, 10 + 6 * i : 18 + 6 * i] = 255
        writer.write(image)
    writer.release()


def bar_centre(image: np.ndarray) -> float:
    columns = image.mean(axis=(0, 2))
    return float(np.flatnonzero(columns > 127).mean())


@pytest.mark.parametrize("ext,fourcc", CONTAINERS)
def test_decode_every_container_in_order(tmp_path, ext, fourcc):
    video = tmp_path / f"clip.{ext}"
    bar_video(video, fourcc)
    frames, fps = decode_video(video, tmp_path / "out", progress=False)
    assert (frames, fps) == (12, 12.5)
    ini = (tmp_path / "out" / "seqinfo.ini").read_text()
    for line in (
        "name=clip",
        "imDir=img1",
        "frameRate=12.5",
        "seqLength=12",
        "imWidth=96",
        "imHeight=64",
        "imExt=.jpg",
    ):
        assert line in ini.splitlines()
    files = sorted(p.name for p in (tmp_path / "out" / "img1").iterdir())
    assert files == [f"{i:06d}.jpg" for i in range(1, 13)]
    for i in range(12):  # frame i+1 on disk is the (i)th frame of the video: its bar centre is 13.5 + 6i
        assert abs(bar_centre(cv2.imread(str(tmp_path / "out" / "img1" / files[i]))) - (13.5 + 6 * i)) < 2.0


def test_video_folder_through_prepare(tmp_path):
    footage = tmp_path / "footage"
    (footage / "gt").mkdir(parents=True)
    bar_video(footage / "b_cam.avi", "MJPG", frames=8, fps=10.0)
    bar_video(footage / "a_cam.mp4", "mp4v", frames=6, fps=25.0)
    (footage / "notes.md").write_text("not a video\n")
    (footage / "a_cam.txt").write_text("1,1,10,10,20,30,1,1,1\n2,1,12,10,20,30,1,1,1\n6,2,40,5,10,20,1,1,1\n")
    (footage / "gt" / "b_cam.txt").write_text("3,7,1,1,5,5,1,1,1\n")
    sources = discover("mine", "video", footage, ["test", "val"], [])
    assert [(s.name, s.split, s.needs_gt) for s in sources] == [("a_cam", "test", False), ("b_cam", "test", False)]
    expected = {"a_cam": (6, 25.0, 3, [1, 2, 6]), "b_cam": (8, 10.0, 1, [3])}
    for name, (length, fps, boxes, gt_frames) in expected.items():
        seq = tmp_path / "results" / "seqs" / name
        result = run_cli(
            "decode-video",
            "--video",
            footage / f"{name}{'.mp4' if name == 'a_cam' else '.avi'}",
            "--out",
            seq / "video",
            "--no-progress",
        )
        assert result.returncode == 0, result.stderr
        config = json.dumps(
            block_defaults("dataset", {"format": "video", "root": str(footage), "splits": ["test"], "gt_splits": []})
        )
        result = run_cli(
            "prepare",
            "--dataset",
            "mine",
            "--dataset-config",
            config,
            "--seq",
            name,
            "--split",
            "test",
            "--out",
            seq / "index.h5",
        )
        assert result.returncode == 0, result.stderr
        index = read_index(seq / "index.h5")
        assert (index.seq_length, index.fps, index.num_boxes, index.width, index.height) == (length, fps, boxes, 96, 64)
        assert sorted(set(index.gt["frame"].tolist())) == gt_frames and index.has_gt and index.format == "video"
        assert (
            Path(index.frame_path(length)).is_file()
            and index.frame_path(length).parent == (seq / "video" / "img1").resolve()
        )


def test_video_names_and_roots_are_checked(tmp_path):
    (tmp_path / "with space").mkdir()
    bar_video(tmp_path / "with space" / "my clip.mp4", "mp4v", frames=2)
    with pytest.raises(InputError, match=r"my clip\.mp4: sequence name 'my clip'"):
        list_videos("mine", tmp_path / "with space")
    (tmp_path / "twice").mkdir()
    bar_video(tmp_path / "twice" / "cam.mp4", "mp4v", frames=2)
    bar_video(tmp_path / "twice" / "cam.avi", "MJPG", frames=2)
    with pytest.raises(InputError, match="two videos give the sequence name 'cam'"):
        list_videos("mine", tmp_path / "twice")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(InputError, match="no video files"):
        list_videos("mine", tmp_path / "empty")
    with pytest.raises(InputError, match="not a video file"):
        list_videos("mine", tmp_path / "empty" / "readme.txt")
    assert list_videos("mine", tmp_path / "twice" / "cam.avi") == {"cam": tmp_path / "twice" / "cam.avi"}


def test_broken_video_is_an_error_naming_it_and_leaves_nothing(tmp_path):
    broken = tmp_path / "cam.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    result = run_cli("decode-video", "--video", broken, "--out", tmp_path / "seq" / "video", "--no-progress")
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]  # FFmpeg may print its own diagnosis first
    assert last.startswith(f"motforge decode-video: error: {broken}: OpenCV cannot open this video")
    assert not (tmp_path / "seq" / "video").exists() and not (tmp_path / "seq" / ".video.tmp").exists()


def _dataset_config(tmp_path: Path, **dataset) -> dict:
    bar_video(tmp_path / "cam.mp4", "mp4v", frames=2)
    return {
        "datasets": {"mine": {"format": "video", "root": "cam.mp4", **dataset}},
        "models": {"baseline": {"family": "bytetrack"}},
    }


def test_config_without_gt_needs_no_eval_split(tmp_path):
    config = validate_config(_dataset_config(tmp_path, splits=["test"], gt_splits=[]), SCHEMA, tmp_path)
    assert config["datasets"]["mine"]["eval_split"] is None
    with pytest.raises(ConfigError, match=r"'datasets\.mine\.eval_split': 'test' has no ground truth"):
        validate_config(_dataset_config(tmp_path, splits=["test"], gt_splits=[], eval_split="test"), SCHEMA, tmp_path)
    with pytest.raises(ConfigError, match=r"'datasets\.mine\.eval_split': every video is in the first split 'test'"):
        validate_config(_dataset_config(tmp_path, splits=["test", "val"], eval_split="val"), SCHEMA, tmp_path)
    labelled = _dataset_config(tmp_path, splits=["test"], gt_splits=["test"], eval_split="test")
    config = validate_config(labelled, SCHEMA, tmp_path)
    assert config["datasets"]["mine"]["eval_split"] == "test"
    with pytest.raises(ConfigError, match=r"datasets\.mine\.root"):
        validate_config(
            {
                **_dataset_config(tmp_path, splits=["test"], gt_splits=[]),
                "datasets": {"mine": {"format": "video", "root": "nope.mp4", "gt_splits": []}},
            },
            SCHEMA,
            tmp_path,
        )


# ---- the hog detector -------------------------------------------------------------------------------------------


def test_weight_to_score_by_hand():
    from motforge.detect.hog import weight_to_score

    scores = weight_to_score(np.array([-1.0, 0.0, 0.5, 1.0, 2.0]), 0.5)
    assert scores == pytest.approx([0.0, 0.0, 1 - np.exp(-1), 1 - np.exp(-2), 1 - np.exp(-4)], abs=1e-9)


def test_weaker_window_around_a_stronger_box_goes():
    from motforge.detect.hog import not_contained

    boxes = np.array([[0, 0, 10, 20], [-5, -5, 30, 40], [8, 0, 18, 20], [100, 100, 110, 120]], dtype=np.float32)
    # B holds all of A (overlap 200/200 of the smaller); C shares 2x20 = 40 px of A's 200 (0.2); D is apart
    assert not_contained(boxes, 0.8).tolist() == [0, 2, 3]
    assert not_contained(boxes, 0.15).tolist() == [0, 3]


def _vtest_frames(wanted: set[int]) -> dict[int, np.ndarray]:
    capture, frames, t = cv2.VideoCapture(str(vtest())), {}, 0
    while len(frames) < len(wanted):
        ok, image = capture.read()
        assert ok
        t += 1
        if t in wanted:
            frames[t] = image
    return frames


# Every person in two frames of vtest.avi, boxed by hand (xyxy, pixels) from the frames drawn at 2.5x zoom. In frame
# 100 two people walk side by side (the 4th and 5th box); one window may hold both.
HAND_BOXES = {
    100: [
        (345, 198, 368, 273),
        (378, 178, 410, 255),
        (428, 185, 446, 258),
        (491, 150, 517, 220),
        (514, 152, 540, 220),
        (589, 157, 615, 238),
    ],
    400: [(272, 197, 299, 281), (688, 298, 742, 408), (590, 140, 615, 203)],
}


def _holds(det: np.ndarray, person: tuple) -> bool:
    """A detection window holds a person: the person's centre is inside, and the window is 1-2x as tall (the
    64x128 window holds a person of about 96 px)."""
    cx, cy = (person[0] + person[2]) / 2, (person[1] + person[3]) / 2
    ratio = (det[3] - det[1]) / (person[3] - person[1])
    return bool(det[0] <= cx <= det[2] and det[1] <= cy <= det[3] and 1.0 <= ratio <= 2.0)


def test_hog_finds_the_people_of_vtest():
    from motforge.detect.hog import HogParams, detect_frame, people_detector, weight_to_score

    hog, params = people_detector(), HogParams(**block_defaults("detector", {"hog": {"upscale": 1.3}})["hog"])
    for t, image in _vtest_frames(set(HAND_BOXES)).items():
        boxes, weights = detect_frame(hog, image, params)
        scores = weight_to_score(weights, params.score_scale)
        people = HAND_BOXES[t]
        found, used = 0, set()
        for person in people:  # one window per person
            match = next((i for i in range(len(boxes)) if i not in used and _holds(boxes[i], person)), None)
            if match is not None:
                used.add(match)
                found += 1
        assert found >= len(people) - 1, (t, boxes.round().tolist())
        confident = boxes[scores >= 0.5]
        assert all(any(_holds(b, p) for p in people) for b in confident), (
            t,
            boxes.round().tolist(),
            scores.round(2).tolist(),
        )
        for person in people:  # NMS: no person inside two confident windows
            assert sum(_holds(b, person) for b in confident) <= 1, (t, person, confident.round().tolist())


# ---- show tracks ------------------------------------------------------------------------------------------------


def _grey_sequence(tmp_path: Path, frames: int = 5) -> SequenceIndex:  # noqa: F821
    from motforge.datasets.index import build_index
    from motforge.datasets.layouts import locate

    video = tmp_path / "footage" / "cam.avi"
    video.parent.mkdir()
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (160, 120))
    for _ in range(frames):
        writer.write(np.full((120, 160, 3), 90, np.uint8))
    writer.release()
    decode_video(video, tmp_path / "seq" / "video", progress=False)
    return build_index(locate("mine", "video", video.parent, "test", "cam", [], decoded_dir=tmp_path / "seq" / "video"))


def test_show_tracks_png_colour_per_identity_and_trail(tmp_path):
    from motforge.tracking.show import identity_colour, show_tracks

    index = _grey_sequence(tmp_path)
    # id 1 moves 10 px right per frame (20x40 box), id 2 stands still
    rows = [f"{t},1,{20 + 10 * (t - 1)},30,20,40,1,-1,-1,-1\n" for t in (1, 2, 3)] + [
        f"{t},2,110,20,30,50,1,-1,-1,-1\n" for t in (1, 2, 3)
    ]
    (tmp_path / "tracks.txt").write_text("".join(rows))
    out = show_tracks(index, tmp_path / "tracks.txt", tmp_path / "f3.png", frame=3, progress=False)
    image = cv2.imread(str(out))
    assert image.shape == (120, 160, 3)
    assert identity_colour(1) != identity_colour(2)
    assert tuple(int(v) for v in image[70, 45]) == identity_colour(
        1
    )  # frame 3's box of id 1: x 40..60, left edge 40..41
    assert tuple(int(v) for v in image[45, 110]) == identity_colour(2)  # id 2's left edge
    # the trail: id 1's bottom centre in frame 1 (30, 70) lies outside its frame-3 box (x 40..60)
    assert tuple(int(v) for v in image[70, 30]) == identity_colour(1)
    assert tuple(int(v) for v in image[100, 10]) == pytest.approx((90, 90, 90), abs=6)  # untouched background


def test_show_tracks_mp4_is_readable(tmp_path):
    from motforge.tracking.show import identity_colour

    index = _grey_sequence(tmp_path, frames=7)
    (tmp_path / "tracks.txt").write_text("".join(f"{t},4,{10 + 5 * t},20,20,40,1,-1,-1,-1\n" for t in range(1, 8)))
    result = run_cli(
        "show",
        "tracks",
        "--index",
        tmp_path / "seq" / "index.h5",
        "--tracks",
        tmp_path / "tracks.txt",
        "--out",
        tmp_path / "t.mp4",
    )
    assert result.returncode == 2 and "index.h5" in result.stderr  # no index written yet: a one-line error
    from motforge.datasets.index import write_index

    write_index(index, tmp_path / "seq" / "index.h5")
    result = run_cli(
        "show",
        "tracks",
        "--index",
        tmp_path / "seq" / "index.h5",
        "--tracks",
        tmp_path / "tracks.txt",
        "--out",
        tmp_path / "t.mp4",
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    capture = cv2.VideoCapture(str(tmp_path / "t.mp4"))
    frames = []
    while (read := capture.read())[0]:
        frames.append(read[1])
    assert (
        len(frames),
        capture.get(cv2.CAP_PROP_FPS),
        capture.get(cv2.CAP_PROP_FRAME_WIDTH),
        capture.get(cv2.CAP_PROP_FRAME_HEIGHT),
    ) == (7, 5.0, 160, 120)
    # in the last frame (box x 45..65) the trail still runs through (30, 60), left of the box, in id 4's colour
    # (mp4v is lossy: compared loosely); the background far from it stays grey
    assert np.abs(frames[-1][60, 30].astype(int) - identity_colour(4)).max() < 60
    assert np.abs(frames[-1][100, 120].astype(int) - 90).max() < 10


def test_show_tracks_refuses_rows_past_the_sequence(tmp_path):
    from motforge.tracking.show import show_tracks

    index = _grey_sequence(tmp_path, frames=3)
    (tmp_path / "tracks.txt").write_text("1,1,10,10,20,20,1,-1,-1,-1\n9,1,10,10,20,20,1,-1,-1,-1\n")
    with pytest.raises(InputError, match=r"tracks\.txt:2"):
        show_tracks(index, tmp_path / "tracks.txt", tmp_path / "x.mp4", progress=False)
    assert not (tmp_path / "x.mp4").exists()


# ---- real footage through the workflow ----------------------------------------------------------------------------

CLIP_FRAMES = 60  # of vtest.avi's 795: HOG at upscale 1.3 takes about 0.6 s a frame on one CPU core

FOOTAGE_CONFIG = """
datasets:
  mine:
    format: video
    root: footage
    splits: [test]
    gt_splits: []
    detector:
      backend: hog
      hog: {upscale: 1.3}
    depth: {backend: none}
    masks: {backend: none}
progress: false
"""


@pytest.mark.slow
def test_vtest_clip_to_tracks_and_track_video(tmp_path):
    """The first 60 frames of vtest.avi as a video dataset without GT, through hog + baseline (ByteTrack) to tracks
    and a track video with Snakemake, with nothing else in the config."""
    (tmp_path / "footage").mkdir()
    capture = cv2.VideoCapture(str(vtest()))
    writer = cv2.VideoWriter(str(tmp_path / "footage" / "vtest.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (768, 576))
    for _ in range(CLIP_FRAMES):
        ok, image = capture.read()
        assert ok
        writer.write(image)
    writer.release()
    (tmp_path / "config.yaml").write_text(FOOTAGE_CONFIG)
    targets = ["results/mine/tracks/baseline/vtest.txt", "results/mine/videos/baseline/vtest.mp4"]
    result = run_snakemake(tmp_path, *targets, configfile=tmp_path / "config.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / targets[0]).read_text().strip(), "no tracks at all"
    rows = np.loadtxt(tmp_path / targets[0], delimiter=",", ndmin=2)
    per_frame = np.bincount(rows[:, 0].astype(int), minlength=CLIP_FRAMES + 1)[1:]
    identities = len(set(rows[:, 1].astype(int).tolist()))
    # counted by eye: 3 people in view in frame 1, 6 in frame 60 (at least 6 different people in the clip); a
    # detector that misses most of them, or boxes building fronts, or a tracker that never links, leaves these ranges
    assert 2.0 <= per_frame.mean() <= 7.0, per_frame.tolist()
    assert 5 <= identities <= 20, identities
    video = cv2.VideoCapture(str(tmp_path / targets[1]))
    count = 0
    while video.read()[0]:
        count += 1
    assert (
        count,
        video.get(cv2.CAP_PROP_FPS),
        video.get(cv2.CAP_PROP_FRAME_WIDTH),
        video.get(cv2.CAP_PROP_FRAME_HEIGHT),
    ) == (CLIP_FRAMES, 10.0, 768, 576)
    assert not (tmp_path / "results" / "mine" / "hota.txt").exists()


def test_show_tracks_with_detections_and_depth_beside(tmp_path):
    from motforge.depth.store import create_frame_store, open_frame_store
    from motforge.detect.store import Detections
    from motforge.tracking.show import show_tracks

    index = _grey_sequence(tmp_path, frames=3)
    (tmp_path / "tracks.txt").write_text("2,1,20,30,20,40,1,-1,-1,-1\n")
    with create_frame_store(
        tmp_path / "depth.zarr", 3, 60, 80, "float16", {"kind": "disparity", "backend": "test"}
    ) as d:
        d[:, :, 40:] = 10.0  # right half near (the sequence's largest disparity), left half at 0
    empty = (np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int16))
    detections = Detections.from_frames(
        [empty, (np.array([[100.0, 10.0, 140.0, 90.0]]), np.array([0.7]), np.zeros(1, np.int16)), empty], {}
    )
    out = show_tracks(
        index,
        tmp_path / "tracks.txt",
        tmp_path / "f2.png",
        detections,
        open_frame_store(tmp_path / "depth.zarr"),
        frame=2,
    )
    image = cv2.imread(str(out))
    assert image.shape == (120, 320, 3)  # the frame, and the depth map at the frame's size beside it
    turbo = cv2.applyColorMap(np.array([[0, 255]], np.uint8), cv2.COLORMAP_TURBO)[0]
    assert tuple(image[60, 170]) == tuple(turbo[0]) and tuple(image[60, 310]) == tuple(turbo[1])
    assert tuple(int(v) for v in image[50, 100]) == (160, 160, 160)  # the detection's left edge, grey
