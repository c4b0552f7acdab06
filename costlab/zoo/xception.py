"""Xception.

Chollet 2017, "Xception: Deep Learning with Depthwise Separable Convolutions",
arXiv:1610.02357, Fig. 5 (entry flow, middle flow repeated 8 times, exit flow) and
Table 3 (22,855,952 parameters; "no fully-connected layers" = no hidden FC layers, the
1000-way logistic layer is counted, CONVENTIONS.md section 2.5).

Checked against keras-team/keras-applications keras_applications/xception.py (the
author's reference implementation, whose trainable count is the paper's 22,855,952):
  * block1: conv 3x3/2 32 valid -> BN -> ReLU -> conv 3x3 64 valid -> BN -> ReLU
    (299 -> 149 -> 147); convs without bias.
  * blocks 2-4 and 13: residual = 1x1/2 conv (no bias) -> BN; main path = [ReLU] ->
    SeparableConv 3x3 -> BN -> ReLU -> SeparableConv 3x3 -> BN -> max pool 3x3/2 'same';
    add.  Block 2 has no leading ReLU (block1 already ends in one).  Widths 128, 256, 728,
    and (728, 1024) for block 13 (147 -> 74 -> 37 -> 19 -> 10).
  * blocks 5-12 (middle flow): 3 x (ReLU -> SeparableConv 3x3 728 -> BN); identity add.
  * block14: SeparableConv 1536 -> BN -> ReLU -> SeparableConv 2048 -> BN -> ReLU.
  * head: global average pool -> Dense(classes) with bias.
  * SeparableConv2D(use_bias=False) = depthwise 3x3 (groups = channels, no bias, depth
    multiplier 1) followed by a pointwise 1x1 conv, no BN/ReLU in between.
  * BatchNormalization has gamma and beta (trainable) and moving mean/variance
    (non-trainable, 54,528 in Keras' 22,910,480 total).
'Same' max pools/strided 1x1 convs map to PyTorch padding 1 / 0 with identical output
sizes at every stage (147->74, 74->37, 37->19, 19->10).
Counts at 299: 22,855,952 params (exact), 8,357.4 M conv + FC MACs.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .registry import Knob, PaperRow, paper_rows, register_model

_PAPER = "Chollet 2017, Xception: Deep Learning with Depthwise Separable Convolutions, arXiv:1610.02357"

# --------------------------------------------------------------------------------------
# Chollet 2017 Fig. 5 (= keras xception.py).  Entry/exit blocks with a strided 1x1
# residual: name, (separable conv widths), leading ReLU.
_ENTRY_FLOW = (
    ("block2", (128, 128), False),   # 147x147x64 -> 74x74x128
    ("block3", (256, 256), True),    # -> 37x37x256
    ("block4", (728, 728), True),    # -> 19x19x728
)
_MIDDLE_REPEATS, _MIDDLE_WIDTH = 8, 728            # blocks 5..12, 19x19x728
_EXIT_BLOCK = ("block13", (728, 1024), True)       # -> 10x10x1024
_EXIT_CONVS = (1536, 2048)                          # block14 separable convs, 10x10


class SeparableConv2d(nn.Module):
    """Depthwise k x k conv (groups = channels) followed by a pointwise 1x1 conv, no bias."""

    def __init__(self, c_in: int, c_out: int, k: int = 3):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, k, 1, k // 2, groups=c_in, bias=False)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class EntryBlock(nn.Module):
    """Two separable convs + 3x3/2 max pool, with a strided 1x1 conv (+BN) shortcut."""

    def __init__(self, c_in: int, widths: tuple[int, int], first_relu: bool):
        super().__init__()
        c1, c2 = widths
        # not in-place: the block input also feeds the shortcut
        self.relu1 = nn.ReLU() if first_relu else nn.Identity()
        self.sepconv1 = SeparableConv2d(c_in, c1)
        self.bn1 = nn.BatchNorm2d(c1)
        self.relu2 = nn.ReLU(inplace=True)
        self.sepconv2 = SeparableConv2d(c1, c2)
        self.bn2 = nn.BatchNorm2d(c2)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.shortcut = nn.Sequential(nn.Conv2d(c_in, c2, 1, stride=2, bias=False),
                                      nn.BatchNorm2d(c2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn1(self.sepconv1(self.relu1(x)))
        y = self.pool(self.bn2(self.sepconv2(self.relu2(y))))
        return y + self.shortcut(x)


class MiddleBlock(nn.Module):
    """3 x (ReLU -> separable conv -> BN) with an identity shortcut."""

    def __init__(self, c: int):
        super().__init__()
        self.relu1 = nn.ReLU()      # not in-place: x is the shortcut
        self.sepconv1 = SeparableConv2d(c, c)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu2 = nn.ReLU(inplace=True)
        self.sepconv2 = SeparableConv2d(c, c)
        self.bn2 = nn.BatchNorm2d(c)
        self.relu3 = nn.ReLU(inplace=True)
        self.sepconv3 = SeparableConv2d(c, c)
        self.bn3 = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn1(self.sepconv1(self.relu1(x)))
        y = self.bn2(self.sepconv2(self.relu2(y)))
        y = self.bn3(self.sepconv3(self.relu3(y)))
        return y + x


def _sep_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(SeparableConv2d(c_in, c_out), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class Xception(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        entry = nn.Sequential()
        entry.add_module("block1", nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=2, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True)))
        c = 64
        for name, widths, first_relu in _ENTRY_FLOW:
            entry.add_module(name, EntryBlock(c, widths, first_relu))
            c = widths[-1]
        self.entry_flow = entry
        middle = nn.Sequential()
        for i in range(_MIDDLE_REPEATS):
            middle.add_module(f"block{5 + i}", MiddleBlock(_MIDDLE_WIDTH))
        self.middle_flow = middle
        exit_flow = nn.Sequential()
        name, widths, first_relu = _EXIT_BLOCK
        exit_flow.add_module(name, EntryBlock(c, widths, first_relu))
        c = widths[-1]
        block14 = nn.Sequential()
        for j, w in enumerate(_EXIT_CONVS):
            block14.add_module(f"sepconv{j + 1}", _sep_bn_relu(c, w))
            c = w
        exit_flow.add_module("block14", block14)
        self.exit_flow = exit_flow
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)              # Keras 'predictions', 2048 -> classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.exit_flow(self.middle_flow(self.entry_flow(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@register_model(
    "xception",
    paper=_PAPER,
    family="inception",
    knobs={"num_classes": Knob(1000, "classifier classes", type=int, low=1)},
    resolution=299,
    in_channels=3,
)
def xception(num_classes: int = 1000) -> nn.Module:
    """Xception (Chollet 2017, Fig. 5), as in Keras applications."""
    return Xception(num_classes=num_classes).eval()


# --------------------------------------------------------------------------------------
paper_rows(
    PaperRow("Xception", "paper", "xception", ("params",)),
    PaperRow("Xception", "Keras include_top=True", "xception", ("params",),
             reasons={"params": "Keras total 22,910,480 also counts the BN moving mean/variance "
                                "(54,528 non-trainable); costlab counts nn.Parameters only: "
                                "22,855,952 = Keras trainable = the paper (-0.24%)"}),
)
