"""ResNet-18/34/50/101/152 (He et al. 2016, arXiv:1512.03385, Table 1).

Paper Table 1 (input 224): conv1 7x7/2 64 -> 3x3/2 max-pool -> conv2_x..conv5_x
(stage widths 64/128/256/512; basic blocks [3x3, 3x3] for 18/34, bottlenecks
[1x1, 3x3, 1x1 x4] for 50/101/152) -> global average pool -> 1000-d fc.
Blocks per stage: 18 [2,2,2,2], 34 [3,4,6,3], 50 [3,4,6,3], 101 [3,4,23,3],
152 [3,8,36,3]. Shortcuts: identity, projection (1x1 conv + BN) where the shape changes
(paper option B). Printed FLOPs (multiply-adds): 1.8 / 3.6 / 3.8 / 7.6 / 11.3 x 10^9.

Where the stride-2 of a bottleneck stage sits (knob ``stride_in``):
  * "1x1" (default; the paper's ResNet v1): stride on the first 1x1 conv, as in
    KaimingHe/deep-residual-networks prototxt/ResNet-50-deploy.prototxt
    (res3a_branch2a: kernel 1, stride 2). ResNet-50: 3.86 G MACs.
  * "3x3" (ResNet v1.5, torchvision / NVIDIA): stride on the 3x3 conv, as in
    pytorch/vision torchvision/models/resnet.py (Bottleneck.conv2 gets the stride).
    ResNet-50: 4.09 G MACs (torchvision '_ops' 4.089).
Parameters are the same either way (ResNet-50: 25,557,032). Basic blocks always put the
stride on their first 3x3, so ResNet-18/34 have no such knob.

Counting notes: convs carry no bias (BN follows), as in torchvision. The Caffe release
gives conv1 a bias (64 more params); Keras ResNet50 (keras-team/keras-applications
keras_applications/resnet50.py: v1, Conv2D with the default use_bias=True) gives every
conv a bias (+26,560) and its total counts BN moving mean/var (+53,120):
25,557,032 + 79,680 = 25,636,712, exactly Keras's figure.
Table 1 figures for 18/101/152 (1.8/7.6/11.3) are quoted from memory; only 3.6 (Sec. 3.3)
and 3.8 are in paper_counts.csv.
Module names follow torchvision (conv1, bn1, layer1.0.conv1, ..., fc) so each block
layerN.M is one module with one input and one output.
The darknet 'ResNet-50' of the CSPNet README (22.73 M / 9.74 BFLOPs at 256) is a
different network and is not reproduced here.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .registry import Knob, PaperRow, paper_rows, register_model

# depth -> (block kind, blocks per stage); paper Table 1.
RESNET_CFG = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
RESNET_WIDTHS = (64, 128, 256, 512)
RESNET_STEM = 64


def _bn_conv(c_in: int, c_out: int, k: int, stride: int = 1) -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    return nn.Conv2d(c_in, c_out, k, stride, (k - 1) // 2, bias=False), nn.BatchNorm2d(c_out)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in: int, planes: int, stride: int = 1, stride_in: str = "3x3"):
        super().__init__()
        self.conv1, self.bn1 = _bn_conv(c_in, planes, 3, stride)
        self.conv2, self.bn2 = _bn_conv(planes, planes, 3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(c_in, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, planes: int, stride: int = 1, stride_in: str = "1x1"):
        super().__init__()
        s1, s3 = (stride, 1) if stride_in == "1x1" else (1, stride)
        c_out = planes * self.expansion
        self.conv1, self.bn1 = _bn_conv(c_in, planes, 1, s1)
        self.conv2, self.bn2 = _bn_conv(planes, planes, 3, s3)
        self.conv3, self.bn3 = _bn_conv(planes, c_out, 1)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(c_in, c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _shortcut(c_in: int, c_out: int, stride: int) -> nn.Module | None:
    """Paper option B: projection (1x1 conv, stride, + BN) only where the shape changes."""
    if stride == 1 and c_in == c_out:
        return None
    return nn.Sequential(*_bn_conv(c_in, c_out, 1, stride))


class ResNet(nn.Module):
    def __init__(self, depth: int, num_classes: int = 1000, stride_in: str = "1x1",
                 in_channels: int = 3):
        super().__init__()
        kind, blocks = RESNET_CFG[depth]
        block = BasicBlock if kind == "basic" else Bottleneck
        self.conv1, self.bn1 = _bn_conv(in_channels, RESNET_STEM, 7, 2)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c_in = RESNET_STEM
        for i, (planes, n) in enumerate(zip(RESNET_WIDTHS, blocks)):
            layers = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(block(c_in, planes, stride, stride_in))
                c_in = planes * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


_PAPER = ("He et al. 2016, Deep Residual Learning for Image Recognition, arXiv:1512.03385")


def _num_classes() -> Knob:
    return Knob(1000, "classifier classes", type=int, low=1)


def _stride_in() -> Knob:
    return Knob("1x1", "bottleneck conv carrying the stage stride: 1x1 = paper ResNet v1 "
                "(Caffe release), 3x3 = ResNet v1.5 (torchvision)", type=str,
                choices=("1x1", "3x3"))


@register_model("resnet18", paper=_PAPER, family="resnet",
                knobs={"num_classes": _num_classes()}, aliases=("resnet-18",))
def resnet18(num_classes: int = 1000) -> nn.Module:
    """ResNet-18 (basic blocks [2,2,2,2])."""
    return ResNet(18, num_classes=num_classes).eval()


@register_model("resnet34", paper=_PAPER, family="resnet",
                knobs={"num_classes": _num_classes()}, aliases=("resnet-34",))
def resnet34(num_classes: int = 1000) -> nn.Module:
    """ResNet-34 (basic blocks [3,4,6,3])."""
    return ResNet(34, num_classes=num_classes).eval()


@register_model("resnet50", paper=_PAPER, family="resnet",
                knobs={"stride_in": _stride_in(), "num_classes": _num_classes()},
                aliases=("resnet-50",))
def resnet50(stride_in: str = "1x1", num_classes: int = 1000) -> nn.Module:
    """ResNet-50 (bottlenecks [3,4,6,3]); stride_in=3x3 for torchvision's v1.5."""
    return ResNet(50, num_classes=num_classes, stride_in=stride_in).eval()


