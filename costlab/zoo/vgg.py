"""VGG-11/13/16/19 (configurations A, B, D, E).

Simonyan & Zisserman 2014, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", arXiv:1409.1556, Table 1 (ConvNet configurations): every conv is 3x3,
stride 1, pad 1, with bias and ReLU; 2x2/2 max-pools between the five stages;
FC-4096, FC-4096, FC-1000 head (ReLU + dropout on the first two). Input 224.

Checked against pytorch/vision torchvision/models/vgg.py (cfgs 'A','B','D','E';
AdaptiveAvgPool2d((7, 7)) before the head, identity at 224; Linear(512*7*7, 4096) ->
ReLU -> Dropout -> Linear(4096, 4096) -> ReLU -> Dropout -> Linear(4096, classes);
batch_norm=True variant puts BN between conv and ReLU). VGG-16: 138,357,544 params
(torchvision and Keras agree), 15.47 G MACs (15,347 M in the convs + 123.6 M in the FCs).
Layer names follow the paper's/Caffe's conv{stage}_{i}, pool{stage}, fc6-fc8.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from .registry import Knob, PaperRow, paper_rows, register_model

# Paper Table 1: output channels per conv, per stage (each stage ends in a 2x2/2 max-pool).
VGG_CFG = {
    "vgg11": [[64], [128], [256, 256], [512, 512], [512, 512]],                          # A
    "vgg13": [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],                 # B
    "vgg16": [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],  # D
    "vgg19": [[64, 64], [128, 128], [256] * 4, [512] * 4, [512] * 4],                    # E
}
VGG_FC = 4096
VGG_POOL_OUT = 7


class VGG(nn.Module):
    def __init__(self, cfg: list[list[int]], num_classes: int = 1000, batch_norm: bool = False,
                 in_channels: int = 3):
        super().__init__()
        layers: list[tuple[str, nn.Module]] = []
        c_in = in_channels
        for s, stage in enumerate(cfg, start=1):
            for i, c_out in enumerate(stage, start=1):
                layers.append((f"conv{s}_{i}", nn.Conv2d(c_in, c_out, 3, padding=1)))
                if batch_norm:
                    layers.append((f"bn{s}_{i}", nn.BatchNorm2d(c_out)))
                layers.append((f"relu{s}_{i}", nn.ReLU(inplace=True)))
                c_in = c_out
            layers.append((f"pool{s}", nn.MaxPool2d(2, 2)))
        self.features = nn.Sequential(OrderedDict(layers))
        self.avgpool = nn.AdaptiveAvgPool2d((VGG_POOL_OUT, VGG_POOL_OUT))
        self.classifier = nn.Sequential(OrderedDict([
            ("fc6", nn.Linear(c_in * VGG_POOL_OUT * VGG_POOL_OUT, VGG_FC)),
            ("relu6", nn.ReLU(inplace=True)),
            ("drop6", nn.Dropout()),
            ("fc7", nn.Linear(VGG_FC, VGG_FC)),
            ("relu7", nn.ReLU(inplace=True)),
            ("drop7", nn.Dropout()),
            ("fc8", nn.Linear(VGG_FC, num_classes)),
        ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        return self.classifier(torch.flatten(x, 1))


_PAPER = ("Simonyan & Zisserman 2014, Very Deep Convolutional Networks for Large-Scale "
          "Image Recognition, arXiv:1409.1556")


def _knobs() -> dict[str, Knob]:
    return {
        "batch_norm": Knob(0, "1 = BatchNorm after every conv (torchvision vgg*_bn)", type=int,
                           choices=(0, 1)),
        "num_classes": Knob(1000, "classifier classes", type=int, low=1),
    }


@register_model("vgg11", paper=_PAPER, family="vgg", knobs=_knobs(), aliases=("vgg-11",))
def vgg11(batch_norm: int = 0, num_classes: int = 1000) -> nn.Module:
    """VGG-11 (configuration A, paper Table 1)."""
    return VGG(VGG_CFG["vgg11"], num_classes=num_classes, batch_norm=bool(batch_norm)).eval()


@register_model("vgg13", paper=_PAPER, family="vgg", knobs=_knobs(), aliases=("vgg-13",))
def vgg13(batch_norm: int = 0, num_classes: int = 1000) -> nn.Module:
    """VGG-13 (configuration B, paper Table 1)."""
    return VGG(VGG_CFG["vgg13"], num_classes=num_classes, batch_norm=bool(batch_norm)).eval()


@register_model("vgg16", paper=_PAPER, family="vgg", knobs=_knobs(), aliases=("vgg-16",))
def vgg16(batch_norm: int = 0, num_classes: int = 1000) -> nn.Module:
    """VGG-16 (configuration D, paper Table 1)."""
    return VGG(VGG_CFG["vgg16"], num_classes=num_classes, batch_norm=bool(batch_norm)).eval()


@register_model("vgg19", paper=_PAPER, family="vgg", knobs=_knobs(), aliases=("vgg-19",))
def vgg19(batch_norm: int = 0, num_classes: int = 1000) -> nn.Module:
    """VGG-19 (configuration E, paper Table 1)."""
    return VGG(VGG_CFG["vgg19"], num_classes=num_classes, batch_norm=bool(batch_norm)).eval()


_VGG16_MADDS_REASON = (
    "paper prints 15300 M; the full network (13 convs + 3 FCs) is 15,470 M MACs (torchvision "
    "'_ops' 15.47), 1.1% more; the 13 convs alone are 15,347 M (0.3% off), so the quoted "
    "figure looks like a conv-only or truncated count (the paper does not say)"
)

paper_rows(
    PaperRow(model="VGG-16", variant="as quoted in MobileNetV1 paper Table 8", spec="vgg16",
             reasons={"madds": _VGG16_MADDS_REASON}),
    PaperRow(model="VGG-16", variant="as quoted in ShuffleNetV1 paper Table 6", spec="vgg16",
             metrics=("madds",), reasons={"madds": _VGG16_MADDS_REASON}),
    PaperRow(model="VGG-16", variant="torchvision vgg16 IMAGENET1K_V1", spec="vgg16"),
    PaperRow(model="VGG16", variant="Keras include_top=True", spec="vgg16", metrics=("params",)),
    PaperRow(model="VGG-16", variant="Han 2015 Table 5 total", spec="vgg16", metrics=("flops",)),
    PaperRow(model="VGG19", variant="Keras include_top=True", spec="vgg19", metrics=("params",)),
    PaperRow(model="VGG-19", variant="as quoted in ResNet paper", spec="vgg19", metrics=("madds",)),
)
