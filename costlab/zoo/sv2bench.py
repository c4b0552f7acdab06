"""ShuffleNet V2's benchmark networks (Ma et al. 2018, arXiv:1807.11164, Sec. 2, Tables 1-4).

The paper validates its guidelines G1-G4 on small benchmark networks that run on a
56 x 56 feature map (the input *is* that feature map: ``N x c x 56 x 56``, no stem, no
classifier). Read from the paper's Sec. 2 (two independent transcriptions agree):

* **Table 1 (G1)**: "A benchmark network is built by stacking 10 building blocks
  repeatedly. Each block contains two convolution layers. The first contains c1 input
  channels and c2 output channels, and the second otherwise." Both are 1 x 1 (G1 studies
  the 1 x 1 conv). ``sv2bench_g1:c1=32,ratio=1`` ... the table's (c1, c2) "for x1";
  its x2 / x4 columns double / quadruple both widths (on ARM the x1 -> x2 step slows the
  network ~3.5x, i.e. 4x FLOPs, so x2 scales channels, not FLOPs).
* **Table 2 (G2)**: "a benchmark network is built by stacking 10 pointwise group
  convolution layers"; total FLOPs are fixed by varying the channels c (c -> c, groups g).
  ``sv2bench_g2:c=64,groups=1``.
* **Table 3 (G3)**: "each building block consists of from 1 to 4 1 x 1 convolutions,
  which are arranged in sequence or in parallel ... Each block is repeatedly stacked for
  10 times"; c is the width of the 1-fragment block, "the channel number in other
  fragmented structures is adjusted so that the FLOPs is the same". Series: k convs of
  round(c / sqrt(k)) channels. Parallel: k branches of 1 x 1 convs c -> c/k whose outputs
  are concatenated (Inception-style multi-path, the structure G3 is about), which keeps
  both the width c and the FLOPs. (The appendix figure that draws these blocks was not
  available as text; the concat merge is our reading of it.)
  ``sv2bench_g3:c=64,fragments=4,arrangement=parallel``. The 1-fragment network equals
  Table 2's g = 1 network, and the paper's speeds agree (GPU 2446 vs 2451, ARM 40.2 vs 40.0).
* **Table 4 (G4)**: the ResNet "bottleneck" unit (1x1, 3x3, 1x1, with ReLU and shortcut),
  ReLU and/or shortcut removed; "c is the number of channels in unit" and the unit is
  stacked 10 times. We read c as the unit's input/output width with the ResNet bottleneck
  width c/4 (the other readings imply more than 10 TFLOP/s on the GTX 1080Ti and more
  than 20 GMAC/s on one Cortex-A57). ``sv2bench_g4:c=32,relu=1,shortcut=1``.

The paper does not say whether BN is present; the convs here have no BN and no bias
(a runtime with "tensor fusion" folds BN into the conv anyway). Family ``sv2bench``.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from ..errors import InputError
from .registry import Knob, SpecError, register_model

_PAPER = "Ma et al. 2018, ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design, arXiv:1807.11164 (Sec. 2, Tables 1-4)"
_FAMILY = "sv2bench"
_RES = 56


class _Bench(nn.Module):
    """Checks the input width against the network's, then runs the stacked blocks."""

    def __init__(self, name: str, channels: int, body: nn.Module):
        super().__init__()
        self._bench_name = name
        self._channels = channels
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self._channels:
            raise InputError(
                f"{self._bench_name} runs on a {self._channels}-channel 56x56 feature map, got input "
                f"{'x'.join(str(d) for d in x.shape)}; pass --input-shape 1x{self._channels}x56x56"
            )
        return self.body(x)


def _pw(cin: int, cout: int, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, 1, 0, groups=groups, bias=False)


class _G1Block(nn.Sequential):
    def __init__(self, c1: int, c2: int):
        super().__init__(_pw(c1, c2), _pw(c2, c1))


@register_model(
    "sv2bench_g1", paper=_PAPER, family=_FAMILY, resolution=_RES, in_channels=32,
    knobs={
        "c1": Knob(32, "input/output channels of each block (Table 1's c1 'for x1', x2 / x4 doubled)", type=int, low=1),
        "ratio": Knob(1, "c2 = c1 * ratio (Table 1: 1, 2, 6, 12)", type=int, low=1, high=64),
        "blocks": Knob(10, "blocks stacked", type=int, low=1, high=100),
    },
    description="G1 benchmark: blocks of two 1x1 convs c1->c2->c1 on 56x56 (Table 1)",
)
def sv2bench_g1(c1=32, ratio=1, blocks=10) -> nn.Module:
    return _Bench(f"sv2bench_g1:c1={c1}", c1, nn.Sequential(*[_G1Block(c1, c1 * ratio) for _ in range(blocks)])).eval()


