"""Backbones with an FPN: a small CNN that trains on CPU at small scale, or torchvision ResNet-18/34/50 for full scale.

Pretrained weights come only from a local file (``pretrained``); nothing is downloaded.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn as nn
from torchvision.ops import FeaturePyramidNetwork

from motforge.errors import MissingWeightsError
from motforge.io.weights import load_weights


def conv_bn(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    """Five stride-2 stages; returns C3, C4, C5 (strides 8, 16, 32)."""

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 96, 128)) -> None:
        super().__init__()
        chans = (3,) + widths
        self.stages = nn.ModuleList(
            nn.Sequential(conv_bn(chans[i], chans[i + 1], 2), conv_bn(chans[i + 1], chans[i + 1], 1)) for i in range(5)
        )
        self.out_channels = list(widths[2:])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i >= 2:
                outs.append(x)
        return outs


class ResNetBackbone(nn.Module):
    def __init__(self, name: str) -> None:
        super().__init__()
        import torchvision

        net = getattr(torchvision.models, name)(weights=None)
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1)
        self.layer2, self.layer3, self.layer4 = net.layer2, net.layer3, net.layer4
        expansion = 4 if name == "resnet50" else 1
        self.out_channels = [128 * expansion, 256 * expansion, 512 * expansion]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        c2 = self.stem(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        return [c3, c4, self.layer4(c4)]


class BackboneFPN(nn.Module):
    """Backbone features at strides 8/16/32 through torchvision's FPN, all with ``channels`` channels."""

    def __init__(self, name: str, channels: int, pretrained: str = "") -> None:
        super().__init__()
        self.body = SmallCNN() if name == "small" else ResNetBackbone(name)
        if pretrained:
            path = Path(pretrained)
            if not path.is_file():
                raise MissingWeightsError(
                    f"backbone weights not found: {path} (set model.pretrained to a local file or leave it empty)"
                )
            state = load_weights(path, "config key 'models.<model>.pretrained'")
            missing, unexpected = self.body.load_state_dict(state, strict=False)
            if len(unexpected) == len(state):
                raise MissingWeightsError(f"{path}: none of its tensors fit the {name} backbone")
        self.fpn = FeaturePyramidNetwork(self.body.out_channels, channels)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = self.body(x)
        out = self.fpn(OrderedDict((str(i), f) for i, f in enumerate(feats)))
        return list(out.values())
