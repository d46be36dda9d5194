"""Dance-like motion for synthdance: synchronised formation changes that make dancers cross at different depths.

Dancers hold formation positions, then swap places every couple of seconds (a random permutation, so paths cross
in front of and behind each other), sway to a shared beat, spin now and then, and some enter or leave the stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motforge.synthdance.camera import Camera

STAGE_NEAR = 4.2
STAGE_FAR = 10.5
MIN_SEPARATION = 0.8
OFFSTAGE_MARGIN = 1.3


@dataclass(frozen=True)
class DancerPath:
    """One dancer's state per frame and fixed appearance parameters."""

    ident: int
    x: np.ndarray  # [T] lateral position on the floor (m)
    z: np.ndarray  # [T] forward position on the floor (m)
    yaw: np.ndarray  # [T] body rotation (rad), 0 = facing the camera
    height: float  # body height (m)
    build: float  # width factor around 1
    beat_phase: float  # offset of this dancer's arm swing from the shared beat
    shade: float  # small costume brightness variation


def _smoothstep(s: np.ndarray) -> np.ndarray:
    s = np.clip(s, 0.0, 1.0)
    return s * s * (3.0 - 2.0 * s)


def _formation(rng: np.random.Generator, camera: Camera, count: int) -> np.ndarray:
    """Sample ``count`` floor points on the visible stage at least MIN_SEPARATION apart."""
    points: list[tuple[float, float]] = []
    attempts = 0
    while len(points) < count:
        z = rng.uniform(STAGE_NEAR, STAGE_FAR)
        half = camera.visible_half_width(z) - 0.5
        x = rng.uniform(-half, half)
        attempts += 1
        if attempts > 2000 or all((x - px) ** 2 + (z - pz) ** 2 >= MIN_SEPARATION**2 for px, pz in points):
            points.append((x, z))
    return np.asarray(points)


def plan_dance(rng: np.random.Generator, camera: Camera, frames: int, fps: float, dancers: int) -> list[DancerPath]:
    """Plan every dancer's path for a sequence of ``frames`` frames."""
    keyframes = [0]
    while keyframes[-1] < frames - 1:
        keyframes.append(min(frames - 1, keyframes[-1] + int(rng.integers(int(1.6 * fps), int(3.2 * fps)))))
    formations = [_formation(rng, camera, dancers)[rng.permutation(dancers)] for _ in keyframes]
    positions = np.stack(formations)  # [K, n, 2]
    # entries and exits: off-stage beyond the side of the view before entering / after leaving
    for i in range(dancers):
        side = rng.choice([-1.0, 1.0])
        if len(keyframes) > 2 and rng.random() < 0.3:
            enter = int(rng.integers(1, len(keyframes) - 1))
            for k in range(enter):
                z = positions[enter, i, 1]
                positions[k, i] = (side * (camera.visible_half_width(z) + OFFSTAGE_MARGIN), z)
        if len(keyframes) > 3 and rng.random() < 0.25:
            leave = int(rng.integers(len(keyframes) // 2 + 1, len(keyframes)))
            for k in range(leave, len(keyframes)):
                z = positions[leave - 1, i, 1]
                positions[k, i] = (side * (camera.visible_half_width(z) + OFFSTAGE_MARGIN), z)
    t = np.arange(frames, dtype=np.float64)
    x = np.empty((dancers, frames))
    z = np.empty((dancers, frames))
    move_share = rng.uniform(0.5, 0.8)
    for k in range(len(keyframes) - 1):
        start, end = keyframes[k], keyframes[k + 1]
        span = slice(start, end + 1)
        s = _smoothstep((t[span] - start) / max(1.0, (end - start) * move_share))
        for i in range(dancers):
            x[i, span] = positions[k, i, 0] + (positions[k + 1, i, 0] - positions[k, i, 0]) * s
            z[i, span] = positions[k, i, 1] + (positions[k + 1, i, 1] - positions[k, i, 1]) * s
    if len(keyframes) == 1:
        x[:] = positions[0, :, :1]
        z[:] = positions[0, :, 1:]
    seconds = t / fps
    beat_hz = rng.uniform(0.6, 1.0)
    paths = []
    for i in range(dancers):
        sway_phase = rng.uniform(0, 2 * np.pi)
        xi = x[i] + 0.08 * np.sin(2 * np.pi * beat_hz * seconds + sway_phase)
        zi = z[i] + 0.05 * np.sin(np.pi * beat_hz * seconds + sway_phase)
        velocity = np.gradient(xi) * fps
        yaw = 0.6 * np.tanh(velocity / 1.5)
        for _ in range(int(rng.poisson(frames / (4.0 * fps)))):
            start = rng.uniform(0, frames)
            duration = rng.uniform(0.6, 1.2) * fps
            yaw = yaw + 2 * np.pi * rng.choice([-1.0, 1.0]) * _smoothstep((t - start) / duration)
        paths.append(
            DancerPath(
                ident=i + 1,
                x=xi,
                z=zi,
                yaw=yaw,
                height=float(rng.uniform(1.64, 1.80)),
                build=float(rng.uniform(0.93, 1.07)),
                beat_phase=float(rng.normal(0.0, 0.25)),
                shade=float(rng.uniform(-0.06, 0.06)),
            )
        )
    return paths
