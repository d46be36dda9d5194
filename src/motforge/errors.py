"""Errors that carry the file, the line and what is wrong, so a user can fix the input without a debugger."""

from __future__ import annotations

from pathlib import Path


class MotforgeError(Exception):
    """Base class for errors the CLI reports as a one-line message with a non-zero exit."""


class InputError(MotforgeError):
    """Malformed input data: names the file, the 1-based line (when there is one) and the problem."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class ConfigError(MotforgeError):
    """Invalid configuration: names the key path (e.g. datasets.synthdance.detector.backend)."""

    def __init__(self, key_path: str, problem: str) -> None:
        self.key_path = key_path
        self.problem = problem
        super().__init__(f"config key '{key_path}': {problem}")


class MissingWeightsError(MotforgeError):
    """A backend needs a local file (weights, model code) that is not there; says how to get it."""
