"""The interface of every family's online tracker and the per-frame inputs it receives (shared by the runner)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: the CLI imports this at start-up, before any stage needs numpy or h5py
    import numpy as np

    from motforge.datasets.index import SequenceIndex

#: (track id, xyxy box in original pixels, score): one MOTChallenge row of the current frame
TrackRow = "tuple[int, np.ndarray, float]"


@dataclass(frozen=True)
class FrameInputs:
    """What a tracker may use at one frame; fields the family did not ask for are None."""

    number: int  # 1-based frame number
    index: SequenceIndex
    detections: tuple[np.ndarray, np.ndarray] | None = None  # xyxy boxes in original pixels, scores
    image: np.ndarray | None = None  # RGB uint8 [H, W, 3] from the frame cache at the family's input size
    scale: np.ndarray | None = None  # [sx, sy, sx, sy]: image pixels -> original pixels


class OnlineTracker(Protocol):
    """All state lives in the instance; ``reset`` starts a sequence (ids start at 1 again)."""

    def reset(self, index: SequenceIndex) -> None: ...

    def step(self, frame: FrameInputs) -> list[TrackRow]:
        """Advance one frame; the rows of the tracks reported in it."""
        ...
