"""results/<ds>/report.html: its tables carry the numbers of the files it reads, and it renders in headless Chromium
with every picture loaded (CI installs Debian's chromium; without it the test fails in CI and is skipped locally)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from motforge.errors import InputError
from motforge.evaluate.headline import Headline
from motforge.report.page import ReportInputs, frame_numbers, read_detailed, render_report
from motforge.report.tracks import draw_tracks, identity_colour

from conftest import completed_run, run_cli

pytestmark = pytest.mark.slow

SMALL = """
datasets:
  synthdance:
    format: synthdance
    root: resources/synthdance
    splits: [train, val]
    synth: {seed: 3, sequences: {train: 1, val: 1, test: 0}, frames: 24, width: 256, height: 160, dancers: [3, 4]}
    models: [baseline, dense]
progress: false
models:
  baseline: {family: bytetrack}
  dense:
    family: dense
    channels: 16
    embed_dim: 32
    input: {width: 128, height: 96}
    clip: {length: 3, max_interval: 2}
    train: {steps: 3, batch_clips: 1, lr: 1.0e-3, identity_warmup_steps: 1, workers: 0, threads: 1}
"""
IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)">')


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return completed_run(tmp_path_factory.mktemp("report"), SMALL)


def _cells(html_text: str, first_cell: str) -> list[str]:
    """Cells of the first table row that starts with ``first_cell``."""
    row = re.search(rf"<tr(?: class=\"default\")?><td>{re.escape(first_cell)}</td>(.*?)</tr>", html_text)
    assert row, first_cell
    return re.findall(r"<td>(.*?)</td>", row.group(1))


def test_report_tables_carry_the_workflow_numbers(run):
    page = (run / "results" / "synthdance" / "report.html").read_text()
    results = run / "results" / "synthdance"
    for model in ("baseline", "dense"):
        h = Headline.read(results / "eval" / model / "hota.txt")
        assert _cells(page, model)[:6] == [
            f"{h.HOTA:.2f}",
            f"{h.DetA:.2f}",
            f"{h.AssA:.2f}",
            f"{h.IDF1:.2f}",
            f"{h.MOTA:.2f}",
            str(h.IDSW),
        ]
    assert '<tr class="default"><td>baseline</td>' in page  # default_model is baseline in this config
    # per sequence: TrackEval's fractions as percentages, the COMBINED row equal to the headline
    detailed = read_detailed(results / "eval" / "baseline" / "pedestrian_detailed.csv")
    seq_cells = _cells(page, "synthdance0002")
    assert seq_cells[0] == f"{100 * detailed['synthdance0002']['HOTA___AUC']:.2f}"
    assert seq_cells[3] == f"{100 * detailed['synthdance0002']['IDF1']:.2f}"
    headline = Headline.read(results / "hota.txt")
    assert f"{100 * detailed['COMBINED']['HOTA___AUC']:.2f}" == f"{headline.HOTA:.2f}"
    # tracks summary counts the rows of the result file
    rows = np.loadtxt(results / "tracks" / "baseline" / "synthdance0002.txt", delimiter=",", ndmin=2)
    tracks_row = re.search(r"<h2>Tracks</h2>.*?<td>baseline</td>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r"<td>(.*?)</td>", tracks_row)[:3] == ["1", str(len(rows)), str(len(np.unique(rows[:, 1])))]
    for section in ("Label quality", "detections", "depth", "instances", "Training", "Frames of synthdance0002"):
        assert section in page
    alts = [alt for _, alt in IMG.findall(page)]
    assert "loss curves of dense" in alts
    assert [a for a in alts if a.startswith("depth frame")] == ["depth frame 6", "depth frame 12", "depth frame 18"]
    assert len([a for a in alts if a.startswith("masks frame")]) == 3
    assert len([a for a in alts if a.startswith("tracks of baseline")]) == 3
    assert 'src="http' not in page and "<link" not in page  # nothing fetched when the page opens


def test_embedded_loss_curves_are_the_training_png(run):
    import base64

    page = (run / "results" / "synthdance" / "report.html").read_text()
    data = dict((alt, b64) for b64, alt in IMG.findall(page))["loss curves of dense"]
    assert (
        base64.b64decode(data) == (run / "results" / "synthdance" / "models" / "dense" / "loss_curves.png").read_bytes()
    )


def test_track_frames_show_the_tracked_boxes_in_their_colours(run):
    """Decode a tracks picture from the page: the box outline of an identity is drawn in that identity's colour."""
    import base64

    page = (run / "results" / "synthdance" / "report.html").read_text()
    data = dict((alt, b64) for b64, alt in IMG.findall(page))["tracks of baseline frame 12"]
    image = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)
    rows = np.loadtxt(
        run / "results" / "synthdance" / "tracks" / "baseline" / "synthdance0002.txt", delimiter=",", ndmin=2
    )
    rows = rows[rows[:, 0] == 12]
    assert len(rows), "the tracker found nobody in frame 12"
    assert image.shape[:2] == (160, 256)

    def apart(i: int) -> bool:  # no other box (or its id label above it) within 15 px
        x, y, w, h = rows[i, 2:6]
        return all(
            x + w + 15 < o[2] or o[2] + o[4] + 15 < x or y + h + 15 < o[3] or o[3] + o[5] + 15 < y
            for j, o in enumerate(rows)
            if j != i
        )

    checked = 0
    for i, row in enumerate(rows):
        x, y, w, h = (int(round(v)) for v in row[2:6])
        if apart(i) and 0 <= x < 256 and 0 <= y + h // 2 < 160:  # left edge, halfway down
            assert np.abs(image[y + h // 2, x].astype(int) - identity_colour(int(row[1]))).max() <= 2, row
            checked += 1
    assert checked >= 1


def test_ablation_plot_is_included_when_it_exists(run, tmp_path):
    ablation = tmp_path / "ablation.png"
    cv2.imwrite(str(ablation), np.full((20, 30, 3), 200, np.uint8))
    results = run / "results" / "synthdance"
    inputs = ReportInputs("synthdance", "baseline", eval_dirs=[results / "eval" / "baseline"], ablation=ablation)
    assert 'alt="ablation"' in render_report(inputs)
    inputs.ablation = tmp_path / "missing.png"
    assert 'alt="ablation"' not in render_report(inputs)


def test_missing_or_broken_inputs_are_named(run, tmp_path):
    with pytest.raises(InputError, match="loss_curves.png: training wrote no loss curves"):
        render_report(ReportInputs("x", training=[tmp_path]))
    bad = tmp_path / "pedestrian_detailed.csv"
    bad.write_text("seq,HOTA___AUC\nsynthdance0002,abc\n")
    with pytest.raises(InputError) as err:
        read_detailed(bad)
    assert err.value.line == 2


def test_frame_numbers_spread_over_the_sequence():
    assert frame_numbers(24, 3) == [6, 12, 18]
    assert frame_numbers(2, 3) == [1, 2]
    assert frame_numbers(100, 1) == [50]


def test_draw_tracks_uses_only_the_rows_of_that_frame():
    image = np.zeros((60, 80, 3), np.uint8)
    rows = np.array([[1, 7, 10, 10, 20, 30, 1], [2, 8, 40, 10, 20, 30, 1]], float)
    drawn = draw_tracks(image, rows, 1)
    assert (drawn[25, 10] == identity_colour(7)).all()  # left edge of id 7's box
    assert not drawn[25, 40].any()  # id 8 is in frame 2 only
    assert identity_colour(7) != identity_colour(8)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (the Makefile's test target installs Debian's chromium in CI)")
        pytest.skip("chromium not installed (apt-get install chromium); CI runs this test")
    return found


CHECK = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const loaded = images.filter(i => i.complete && i.naturalWidth > 0);
  const marker = document.createElement("pre");
  marker.id = "motforge-check";
  marker.textContent = `IMAGES ${loaded.length}/${images.length} HEIGHT ${document.body.scrollHeight}`;
  document.body.appendChild(marker);
});
</script>"""


def _browser(chromium: str, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--virtual-time-budget=10000",
        "--no-first-run",
        "--user-data-dir=" + os.environ.get("TMPDIR", "/tmp") + "/motforge-chromium",
    ]
    return subprocess.run([chromium, *flags, *args], capture_output=True, text=True, timeout=180)


def images_loaded(chromium: str, page: Path, work: Path) -> tuple[int, int]:
    """(loaded, total) images after the page's load event, from Chromium's DOM with a checking script appended to a
    copy of the page."""
    probe = work / "probe.html"
    probe.write_text(page.read_text().replace("</body>", CHECK + "</body>"))
    result = _browser(chromium, "--dump-dom", probe.as_uri())
    match = re.search(r"IMAGES (\d+)/(\d+)", result.stdout)
    assert match, result.stdout[-1500:] + result.stderr[-1500:]
    return int(match.group(1)), int(match.group(2))


def screenshot(chromium: str, page: Path, out: Path) -> np.ndarray:
    result = _browser(chromium, f"--screenshot={out}", "--window-size=1280,6000", page.as_uri())
    assert out.is_file(), result.stderr[-2000:]
    return cv2.imread(str(out), cv2.IMREAD_COLOR)


def test_report_renders_in_chromium_with_every_picture(run, tmp_path):
    chromium = _chromium()
    page = run / "results" / "synthdance" / "report.html"
    embedded = len(IMG.findall(page.read_text()))
    assert images_loaded(chromium, page, tmp_path) == (embedded, embedded)
    shot = screenshot(chromium, page, tmp_path / "shot.png")
    grey = cv2.cvtColor(shot, cv2.COLOR_BGR2GRAY)
    assert (grey < 250).mean() > 0.05, "the screenshot is (nearly) blank"
    saturation = cv2.cvtColor(shot, cv2.COLOR_BGR2HSV)[..., 1]
    assert (saturation > 80).mean() > 0.01, "no coloured pixels: the pictures did not render"
    # a broken picture (its PNG signature overwritten: undecodable) is caught by the same check
    broken = tmp_path / "broken.html"
    text = page.read_text()
    b64 = IMG.search(text).group(1)
    broken.write_text(text.replace(b64, "A" * 12 + b64[12:], 1))
    assert images_loaded(chromium, broken, tmp_path) == (embedded - 1, embedded)


def test_report_cli_of_a_dataset_without_gt(tmp_path):
    """No evaluation: the page says so and still shows the tracks."""
    from motforge.datasets.index import build_index, write_index
    from motforge.datasets.layouts import locate

    from conftest import write_mini_sequence

    seq = tmp_path / "data" / "test" / "clip1"
    write_mini_sequence(seq, frames=6, width=64, height=48)
    shutil.rmtree(seq / "gt")
    index = tmp_path / "index.h5"
    write_index(build_index(locate("mine", "mot", tmp_path / "data", "test", "clip1", [])), index)
    tracks = tmp_path / "tracks" / "baseline" / "clip1.txt"
    tracks.parent.mkdir(parents=True)
    tracks.write_text("2,5,4,4,10,20,0.9,-1,-1,-1\n3,5,5,4,10,20,0.9,-1,-1,-1\n3,6,30,4,10,20,0.8,-1,-1,-1\n")
    out = tmp_path / "report.html"
    result = run_cli(
        "report",
        "--dataset",
        "mine",
        "--default-model",
        "baseline",
        "--index",
        index,
        "--tracks",
        tracks,
        "--ablation",
        tmp_path / "ablation.png",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    assert "Not evaluated: the dataset has no evaluation split with ground truth." in page
    tracks_row = re.search(r"<h2>Tracks</h2>.*?<td>baseline</td>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r"<td>(.*?)</td>", tracks_row) == ["1", "3", "2", "1.50"]  # 3 boxes, ids 5 and 6, 2 frames
    assert [alt for _, alt in IMG.findall(page)] == [f"tracks of baseline frame {f}" for f in (2, 3, 4)]