@register_model("resnet101", paper=_PAPER, family="resnet",
                knobs={"stride_in": _stride_in(), "num_classes": _num_classes()},
                aliases=("resnet-101",))
def resnet101(stride_in: str = "1x1", num_classes: int = 1000) -> nn.Module:
    """ResNet-101 (bottlenecks [3,4,23,3]); stride_in=3x3 for torchvision's v1.5."""
    return ResNet(101, num_classes=num_classes, stride_in=stride_in).eval()


@register_model("resnet152", paper=_PAPER, family="resnet",
                knobs={"stride_in": _stride_in(), "num_classes": _num_classes()},
                aliases=("resnet-152",))
def resnet152(stride_in: str = "1x1", num_classes: int = 1000) -> nn.Module:
    """ResNet-152 (bottlenecks [3,8,36,3]); stride_in=3x3 for torchvision's v1.5."""
    return ResNet(152, num_classes=num_classes, stride_in=stride_in).eval()


_ONE_DECIMAL = (
    "He et al. print one decimal, not consistently rounded: costlab's ResNet v1 (stride on the "
    "1x1) gives 1.81 / 3.66 / 3.86 / 7.57 / 11.28 G MACs for 18/34/50/101/152 where Table 1 "
    "prints 1.8 / 3.6 / 3.8 / 7.6 / 11.3 (18/34/50 look truncated, 101/152 rounded; the "
    "18/101/152 figures from memory); the "
    "architecture is the paper's (checked against the Caffe release); v1.5 (stride_in=3x3) "
    "would give 4.09 G for ResNet-50, 7.6% off, so the figure identifies v1"
)

_KERAS = ("Keras ResNet50 convs carry biases (+26,560) and its total counts BN moving "
          "mean/var (+53,120): 25,557,032 + 79,680 = 25,636,712 exactly (0.3% above costlab)")

paper_rows(
    PaperRow(model="ResNet-50", variant="paper Table 1", spec="resnet50", metrics=("madds",),
             reasons={"madds": _ONE_DECIMAL}),
    PaperRow(model="ResNet-50", variant="as quoted in ShuffleNetV2 paper", spec="resnet50",
             metrics=("madds",),
             reasons={"madds": "ShuffleNetV2 quotes He et al.'s 3.8 G; " + _ONE_DECIMAL}),
    PaperRow(model="ResNet-50", variant="torchvision resnet50 IMAGENET1K_V1",
             spec="resnet50:stride_in=3x3"),
    PaperRow(model="ResNet50", variant="Keras include_top=True", spec="resnet50",
             metrics=("params",),
             reasons={"params": _KERAS}),
    PaperRow(model="ResNet-50", variant="Keras", spec="resnet50", metrics=("params",),
             reasons={"params": _KERAS}),
    PaperRow(model="ResNet-34", variant="plain/residual baseline", spec="resnet34",
             metrics=("madds",),
             reasons={"madds": _ONE_DECIMAL}),
    PaperRow(model="ResNet-50", variant="as quoted in TF-slim MobileNet README", spec="resnet50",
             metrics=("madds",),
             reasons={"madds": "'approximately 3500 MMAdds' is a rounded README figure that "
                      "matches no ResNet-50 layout exactly: v1 3.86 G (+10%), v1.5 4.09 G, TF-slim "
                      "resnet_v1_50 layout (stride on the last unit of blocks 1-3) 3.64 G; v1 "
                      "without its four projection shortcuts is 3.50 G, possibly the source, "
                      "but the README does not say; unexplained"}),
)
