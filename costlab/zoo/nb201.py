"""The NAS-Bench-201 cell search space on its CIFAR macro.

Papers: Dong & Yang 2020, "NAS-Bench-201: Extending the Scope of Reproducible Neural
Architecture Search", ICLR; Li et al. 2021, "HW-NAS-Bench: Hardware-Aware Neural
Architecture Search Benchmark", ICLR (measures this space on hardware with a copy of the
same code: RICE-EIC/HW-NAS-Bench ``hw_nas_bench_api/nas_201_models/``, commit
edf73c33ffec12c575253fd8462339a9fed0f9c1, identical up to formatting).

Official code, read and reproduced op for op: D-X-Y/AutoDL-Projects (MIT) at commit
f46486e21b71ae6459a700be720d7648b5429569:
``xautodl/models/cell_infers/tiny_network.py`` (``TinyNetwork``),
``xautodl/models/cell_infers/cells.py`` (``InferCell``),
``xautodl/models/cell_operations.py`` (``OPS``, ``ReLUConvBN``, ``ResNetBasicblock``,
``POOLING``, ``Identity``, ``Zero``) and ``xautodl/models/cell_searchs/genotypes.py``
(``Structure.str2structure``, the cell string). What that code executes (C = 16, N = 5):

* stem: 3x3 conv 3 -> C (no bias) -> BN (no ReLU);
* 3 stages of N cells at widths C, 2C, 4C; between stages a ``ResNetBasicblock`` stride 2:
  ``conv_a`` = ReLU -> 3x3 conv stride 2 -> BN, ``conv_b`` = ReLU -> 3x3 conv -> BN,
  shortcut = 2x2 average pool stride 2 -> 1x1 conv (no bias, no BN), then shortcut + conv_b;
* each cell (``InferCell``): node 0 is the input; node j (1..3) is
  ``sum(op(node_i) for the edges i -> j)`` -- Python's builtin ``sum``, so it starts at the
  integer 0 and executes ``0 + t`` first (one element-wise add per edge); edge ops:
  ``nor_conv_KxK`` = ReLU (not in place) -> KxK conv (no bias) -> BN;
  ``avg_pool_3x3`` = 3x3 average pool, stride 1, padding 1, ``count_include_pad=False``;
  ``skip_connect`` = identity; ``none`` = ``Zero``, which computes ``x.mul(0.)`` -- a cell
  whose every path holds a ``none`` still runs and is counted as it runs;
* ``lastact`` = BN -> ReLU, ``AdaptiveAvgPool2d(1)``, ``.view(N, -1)``, linear to the
  classes. (``TinyNetwork.forward`` returns ``(features, logits)``; ours returns the logits,
  the same ops.)

The architecture is the knob ``arch``, the cell string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (``op~i`` = the edge from node i into that node).
The default is NAS-Bench-201 architecture index 1,
``|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|``.

Block decomposition (:func:`nb201_blocks`): ``nb201_stem``, ``nb201_cell:arch=...,c=...``
x 5 per stage, ``nb201_resblock:cin=...,cout=...`` between stages, ``nb201_head``; their
costs add up to the network's.
"""
from __future__ import annotations

import re

import torch
import torch.nn as nn

from ..errors import InputError, SpecError
from .common import Checked, check_input, one_input_shape
from .registry import Knob, register_model

_PAPER = ("Dong & Yang 2020, NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture Search, "
          "ICLR; Li et al. 2021, HW-NAS-Bench: Hardware-Aware Neural Architecture Search Benchmark, ICLR")
_FAMILY = "nb201"

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")   # NAS_BENCH_201
C, N, CLASSES, RESOLUTION = 16, 5, 10, 32
DEFAULT_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
_FORM = "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"

Genotype = tuple[tuple[tuple[str, int], ...], ...]


def _bad(arch: str, why: str) -> SpecError:
    return SpecError(
        f"nb201: bad arch {arch!r} ({why}): write the cell string {_FORM} with each op one of "
        f"{', '.join(OPS)}, e.g. nb201:arch={DEFAULT_ARCH}"
    )


def parse_arch(arch: str) -> Genotype:
    """The NAS-Bench-201 cell string -> ((op, input node), ...) per node 1..3.

    Reads it as ``Structure.str2structure`` does (nodes split on ``+``, edges on ``|``,
    ``op~i``) and accepts exactly the NAS-Bench-201 space: 3 nodes, node j with one edge
    from each of the nodes 0..j-1 in that order, ops from :data:`OPS`.
    """
    if not isinstance(arch, str):
        raise SpecError(f"nb201: arch must be a string like {DEFAULT_ARCH}, got {type(arch).__name__}")
    text = arch.strip()
    nodes = text.split("+")
    if len(nodes) != 3:
        raise _bad(arch, f"{len(nodes)} nodes joined by '+', need 3")
    genotype = []
    for j, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")) or len(node) < 2:
            raise _bad(arch, f"node {j} must start and end with '|'")
        edges = node[1:-1].split("|")
        if len(edges) != j:
            raise _bad(arch, f"node {j} has {len(edges)} edges, needs {j}")
        infos = []
        for i, edge in enumerate(edges):
            m = re.fullmatch(r"([a-z0-9_]+)~(\d+)", edge)
            if m is None:
                raise _bad(arch, f"edge {edge!r} is not op~i")
            op, src = m.group(1), int(m.group(2))
            if op not in OPS:
                raise _bad(arch, f"unknown op {op!r}")
            if src != i:
                raise _bad(arch, f"edge {edge!r} of node {j} must come from node {i}")
            infos.append((op, src))
        genotype.append(tuple(infos))
    return tuple(genotype)


