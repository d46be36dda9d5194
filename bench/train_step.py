"""Share of training step time spent waiting for data with the default loader settings (1 worker), on a synthdance
train sequence at the default model size. Target: <= 10%."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import yaml  # noqa: E402

from _common import synth_sequence  # noqa: E402
from motforge.config import block_defaults, validate_config  # noqa: E402
from motforge.datasets.frame_cache import write_frame_cache  # noqa: E402
from motforge.datasets.index import read_index  # noqa: E402
from motforge.depth.bins import write_depth_bins  # noqa: E402
from motforge.depth.teacher import run_depth_teacher  # noqa: E402
from motforge.detect.stage import run_detector  # noqa: E402
from motforge.families.dense.train import train_dense  # noqa: E402
from motforge.masks.instance_depth import instance_depths  # noqa: E402
from motforge.masks.stage import run_masks  # noqa: E402
from motforge.training.clips import SequenceFiles  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    config = validate_config(
        yaml.safe_load((ROOT / "config.yaml").read_text()), ROOT / "workflow/schemas/config.schema.yaml", base_dir=ROOT
    )
    model = config["models"]["dense"]
    model["train"]["steps"] = 60
    bins = config["datasets"]["synthdance"]["labels"]["depth_bins"]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        index_path = synth_sequence(tmp / "data", 100, 640, 360)
        index = read_index(index_path)
        write_frame_cache(index, model["input"]["width"], model["input"]["height"], tmp / "frames.zarr", progress=False)
        run_depth_teacher(
            index,
            block_defaults("depth", {"backend": "provided", "cache_short_side": 180, "device": "cpu"}),
            tmp / "depth.zarr",
            progress=False,
        )
        write_depth_bins(tmp / "depth.zarr", tmp / "bins.zarr", bins, progress=False)
        masks = run_masks(
            index, block_defaults("masks", {"backend": "box", "mask_short_side": 180}), tmp / "masks.h5", progress=False
        )
        instance_depths(
            index,
            masks,
            tmp / "depth.zarr",
            {"histogram_bins": 25, "sigma": 3.0},
            bins,
            tmp / "inst.h5",
            progress=False,
        )
        run_detector(
            index,
            block_defaults("detector", {"backend": "background", "score_threshold": 0.05, "background": {}}),
            tmp / "dets.h5",
            progress=False,
        )
        files = [SequenceFiles(index_path, tmp / "frames.zarr", tmp / "bins.zarr", tmp / "inst.h5", tmp / "dets.h5")]
        summary = train_dense(files, model, bins, tmp / "model", tmp / "resume", progress=False)
    print(
        f"default dense model ({model['backbone']}, {model['input']['width']}x{model['input']['height']}, clips "
        f"of {model['clip']['length']}, "
        f"batch {model['train']['batch_clips']}, {model['train']['workers']} loader worker), {summary['steps']} "
        f"steps on the CPU:"
    )
    print(f"share of step time waiting for data: {summary['data_wait_share']:.1%} (target <= 10%)")


if __name__ == "__main__":
    main()
