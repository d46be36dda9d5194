"""Detector pseudo-box quality against GT with pycocotools' COCOeval: AP50, AP[.5:.95], and recall at IoU 0.5 of
the stored boxes (which are already cut at the pseudo-label threshold)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from motforge.datasets.index import SequenceIndex, read_index
from motforge.detect.store import read_detections
from motforge.io.atomic import write_text_atomic


def coco_ground_truth(indexes: list[SequenceIndex]) -> tuple[dict, dict[tuple[str, int], int]]:
    """COCO GT dict over every frame; rows TrackEval would not consider (consider = 0, classes other than 1) are
    crowd regions, so detections on them count neither way."""
    images, annotations, image_ids = [], [], {}
    for index in indexes:
        for t in range(1, index.seq_length + 1):
            image_id = len(images) + 1
            image_ids[(index.name, t)] = image_id
            images.append(
                {
                    "id": image_id,
                    "file_name": str(index.frame_path(t)),
                    "width": int(index.widths[t - 1]),
                    "height": int(index.heights[t - 1]),
                }
            )
        gt = index.gt
        for row in range(index.num_boxes):
            x, y, w, h = (float(gt[k][row]) for k in ("x", "y", "w", "h"))
            ignore = int(gt["consider"][row] == 0 or gt["cls"][row] not in (1, -1))
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_ids[(index.name, int(gt["frame"][row]))],
                    "category_id": 1,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": ignore,
                    "ignore": ignore,
                    "track_id": int(gt["id"][row]),
                }
            )
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}, image_ids


def _evaluate(gt_dict: dict, detections: list[dict]) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt_dict
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(detections) if detections else None
        if coco_dt is None:
            return {"AP": 0.0, "AP50": 0.0, "recall50": 0.0}
        evaluator = COCOeval(coco_gt, coco_dt, "bbox")
        evaluator.params.maxDets = [10, 100, 1000]
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    recall = evaluator.eval["recall"][0, 0, 0, 2]  # IoU 0.5, class 0, all areas, 1000 detections
    return {"AP": float(evaluator.stats[0]), "AP50": float(evaluator.stats[1]), "recall50": float(max(recall, 0.0))}


def detection_quality(
    index_paths: list[Path], detection_paths: list[Path], out: str | Path, score_threshold: float = 0.05
) -> dict:
    indexes = [read_index(p) for p in index_paths]
    gt_dict, image_ids = coco_ground_truth(indexes)
    detections, backend = [], ""
    for index, path in zip(indexes, detection_paths):
        dets = read_detections(path)
        backend = str(dets.attrs.get("backend", ""))
        for t in range(1, index.seq_length + 1):
            boxes, scores, _ = dets.frame(t)
            for (x1, y1, x2, y2), s in zip(boxes, scores):
                detections.append(
                    {
                        "image_id": image_ids[(index.name, t)],
                        "category_id": 1,
                        "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
                        "score": float(s),
                    }
                )
    overall = _evaluate(gt_dict, detections)
    report = {
        "backend": backend,
        "score_threshold": score_threshold,
        "sequences": [i.name for i in indexes],
        "gt_boxes": int(sum(1 for a in gt_dict["annotations"] if not a["iscrowd"])),
        "detections": len(detections),
        "overall": overall,
        "metric_notes": "COCOeval bbox, maxDets 1000; recall50 = recall at IoU 0.5 of all stored boxes (score "
        ">= threshold)",
    }
    write_text_atomic(out, json.dumps(report, indent=2) + "\n")
    return report