class ReLUConvBN(nn.Module):
    """ReLU (not in place) -> conv (no bias) -> BN."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, padding: int):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Pooling(nn.Module):
    """``POOLING(C_in, C_out, stride, 'avg')``: [ReLUConvBN 1x1 if widths differ] -> avg pool 3x3."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.preprocess = None if c_in == c_out else ReLUConvBN(c_in, c_out, 1, 1, 0)
        self.op = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preprocess is not None:
            x = self.preprocess(x)
        return self.op(x)


class Identity(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Zero(nn.Module):
    """The ``none`` edge: zeros of the output's shape, computed from the input as the official code does."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.c_in, self.c_out, self.stride = c_in, c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.c_in == self.c_out:
            if self.stride == 1:
                return x.mul(0.0)
            return x[:, :, :: self.stride, :: self.stride].mul(0.0)
        shape = list(x.shape)
        shape[1] = self.c_out
        return x.new_zeros(shape, dtype=x.dtype, device=x.device)


def make_op(op: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    """``OPS[op](C_in, C_out, stride, affine=True, track_running_stats=True)`` for the 5 NB201 ops."""
    if op == "none":
        return Zero(c_in, c_out, stride)
    if op == "avg_pool_3x3":
        return Pooling(c_in, c_out, stride)
    if op == "nor_conv_3x3":
        return ReLUConvBN(c_in, c_out, 3, stride, 1)
    if op == "nor_conv_1x1":
        return ReLUConvBN(c_in, c_out, 1, stride, 0)
    if op == "skip_connect" and stride == 1 and c_in == c_out:
        return Identity()
    # FactorizedReduce: never built in the NB201 macro (cells keep width and stride 1)
    raise SpecError(f"nb201: op {op!r} with c_in={c_in}, c_out={c_out}, stride={stride} is outside the NB201 macro")


class InferCell(nn.Module):
    """Node j = sum(op(node_i)) over its edges (builtin ``sum``, as the official code); output = node 3."""

    def __init__(self, genotype: Genotype, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.layers = nn.ModuleList()
        self.node_IN: list[list[int]] = []
        self.node_IX: list[list[int]] = []
        for node_info in genotype:
            cur_index, cur_innod = [], []
            for op_name, op_in in node_info:
                if op_in == 0:
                    layer = make_op(op_name, c_in, c_out, stride)
                else:
                    layer = make_op(op_name, c_out, c_out, 1)
                cur_index.append(len(self.layers))
                cur_innod.append(op_in)
                self.layers.append(layer)
            self.node_IX.append(cur_index)
            self.node_IN.append(cur_innod)
        self.in_dim, self.out_dim = c_in, c_out

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        nodes = [inputs]
        for node_layers, node_innods in zip(self.node_IX, self.node_IN):
            node_feature = sum(self.layers[_il](nodes[_ii]) for _il, _ii in zip(node_layers, node_innods))
            nodes.append(node_feature)
        return nodes[-1]


class ResNetBasicblock(nn.Module):
    """ReLUConvBN 3x3 (stride) -> ReLUConvBN 3x3, + shortcut (stride 2: avg pool 2x2 -> 1x1 conv)."""

    def __init__(self, inplanes: int, planes: int, stride: int):
        super().__init__()
        self.conv_a = ReLUConvBN(inplanes, planes, 3, stride, 1)
        self.conv_b = ReLUConvBN(planes, planes, 3, 1, 1)
        if stride == 2:
            self.downsample = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(inplanes, planes, kernel_size=1, stride=1, padding=0, bias=False),
            )
        elif inplanes != planes:
            self.downsample = ReLUConvBN(inplanes, planes, 1, 1, 0)
        else:
            self.downsample = None
        self.in_dim, self.out_dim = inplanes, planes

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        basicblock = self.conv_b(self.conv_a(inputs))
        residual = self.downsample(inputs) if self.downsample is not None else inputs
        return residual + basicblock


def _stem(c: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, c, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(c))


class Head(nn.Module):
    """lastact (BN -> ReLU) -> global average pool -> view(N, -1) -> linear."""

    def __init__(self, c: int, classes: int):
        super().__init__()
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.global_pooling(self.lastact(x))
        return self.classifier(out.view(out.size(0), -1))


class TinyNetwork(nn.Module):
    """NAS-Bench-201's macro: stem, N cells, resblock, N cells, resblock, N cells, lastact, pool, linear."""

    def __init__(self, c: int, n: int, genotype: Genotype, num_classes: int):
        super().__init__()
        self.stem = _stem(c)
        layer_channels = [c] * n + [c * 2] + [c * 2] * n + [c * 4] + [c * 4] * n
        layer_reductions = [False] * n + [True] + [False] * n + [True] + [False] * n
        c_prev = c
        self.cells = nn.ModuleList()
        for c_curr, reduction in zip(layer_channels, layer_reductions):
            cell = ResNetBasicblock(c_prev, c_curr, 2) if reduction else InferCell(genotype, c_prev, c_curr, 1)
            self.cells.append(cell)
            c_prev = cell.out_dim
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        check_input("nb201", inputs, 3)
        feature = self.stem(inputs)
        for cell in self.cells:
            feature = cell(feature)
        out = self.global_pooling(self.lastact(feature))
        out = out.view(out.size(0), -1)
        return self.classifier(out)


def nb201_blocks(input_shape, arch: str = DEFAULT_ARCH, classes: int = CLASSES) -> list[tuple[str, tuple[int, ...]]]:
    """The network as (zoo spec, input shape) blocks: stem, 3 x 5 cells, 2 resblocks, head."""
    parse_arch(arch)
    shape = one_input_shape("nb201", input_shape)
    n, _, h, w = shape
    out: list[tuple[str, tuple[int, ...]]] = [(f"nb201_stem:c={C}", (n, 3, h, w))]
    c = C
    for stage in range(3):
        if stage:
            if h % 2 or w % 2:
                raise InputError(f"nb201: a {h}x{w} feature map cannot be halved by the stride-2 resblock "
                                 "(its 3x3 conv and 2x2 pool disagree on odd sizes); use a multiple of 4, e.g. 32")
            out.append((f"nb201_resblock:cin={c},cout={2 * c}", (n, c, h, w)))
            c, h, w = 2 * c, h // 2, w // 2
        out.extend((f"nb201_cell:arch={arch.strip()},c={c}", (n, c, h, w)) for _ in range(N))
    out.append((f"nb201_head:c={c},classes={classes}", (n, c, h, w)))
    return out


@register_model(
    "nb201", paper=_PAPER, family=_FAMILY, resolution=RESOLUTION, in_channels=3,
    knobs={
        "arch": Knob(DEFAULT_ARCH, f"cell string {_FORM}, ops {', '.join(OPS)}", type=str),
        "classes": Knob(CLASSES, "classes (CIFAR-10: 10, CIFAR-100: 100, ImageNet16-120: 120)", type=int, low=1),
    },
    blocks=nb201_blocks,
    description="NAS-Bench-201 cell space on its CIFAR macro (C=16, N=5, 32x32)",
)
def nb201(arch: str = DEFAULT_ARCH, classes: int = CLASSES) -> nn.Module:
    return TinyNetwork(C, N, parse_arch(arch), classes).eval()


@register_model(
    "nb201_stem", paper=_PAPER, family=_FAMILY, resolution=RESOLUTION, in_channels=3,
    knobs={"c": Knob(C, "output channels", type=int, low=1)},
    description="NAS-Bench-201 stem: 3x3 conv 3 -> C, BN (no ReLU)",
)
def nb201_stem(c: int = C) -> nn.Module:
    return Checked("nb201_stem", 3, _stem(c)).eval()


@register_model(
    "nb201_cell", paper=_PAPER, family=_FAMILY, resolution=RESOLUTION, in_channels=C,
    knobs={
        "arch": Knob(DEFAULT_ARCH, f"cell string {_FORM}", type=str),
        "c": Knob(C, "channels (in = out)", type=int, low=1),
    },
    description="one NAS-Bench-201 cell (InferCell, stride 1, c -> c)",
)
def nb201_cell(arch: str = DEFAULT_ARCH, c: int = C) -> nn.Module:
    return Checked("nb201_cell", c, InferCell(parse_arch(arch), c, c, 1)).eval()


@register_model(
    "nb201_resblock", paper=_PAPER, family=_FAMILY, resolution=RESOLUTION, in_channels=C,
    knobs={
        "cin": Knob(C, "input channels", type=int, low=1),
        "cout": Knob(2 * C, "output channels", type=int, low=1),
    },
    description="NAS-Bench-201 reduction block: ResNet basic block, stride 2, avg-pool + 1x1 shortcut",
)
def nb201_resblock(cin: int = C, cout: int = 2 * C) -> nn.Module:
    return Checked("nb201_resblock", cin, ResNetBasicblock(cin, cout, 2)).eval()


@register_model(
    "nb201_head", paper=_PAPER, family=_FAMILY, resolution=8, in_channels=4 * C,
    knobs={
        "c": Knob(4 * C, "input channels", type=int, low=1),
        "classes": Knob(CLASSES, "outputs", type=int, low=1),
    },
    description="NAS-Bench-201 head: BN, ReLU, global average pool, linear",
)
def nb201_head(c: int = 4 * C, classes: int = CLASSES) -> nn.Module:
    return Checked("nb201_head", c, Head(c, classes)).eval()
