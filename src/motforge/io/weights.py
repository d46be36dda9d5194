"""Checkpoints are data: loaded with ``torch.load(weights_only=True)``, so a pickle that would import and call code
(``os.system``, ``builtins.exec``...) is refused instead of run, with an error naming the setting and the file.

Used for every checkpoint motforge opens itself (dense-model checkpoints, backbone and Video Depth Anything
weights) and to report the refusals of third-party loaders (SAM2's ``build_sam2``, Ultralytics with
``ULTRALYTICS_SAFE_LOAD=1``) the same way.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from motforge.errors import MotforgeError


class UnsafeCheckpointError(MotforgeError):
    """A checkpoint holds more than tensors and plain containers (pickled code or unknown classes)."""

    def __init__(self, path: str | Path, setting: str, reason: str) -> None:
        self.path = str(path)
        self.setting = setting
        super().__init__(
            f"{setting}: {self.path} is not a plain weights file and was not loaded ({reason}); checkpoints are read "
            "as data only (torch.load weights_only=True), so a file that needs code to unpickle is refused"
        )


def is_refusal(exc: BaseException) -> bool:
    """Whether an UnpicklingError is torch's weights-only refusal of code or classes (not a damaged file)."""
    return isinstance(exc, pickle.UnpicklingError) and ("GLOBAL" in str(exc) or "Unsupported global" in str(exc))


def refusal_reason(exc: BaseException) -> str:
    """The informative line of torch's weights-only refusal (``... unsupported GLOBAL posix.system ...``)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if "GLOBAL" in line or "Unsupported" in line or "unsupported" in line:
            return line.rstrip(".")
    return lines[-1].rstrip(".") if lines else type(exc).__name__


def load_weights(path: str | Path, setting: str) -> Any:
    """``torch.load`` as data only (CPU tensors). ``setting`` says where the path came from, for the error:
    ``config key 'models.dense.pretrained'`` or ``track --checkpoint``."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not is_refusal(exc):  # a damaged file, not a refused one
            raise MotforgeError(
                f"{setting}: {path} is not a readable PyTorch checkpoint ({refusal_reason(exc)})"
            ) from None
        raise UnsafeCheckpointError(path, setting, refusal_reason(exc)) from None
