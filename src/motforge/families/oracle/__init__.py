"""``oracle``: the ground truth as a tracker (the rows TrackEval considers); a sanity check that must score 100."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motforge.datasets.index import SequenceIndex
from motforge.families.base import FamilyBase
from motforge.tracking.interface import FrameInputs, TrackRow


class OracleTracker:
    """Reports frame t's GT rows (``consider != 0``) with their GT ids and score 1."""

    def reset(self, index: SequenceIndex) -> None:
        gt = index.gt
        keep = gt["consider"] != 0
        self.frames = gt["frame"][keep].astype(np.int64)
        x, y, w, h = (gt[k][keep].astype(np.float64) for k in ("x", "y", "w", "h"))
        self.boxes = np.stack([x, y, x + w, y + h], axis=1)
        self.ids = gt["id"][keep].astype(np.int64)

    def step(self, frame: FrameInputs) -> list[TrackRow]:
        rows = np.flatnonzero(self.frames == frame.number)
        return [(int(self.ids[r]), self.boxes[r], 1.0) for r in rows]


class OracleFamily(FamilyBase):
    name = "oracle"
    description = "the ground truth as a tracker (sanity check: HOTA 100)"
    needs_images = False
    needs_gt = True

    def tracker(self, model: dict, checkpoint: Path | None, threads: int | None) -> OracleTracker:
        return OracleTracker()


ENTRY = OracleFamily()