@register_model(
    "sv2bench_g2", paper=_PAPER, family=_FAMILY, resolution=_RES, in_channels=64,
    knobs={
        "c": Knob(64, "channels (Table 2's c 'for x1', x2 / x4 doubled)", type=int, low=1),
        "groups": Knob(1, "groups of each 1x1 conv (Table 2: 1, 2, 4, 8)", type=int, low=1),
        "layers": Knob(10, "layers stacked", type=int, low=1, high=100),
    },
    description="G2 benchmark: stacked 1x1 group convs c->c on 56x56 (Table 2)",
)
def sv2bench_g2(c=64, groups=1, layers=10) -> nn.Module:
    if c % groups:
        raise SpecError(f"sv2bench_g2: groups={groups} must divide c={c}")
    return _Bench(f"sv2bench_g2:c={c}", c, nn.Sequential(*[_pw(c, c, groups) for _ in range(layers)])).eval()


class _Parallel(nn.Module):
    def __init__(self, c: int, k: int):
        super().__init__()
        self.branches = nn.ModuleList(_pw(c, c // k) for _ in range(k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], dim=1)


def g3_width(c: int, fragments: int, arrangement: str) -> int:
    """Width of each conv so the block's FLOPs equal the 1-fragment block's."""
    if arrangement == "series":
        return int(round(c / math.sqrt(fragments)))
    return c


@register_model(
    "sv2bench_g3", paper=_PAPER, family=_FAMILY, resolution=_RES, in_channels=64,
    knobs={
        "c": Knob(64, "channels of the 1-fragment block (Table 3's c)", type=int, low=1),
        "fragments": Knob(1, "1x1 convs per block", type=int, choices=(1, 2, 4)),
        "arrangement": Knob("series", "series | parallel", type=str, choices=("series", "parallel")),
        "blocks": Knob(10, "blocks stacked", type=int, low=1, high=100),
    },
    description="G3 benchmark: blocks of 1-4 1x1 convs in series or in parallel on 56x56, equal FLOPs (Table 3)",
)
def sv2bench_g3(c=64, fragments=1, arrangement="series", blocks=10) -> nn.Module:
    w = g3_width(c, fragments, arrangement)
    if arrangement == "parallel" and c % fragments:
        raise SpecError(f"sv2bench_g3: fragments={fragments} must divide c={c} for parallel blocks")
    if arrangement == "series" or fragments == 1:
        body = nn.Sequential(*[_pw(w, w) for _ in range(blocks * fragments)])
    else:
        body = nn.Sequential(*[_Parallel(c, fragments) for _ in range(blocks)])
    return _Bench(f"sv2bench_g3:c={c},fragments={fragments},arrangement={arrangement}", w, body).eval()


class _Bottleneck(nn.Module):
    """ResNet bottleneck c -> c/4 -> c/4 -> c, optional ReLUs and identity shortcut."""

    def __init__(self, c: int, relu: bool, shortcut: bool):
        super().__init__()
        m = max(1, c // 4)
        self.conv1 = nn.Conv2d(c, m, 1, bias=False)
        self.conv2 = nn.Conv2d(m, m, 3, 1, 1, bias=False)
        self.conv3 = nn.Conv2d(m, c, 1, bias=False)
        self.relu = nn.ReLU(inplace=True) if relu else None
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)
        if self.relu is not None:
            out = self.relu(out)
        out = self.conv2(out)
        if self.relu is not None:
            out = self.relu(out)
        out = self.conv3(out)
        if self.shortcut:
            out = out + x
        if self.relu is not None:
            out = self.relu(out)
        return out


@register_model(
    "sv2bench_g4", paper=_PAPER, family=_FAMILY, resolution=_RES, in_channels=32,
    knobs={
        "c": Knob(32, "input/output channels of the bottleneck unit (width c/4 inside)", type=int, low=4),
        "relu": Knob(1, "keep the ReLUs", type=int, choices=(0, 1)),
        "shortcut": Knob(1, "keep the identity shortcut", type=int, choices=(0, 1)),
        "units": Knob(10, "units stacked", type=int, low=1, high=100),
    },
    description="G4 benchmark: ResNet bottleneck units with/without ReLU and shortcut on 56x56 (Table 4)",
)
def sv2bench_g4(c=32, relu=1, shortcut=1, units=10) -> nn.Module:
    body = nn.Sequential(*[_Bottleneck(c, bool(relu), bool(shortcut)) for _ in range(units)])
    return _Bench(f"sv2bench_g4:c={c}", c, body).eval()
