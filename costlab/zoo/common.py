"""Small building blocks shared by the model families."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..errors import InputError


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


def check_input(name: str, x: torch.Tensor, channels: int) -> None:
    """Refuse an input that is not N x ``channels`` x H x W, with the fix in the message."""
    if x.dim() != 4 or x.shape[1] != channels:
        raise InputError(f"{name} expects an N x {channels} x H x W input, got "
                         f"{'x'.join(str(d) for d in x.shape)}; pass --input-shape 1x{channels}xHxW")


class Checked(nn.Module):
    """Checks the input's channels, then runs one block (block entries are traced alone)."""

    def __init__(self, name: str, channels: int, body: nn.Module):
        super().__init__()
        self._name, self._channels, self.body = name, channels, body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self._name, x, self._channels)
        return self.body(x)


def one_input_shape(name: str, input_shape, channels: int = 3, example: str = "1x3x32x32") -> tuple[int, ...]:
    """The one N x C x H x W shape of a block decomposition's input (a shape or [shape])."""
    shape = input_shape
    if isinstance(shape, (list, tuple)) and len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = shape[0]
    shape = tuple(int(d) for d in shape)
    if len(shape) != 4 or shape[1] != channels:
        raise InputError(f"{name} takes one N x {channels} x H x W input, got {'x'.join(map(str, shape))}; "
                         f"pass --input-shape {example}")
    return shape
