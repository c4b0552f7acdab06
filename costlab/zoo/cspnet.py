"""CSPNet ImageNet classifiers (Wang et al. 2019, arXiv:1911.11929), as the darknet cfgs.

Paper: C.-Y. Wang, H.-Y. M. Liao, I-H. Yeh, Y.-H. Wu, P.-Y. Chen, J.-W. Hsieh,
"CSPNet: A New Backbone that can Enhance Learning Capability of CNN", arXiv:1911.11929.
Counts: README "ImageNet / Big Models" table of WongKinYiu/CrossStagePartialNetworks
(#Parameter, BFLOPs at the cfg's 256x256 input).

Architecture checked layer by layer against the official darknet cfgs,
WongKinYiu/CrossStagePartialNetworks @c6ba8b1e71caa8d45389160a8826c1399af0aba0:
``cfg/csresnet50.cfg``, ``cfg/csresnext50.cfg``, ``cfg/csdarknet53.cfg``
(all ``activation=leaky`` = LeakyReLU(0.1); every conv ``batch_normalize=1`` -> no bias,
except the classifier: ``[avgpool]`` then a 1x1 conv with 1000 filters and a bias).
Darknet's ``pad=1`` means padding = size // 2. ``[maxpool] size=2 stride=2`` on 128x128
gives 64x64 (= MaxPool2d(2, 2)). Darknet BFLOPs of a conv = 2 * nweights * out_h * out_w
(AlexeyAB/darknet ``src/convolutional_layer.c``), i.e. 2 x MAC.

One CSP stage, in darknet layer order (cfg comments ``# n-1 ... # n-T``):

    [down]  3x3 stride-2 conv (absent in stage 1 of the ResNet/ResNeXt nets: stem maxpool)
    part1   1x1 conv on the stage input        -> bypasses the blocks ("cross stage")
    [route -2]
    part2   1x1 conv on the stage input        -> feeds the blocks
    blocks  n residual blocks
    transition  1x1 conv
    [route -1,-K]  concat(transition, part1)   (this order)
    fuse    1x1 conv

The ResNet/ResNeXt bottleneck ends in a linear 1x1 conv and ``[shortcut] activation=leaky``
(activation after the add); the darknet block (1x1 -> 3x3, both leaky) uses
``[shortcut] activation=linear``. In stage 1 of csresnet50 / csresnext50, part2 has 64
channels but the first block outputs 128: darknet's shortcut then adds the 64 input
channels onto the first 64 output channels and passes the others through (that is what
``shortcut_cpu`` does with ``minc = min(c1, c2)``); reproduced here with a slice + cat.

Counting conventions found (measured here, see tests/zoo/test_cspnet.py): the README's
BFLOPs equal 2 x the conv MACs to within 0.03% for all three nets (so darknet BFLOPs =
2 x MAC, conv layers only), and its #Parameter equals the conv weights (+ classifier bias)
alone: 21.567M / 20.500M / 27.607M. nn.Parameter counts add BN gamma/beta, +0.1-0.3%.

timm's ``cspnet.py`` (cspresnet50 / cspresnext50 / cspdarknet53: depths 3-3-5-2 and
1-2-8-8-4) is a port of these same cfgs and agrees on the stage depths and widths.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .registry import Knob, PaperRow, paper_rows, register_model

PAPER = ("Wang et al. 2019, CSPNet: A New Backbone that can Enhance Learning Capability "
         "of CNN, arXiv:1911.11929")


# ----------------------------------------------------------------------------------------
# The cfgs as tables.  Activation of part1/part2: "leaky" or "linear" as in the cfg
# (csresnet50 / csresnext50 stages 2-3 use linear part1/part2 convs).
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StageCfg:
    down: int | None       # out channels of the 3x3/s2 down conv (None: no down conv)
    part1: int             # 1x1 cross-stage (bypass) conv out channels
    part2: int             # 1x1 conv feeding the blocks
    part_act: str          # "leaky" or "linear" for part1 / part2
    depth: int             # number of residual blocks
    mid: int               # block hidden width
    out: int               # block output width
    transition: int        # 1x1 conv after the blocks
    fuse: int              # 1x1 conv after concat(transition, part1)
    groups: int = 1        # groups of the 3x3 convs (down conv and blocks)


# cfg/csresnet50.cfg: stem 7x7/2 64 + maxpool 2/2, then (ResNet bottleneck blocks)
CSPRESNET50 = (
    #        down  part1 part2 act       depth mid  out   trans fuse
    StageCfg(None, 128, 64, "leaky", 3, 64, 128, 128, 128),
    StageCfg(128, 256, 256, "linear", 3, 128, 256, 256, 256),
    StageCfg(256, 512, 512, "linear", 5, 256, 512, 512, 512),
    StageCfg(512, 1024, 1024, "leaky", 2, 512, 1024, 1024, 1024),
)

# cfg/csresnext50.cfg: same stem; ResNeXt bottlenecks with groups=32 3x3 convs
CSPRESNEXT50 = (
    StageCfg(None, 128, 64, "leaky", 3, 128, 128, 128, 256, groups=32),
    StageCfg(256, 256, 256, "linear", 3, 256, 256, 256, 512, groups=32),
    StageCfg(512, 512, 512, "linear", 5, 512, 512, 512, 1024, groups=32),
    StageCfg(1024, 1024, 1024, "leaky", 2, 1024, 1024, 1024, 2048, groups=32),
)

# cfg/csdarknet53.cfg: stem 3x3/1 32; darknet blocks (1x1 mid -> 3x3 out, add)
CSPDARKNET53 = (
    StageCfg(64, 64, 64, "leaky", 1, 32, 64, 64, 64),
    StageCfg(128, 64, 64, "leaky", 2, 64, 64, 64, 128),
    StageCfg(256, 128, 128, "leaky", 8, 128, 128, 128, 256),
    StageCfg(512, 256, 256, "leaky", 8, 256, 256, 256, 512),
    StageCfg(1024, 512, 512, "leaky", 4, 512, 512, 512, 1024),
)


# ----------------------------------------------------------------------------------------
# Modules
# ----------------------------------------------------------------------------------------
def _act(name: str) -> nn.Module:
    if name == "leaky":
        return nn.LeakyReLU(0.1)
    if name == "mish":
        return nn.Mish()
    if name == "linear":
        return nn.Identity()
    raise ValueError(f"unknown activation {name!r}")


class DarkConv(nn.Sequential):
    """Darknet ``[convolutional] batch_normalize=1 pad=1``: conv (no bias) -> BN -> act."""

    def __init__(self, c_in, c_out, k=1, stride=1, groups=1, act="leaky"):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.act = _act(act)


def _darknet_add(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Darknet ``[shortcut]``: y + x over the first min(C_y, C_x) channels; the output has
    y's channels (the rest of y passes through)."""
    cy, cx = y.shape[1], x.shape[1]
    if cy == cx:
        return y + x
    if cx < cy:
        return torch.cat([y[:, :cx] + x, y[:, cx:]], dim=1)
    return y + x[:, :cy]


