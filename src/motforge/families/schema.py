"""Read a family's or backend's schema fragment (``schema.yaml`` beside its module)."""

from __future__ import annotations

from pathlib import Path

import yaml


def load_fragment(module_file: str, name: str = "schema.yaml") -> dict:
    """The YAML schema fragment next to ``module_file`` (a family package's ``__init__.py``)."""
    return yaml.safe_load((Path(module_file).parent / name).read_text())
