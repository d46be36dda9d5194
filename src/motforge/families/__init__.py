"""Tracker families: one package each under ``motforge.families``, behind the small :class:`Family` interface.

The workflow, the config validation and the CLI only ask a family (its schema, whether it trains, which cached
inputs it reads, train, track); none of them branches on a family's name. ``registry()`` returns every family by
name; a plugin module registers another with ``registry().register(MyFamily())``.
"""

from __future__ import annotations

from motforge.families.interface import CACHED_INPUTS, Family, TrainFiles
from motforge.registry import Registry
from motforge.tracking.interface import FrameInputs, OnlineTracker, TrackRow

_FAMILIES: Registry[Family] = Registry(
    "tracker family",
    {
        "bytetrack": "motforge.families.bytetrack",
        "oracle": "motforge.families.oracle",
        "dense": "motforge.families.dense",
        "query": "motforge.families.query",
    },
)


def registry() -> Registry[Family]:
    """The families by name (built-in ones imported on first use)."""
    return _FAMILIES


__all__ = ["CACHED_INPUTS", "Family", "FrameInputs", "OnlineTracker", "TrackRow", "TrainFiles", "registry"]
