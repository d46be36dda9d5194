"""HDF5 attributes as plain Python values (scalars as scalars, arrays as lists)."""
from __future__ import annotations

import numpy as np


def plain_attrs(attrs) -> dict:
    out = {}
    for key, value in attrs.items():
        if isinstance(value, np.ndarray):
            out[key] = value.item() if value.size == 1 and value.ndim == 0 else value.tolist()
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def new_dataset(group, name: str, **kwargs):
    """``create_dataset`` without HDF5's modification times, so the same content gives byte-identical files."""
    return group.create_dataset(name, track_times=False, **kwargs)
