"""ProxylessNAS-Mobile and its lookup-table blocks.

Cai, Zhu & Han 2019, "ProxylessNAS: Direct Neural Architecture Search on Target Task and
Hardware", arXiv:1812.00332. The network is read from the TF-Lite per-op profile that the
authors published with it (mit-han-lab/proxylessnas logs/proxyless_mobile_10_latency.txt,
MIT; copied to ``costlab/data/latency/``): its node names give each block as
``expanded_conv_i/up_E-ks_K-st_S-id_I`` (expansion E, depthwise kernel K, stride S,
identity skip I), and the widths come from the matching entries of the per-block latency
lookup table (han-cai/files proxylessnas/mobile_trim.yaml):

* stem 3x3 conv stride 2, 32 channels (BN, ReLU6);
* 20 MBConv blocks (1x1 expand -> BN -> ReLU6 -> KxK depthwise -> BN -> ReLU6 -> 1x1
  project -> BN, + input when ``id_1``), output widths 16, 24 x2, 40 x4, 80 x4, 96 x4,
  192 x4, 320 (:data:`BLOCKS`);
* ``Conv_1`` 1x1 320 -> 1280 (BN, ReLU6), global average pool, 1000-way classifier.

The lookup table's block keys are zoo entries too, so each table entry is a sample costlab
can trace: ``proxyless_mbconv:cin=24,cout=40,expand=3,k=7,stride=2,skip=0`` on a
``1 x 24 x 56 x 56`` input, ``proxyless_conv`` (stem / Conv_1) and ``proxyless_logits``.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .common import Checked, ConvBNAct
from .registry import Knob, SpecError, register_model

_PAPER = "Cai et al. 2019, ProxylessNAS: Direct Neural Architecture Search on Target Task and Hardware, arXiv:1812.00332"

# (expand, kernel, stride, c_out, identity skip) of ProxylessNAS-Mobile's 20 MBConv blocks
BLOCKS: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 16, 0),
    (3, 5, 2, 24, 0), (3, 3, 1, 24, 1),
    (3, 7, 2, 40, 0), (3, 3, 1, 40, 1), (3, 5, 1, 40, 1), (3, 5, 1, 40, 1),
    (6, 7, 2, 80, 0), (3, 5, 1, 80, 1), (3, 5, 1, 80, 1), (3, 5, 1, 80, 1),
    (6, 5, 1, 96, 0), (3, 5, 1, 96, 1), (3, 5, 1, 96, 1), (3, 5, 1, 96, 1),
    (6, 7, 2, 192, 0), (6, 7, 1, 192, 1), (3, 7, 1, 192, 1), (3, 7, 1, 192, 1),
    (6, 7, 1, 320, 0),
)
STEM, LAST = 32, 1280


class MBConv(nn.Module):
    """ProxylessNAS / MobileNet v2 inverted residual with a KxK depthwise conv."""

    def __init__(self, c_in: int, c_out: int, expand: int, k: int, stride: int, skip: bool):
        super().__init__()
        hidden = c_in * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNAct(c_in, hidden, 1, act=nn.ReLU6))
        layers.append(ConvBNAct(hidden, hidden, k, stride, groups=hidden, act=nn.ReLU6))
        layers.append(ConvBNAct(hidden, c_out, 1, act=None))
        self.conv = nn.Sequential(*layers)
        self.skip = skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.skip else self.conv(x)


class ProxylessNASMobile(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = [ConvBNAct(3, STEM, 3, 2, act=nn.ReLU6)]
        c = STEM
        for e, k, s, co, sk in BLOCKS:
            layers.append(MBConv(c, co, e, k, s, bool(sk)))
            c = co
        layers.append(ConvBNAct(c, LAST, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(LAST, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


@register_model("proxylessnas_mobile", paper=_PAPER, family="proxylessnas",
                knobs={"num_classes": Knob(1000, "classes", type=int, low=1)},
                description="ProxylessNAS-Mobile (the architecture of the authors' TF-Lite latency log)")
def proxylessnas_mobile(num_classes=1000) -> nn.Module:
    return ProxylessNASMobile(num_classes).eval()


@register_model(
    "proxyless_mbconv", paper=_PAPER, family="proxylessnas", resolution=56, in_channels=24,
    knobs={
        "cin": Knob(24, "input channels", type=int, low=1),
        "cout": Knob(24, "output channels", type=int, low=1),
        "expand": Knob(3, "expansion ratio", type=int, low=1, high=12),
        "k": Knob(3, "depthwise kernel", type=int, choices=(3, 5, 7)),
        "stride": Knob(1, "depthwise stride", type=int, choices=(1, 2)),
        "skip": Knob(0, "identity shortcut (needs cin = cout, stride 1)", type=int, choices=(0, 1)),
    },
    description="one MBConv block of the ProxylessNAS search space (a lookup-table entry)",
)
def proxyless_mbconv(cin=24, cout=24, expand=3, k=3, stride=1, skip=0) -> nn.Module:
    if skip and (cin != cout or stride != 1):
        raise SpecError(f"proxyless_mbconv: skip=1 needs cin = cout and stride 1 (got cin={cin}, cout={cout}, stride={stride})")
    return Checked("proxyless_mbconv", cin, MBConv(cin, cout, expand, k, stride, bool(skip))).eval()


@register_model(
    "proxyless_conv", paper=_PAPER, family="proxylessnas", resolution=224, in_channels=3,
    knobs={
        "cin": Knob(3, "input channels", type=int, low=1),
        "cout": Knob(32, "output channels", type=int, low=1),
        "k": Knob(3, "kernel", type=int, low=1, high=7),
        "stride": Knob(2, "stride", type=int, choices=(1, 2)),
    },
    description="conv -> BN -> ReLU6 (the lookup table's 'Conv' stem and 'Conv_1' head)",
)
def proxyless_conv(cin=3, cout=32, k=3, stride=2) -> nn.Module:
    return Checked("proxyless_conv", cin, ConvBNAct(cin, cout, k, stride, act=nn.ReLU6)).eval()


class _Logits(nn.Module):
    def __init__(self, cin: int, classes: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(x), 1))


@register_model(
    "proxyless_logits", paper=_PAPER, family="proxylessnas", resolution=7, in_channels=1280,
    knobs={"cin": Knob(1280, "input channels", type=int, low=1),
           "classes": Knob(1000, "outputs", type=int, low=1)},
    description="global average pool + fully connected classifier (the lookup table's 'Logits')",
)
def proxyless_logits(cin=1280, classes=1000) -> nn.Module:
    return Checked("proxyless_logits", cin, _Logits(cin, classes)).eval()
