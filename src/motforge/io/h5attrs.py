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


def open_complete(path, what: str, stage: str):
    """Open an HDF5 store for reading; a missing, unreadable or unfinished store is an error naming the file."""
    import h5py

    from motforge.errors import InputError

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(path, f"cannot open {what}: {exc}") from None
    if not f.attrs.get("complete", False):
        f.close()
        raise InputError(path, f"{what} store is incomplete (a killed job?); rebuild it with the {stage} stage")
    return f
