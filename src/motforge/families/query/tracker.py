"""Adapter from ``OnlineQueryTracker`` to the per-frame tracker interface of motforge's families (reset per sequence;
``step`` takes a frame record with ``number``, ``image`` (RGB uint8 [H, W, 3] at the family's input size), ``scale``
([sx, sy, sx, sy] image -> original pixels) and ``detections`` (xyxy original pixels, scores) and returns
(id, xyxy box in original pixels, score) rows). Duck-typed, so this package imports nothing from the wiring.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from motforge.families.query.frames import normalise_boxes, normalise_image
from motforge.families.query.inference import Lifecycle, OnlineQueryTracker
from motforge.families.query.model import QueryTracker


class QueryFamilyTracker:
    def __init__(self, model: QueryTracker, rule: Lifecycle) -> None:
        self.online = OnlineQueryTracker(model.eval(), rule)

    def reset(self, index: Any = None) -> None:
        self.online.reset()

    def step(self, frame: Any) -> list[tuple[int, np.ndarray, float]]:
        if frame.image is None:
            raise ValueError(f"frame {frame.number}: the query family needs the frame image")
        height, width = frame.image.shape[:2]
        image = normalise_image(torch.from_numpy(np.ascontiguousarray(frame.image.transpose(2, 0, 1))))
        scale = np.asarray(frame.scale if frame.scale is not None else [1.0, 1.0, 1.0, 1.0], dtype=np.float64)
        proposals = None
        if self.online.model.cfg.proposals:
            if frame.detections is None:
                raise ValueError(f"frame {frame.number}: the proposals switch needs the cached detections")
            xyxy, scores = frame.detections
            boxes, keep = normalise_boxes(torch.as_tensor(xyxy / scale, dtype=torch.float32), width, height)
            proposals = torch.cat([boxes, torch.as_tensor(scores, dtype=torch.float32)[keep][:, None]], 1)
        rows = self.online.step(frame.number, image, (width, height), proposals)
        out = []
        for _, tid, x, y, w, h, score in rows:
            out.append((tid, np.array([x, y, x + w, y + h]) * scale, score))
        return out
