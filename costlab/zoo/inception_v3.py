"""Inception v3.

Szegedy et al. 2016, "Rethinking the Inception Architecture for Computer Vision",
arXiv:1512.00567, Table 1 (outline) and Figs. 5-7 (the 35x35, 17x17 and 8x8 modules),
Sec. 4 (auxiliary classifier on the last 17x17 layer, with BN).

The paper's Table 1 is only an outline (its stem, e.g. "conv 3x3/1 ... 288", differs
from the released network), so the network is built as released, checked against:
  * keras-team/keras-applications keras_applications/inception_v3.py: every conv is
    conv (no bias) -> BN (``scale=False``, eps 1e-3) -> ReLU; stem 3x3/2 valid 32,
    3x3 valid 32, 3x3 same 64, max pool 3x3/2, 1x1 80, 3x3 valid 192, max pool 3x3/2
    (299 -> 149 -> 147 -> 73 -> 71 -> 35); mixed0..mixed10 with the channel numbers in
    the tables below; branch pools are 3x3/1 'same' average pools (TF: padding not
    counted); global average pool -> Dense(classes).
  * tensorflow/models research/slim/nets/inception_v3.py (same body, module names
    Mixed_5b..Mixed_7c used here; AuxLogits on Mixed_6e: 5x5/3 valid avg pool, 1x1 128,
    5x5 valid 768, 1x1 conv to the classes with bias).
  * pytorch/vision torchvision/models/inception.py (same body and aux head, the aux
    classifier as Linear(768, classes); BN with gamma *and* beta).

Counting: PyTorch BatchNorm2d has a learnable gamma and beta (torchvision's convention);
Keras/TF-slim use ``scale=False`` (beta only), so their trainable count is 17,216 lower.
At 299: conv 21,751,136 + BN 34,432 + FC 2,049,000 = 23,834,568 params, 5,713.2 M MACs
(torchvision: 27,161,264 params with AuxLogits, "5.71 GFLOPS").
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .registry import Knob, PaperRow, paper_rows, register_model

_PAPER = ("Szegedy et al. 2016, Rethinking the Inception Architecture for Computer Vision, "
          "arXiv:1512.00567")

# --------------------------------------------------------------------------------------
# Body as in keras_applications/inception_v3.py (= TF-slim inception_v3_base).
# 35x35 modules (Fig. 5): name, pool-branch 1x1 width.  Branches: 1x1 64 | 1x1 48 -> 5x5 64 |
# 1x1 64 -> 3x3 96 -> 3x3 96 | avgpool -> 1x1 pool.
_MIXED_35 = (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64))        # 35x35x256/288/288
# Grid reduction 35 -> 17 (Fig. 10): 3x3/2 384 | 1x1 64 -> 3x3 96 -> 3x3/2 96 | maxpool.
# 17x17 modules (Fig. 6, n = 7): name, c7.  Branches: 1x1 192 | 1x1 c7 -> 1x7 c7 -> 7x1 192 |
# 1x1 c7 -> 7x1 c7 -> 1x7 c7 -> 7x1 c7 -> 1x7 192 | avgpool -> 1x1 192.
_MIXED_17 = (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192))
# Grid reduction 17 -> 8: 1x1 192 -> 3x3/2 320 | 1x1 192 -> 1x7 192 -> 7x1 192 -> 3x3/2 192 |
# maxpool.  8x8 modules (Fig. 7): 1x1 320 | 1x1 384 -> (1x3 384, 3x1 384) |
# 1x1 448 -> 3x3 384 -> (1x3 384, 3x1 384) | avgpool -> 1x1 192.
_MIXED_8 = ("Mixed_7b", "Mixed_7c")                                        # 8x8x2048


class BasicConv2d(nn.Sequential):
    """conv (no bias) -> BN (eps 1e-3) -> ReLU; ``k`` may be (kh, kw)."""

    def __init__(self, c_in: int, c_out: int, k, stride: int = 1, padding=0):
        super().__init__(
            nn.Conv2d(c_in, c_out, k, stride, padding, bias=False),
            nn.BatchNorm2d(c_out, eps=1e-3),
            nn.ReLU(inplace=True),
        )


def _avgpool_same() -> nn.AvgPool2d:
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    """35x35 module (Fig. 5, 5x5 branch as released: 1x1 48 -> 5x5 64)."""

    def __init__(self, c_in: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 64, 1)
        self.branch5x5 = nn.Sequential(BasicConv2d(c_in, 48, 1), BasicConv2d(48, 64, 5, padding=2))
        self.branch3x3dbl = nn.Sequential(BasicConv2d(c_in, 64, 1),
                                          BasicConv2d(64, 96, 3, padding=1),
                                          BasicConv2d(96, 96, 3, padding=1))
        self.branch_pool = nn.Sequential(_avgpool_same(), BasicConv2d(c_in, pool_features, 1))
        self.out_channels = 64 + 64 + 96 + pool_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1x1(x), self.branch5x5(x), self.branch3x3dbl(x),
                          self.branch_pool(x)], 1)


class InceptionB(nn.Module):
    """Grid reduction 35x35x288 -> 17x17x768 (Mixed_6a)."""

    def __init__(self, c_in: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(c_in, 384, 3, stride=2)
        self.branch3x3dbl = nn.Sequential(BasicConv2d(c_in, 64, 1),
                                          BasicConv2d(64, 96, 3, padding=1),
                                          BasicConv2d(96, 96, 3, stride=2))
        self.branch_pool = nn.MaxPool2d(3, stride=2)
        self.out_channels = 384 + 96 + c_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch3x3(x), self.branch3x3dbl(x), self.branch_pool(x)], 1)


class InceptionC(nn.Module):
    """17x17 module with factorized 7x7 convolutions (Fig. 6)."""

    def __init__(self, c_in: int, c7: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 192, 1)
        self.branch7x7 = nn.Sequential(BasicConv2d(c_in, c7, 1),
                                       BasicConv2d(c7, c7, (1, 7), padding=(0, 3)),
                                       BasicConv2d(c7, 192, (7, 1), padding=(3, 0)))
        self.branch7x7dbl = nn.Sequential(BasicConv2d(c_in, c7, 1),
                                          BasicConv2d(c7, c7, (7, 1), padding=(3, 0)),
                                          BasicConv2d(c7, c7, (1, 7), padding=(0, 3)),
                                          BasicConv2d(c7, c7, (7, 1), padding=(3, 0)),
                                          BasicConv2d(c7, 192, (1, 7), padding=(0, 3)))
        self.branch_pool = nn.Sequential(_avgpool_same(), BasicConv2d(c_in, 192, 1))
        self.out_channels = 768

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1x1(x), self.branch7x7(x), self.branch7x7dbl(x),
                          self.branch_pool(x)], 1)


class InceptionD(nn.Module):
    """Grid reduction 17x17x768 -> 8x8x1280 (Mixed_7a)."""

    def __init__(self, c_in: int):
        super().__init__()
        self.branch3x3 = nn.Sequential(BasicConv2d(c_in, 192, 1), BasicConv2d(192, 320, 3, stride=2))
        self.branch7x7x3 = nn.Sequential(BasicConv2d(c_in, 192, 1),
                                         BasicConv2d(192, 192, (1, 7), padding=(0, 3)),
                                         BasicConv2d(192, 192, (7, 1), padding=(3, 0)),
                                         BasicConv2d(192, 192, 3, stride=2))
        self.branch_pool = nn.MaxPool2d(3, stride=2)
        self.out_channels = 320 + 192 + c_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch3x3(x), self.branch7x7x3(x), self.branch_pool(x)], 1)


class InceptionE(nn.Module):
    """8x8 module with expanded filter bank outputs (Fig. 7)."""

    def __init__(self, c_in: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 320, 1)
        self.branch3x3_1 = BasicConv2d(c_in, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(c_in, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = nn.Sequential(_avgpool_same(), BasicConv2d(c_in, 192, 1))
        self.out_channels = 320 + 768 + 768 + 192

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier on Mixed_6e (Sec. 4; slim AuxLogits / torchvision InceptionAux):
    5x5/3 avg pool (17 -> 5), 1x1 128, 5x5 valid 768, global pool, FC to the classes."""

    def __init__(self, c_in: int, num_classes: int):
        super().__init__()
        self.pool = nn.AvgPool2d(5, stride=3)
        self.conv0 = BasicConv2d(c_in, 128, 1)
        self.conv1 = BasicConv2d(128, 768, 5)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.conv0(self.pool(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class InceptionV3(nn.Module):
    def __init__(self, num_classes: int = 1000, aux_logits: bool = False):
        super().__init__()
        self.aux_logits = aux_logits
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)        # 149x149x32
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)                 # 147x147x32
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)      # 147x147x64
        self.MaxPool_3a_3x3 = nn.MaxPool2d(3, stride=2)             # 73x73x64
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)                 # 73x73x80
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)                # 71x71x192
        self.MaxPool_5a_3x3 = nn.MaxPool2d(3, stride=2)             # 35x35x192
        c = 192
        for name, pool_features in _MIXED_35:
            block = InceptionA(c, pool_features)
            setattr(self, name, block)
            c = block.out_channels
        self.Mixed_6a = InceptionB(c)                               # 17x17x768
        c = self.Mixed_6a.out_channels
        for name, c7 in _MIXED_17:
            setattr(self, name, InceptionC(c, c7))
        self.AuxLogits = InceptionAux(768, num_classes) if aux_logits else None
        self.Mixed_7a = InceptionD(768)                             # 8x8x1280
        c = self.Mixed_7a.out_channels
        for name in _MIXED_8:
            block = InceptionE(c)
            setattr(self, name, block)
            c = block.out_channels
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(c, num_classes)                         # 2048 -> classes

    def forward(self, x: torch.Tensor):
        x = self.MaxPool_3a_3x3(self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x))))
        x = self.MaxPool_5a_3x3(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)))
        for name, _ in _MIXED_35:
            x = getattr(self, name)(x)
        x = self.Mixed_6a(x)
        for name, _ in _MIXED_17:
            x = getattr(self, name)(x)
        aux = self.AuxLogits(x) if self.AuxLogits is not None else None
        x = self.Mixed_7a(x)
        for name in _MIXED_8:
            x = getattr(self, name)(x)
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        if aux is not None:
            return x, aux
        return x


