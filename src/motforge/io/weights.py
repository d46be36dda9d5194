"""Checkpoints are data: loaded with ``torch.load(weights_only=True)``, so a pickle that would import and call code
(``os.system``, ``builtins.exec``...) is refused instead of run, with an error naming the setting and the file.

Used for every checkpoint motforge opens itself (dense-model checkpoints, backbone and Video Depth Anything
weights) and to report the refusals of third-party loaders (SAM2's ``build_sam2``, Ultralytics with
``ULTRALYTICS_SAFE_LOAD=1``) the same way.
"""

from __future__ import annotations

import pickle
import zipfile
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


def not_a_checkpoint_reason(path: Path) -> str:
    """Why ``torch.load`` could not read ``path``: judged from the file's first bytes, not from torch's message."""
    size = path.stat().st_size
    if size == 0:
        return "the file is empty"
    if zipfile.is_zipfile(path):
        return "it is a zip archive but not a readable PyTorch checkpoint (a truncated or damaged download?)"
    with open(path, "rb") as f:
        head = f.read(2)
    if head[:1] == b"\x80":  # pickle protocol marker: torch's legacy format
        return "it is a pickle that cannot be read with weights_only=True (damaged, or it holds Python objects)"
    if head == b"PK":
        return "it is a damaged zip archive (a truncated download?)"
    return f"it is not a PyTorch checkpoint (the file starts with {head!r}; corrupt, or another format)"


class UnreadableCheckpointError(MotforgeError):
    """A file torch cannot read at all (empty, truncated, another format), as opposed to a refused one."""

    def __init__(self, path: str | Path, setting: str, reason: str) -> None:
        self.path, self.setting, self.reason = str(path), setting, reason
        super().__init__(f"{setting}: {path} cannot be loaded: {reason}")


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
    except FileNotFoundError:
        raise
    except Exception as exc:  # UnpicklingError (refused or damaged), RuntimeError (miniz), EOFError...
        if is_refusal(exc):  # pickled code or classes: refused, never run
            raise UnsafeCheckpointError(path, setting, refusal_reason(exc)) from None
        reason = f"{not_a_checkpoint_reason(Path(path))} ({type(exc).__name__})"
        raise UnreadableCheckpointError(path, setting, reason) from None
