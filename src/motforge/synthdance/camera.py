"""A pinhole camera at a fixed height, pitched down at a stage floor; gives exact per-pixel depth of the scene.

World frame: X right, Y up, Z forward along the floor; the camera sits at (0, height, 0). Depth is the camera-z
coordinate in metres (what depth sensors and Video Depth Anything's metric models report).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    width: int
    height: int
    hfov_deg: float = 62.0
    cam_height: float = 2.6
    pitch_deg: float = 11.0

    @property
    def focal(self) -> float:
        return self.width / (2.0 * math.tan(math.radians(self.hfov_deg) / 2.0))

    @property
    def cx(self) -> float:
        return (self.width - 1) / 2.0

    @property
    def cy(self) -> float:
        return (self.height - 1) / 2.0

    def _trig(self) -> tuple[float, float]:
        pitch = math.radians(self.pitch_deg)
        return math.sin(pitch), math.cos(pitch)

    def project(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World points -> pixel u, v and camera depth."""
        s, c = self._trig()
        dy = np.asarray(y, dtype=np.float64) - self.cam_height
        z = np.asarray(z, dtype=np.float64)
        depth = -dy * s + z * c
        down = -dy * c - z * s
        u = self.cx + self.focal * np.asarray(x, dtype=np.float64) / depth
        v = self.cy + self.focal * down / depth
        return u, v, depth

    def ray_depth_to_plane_z(self, v: np.ndarray, plane_z: float) -> np.ndarray:
        """Camera depth of the point where the ray through image row ``v`` meets the vertical plane Z = plane_z."""
        s, c = self._trig()
        b = (np.asarray(v, dtype=np.float64) - self.cy) / self.focal
        return plane_z / (c - s * b)

    def background_depth(self, wall_z: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per-pixel depth of the floor (Y=0) and back wall (Z=wall_z), with each pixel's world X, Z and a floor
        flag."""
        s, c = self._trig()
        v, u = np.mgrid[0 : self.height, 0 : self.width].astype(np.float64)
        a = (u - self.cx) / self.focal
        b = (v - self.cy) / self.focal
        down_y = c * b + s  # how fast the ray descends per unit of camera depth
        with np.errstate(divide="ignore", invalid="ignore"):
            t_floor = np.where(down_y > 1e-9, self.cam_height / down_y, np.inf)
            forward_z = c - s * b
            t_wall = np.where(forward_z > 1e-9, wall_z / forward_z, np.inf)
        on_floor = t_floor < t_wall
        depth = np.minimum(t_floor, t_wall)
        world_x = a * depth
        world_z = depth * forward_z
        return depth.astype(np.float32), world_x, world_z, on_floor

    def visible_half_width(self, z: float) -> float:
        """Half the width of the view at floor distance z (metres), for placing dancers on and off stage."""
        return z * self.width / (2.0 * self.focal)
