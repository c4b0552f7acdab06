"""Small building blocks shared by the model families."""
from __future__ import annotations

import torch
import torch.nn as nn


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of ``divisor`` (TF-slim / MobileNet v2 rule):
    nearest multiple, never below ``min_value`` and never more than 10% below ``v``."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class ConvBNAct(nn.Sequential):
    """conv (no bias) -> BatchNorm -> activation (None for linear)."""

    def __init__(self, c_in, c_out, k=3, stride=1, padding=None, groups=1, dilation=1,
                 act: type[nn.Module] | None = nn.ReLU):
        if padding is None:
            padding = (k - 1) // 2 * dilation
        layers: list[nn.Module] = [
            nn.Conv2d(c_in, c_out, k, stride, padding, dilation=dilation, groups=groups, bias=False),
            nn.BatchNorm2d(c_out),
        ]
        if act is not None:
            layers.append(act(inplace=True) if act in (nn.ReLU, nn.ReLU6) else act())
        super().__init__(*layers)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet channel shuffle: reshape (g, c/g) -> transpose -> flatten (one copy)."""
    b, c, h, w = x.shape
    x = x.view(b, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(b, c, h, w)
