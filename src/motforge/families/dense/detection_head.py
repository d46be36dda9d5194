"""A dense anchor-free detection head on the stride-8 map: per location a person logit and ltrb distances."""

from __future__ import annotations

import torch
import torch.nn as nn

STRIDE = 8


class DenseHead(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.tower = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.GroupNorm(8, channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.GroupNorm(8, channels),
            nn.ReLU(inplace=True),
        )
        self.cls = nn.Conv2d(channels, 1, 3, padding=1)
        self.box = nn.Conv2d(channels, 4, 3, padding=1)
        nn.init.constant_(self.cls.bias, -4.6)  # prior probability 0.01, as focal-loss detectors start

    def forward(self, p3: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits [B, H, W] and ltrb distances in pixels [B, H, W, 4]."""
        x = self.tower(p3)
        return self.cls(x)[:, 0], (torch.relu(self.box(x)) * STRIDE * 4).permute(0, 2, 3, 1)


def location_grid(height: int, width: int, device: torch.device) -> torch.Tensor:
    """Pixel centres of the stride-8 locations, [H, W, 2] (x, y)."""
    ys, xs = torch.meshgrid(torch.arange(height, device=device), torch.arange(width, device=device), indexing="ij")
    return torch.stack([(xs + 0.5) * STRIDE, (ys + 0.5) * STRIDE], dim=-1).float()


def decode_boxes(ltrb: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """ltrb [..., H, W, 4] + grid [H, W, 2] -> xyxy [..., H, W, 4]."""
    return torch.cat([grid - ltrb[..., :2], grid + ltrb[..., 2:]], dim=-1)