@register_model(
    "inception_v3",
    paper=_PAPER,
    family="inception",
    knobs={
        "num_classes": Knob(1000, "classifier classes", type=int, low=1),
        "aux_logits": Knob(0, "1 adds the auxiliary classifier on Mixed_6e (training graph; "
                              "forward then returns (logits, aux_logits))",
                           type=int, choices=(0, 1)),
    },
    resolution=299,
    in_channels=3,
)
def inception_v3(num_classes: int = 1000, aux_logits: int = 0) -> nn.Module:
    """Inception v3 (Szegedy et al. 2016), as released in TF-slim / Keras."""
    return InceptionV3(num_classes=num_classes, aux_logits=bool(aux_logits)).eval()


# --------------------------------------------------------------------------------------
_XCEPTION_PAPER_REASON = (
    "Xception paper Table 3 prints 23,626,728; costlab 23,834,568 (+0.88%) = conv 21,751,136 "
    "+ BN gamma/beta 34,432 + FC 2,049,000. No combination of these terms (BN beta only as in "
    "Keras: 23,817,352; no BN: 23,800,136; 1001 classes; no FC bias) gives the paper's number, "
    "and no stored source explains it (CONVENTIONS.md section 3): unexplained")
_T10 = (
    "MobileNet Table 10 (Stanford Dogs) is compared with its 120-class head "
    "(inception_v3:num_classes=120)")

