"""The interface every teacher backend (depth, masks, detector) satisfies, and the context a run receives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class ConfigContext:
    """What a backend's parse-time check may look at besides its own block."""

    dataset_key: str  # datasets.<name>
    dataset: dict  # the dataset's whole (validated) block
    base_dir: Path  # relative paths in the config are relative to this folder
    allow_downloads: bool


class TeacherBackend(Protocol):
    """One backend of a teacher. Stage-specific run methods are documented in each teacher's registry module."""

    name: str

    def check(self, block: dict, key: str, context: ConfigContext) -> None:
        """Parse-time check of the teacher's block (``key`` is its path, e.g. datasets.<ds>.depth); raise
        ConfigError naming the exact key, e.g. a missing weights file."""
        ...

    def uses_gpu(self, block: dict) -> bool:
        """Whether a job of this backend asks the scheduler for a GPU."""
        ...
