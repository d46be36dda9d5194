"""Extending motforge without touching it: a tracker family and a depth backend defined here, registered from this
module (named under ``plugins:`` in the config), run through the tiny workflow: track, evaluate, depth, bins."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import zarr

from motforge.config import assemble_schema
from motforge.datasets.index import SequenceIndex, read_index
from motforge.depth.registry import DEPTH_BACKENDS
from motforge.detect.registry import DETECT_BACKENDS
from motforge.detect.store import read_detections
from motforge.families import FrameInputs, TrackRow, registry
from motforge.families.base import FamilyBase
from motforge.masks.registry import MASK_BACKENDS
from motforge.tracking.association import assign, iou_matrix
from motforge.tracking.results import format_rows

from conftest import ROOT, run_snakemake


class IouTracker:
    """Frame-to-frame IoU matching of the detections (no motion model): the simplest tracker there is."""

    def __init__(self, min_iou: float, min_score: float) -> None:
        self.min_iou, self.min_score = min_iou, min_score

    def reset(self, index: SequenceIndex) -> None:
        self.boxes, self.ids, self.next_id = np.zeros((0, 4)), [], 1

    def step(self, frame: FrameInputs) -> list[TrackRow]:
        boxes, scores = frame.detections
        keep = scores >= self.min_score
        boxes, scores = boxes[keep], scores[keep]
        pairs, _, new = assign(iou_matrix(self.boxes, boxes), self.min_iou)
        ids = [0] * len(boxes)
        for track, det in pairs:
            ids[det] = self.ids[track]
        for det in new:
            ids[det], self.next_id = self.next_id, self.next_id + 1
        self.boxes, self.ids = boxes, ids
        return [(ident, box, float(score)) for ident, box, score in zip(ids, boxes, scores)]


class IouFamily(FamilyBase):
    """FamilyBase supplies what a family that does not train needs (no caches, no checkpoint)."""

    name = "iou_only"
    description = "IoU-only frame-to-frame tracker (test plugin)"

    def schema(self) -> dict:
        return {
            "properties": {
                "min_iou": {"type": "number", "default": 0.3},
                "min_score": {"type": "number", "default": 0.4},
            }
        }

    def track_inputs(self, model):
        return ["detections"]

    def tracker(self, model, checkpoint, threads) -> IouTracker:
        return IouTracker(model["min_iou"], model["min_score"])


class GroundPlaneDepth:
    """Disparity rising linearly from the top row (0) to the bottom row (1): a static-camera ground-plane prior."""

    name = "ground_plane"

    def check(self, block, key, context) -> None:
        return None

    def uses_gpu(self, block) -> bool:
        return False

    def open(self, index, block, size, device, allow_downloads, progress):
        width, height = size
        ramp = np.repeat(np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None], width, axis=1)

        def produce(sink, state=None, save=None) -> None:
            for t in range(index.seq_length):
                sink(t, ramp[None])
                progress(1)

        return {"backend": self.name, "kind": "disparity"}, produce


registry().register(IouFamily())
DEPTH_BACKENDS.register(GroundPlaneDepth())

PLUGIN_CONFIG = """
plugins: [test_extending]
datasets:
  synthdance:
    format: synthdance
    root: resources/synthdance
    splits: [train, val]
    synth: {seed: 1, sequences: {train: 1, val: 2, test: 0}, frames: 30, width: 320, height: 192, dancers: [5, 7]}
    depth: {backend: ground_plane, cache_short_side: 96}
    models: [iou]
    default_model: iou
progress: false
models:
  iou: {family: iou_only, min_iou: 0.25}
"""


def test_schema_backend_and_family_names_come_from_the_registries():
    schema = assemble_schema()
    defs = schema["$defs"]
    assert defs["depth"]["properties"]["backend"]["enum"] == ["none", *DEPTH_BACKENDS.names()]
    assert defs["masks"]["properties"]["backend"]["enum"] == ["none", *MASK_BACKENDS.names()]
    assert defs["detector"]["properties"]["backend"]["enum"] == DETECT_BACKENDS.names()
    assert defs["model"]["properties"]["family"]["enum"] == registry().names()
    assert {"provided", "video_depth_anything", "depth_anything_v2", "ground_plane"} <= set(DEPTH_BACKENDS.names())
    assert {"bytetrack", "oracle", "dense", "iou_only"} <= set(registry().names())
    for family in registry().all():  # every family's schema branch is wired in
        assert {
            "if": {"properties": {"family": {"const": family.name}}},
            "then": {"$ref": f"#/$defs/{family.name}_model"},
        } in defs["model"]["allOf"]


@pytest.mark.slow
def test_plugin_family_and_depth_backend_run_through_the_workflow(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    (tmp_path / "config.yaml").write_text(PLUGIN_CONFIG)
    targets = ["results/synthdance/hota.txt", "results/synthdance/seqs/synthdance0002/depth_bins.zarr"]
    result = run_snakemake(tmp_path, *targets, configfile=tmp_path / "config.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = tmp_path / "results" / "synthdance"
    # the tracks are exactly what the plugin's tracker makes of the stored detections
    for seq in ("synthdance0002", "synthdance0003"):
        index = read_index(results / "seqs" / seq / "index.h5")
        dets = read_detections(results / "seqs" / seq / "detections.h5")
        tracker = IouTracker(0.25, 0.4)
        tracker.reset(index)
        rows = [
            (t, *row)
            for t in range(1, index.seq_length + 1)
            for row in tracker.step(FrameInputs(t, index, dets.frame(t)[:2]))
        ]
        expected = format_rows(
            *(np.array([r[i] for r in rows]) for i in range(2)),
            np.array([r[2] for r in rows]).reshape(-1, 4),
            np.array([r[3] for r in rows]),
        )
        assert rows and (results / "tracks" / "iou" / f"{seq}.txt").read_text() == expected
    hota = (results / "hota.txt").read_text().splitlines()
    assert hota[0].startswith("HOTA") and float(hota[1].split()[0]) > 5.0  # an IoU tracker on these boxes scores
    # the plugin's depth went through the depth stage (float16 store at the cache size) into the bins
    depth = zarr.open_array(str(results / "seqs" / "synthdance0002" / "depth.zarr"), mode="r")
    assert depth.attrs["backend"] == "ground_plane" and depth.shape == (30, 96, 160)
    expected_depth = np.linspace(0.0, 1.0, 96, dtype=np.float32).astype(np.float16)
    assert np.array_equal(depth[7][:, 0], expected_depth) and np.array_equal(depth[7][:, 159], expected_depth)
    bins = zarr.open_array(str(results / "seqs" / "synthdance0002" / "depth_bins.zarr"), mode="r")
    column = bins[0][:, 0].astype(int)
    assert column[-1] > column[len(column) // 2] > column[1]  # nearer (lower in the image) -> larger disparity bin
    assert ROOT.is_dir()
