"""Micro-benchmark modules: single ops and single blocks, as zoo entries.

``costlab profile`` times these on the local device; each timing becomes a profile
sample whose ``spec`` (e.g. ``'micro_conv:cin=32,cout=64,k=1'``) costlab can build and
trace like any zoo model, so op-, block- and network-level samples all calibrate the
same per-class predictor parameters.

Conventions shared by every ``micro_*`` entry:

* The knob ``c`` (``cin`` for conv and linear) is the number of channels of the
  module's **input**; the sample's ``input_shape`` gives the rest (``N x c x H x W``).
  A mismatching input is refused with a one-line error that says which shape to pass.
* An entry's default input shape (``costlab analyze micro_conv``) fits its default knobs:
  ``1 x c x 56 x 56`` (``1 x cin x 1 x 1`` for ``micro_linear``).
* ``micro_add`` and ``micro_cat`` take their operands from the two (or ``parts``) channel
  halves of the one input (``torch.chunk``: views, no copy), so a sample stays a single
  input tensor; ``micro_add:c=128`` adds two 64-channel tensors.
* ``micro_block_*`` entries are the zoo's own blocks (``DepthwiseSeparable``,
  ``InvertedResidual``, ShuffleNet v1/v2 units, ResNet blocks), unchanged.

Family of every entry: ``micro`` (``--holdout family`` keeps them in training).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .common import channel_shuffle
from ..errors import InputError
from .registry import Knob, SpecError, register_model

_PAPER = "costlab micro-benchmark (single op / block, for latency profiling)"
_FAMILY = "micro"
_RES = 56


def granularity_of(spec: str) -> str:
    """'op' for ``micro_*`` entries, 'block' for ``micro_block_*``, else 'network'."""
    name = spec.split(":", 1)[0].strip()
    if name.startswith("micro_block_"):
        return "block"
    if name.startswith("micro_"):
        return "op"
    return "network"


def _c(default: int, help: str = "input channels") -> Knob:
    return Knob(default, help, type=int, low=1)


class _Micro(nn.Module):
    """Checks the input's channel count against the knob, then runs ``body``."""

    def __init__(self, name: str, channels: int, body: nn.Module, flat: bool = False):
        super().__init__()
        self._micro_name = name
        self._channels = channels
        self._flat = flat
        self.body = body

    def _check(self, x: torch.Tensor) -> None:
        ok = x.dim() >= 2 and x.shape[1] == self._channels
        if ok and self._flat:
            ok = x[0].numel() == self._channels
        if not ok:
            want = f"1x{self._channels}x1x1" if self._flat else f"1x{self._channels}x56x56"
            raise InputError(
                f"{self._micro_name} expects an input with {self._channels} channels, got shape "
                f"{'x'.join(str(d) for d in x.shape)}; pass --input-shape {want} or change its knob"
            )

    def forward(self, x: torch.Tensor):
        self._check(x)
        return self.body(x)


# -- single ops ---------------------------------------------------------------------------


