"""Masks and instance depths drawn over a frame, for a person to check the soft labels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from motforge.datasets.index import SequenceIndex
from motforge.io.atomic import atomic_path
from motforge.io.frames import read_frame
from motforge.masks.stage import frame_rows, gt_boxes_xyxy
from motforge.masks.store import MaskTable


def draw_masks(index: SequenceIndex, masks: MaskTable, instance: dict | None, frame: int) -> np.ndarray:
    image = cv2.resize(read_frame(index.frame_path(frame)), (masks.width, masks.height), interpolation=cv2.INTER_AREA)
    rows = frame_rows(index).get(frame, np.zeros(0, int))
    decoded = masks.rows(rows)
    rng = np.random.default_rng(0)
    palette = rng.integers(60, 255, size=(int(index.gt["id"].max()) + 2 if index.num_boxes else 2, 3))
    overlay = image.copy()
    boxes = gt_boxes_xyxy(index, rows, masks.width / index.width)
    for k, row in enumerate(rows):
        colour = tuple(int(c) for c in palette[int(index.gt["id"][row])])
        overlay[decoded[k]] = colour
        x0, y0, x1, y1 = np.round(boxes[k]).astype(int)
        cv2.rectangle(image, (x0, y0), (x1, y1), colour, 1)
        text = f"{int(index.gt['id'][row])}"
        if instance is not None and np.isfinite(instance["median"][row]):
            text += f": {instance['median'][row]:.2f}"
            if instance["source"][row] != 0:
                text += " (box)"
        cv2.putText(image, text, (x0, max(10, y0 - 3)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA)
    blended = cv2.addWeighted(image, 0.55, overlay, 0.45, 0)
    title = f"{index.name} #{frame}  masks: {masks.attrs.get('backend', '')}" + (
        "  label: median depth in mask" if instance is not None else ""
    )
    cv2.putText(blended, title, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return blended


def show_masks(index: SequenceIndex, masks: MaskTable, instance: dict | None, frame: int, out: str | Path) -> Path:
    out = Path(out)
    with atomic_path(out) as tmp:
        png = tmp.with_suffix(".png")
        cv2.imwrite(str(png), draw_masks(index, masks, instance, frame))
        png.rename(tmp)
    return out
