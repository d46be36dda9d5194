"""FDTA's Linear-Increasing Discretization (LID) of depth into K bins plus a background bin (appendix B.1.2).

bin_size = 2 (d_max - d_min) / (K (K + 1))                                       (eq. 11)
b_i      = (i + 0.5)^2 * bin_size / 2 - bin_size / 8 + d_min,  i = 0..K-1;  b_K = d_max   (eq. 12)
index(d) = floor(-0.5 + 0.5 sqrt(1 + 8 (d - d_min) / bin_size)), inverting the bin edges
           d_min + bin_size * i (i + 1) / 2; values outside [d_min, d_max) and non-finite ones go to bin K.

The trainer imports these same functions, so labels and predictions share one definition of the bins.

Direction (checked against FDTA's public code, `ddn_loss.py` and `tools/gen_depthmaps.py`): the binned value is the
teacher's relative disparity scaled per sequence to 0..255 (255 = nearest), never converted to depth, and bin i is
bin_size (i + 1) wide, so the narrow bins fall on small disparities, i.e. far away. The paper's appendix says LID
gives near ranges more bins; its released code does the opposite, and motforge follows the code.
"""

from __future__ import annotations

import numpy as np


def lid_bin_size(num_bins: int, d_min: float, d_max: float) -> float:
    if num_bins < 1:
        raise ValueError("LID needs at least one bin")
    if not d_max > d_min:
        raise ValueError("LID needs d_max > d_min")
    return 2.0 * (d_max - d_min) / (num_bins * (num_bins + 1))


def lid_edges(num_bins: int, d_min: float, d_max: float) -> np.ndarray:
    """K + 1 edges: bin i covers [edges[i], edges[i+1]); edges[0] = d_min, edges[K] = d_max."""
    size = lid_bin_size(num_bins, d_min, d_max)
    i = np.arange(num_bins + 1, dtype=np.float64)
    return d_min + size * i * (i + 1) / 2.0


def lid_centres(num_bins: int, d_min: float, d_max: float) -> np.ndarray:
    """K + 1 bin values (eq. 12), the last one (background) = d_max."""
    size = lid_bin_size(num_bins, d_min, d_max)
    i = np.arange(num_bins, dtype=np.float64)
    centres = (i + 0.5) ** 2 * size / 2.0 - size / 8.0 + d_min
    return np.append(centres, d_max)


def lid_midpoints(num_bins: int, d_min: float, d_max: float) -> np.ndarray:
    """Midpoints of the K foreground bins. FDTA's b_i (eq. 12) simplify to d_min + bin_size i (i+1) / 2, the bins'
    lower edges; use midpoints where the smallest round-trip error is wanted (at most half a bin)."""
    edges = lid_edges(num_bins, d_min, d_max)
    return (edges[:-1] + edges[1:]) / 2.0


def lid_index(depth: np.ndarray, num_bins: int, d_min: float, d_max: float) -> np.ndarray:
    """Bin index of every value (int64); out-of-range and non-finite values -> num_bins (background)."""
    depth = np.asarray(depth, dtype=np.float64)
    size = lid_bin_size(num_bins, d_min, d_max)
    with np.errstate(invalid="ignore"):
        raw = -0.5 + 0.5 * np.sqrt(1.0 + 8.0 * (depth - d_min) / size)
        index = np.floor(raw)
        bad = ~np.isfinite(depth) | ~np.isfinite(raw) | (depth < d_min) | (depth >= d_max) | (index >= num_bins)
    index = np.where(bad, num_bins, index)
    return index.astype(np.int64)


FDTA_SCALE = 255.0  # the labels' disparity scale: 0 = farthest, 255 = the nearest pixel of the sequence


def normalise_disparity(disparity: np.ndarray, sequence_max: float) -> np.ndarray:
    """FDTA's per-sequence label scale: disparity / sequence max * 255 (255 = nearest)."""
    if not sequence_max > 0:
        raise ValueError("sequence maximum of the disparity must be positive")
    return np.asarray(disparity, dtype=np.float32) * np.float32(FDTA_SCALE / sequence_max)
