"""Tiny torch modules whose litert-torch conversions are checked in under tests/data/tflite/
(written by tests/data/make_tflite.py); the TFLite tests compare each file with costlab's trace
of the module."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    """conv+BN+ReLU6 (fused), depthwise conv+ReLU (fused), residual add, 1x1 conv + hardswish,
    max pool, global mean, linear, softmax."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6())
        self.dw = nn.Conv2d(8, 8, 3, 1, 1, groups=8)
        self.pw = nn.Conv2d(8, 16, 1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y = self.stem(x)
        y = y + torch.relu(self.dw(y))
        y = F.hardswish(self.pw(y))
        y = F.max_pool2d(y, 2).mean((2, 3))
        return torch.softmax(self.fc(y), -1)


class Ops(nn.Module):
    """grouped conv, channel shuffle, split, concat, pad, average pool, sigmoid gate, slice,
    nearest upsampling, a matrix product of two activations, index_select."""

    def __init__(self):
        super().__init__()
        self.gconv = nn.Conv2d(8, 8, 3, 1, 1, groups=2)
        self.conv = nn.Conv2d(4, 4, 1)
        self.register_buffer("idx", torch.tensor([0, 2, 4, 6]))

    def forward(self, x):
        y = self.gconv(x)
        b, c, h, w = y.shape
        y = y.view(b, 2, c // 2, h, w).transpose(1, 2).contiguous().view(b, c, h, w)   # channel shuffle
        a, z = y.chunk(2, dim=1)
        z = self.conv(z) * torch.sigmoid(z)
        y = torch.cat([a, z], 1)
        y = F.avg_pool2d(F.pad(y, (1, 1, 1, 1)), 2)                                  # 9x9 -> 4x4 (floor)
        y = F.interpolate(y[:, :, 1:, 1:], scale_factor=2, mode="nearest")          # 3x3 -> 6x6
        t = y.flatten(2)                                                            # 1x8x36
        att = torch.matmul(t, t.transpose(1, 2))                                    # 1x8x8
        return att.index_select(2, self.idx)


class _LRN(nn.Module):
    """conv, local response normalisation (AlexNet's: litert-torch lowers its window sum over
    channels to a STABLEHLO_REDUCE_WINDOW with an ADD body), max pool. A private class name on
    purpose: its module path must still read ``lrn``."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 1, 1)
        self.lrn = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)

    def forward(self, x):
        return F.max_pool2d(self.lrn(torch.relu(self.conv(x))), 2)


class Same(nn.Module):
    """The input's two channel halves concatenated again: the converter leaves no operator."""

    def forward(self, x):
        return torch.cat(x.chunk(2, dim=1), 1)


MODULES = {"net": (Net, (1, 3, 32, 32)), "ops": (Ops, (1, 8, 16, 16)), "lrn": (_LRN, (1, 3, 16, 16)),
           "same": (Same, (1, 4, 8, 8))}
