"""Appearance augmentation of a training clip, drawn once per clip so an identity keeps one appearance within it.

Two kinds, each its own switch: a random hue rotation, saturation and brightness scale (``Recolour``), and
RandAugment's solarize (``Solarize``: every channel value at or above a threshold inverted). The first changes costume
colours but keeps the brightness order of costume and floor; the second turns bright costumes dark while the floor's
darker planks stay, the case the dense model's seed spread comes from (synthdance's val costume 0004 is dark green on
the light floor, every training costume is lighter)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torchvision.transforms.v2.functional import solarize

SATURATION_RANGE = (0.5, 1.5)
BRIGHTNESS_RANGE = (0.7, 1.3)
SOLARIZE_THRESHOLD_RANGE = (96, 192)  # uint8 levels: bright costume channels flip, dark floor planks and curtain stay


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


@dataclass(frozen=True)
class Solarize:
    threshold: int  # channel values >= threshold become 255 - value (torchvision's solarize)

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Solarize:
        low, high = SOLARIZE_THRESHOLD_RANGE
        return cls(int(rng.integers(low, high + 1)))

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """RGB uint8 [H, W, 3] -> solarized RGB uint8."""
        channels_first = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
        return solarize(channels_first, float(self.threshold)).permute(1, 2, 0).contiguous().numpy()