class ResBottleneck(nn.Module):
    """ResNet/ResNeXt block of the cfgs: 1x1 (leaky) -> 3x3 (leaky, groups) -> 1x1 (linear),
    ``[shortcut] from=-4 activation=<act>`` (activation after the add)."""

    def __init__(self, c_in, mid, c_out, groups=1, act="leaky"):
        super().__init__()
        self.conv1 = DarkConv(c_in, mid, 1, act=act)
        self.conv2 = DarkConv(mid, mid, 3, groups=groups, act=act)
        self.conv3 = DarkConv(mid, c_out, 1, act="linear")
        self.act = _act(act)

    def forward(self, x):
        y = self.conv3(self.conv2(self.conv1(x)))
        return self.act(_darknet_add(y, x))


class DarkBlock(nn.Module):
    """Darknet-53 block: 1x1 (leaky) -> 3x3 (leaky), ``[shortcut] from=-3 activation=linear``."""

    def __init__(self, c_in, mid, c_out, groups=1, act="leaky"):
        super().__init__()
        self.conv1 = DarkConv(c_in, mid, 1, act=act)
        self.conv2 = DarkConv(mid, c_out, 3, groups=groups, act=act)

    def forward(self, x):
        return _darknet_add(self.conv2(self.conv1(x)), x)


