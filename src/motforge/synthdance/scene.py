"""The static stage (perspective plank floor and curtain) and the shared costume palette of a sequence."""

from __future__ import annotations

import numpy as np

from motforge.synthdance.camera import Camera
from motforge.synthdance.dancer import ARMS, BELT, FACE, HAIR, LEGS, SHOES, SKIRT, TORSO

WALL_Z = 14.0


def render_stage(camera: Camera, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """BGR uint8 background and its float32 depth (m)."""
    depth, world_x, world_z, on_floor = camera.background_depth(WALL_Z)
    plank_width = rng.uniform(0.18, 0.3)
    plank = np.floor(world_x / plank_width).astype(np.int64)
    plank_tone = rng.uniform(0.85, 1.15, size=512)[plank % 512]
    grain = 0.06 * np.sin(world_z * rng.uniform(25, 45) + (plank % 7) * 1.3)
    floor_base = np.array(rng.uniform([60, 90, 120], [90, 120, 160]))  # warm wood, BGR
    floor = floor_base[None, None, :] * (plank_tone + grain)[..., None]
    # spotlights on the floor
    for _ in range(3):
        cx, cz = rng.uniform(-3, 3), rng.uniform(5, 10)
        floor *= (1.0 + 0.35 * np.exp(-((world_x - cx) ** 2 + (world_z - cz) ** 2) / 4.0))[..., None]
    curtain_base = np.array(rng.uniform([30, 20, 70], [60, 40, 120]))
    folds = 0.75 + 0.25 * np.sin(world_x * rng.uniform(4, 7))
    curtain = curtain_base[None, None, :] * folds[..., None]
    image = np.where(on_floor[..., None], floor, curtain)
    distance_fade = np.clip(1.1 - depth / 40.0, 0.6, 1.0)
    image = np.clip(image * distance_fade[..., None], 0, 255).astype(np.uint8)
    return image, depth


def costume_palette(rng: np.random.Generator) -> np.ndarray:
    """[9, 3] BGR colours per part label, shared by all dancers of a sequence (DanceTrack's uniform look)."""
    palette = np.zeros((9, 3), dtype=np.float32)
    costume = rng.uniform(40, 220, size=3)
    palette[SKIRT] = costume
    palette[TORSO] = costume * rng.uniform(0.85, 1.0)
    palette[BELT] = rng.uniform(150, 255, size=3)
    palette[LEGS] = rng.uniform(20, 70, size=3)
    palette[SHOES] = rng.uniform(10, 40, size=3)
    skin = np.array([rng.uniform(120, 170), rng.uniform(150, 190), rng.uniform(190, 235)])
    palette[FACE] = skin
    palette[ARMS] = skin if rng.random() < 0.5 else costume * 0.9
    palette[HAIR] = rng.uniform(15, 50, size=3)
    return palette


def dancer_palette(shared: np.ndarray, shade: float, rng: np.random.Generator) -> np.ndarray:
    """A dancer's colours: the shared costume with a small brightness and hue variation."""
    jitter = 1.0 + shade + rng.normal(0.0, 0.02, size=shared.shape)
    return np.clip(shared * jitter, 0, 255).astype(np.uint8)
