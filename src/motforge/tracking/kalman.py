"""Constant-velocity Kalman filter on (cx, cy, aspect, height), the SORT/ByteTrack state, vectorised over tracks.

Noise scales with box height (weights 1/20 for position, 1/160 for velocity), so small far-away boxes are not
over-trusted and large near ones are not over-smoothed.
"""

from __future__ import annotations

import numpy as np

STD_POSITION = 1.0 / 20.0
STD_VELOCITY = 1.0 / 160.0

_F = np.eye(8)
_F[:4, 4:] = np.eye(4)
_H = np.eye(4, 8)


def xyxy_to_xyah(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    return np.stack([boxes[:, 0] + w / 2, boxes[:, 1] + h / 2, w / np.maximum(h, 1e-6), h], axis=1)


def xyah_to_xyxy(state: np.ndarray) -> np.ndarray:
    state = np.asarray(state, dtype=np.float64).reshape(-1, state.shape[-1])
    h = state[:, 3]
    w = state[:, 2] * h
    return np.stack([state[:, 0] - w / 2, state[:, 1] - h / 2, state[:, 0] + w / 2, state[:, 1] + h / 2], axis=1)


def initiate(measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean [8] and covariance [8, 8] of a new track from one xyah measurement."""
    mean = np.concatenate([measurement, np.zeros(4)])
    h = measurement[3]
    std = np.array(
        [
            2 * STD_POSITION * h,
            2 * STD_POSITION * h,
            1e-2,
            2 * STD_POSITION * h,
            10 * STD_VELOCITY * h,
            10 * STD_VELOCITY * h,
            1e-5,
            10 * STD_VELOCITY * h,
        ]
    )
    return mean, np.diag(std**2)


def predict(means: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One step ahead for all tracks: means [N, 8], covs [N, 8, 8]."""
    if len(means) == 0:
        return means, covs
    h = means[:, 3]
    std = np.stack(
        [
            STD_POSITION * h,
            STD_POSITION * h,
            np.full_like(h, 1e-2),
            STD_POSITION * h,
            STD_VELOCITY * h,
            STD_VELOCITY * h,
            np.full_like(h, 1e-5),
            STD_VELOCITY * h,
        ],
        axis=1,
    )
    q = np.einsum("ni,ij->nij", std**2, np.eye(8))
    means = means @ _F.T
    covs = _F @ covs @ _F.T + q
    return means, covs


def update(mean: np.ndarray, cov: np.ndarray, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correct one track with an xyah measurement."""
    h = mean[3]
    r = np.diag(np.array([STD_POSITION * h, STD_POSITION * h, 1e-1, STD_POSITION * h]) ** 2)
    s = _H @ cov @ _H.T + r
    gain = np.linalg.solve(s, (cov @ _H.T).T).T
    mean = mean + gain @ (measurement - _H @ mean)
    cov = cov - gain @ s @ gain.T
    return mean, cov


def predict_tracks(tracks: list) -> None:
    """Advance every track (objects with ``mean`` [8] and ``cov`` [8, 8]) one frame, in place."""
    if not tracks:
        return
    means, covs = predict(np.stack([t.mean for t in tracks]), np.stack([t.cov for t in tracks]))
    for track, mean, cov in zip(tracks, means, covs):
        track.mean, track.cov = mean, cov