paper_rows(
    PaperRow("InceptionV3", "as counted in Xception paper", "inception_v3", ("params",),
             reasons={"params": _XCEPTION_PAPER_REASON}),
    PaperRow("InceptionV3", "Keras include_top=True", "inception_v3", ("params",),
             reasons={"params": "Keras total 23,851,784 = 23,817,352 trainable (conv + BN beta, "
                                "Keras uses scale=False + FC) + 34,432 BN moving mean/var; "
                                "costlab counts nn.Parameters with PyTorch BN gamma and beta: "
                                "23,834,568 (-0.07%)"}),
    PaperRow("InceptionV3", "torchvision inception_v3 IMAGENET1K_V1", "inception_v3:aux_logits=1",
             ("params",)),
    PaperRow("InceptionV3", "as quoted in MobileNetV1 paper (Stanford Dogs, Table 10)",
             "inception_v3:num_classes=120", ("params", "madds"),
             reasons={"madds": "5000 M is the Rethinking paper's rounded '5 billion multiply-adds' "
                               "(abstract); the released network at 299 counts 5,711.4 M conv+FC "
                               "MACs with the 120-class head (torchvision '5.71 GFLOPS' with 1000 "
                               "classes); " + _T10,
                      "params": "23.2 M is unexplained: the released network has 22,031,448 "
                                "params with a 120-class head (-5.0%) and 23,834,568 with the "
                                "1000-class head (+2.7%); MobileNet gives no breakdown; " + _T10}),
)