class CSPStage(nn.Module):
    """One cross-stage-partial stage (see module docstring for the darknet layer order)."""

    def __init__(self, c_in: int, cfg: StageCfg, block: type[nn.Module], act: str = "leaky"):
        super().__init__()
        part_act = act if cfg.part_act == "leaky" else "linear"
        if cfg.down is not None:
            self.down = DarkConv(c_in, cfg.down, 3, 2, groups=cfg.groups, act=act)
            c_in = cfg.down
        else:
            self.down = nn.Identity()
        self.part1 = DarkConv(c_in, cfg.part1, 1, act=part_act)
        self.part2 = DarkConv(c_in, cfg.part2, 1, act=part_act)
        blocks = []
        c = cfg.part2
        for _ in range(cfg.depth):
            blocks.append(block(c, cfg.mid, cfg.out, groups=cfg.groups, act=act))
            c = cfg.out
        self.blocks = nn.Sequential(*blocks)
        self.transition = DarkConv(c, cfg.transition, 1, act=act)
        self.fuse = DarkConv(cfg.transition + cfg.part1, cfg.fuse, 1, act=act)

    def forward(self, x):
        x = self.down(x)
        bypass = self.part1(x)
        y = self.transition(self.blocks(self.part2(x)))
        return self.fuse(torch.cat([y, bypass], dim=1))


class CSPNet(nn.Module):
    """stem -> stage1..stageN -> global avg pool -> 1x1 conv classifier (with bias)."""

    def __init__(self, stem: nn.Module, stem_out: int, stages: tuple[StageCfg, ...],
                 block: type[nn.Module], num_classes: int = 1000, act: str = "leaky"):
        super().__init__()
        self.stem = stem
        c = stem_out
        for i, cfg in enumerate(stages, start=1):
            self.add_module(f"stage{i}", CSPStage(c, cfg, block, act=act))
            c = cfg.fuse
        self.num_stages = len(stages)
        self.num_features = c
        self.classifier = nn.Conv2d(c, num_classes, 1, bias=True)

    def forward(self, x):
        x = self.stem(x)
        for i in range(1, self.num_stages + 1):
            x = getattr(self, f"stage{i}")(x)
        x = F.adaptive_avg_pool2d(x, 1)
        return torch.flatten(self.classifier(x), 1)


def _resnet_stem(act: str, in_channels: int = 3) -> nn.Sequential:
    # [convolutional] 64 7x7/2 + [maxpool] size=2 stride=2
    return nn.Sequential(DarkConv(in_channels, 64, 7, 2, act=act), nn.MaxPool2d(2, 2))


# ----------------------------------------------------------------------------------------
# Zoo entries
# ----------------------------------------------------------------------------------------
_ACT = Knob("leaky", "activation: leaky (cfg, LeakyReLU 0.1) or mish (README 'Mish' rows)",
            type=str, choices=("leaky", "mish"))


def _knobs():
    return {
        "num_classes": Knob(1000, "classifier classes", type=int, low=1),
        "act": _ACT,
    }


@register_model("cspresnet50", paper=PAPER, family="cspnet", knobs=_knobs(), resolution=256,
                aliases=("csresnet50",))
def cspresnet50(num_classes: int = 1000, act: str = "leaky") -> nn.Module:
    """CSPResNet-50 (darknet cfg/csresnet50.cfg), 256x256 input."""
    return CSPNet(_resnet_stem(act), 64, CSPRESNET50, ResBottleneck, num_classes, act).eval()


@register_model("cspresnext50", paper=PAPER, family="cspnet", knobs=_knobs(), resolution=256,
                aliases=("csresnext50",))
def cspresnext50(num_classes: int = 1000, act: str = "leaky") -> nn.Module:
    """CSPResNeXt-50 32x4d-style (darknet cfg/csresnext50.cfg), 256x256 input."""
    return CSPNet(_resnet_stem(act), 64, CSPRESNEXT50, ResBottleneck, num_classes, act).eval()


@register_model("cspdarknet53", paper=PAPER, family="cspnet", knobs=_knobs(), resolution=256,
                aliases=("csdarknet53",))
def cspdarknet53(num_classes: int = 1000, act: str = "leaky") -> nn.Module:
    """CSPDarkNet-53 (darknet cfg/csdarknet53.cfg), 256x256 input."""
    stem = DarkConv(3, 32, 3, 1, act=act)
    return CSPNet(stem, 32, CSPDARKNET53, DarkBlock, num_classes, act).eval()


# ----------------------------------------------------------------------------------------
# Paper rows (paper_counts.csv, variant "CSPNet paper/README"; params + BFLOPs at 256)
# ----------------------------------------------------------------------------------------
paper_rows(
    PaperRow(model="CSPResNet-50", variant="CSPNet paper/README", spec="cspresnet50",
             metrics=("params", "bflops_darknet")),
    PaperRow(model="CSPResNeXt-50", variant="CSPNet paper/README", spec="cspresnext50",
             metrics=("params", "bflops_darknet")),
    PaperRow(model="CSPDarkNet-53", variant="CSPNet paper/README", spec="cspdarknet53",
             metrics=("params", "bflops_darknet")),
)
