"""Colour augmentation of a training clip: one random hue rotation, saturation and brightness scale for every frame
of the clip, so an identity keeps one appearance within the clip while the model sees costume colours the training
sequences lack (the dense model's seed spread comes from a val costume colour no training sequence has)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SATURATION_RANGE = (0.5, 1.5)
BRIGHTNESS_RANGE = (0.7, 1.3)


@dataclass(frozen=True)
class Recolour:
    hue: int  # OpenCV hue units (0..179, 2 degrees each) added modulo 180
    saturation: float
    brightness: float

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Recolour:
        return cls(
            int(rng.integers(0, 180)), float(rng.uniform(*SATURATION_RANGE)), float(rng.uniform(*BRIGHTNESS_RANGE))
        )

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """RGB uint8 [H, W, 3] -> recoloured RGB uint8 (HSV arithmetic, clipped to 0..255)."""
        hsv = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2HSV).astype(np.float32)
        hsv[..., 0] = (hsv[..., 0] + self.hue) % 180
        hsv[..., 1] = np.clip(hsv[..., 1] * self.saturation, 0, 255)
        hsv[..., 2] = np.clip(hsv[..., 2] * self.brightness, 0, 255)
        return cv2.cvtColor(np.rint(hsv).astype(np.uint8), cv2.COLOR_HSV2RGB)
