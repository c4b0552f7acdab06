"""The FBNet search space on CIFAR-100, as HW-NAS-Bench builds it.

Papers: Wu et al. 2019, "FBNet: Hardware-Aware Efficient ConvNet Design via Differentiable
Neural Architecture Search", CVPR (the space: 22 searchable layers, 9 candidate blocks);
Li et al. 2021, "HW-NAS-Bench: Hardware-Aware Neural Architecture Search Benchmark", ICLR
(the CIFAR-100 macro and the code rebuilt here).

Official code, read and reproduced op for op: RICE-EIC/HW-NAS-Bench (MIT),
``hw_nas_bench_api/fbnet_models/model_infer.py`` at commit
edf73c33ffec12c575253fd8462339a9fed0f9c1 (classes ``ConvNorm``, ``ConvBlock``, ``Skip``,
``ChannelShuffle``, ``FBNet_Infer``; ``hw_nas_bench_api.py`` ``get_net_config`` /
``fbnet_get_metrics`` for the CIFAR-100 settings). What that code executes:

* stem ``ConvNorm(3, 16, 3, stride 1, padding 1)``: conv (no bias) -> BN -> ReLU;
* 22 layers in stages of [1, 4, 4, 4, 4, 4, 1] with widths [16, 24, 32, 64, 112, 184, 352]
  and strides [1, 1, 2, 2, 1, 2, 1] (the CIFAR setting); a stage's first layer takes the
  previous width (the stem's 16 for the first) and the stage's stride, the others are
  width -> width at stride 1;
* op ``kK_eE`` (``_g2``: groups 2) is ``ConvBlock``: 1x1 conv C -> C*E (groups G) -> BN ->
  ReLU -> channel shuffle (only when G > 1; view/permute/contiguous/view) -> KxK depthwise
  conv (stride, padding ceil((K - s) / 2)) -> BN -> ReLU -> 1x1 conv C*E -> C_out (groups G)
  -> BN, then ``x += input`` only when C_in == C_out and stride 1 (no ReLU after the add);
* op ``skip`` is ``Skip``: the identity when C_in == C_out and stride 1, else 1x1 conv
  (stride s, no bias) -> BN -> ReLU;
* head ``ConvNorm(352, 1504, 1)``: 1x1 conv -> BN -> ReLU; ``AdaptiveAvgPool2d(1)``,
  ``.view(N, -1)``, ``Linear(1504, 100)``. No dropout.

The architecture is the knob ``arch``: the 22 op names joined by ``|`` (the ``arch_str``
format of HELP's FBNet latency data, ``shared/data/fbnet_space_help_latency.csv``). The
default is that file's ``arch_index`` 0.

Block decomposition (:func:`fbnet_blocks`): ``fbnet_stem``, 22 x
``fbnet_block:op=...,cin=...,cout=...,stride=...`` and ``fbnet_head`` -- the same split as
HW-NAS-Bench's per-op lookup tables (``ConvNorm`` stem, ``ConvBlock`` / ``Skip`` layers,
``ConvNorm`` header + ``AvgP`` + ``FC``); their costs add up to the network's.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..errors import InputError, SpecError
from .common import Checked, check_input, one_input_shape
from .registry import Knob, register_model

_PAPER = ("Wu et al. 2019, FBNet: Hardware-Aware Efficient ConvNet Design via Differentiable Neural "
          "Architecture Search, CVPR; Li et al. 2021, HW-NAS-Bench: Hardware-Aware Neural Architecture "
          "Search Benchmark, ICLR")
_FAMILY = "fbnet"

# The 9 candidate blocks, in HW-NAS-Bench's PRIMITIVES order (op_idx_list indexes this):
# name -> (kernel, expansion, groups); 'skip' -> None
PRIMITIVES: dict[str, tuple[int, int, int] | None] = {
    "k3_e1": (3, 1, 1),
    "k3_e1_g2": (3, 1, 2),
    "k3_e3": (3, 3, 1),
    "k3_e6": (3, 6, 1),
    "k5_e1": (5, 1, 1),
    "k5_e1_g2": (5, 1, 2),
    "k5_e3": (5, 3, 1),
    "k5_e6": (5, 6, 1),
    "skip": None,
}

# FBNet_Infer's CIFAR settings ("FBNetv1 setting, unofficial CIFAR-10/100 setting")
STEM = 16
NUM_LAYERS = (1, 4, 4, 4, 4, 4, 1)
WIDTHS = (16, 24, 32, 64, 112, 184, 352)
STRIDES = (1, 1, 2, 2, 1, 2, 1)
HEAD = 1504
CLASSES = 100
RESOLUTION = 32
N_LAYERS = sum(NUM_LAYERS)   # 22

# arch_index 0 of HELP's FBNet data (shared/data/fbnet_space_help_latency.csv)
DEFAULT_ARCH = ("k5_e6|skip|k3_e1_g2|skip|k5_e1|skip|skip|skip|k5_e6|k5_e1|k3_e1_g2|k5_e1|"
                "k5_e6|k3_e6|k3_e3|k5_e6|k3_e6|k3_e3|k5_e1|k3_e3|k5_e1|k5_e1_g2")

_OPS_TEXT = ", ".join(PRIMITIVES)
_EXAMPLE = "|".join(["k3_e6"] * N_LAYERS)


def parse_arch(arch: str) -> tuple[str, ...]:
    """``'k3_e6|skip|...'`` (22 ops) -> tuple of op names; a one-line SpecError otherwise."""
    if not isinstance(arch, str):
        raise SpecError(f"fbnet: arch must be a string of {N_LAYERS} ops joined by '|', got {type(arch).__name__}")
    ops = tuple(p.strip() for p in arch.strip().split("|"))
    bad = [p for p in ops if p not in PRIMITIVES]
    if len(ops) != N_LAYERS or bad:
        what = (f"unknown op {bad[0]!r}" if bad else f"{len(ops)} ops")
        raise SpecError(
            f"fbnet: bad arch ({what}): write {N_LAYERS} ops joined by '|', each one of {_OPS_TEXT}, "
            f"e.g. fbnet:arch={_EXAMPLE}"
        )
    return ops


def layer_plan() -> list[tuple[int, int, int]]:
    """(c_in, c_out, stride) of the 22 layers, as ``FBNet_Infer.__init__`` lays them out."""
    plan = []
    for stage, n in enumerate(NUM_LAYERS):
        for i in range(n):
            if i == 0:
                c_in = STEM if stage == 0 else WIDTHS[stage - 1]
                plan.append((c_in, WIDTHS[stage], STRIDES[stage]))
            else:
                plan.append((WIDTHS[stage], WIDTHS[stage], 1))
    return plan


def _pad(k: int, stride: int, dilation: int = 1) -> int:
    # ConvNorm / ConvBlock: int(np.ceil((dilation * (k - 1) + 1 - stride) / 2.))
    return -(-(dilation * (k - 1) + 1 - stride) // 2)


class ChannelShuffle(nn.Module):
    """[N,C,H,W] -> [N,g,C/g,H,W] -> [N,C/g,g,H,W] -> [N,C,H,W] (view, permute, contiguous, view)."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.size()
        g = self.groups
        return x.view(n, g, c // g, h, w).permute(0, 2, 1, 3, 4).contiguous().view(n, c, h, w)


class ConvNorm(nn.Module):
    """conv (no bias) -> BN -> ReLU (HW-NAS-Bench ``ConvNorm``)."""

    def __init__(self, c_in: int, c_out: int, k: int = 3, stride: int = 1, padding: int | None = None):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, stride, _pad(k, stride) if padding is None else padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class ConvBlock(nn.Module):
    """1x1 (groups) -> BN -> ReLU -> [shuffle] -> KxK depthwise -> BN -> ReLU -> 1x1 (groups) -> BN [+ x]."""

    def __init__(self, c_in: int, c_out: int, expansion: int, k: int, stride: int, groups: int):
        super().__init__()
        mid = c_in * expansion
        self.c_in, self.c_out, self.stride, self.groups = c_in, c_out, stride, groups
        if groups > 1:
            self.shuffle = ChannelShuffle(groups)
        self.conv1 = nn.Conv2d(c_in, mid, 1, 1, 0, groups=groups, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, k, stride, _pad(k, stride), groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, c_out, 1, 1, 0, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.nl = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        x = self.nl(self.bn1(self.conv1(x)))
        if self.groups > 1:
            x = self.shuffle(x)
        x = self.nl(self.bn2(self.conv2(x)))
        x = self.bn3(self.conv3(x))
        if self.c_in == self.c_out and self.stride == 1:
            x += identity
        return x


class Skip(nn.Module):
    """Identity when shapes agree, else 1x1 conv (stride) -> BN -> ReLU (HW-NAS-Bench ``Skip``)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        if stride == 2 or c_in != c_out:
            self.conv = nn.Conv2d(c_in, c_out, 1, stride=stride, padding=0, bias=False)
            self.bn = nn.BatchNorm2d(c_out)
            self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "conv"):
            return self.relu(self.bn(self.conv(x)))
        return x


def make_op(op: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    """HW-NAS-Bench ``OPS[op](C_in, C_out, layer_id, stride)``."""
    spec = PRIMITIVES[op]
    if spec is None:
        return Skip(c_in, c_out, stride)
    k, e, g = spec
    return ConvBlock(c_in, c_out, e, k, stride, g)


class Head(nn.Module):
    """header ConvNorm 1x1 -> AdaptiveAvgPool2d(1) -> view(N, -1) -> Linear."""

    def __init__(self, c_in: int, head: int, classes: int):
        super().__init__()
        self.header = ConvNorm(c_in, head, k=1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(head, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.avgpool(self.header(x)).view(x.size(0), -1))


class FBNetCIFAR(nn.Module):
    """HW-NAS-Bench ``FBNet_Infer`` with dataset 'cifar100' (stem, ``cells``, header, avgpool, fc)."""

    def __init__(self, ops: tuple[str, ...], num_classes: int = CLASSES):
        super().__init__()
        self.stem = ConvNorm(3, STEM, 3, stride=1, padding=1)
        self.cells = nn.ModuleList(make_op(op, ci, co, s) for op, (ci, co, s) in zip(ops, layer_plan()))
        self.header = ConvNorm(WIDTHS[-1], HEAD, k=1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(HEAD, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input("fbnet", x, 3)
        out = self.stem(x)
        for cell in self.cells:
            out = cell(out)
        return self.fc(self.avgpool(self.header(out)).view(out.size(0), -1))


def _shape4(input_shape) -> tuple[int, ...]:
    return one_input_shape("fbnet", input_shape)


def _down(h: int, stride: int) -> int:
    # every strided conv of the space (3x3 p1, 5x5 p2, 1x1 p0) gives floor((h - 1) / s) + 1
    return (h - 1) // stride + 1


def fbnet_blocks(input_shape, arch: str = DEFAULT_ARCH) -> list[tuple[str, tuple[int, ...]]]:
    """The network as (zoo spec, input shape) blocks: stem, 22 layers, head (costs add up)."""
    ops = parse_arch(arch)
    n, c, h, w = _shape4(input_shape)
    if c != 3:
        raise InputError(f"fbnet expects 3 input channels, got {'x'.join(map(str, (n, c, h, w)))}; "
                         "pass --input-shape 1x3x32x32")
    out: list[tuple[str, tuple[int, ...]]] = [("fbnet_stem", (n, 3, h, w))]
    c = STEM
    for op, (ci, co, s) in zip(ops, layer_plan()):
        out.append((f"fbnet_block:op={op},cin={ci},cout={co},stride={s}", (n, ci, h, w)))
        h, w, c = _down(h, s), _down(w, s), co
    out.append((f"fbnet_head:cin={c},classes={CLASSES}", (n, c, h, w)))
    return out


@register_model(
    "fbnet", paper=_PAPER, family=_FAMILY, resolution=RESOLUTION, in_channels=3,
    knobs={"arch": Knob(DEFAULT_ARCH, f"{N_LAYERS} ops joined by '|', each one of {_OPS_TEXT}", type=str)},
    blocks=fbnet_blocks,
    description="FBNet search space, HW-NAS-Bench CIFAR-100 macro (32x32, 22 searchable layers, 100 classes)",
)
def fbnet(arch: str = DEFAULT_ARCH) -> nn.Module:
    return FBNetCIFAR(parse_arch(arch)).eval()


@register_model(
    "fbnet_stem", paper=_PAPER, family=_FAMILY, resolution=RESOLUTION, in_channels=3,
    description="FBNet (HW-NAS-Bench CIFAR) stem: 3x3 conv 3 -> 16, stride 1, BN, ReLU",
)
def fbnet_stem() -> nn.Module:
    return Checked("fbnet_stem", 3, ConvNorm(3, STEM, 3, stride=1, padding=1)).eval()


@register_model(
    "fbnet_block", paper=_PAPER, family=_FAMILY, resolution=RESOLUTION, in_channels=16,
    knobs={
        "op": Knob("k3_e6", "candidate block", type=str, choices=tuple(PRIMITIVES)),
        "cin": Knob(16, "input channels", type=int, low=1),
        "cout": Knob(24, "output channels", type=int, low=1),
        "stride": Knob(1, "stride", type=int, choices=(1, 2)),
    },
    description="one searchable layer of the FBNet space (ConvBlock kK_eE[_g2] or Skip)",
)
def fbnet_block(op: str = "k3_e6", cin: int = 16, cout: int = 24, stride: int = 1) -> nn.Module:
    spec = PRIMITIVES[op]
    if spec is not None and spec[2] > 1 and (cin % spec[2] or cout % spec[2]):
        raise SpecError(f"fbnet_block: op={op} has groups {spec[2]}, which must divide cin={cin} and cout={cout}")
    return Checked("fbnet_block", cin, make_op(op, cin, cout, stride)).eval()


@register_model(
    "fbnet_head", paper=_PAPER, family=_FAMILY, resolution=4, in_channels=WIDTHS[-1],
    knobs={
        "cin": Knob(WIDTHS[-1], "input channels", type=int, low=1),
        "classes": Knob(CLASSES, "outputs", type=int, low=1),
    },
    description="FBNet (HW-NAS-Bench CIFAR) head: 1x1 conv to 1504, BN, ReLU, average pool, linear",
)
def fbnet_head(cin: int = WIDTHS[-1], classes: int = CLASSES) -> nn.Module:
    return Checked("fbnet_head", cin, Head(cin, HEAD, classes)).eval()