class _Flatten(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(x, 1)


class _Chunked(nn.Module):
    """``op`` applied to the ``parts`` channel chunks of the input (views, no copy)."""

    def __init__(self, op: str, parts: int):
        super().__init__()
        self.op, self.parts = op, parts

    def forward(self, x: torch.Tensor):
        chunks = torch.chunk(x, self.parts, dim=1)
        if self.op == "add":
            return chunks[0] + chunks[1]
        if self.op == "cat":
            return torch.cat(chunks, dim=1)
        return chunks  # split: views only

    def extra_repr(self) -> str:
        return f"op={self.op}, parts={self.parts}"


class _Shuffle(nn.Module):
    """``transpose``: ShuffleNet v1 channel shuffle (reshape, transpose, contiguous copy).
    ``even_odd``: the official ShuffleNet v2 shuffle + split (reshape, permute, reshape,
    index): every step is a view, so no data moves here; the op that reads the two strided
    halves pays for it."""

    def __init__(self, groups: int, style: str):
        super().__init__()
        self.groups, self.style = groups, style

    def forward(self, x: torch.Tensor):
        if self.style == "transpose":
            return channel_shuffle(x, self.groups)
        b, c, h, w = x.shape
        y = x.reshape(b * c // 2, 2, h * w).permute(1, 0, 2).reshape(2, -1, c // 2, h, w)
        return y[0], y[1]

    def extra_repr(self) -> str:
        return f"groups={self.groups}, style={self.style}"


_ACTS = ("relu", "relu6", "leaky", "hardswish", "sigmoid", "silu", "mish")


def _act(name: str, inplace: bool) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=inplace)
    if name == "relu6":
        return nn.ReLU6(inplace=inplace)
    if name == "leaky":
        return nn.LeakyReLU(0.1, inplace=inplace)
    return {"hardswish": nn.Hardswish, "sigmoid": nn.Sigmoid, "silu": nn.SiLU, "mish": nn.Mish}[name]()


@register_model(
    "micro_conv", paper=_PAPER, family=_FAMILY, resolution=_RES, in_channels=32,
    knobs={
        "cin": _c(32),
        "cout": Knob(32, "output channels", type=int, low=1),
        "k": Knob(3, "kernel height (and width unless kw is set)", type=int, low=1, high=15),
        "kw": Knob(0, "kernel width (0: same as k)", type=int, low=0, high=15),
        "stride": Knob(1, "stride", type=int, low=1, high=8),
        "groups": Knob(1, "groups (= cin for depthwise)", type=int, low=1),
        "bias": Knob(0, "conv bias", type=int, choices=(0, 1)),
        "act": Knob("none", "an activation after the conv (a runtime may fuse it into the conv)", type=str,
                    choices=("none",) + _ACTS),
    },
    description="one Conv2d (pointwise, dense, depthwise or group by its knobs), padding k//2; "
                "optionally an activation after it",
)
def micro_conv(cin=32, cout=32, k=3, kw=0, stride=1, groups=1, bias=0, act="none") -> nn.Module:
    if cin % groups or cout % groups:
        raise SpecError(f"micro_conv: groups={groups} must divide cin={cin} and cout={cout}")
    kw = kw or k
    conv = nn.Conv2d(cin, cout, (k, kw), stride, (k // 2, kw // 2), groups=groups, bias=bool(bias))
    if act != "none":
        conv = nn.Sequential(conv, _act(act, False))
    return _Micro("micro_conv", cin, conv).eval()


@register_model(
    "micro_linear", paper=_PAPER, family=_FAMILY, resolution=1, in_channels=1024,
    knobs={
        "cin": _c(1024, "input features"),
        "cout": Knob(1000, "output features", type=int, low=1),
        "bias": Knob(1, "bias (0: a plain matmul, as ShuffleNet's classifiers)", type=int, choices=(0, 1)),
    },
    description="flatten + one Linear; input N x cin (x 1 x 1)",
)
def micro_linear(cin=1024, cout=1000, bias=1) -> nn.Module:
    body = nn.Sequential(_Flatten(), nn.Linear(cin, cout, bias=bool(bias)))
    return _Micro("micro_linear", cin, body, flat=True).eval()


@register_model(
    "micro_pool", paper=_PAPER, family=_FAMILY, resolution=_RES, in_channels=64,
    knobs={
        "c": _c(64),
        "kind": Knob("max", "max | avg (window pools), gap (global average), adaptive (to out x out)",
                     type=str, choices=("max", "avg", "gap", "adaptive")),
        "k": Knob(3, "window", type=int, low=1, high=15),
        "stride": Knob(2, "stride", type=int, low=1, high=15),
        "pad": Knob(1, "padding", type=int, low=0, high=7),
        "out": Knob(7, "output side for kind=adaptive", type=int, low=1),
    },
    description="one pooling op: max/avg window, global average, or adaptive average",
)
def micro_pool(c=64, kind="max", k=3, stride=2, pad=1, out=7) -> nn.Module:
    if pad * 2 > k:
        raise SpecError(f"micro_pool: pad={pad} must be at most half of k={k}")
    body = {"max": lambda: nn.MaxPool2d(k, stride, pad), "avg": lambda: nn.AvgPool2d(k, stride, pad),
            "gap": lambda: nn.AdaptiveAvgPool2d(1), "adaptive": lambda: nn.AdaptiveAvgPool2d(out)}[kind]()
    return _Micro("micro_pool", c, body).eval()


@register_model("micro_bn", paper=_PAPER, family=_FAMILY, resolution=_RES, in_channels=64,
                knobs={"c": _c(64)}, description="one BatchNorm2d in eval mode")
def micro_bn(c=64) -> nn.Module:
    return _Micro("micro_bn", c, nn.BatchNorm2d(c)).eval()


@register_model(
    "micro_act", paper=_PAPER, family=_FAMILY, resolution=_RES, in_channels=64,
    knobs={
        "c": _c(64),
        "act": Knob("relu", "activation", type=str, choices=_ACTS),
        "inplace": Knob(1, "in place (as the zoo's ReLU/ReLU6/LeakyReLU); ignored by the others",
                        type=int, choices=(0, 1)),
    },
    description="one activation",
)
def micro_act(c=64, act="relu", inplace=1) -> nn.Module:
    return _Micro("micro_act", c, _act(act, bool(inplace))).eval()


@register_model("micro_add", paper=_PAPER, family=_FAMILY, resolution=_RES, in_channels=128,
                knobs={"c": _c(128, "input channels (even): two c/2-channel halves are added")},
                description="element-wise add of the two channel halves of the input")
def micro_add(c=128) -> nn.Module:
    if c % 2:
        raise SpecError(f"micro_add: c={c} must be even (two halves are added)")
    return _Micro("micro_add", c, _Chunked("add", 2)).eval()


@register_model("micro_cat", paper=_PAPER, family=_FAMILY, resolution=_RES, in_channels=128,
                knobs={"c": _c(128), "parts": Knob(2, "number of tensors concatenated", type=int, low=2, high=8)},
                description="torch.cat of the input's `parts` channel chunks (one full copy)")
def micro_cat(c=128, parts=2) -> nn.Module:
    if c % parts:
        raise SpecError(f"micro_cat: parts={parts} must divide c={c}")
    return _Micro("micro_cat", c, _Chunked("cat", parts)).eval()


@register_model("micro_split", paper=_PAPER, family=_FAMILY, resolution=_RES, in_channels=128,
                knobs={"c": _c(128), "parts": Knob(2, "number of chunks", type=int, low=2, high=8)},
                description="torch.chunk along channels (views: dispatch overhead only)")
def micro_split(c=128, parts=2) -> nn.Module:
    if c % parts:
        raise SpecError(f"micro_split: parts={parts} must divide c={c}")
    return _Micro("micro_split", c, _Chunked("split", parts)).eval()


@register_model(
    "micro_shuffle", paper=_PAPER, family=_FAMILY, resolution=28, in_channels=240,
    knobs={
        "c": _c(240),
        "groups": Knob(3, "shuffle groups (style=transpose)", type=int, low=2),
        "style": Knob("transpose", "transpose (ShuffleNet v1; one copy) | even_odd (official ShuffleNet v2 "
                      "shuffle+split; views only)",
                      type=str, choices=("transpose", "even_odd")),
    },
    description="channel shuffle (transpose: one contiguous copy; even_odd: views)",
)
def micro_shuffle(c=240, groups=3, style="transpose") -> nn.Module:
    g = groups if style == "transpose" else 2
    if c % g:
        raise SpecError(f"micro_shuffle: groups={g} must divide c={c}")
    return _Micro("micro_shuffle", c, _Shuffle(g, style)).eval()


class _LRN(nn.Module):
    def __init__(self, size: int):
        super().__init__()
        self.lrn = nn.LocalResponseNorm(size, alpha=1e-4, beta=0.75)

    def forward(self, x):
        return self.lrn(x)


@register_model("micro_lrn", paper=_PAPER, family=_FAMILY, resolution=_RES, in_channels=64,
                knobs={"c": _c(64), "size": Knob(5, "neighbourhood", type=int, low=1, high=15)},
                description="local response normalisation (AlexNet, GoogLeNet)")
def micro_lrn(c=64, size=5) -> nn.Module:
    return _Micro("micro_lrn", c, _LRN(size)).eval()


# -- blocks (the zoo's own) -----------------------------------------------------------------


@register_model(
    "micro_block_dwsep", paper=_PAPER, family=_FAMILY, resolution=_RES, in_channels=128,
    knobs={"c": _c(128), "cout": Knob(128, "output channels", type=int, low=1),
           "stride": Knob(1, "stride", type=int, choices=(1, 2))},
    description="MobileNet v1 depthwise separable block (dw3x3-BN-ReLU6, 1x1-BN-ReLU6)",
)
def micro_block_dwsep(c=128, cout=128, stride=1) -> nn.Module:
    from .mobilenet import DepthwiseSeparable

    return _Micro("micro_block_dwsep", c, DepthwiseSeparable(c, cout, stride)).eval()


@register_model(
    "micro_block_mbv2", paper=_PAPER, family=_FAMILY, resolution=_RES, in_channels=24,
    knobs={"c": _c(24), "cout": Knob(24, "output channels", type=int, low=1),
           "stride": Knob(1, "stride", type=int, choices=(1, 2)),
           "expand": Knob(6, "expansion ratio t", type=int, low=1, high=12)},
    description="MobileNet v2 inverted residual block",
)
def micro_block_mbv2(c=24, cout=24, stride=1, expand=6) -> nn.Module:
    from .mobilenet import InvertedResidual

    return _Micro("micro_block_mbv2", c, InvertedResidual(c, cout, stride, c * expand)).eval()


@register_model(
    "micro_block_sv1", paper=_PAPER, family=_FAMILY, resolution=28, in_channels=240,
    knobs={"c": _c(240), "cout": Knob(0, "output channels (0: c for stride 1, 2c for stride 2)", type=int, low=0),
           "groups": Knob(3, "group-conv groups", type=int, choices=(1, 2, 3, 4, 8)),
           "stride": Knob(1, "stride", type=int, choices=(1, 2))},
    description="ShuffleNet v1 unit",
)
def micro_block_sv1(c=240, cout=0, groups=3, stride=1) -> nn.Module:
    from .shufflenet_v1 import ShuffleUnit

    cout = cout or (c if stride == 1 else 2 * c)
    try:
        unit = ShuffleUnit(c, cout, groups, stride)
    except ValueError as exc:
        raise SpecError(f"micro_block_sv1: {exc}") from None
    return _Micro("micro_block_sv1", c, unit).eval()


@register_model(
    "micro_block_sv2", paper=_PAPER, family=_FAMILY, resolution=28, in_channels=116,
    knobs={"c": _c(116), "cout": Knob(0, "output channels (0: same as c for stride 1, 2c for stride 2)",
                                      type=int, low=0),
           "stride": Knob(1, "stride", type=int, choices=(1, 2))},
    description="ShuffleNet v2 unit (official megvii form)",
)
def micro_block_sv2(c=116, cout=0, stride=1) -> nn.Module:
    from .shufflenet_v2 import ShuffleV2Block

    if stride == 1:
        if cout not in (0, c) or c % 2:
            raise SpecError(f"micro_block_sv2: a stride-1 unit needs an even c and cout = c (got c={c}, cout={cout})")
        block = ShuffleV2Block(c // 2, c, 1)
    else:
        cout = cout or 2 * c
        if cout <= c:
            raise SpecError(f"micro_block_sv2: a stride-2 unit needs cout > c (got c={c}, cout={cout})")
        block = ShuffleV2Block(c, cout, 2)
    return _Micro("micro_block_sv2", c, block).eval()


@register_model(
    "micro_block_res", paper=_PAPER, family=_FAMILY, resolution=_RES, in_channels=64,
    knobs={"c": _c(64), "planes": Knob(64, "planes (bottleneck output = 4 x planes)", type=int, low=1),
           "stride": Knob(1, "stride", type=int, choices=(1, 2)),
           "kind": Knob("basic", "basic | bottleneck", type=str, choices=("basic", "bottleneck"))},
    description="ResNet basic or bottleneck block (projection shortcut where the shape changes)",
)
def micro_block_res(c=64, planes=64, stride=1, kind="basic") -> nn.Module:
    from .resnet import BasicBlock, Bottleneck

    block = BasicBlock(c, planes, stride) if kind == "basic" else Bottleneck(c, planes, stride)
    return _Micro("micro_block_res", c, block).eval()
