"""Export a dataset's GT for training detectors elsewhere: the Ultralytics layout (images linked, not copied) and
COCO JSON, so YOLOX or YOLO can be trained on DanceTrack and the `yolox` / `ultralytics` backends pointed at it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from motforge.datasets.index import SequenceIndex
from motforge.detect.quality import coco_ground_truth
from motforge.io.atomic import atomic_path, write_text_atomic


def export_yolo(indexes: list[SequenceIndex], out: str | Path) -> Path:
    """``out/images/{split}/{seq}_{frame}.jpg`` (symlinks), ``out/labels/{split}/...txt`` (class cx cy w h,
    normalised, clipped to the image), ``out/data.yaml``. Rows not considered by the benchmark are left out."""
    out = Path(out)
    splits = sorted({i.split for i in indexes})
    with atomic_path(out, directory=True) as tmp:
        for index in indexes:
            images = tmp / "images" / index.split
            labels = tmp / "labels" / index.split
            images.mkdir(parents=True, exist_ok=True)
            labels.mkdir(parents=True, exist_ok=True)
            gt = index.gt
            keep = (gt["consider"] != 0) & np.isin(gt["cls"], [1, -1])
            for t in range(1, index.seq_length + 1):
                source = index.frame_path(t)
                stem = f"{index.name}_{source.stem}"
                os.symlink(source.resolve(), images / f"{stem}{source.suffix}")
                rows = np.flatnonzero(keep & (gt["frame"] == t))
                width, height = float(index.widths[t - 1]), float(index.heights[t - 1])
                lines = []
                for r in rows:
                    x1, y1 = max(0.0, float(gt["x"][r])), max(0.0, float(gt["y"][r]))
                    x2, y2 = min(width, float(gt["x"][r] + gt["w"][r])), min(height, float(gt["y"][r] + gt["h"][r]))
                    if x2 - x1 < 1 or y2 - y1 < 1:
                        continue
                    lines.append(
                        f"0 {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} {(x2 - x1) / width:.6f} "
                        f"{(y2 - y1) / height:.6f}\n"
                    )
                (labels / f"{stem}.txt").write_text("".join(lines))
        # Ultralytics needs both a train and a val entry; a missing one falls back to the split that exists
        train = "train" if "train" in splits else splits[0]
        val = "val" if "val" in splits else train
        yaml_lines = [f"path: {out.resolve()}", f"train: images/{train}", f"val: images/{val}"]
        yaml_lines += [f"{s}: images/{s}" for s in splits if s not in ("train", "val")] + ["names:", "  0: person"]
        (tmp / "data.yaml").write_text("\n".join(yaml_lines) + "\n")
    return out / "data.yaml"


def export_coco(indexes: list[SequenceIndex], out: str | Path) -> Path:
    """One COCO detection JSON (absolute image paths, category 1 = person, non-considered rows as crowd)."""
    gt_dict, _ = coco_ground_truth(indexes)
    write_text_atomic(out, json.dumps(gt_dict) + "\n")
    return Path(out)
