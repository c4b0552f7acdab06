"""GoogLeNet (Inception v1).

Szegedy et al. 2015, "Going Deeper with Convolutions", arXiv:1409.4842, Table 1 (layer
table: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj of inception 3a..5b) and
Fig. 3 (the full graph: LocalRespNorm after pool1 and conv2, the auxiliary classifiers).

Checked against:
  * BVLC/caffe models/bvlc_googlenet/deploy.prototxt (the paper's reference port):
    conv1 7x7/2 pad 3; max pools 3x3/2 without padding in Caffe's ceil mode
    (112 -> 56 -> 28 -> 14 -> 7); LRN(local_size 5, alpha 1e-4, beta 0.75) after pool1
    and after conv2/3x3; conv2 = 1x1 64 reduce + 3x3 192 pad 1; inception branches
    1x1 | 1x1 -> 3x3 pad 1 | 1x1 -> 5x5 pad 2 | 3x3/1 pad 1 max pool -> 1x1 "pool proj";
    every conv has a bias and a ReLU, no BN; 7x7 average pool, dropout 0.4, 1024 -> 1000
    "loss3/classifier".  Auxiliary heads (Sec. 5 / train_val.prototxt): 5x5/3 average
    pool, 1x1 conv 128 + ReLU, FC 1024 + ReLU, dropout 0.7, FC to the classes; on top of
    inception 4a and 4d.  (The stored copy of deploy.prototxt is garbled by merge markers;
    conv1 .. conv2/norm2 were read there, the inception branches agree with
    torchvision's Inception class apart from the 5x5 kernel noted below, and the aux-head
    layout is from the paper's Sec. 5 text.)
  * pytorch/vision torchvision/models/googlenet.py (knob ``impl=torchvision``): BN (eps
    1e-3) after every bias-free conv, no LRN, pool4 is 2x2/2, and the "5x5" branch uses a
    3x3 kernel -- a known torchvision bug kept for weight compatibility
    (pytorch/vision issue #906).  Its weights' meta gives 6,624,904 params without the aux
    heads, which ``googlenet:impl=torchvision`` reproduces exactly.

Decision: the default ``googlenet`` is the paper's network (Table 1 + Fig. 3, as in the
BVLC Caffe port).  Counts at 224 (conv + FC MACs; nn.Parameters incl. biases):
  * paper:       6,998,552 params (6,990,272 weights + 8,280 biases), 1,582.7 M MACs.
    Table 1's per-module values quoted below are from memory of the PDF (no stored copy
    of Table 1 was found; the channel columns were checked against the Caffe port).
    Table 1's ops column matches our per-module MACs (conv2 359.7 M = "360M", 3a 128.1 M,
    3b 304.3 M, 4a..4e 73.6/87.9/99.9/118.5/170.0 M, 5b 70.7 M, FC 1.0 M) except conv1,
    printed as 34M / 2.7K params while a 7x7x3x64 conv on a 112x112 output is 9,408
    weights / 118.0 M MACs (an erratum), and 5a (54M vs 51.1 M).  Its column sum is
    1502 M; with conv1 corrected, 1586 M.  Table 1's params column uses K = 1024 (conv2
    114,688 = "112K", FC 1,024,000 = "1000K") and several entries disagree with its own
    channel columns (4c "463K" vs 509,440 = 497.5K; 5a "1072K" vs 1,042,432 = 1018K).
  * torchvision: 6,624,904 params, 1,498.4 M MACs (3x3 instead of 5x5 saves 84 M).
The auxiliary heads (``aux_logits=1``) are part of the training graph only; with them
the forward returns ``(logits, aux1, aux2)`` so that a tracer sees their cost.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .registry import Knob, PaperRow, paper_rows, register_model

_PAPER = "Szegedy et al. 2015, Going Deeper with Convolutions, arXiv:1409.4842"

# --------------------------------------------------------------------------------------
# Szegedy et al. 2015, Table 1: name, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
# A 3x3/2 max pool follows inception 3b ("pool3") and 4e ("pool4").
_TABLE1: tuple[tuple[str, int, int, int, int, int, int], ...] = (
    ("inception3a", 64, 96, 128, 16, 32, 32),      # 28x28x256
    ("inception3b", 128, 128, 192, 32, 96, 64),    # 28x28x480
    ("inception4a", 192, 96, 208, 16, 48, 64),     # 14x14x512
    ("inception4b", 160, 112, 224, 24, 64, 64),    # 14x14x512
    ("inception4c", 128, 128, 256, 24, 64, 64),    # 14x14x512
    ("inception4d", 112, 144, 288, 32, 64, 64),    # 14x14x528
    ("inception4e", 256, 160, 320, 32, 128, 128),  # 14x14x832
    ("inception5a", 256, 160, 320, 32, 128, 128),  # 7x7x832
    ("inception5b", 384, 192, 384, 48, 128, 128),  # 7x7x1024
)
_POOL_AFTER = {"inception3b": "pool3", "inception4e": "pool4"}
_AUX_AFTER = {"inception4a": "aux1", "inception4d": "aux2"}   # paper Sec. 5 / Fig. 3


def _conv(c_in: int, c_out: int, k: int, stride: int = 1, padding: int = 0,
          bn: bool = False) -> nn.Sequential:
    """Caffe style: conv (with bias) -> ReLU; torchvision style: conv -> BN -> ReLU."""
    if bn:
        return nn.Sequential(
            nn.Conv2d(c_in, c_out, k, stride, padding, bias=False),
            nn.BatchNorm2d(c_out, eps=1e-3),
            nn.ReLU(inplace=True),
        )
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, padding), nn.ReLU(inplace=True))


class Inception(nn.Module):
    """One inception module (Fig. 2b): four parallel branches concatenated on channels."""

    def __init__(self, c_in: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, cp: int,
                 bn: bool = False, k5: int = 5):
        super().__init__()
        self.branch1 = _conv(c_in, c1, 1, bn=bn)
        self.branch2 = nn.Sequential(_conv(c_in, c3r, 1, bn=bn), _conv(c3r, c3, 3, padding=1, bn=bn))
        self.branch3 = nn.Sequential(_conv(c_in, c5r, 1, bn=bn),
                                     _conv(c5r, c5, k5, padding=k5 // 2, bn=bn))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     _conv(c_in, cp, 1, bn=bn))
        self.out_channels = c1 + c3 + c5 + cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier (Sec. 5): avg pool to 4x4, 1x1 conv 128, FC 1024, FC classes.

    The paper pools 5x5/3 (14x14 -> 4x4); an adaptive pool to 4x4 gives the same shape at
    224 and keeps the head usable at other resolutions (pooling has no MACs)."""

    def __init__(self, c_in: int, num_classes: int, bn: bool = False):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = _conv(c_in, 128, 1, bn=bn)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(0.7)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.pool(x))
        x = torch.flatten(x, 1)
        x = self.dropout(self.relu(self.fc1(x)))
        return self.fc2(x)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes: int = 1000, aux_logits: bool = False, impl: str = "paper"):
        super().__init__()
        tv = impl == "torchvision"
        bn = tv
        self.aux_logits = aux_logits
        self.conv1 = _conv(3, 64, 7, stride=2, padding=3, bn=bn)          # 112x112x64
        self.pool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)             # 56x56x64
        self.norm1 = nn.Identity() if tv else nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)
        self.conv2_reduce = _conv(64, 64, 1, bn=bn)
        self.conv2 = _conv(64, 192, 3, padding=1, bn=bn)                   # 56x56x192
        self.norm2 = nn.Identity() if tv else nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)
        self.pool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)             # 28x28x192
        c = 192
        self._order: list[str] = []
        for name, c1, c3r, c3, c5r, c5, cp in _TABLE1:
            block = Inception(c, c1, c3r, c3, c5r, c5, cp, bn=bn, k5=3 if tv else 5)
            setattr(self, name, block)
            self._order.append(name)
            c = block.out_channels
            if name in _AUX_AFTER and aux_logits:
                setattr(self, _AUX_AFTER[name], InceptionAux(c, num_classes, bn=bn))
                self._order.append(_AUX_AFTER[name])
            if name in _POOL_AFTER:
                pool = (nn.MaxPool2d(2, stride=2, ceil_mode=True) if tv and name == "inception4e"
                        else nn.MaxPool2d(3, stride=2, ceil_mode=True))
                setattr(self, _POOL_AFTER[name], pool)
                self._order.append(_POOL_AFTER[name])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2 if tv else 0.4)
        self.fc = nn.Linear(c, num_classes)                                # 1024 -> classes

    def forward(self, x: torch.Tensor):
        x = self.pool1(self.conv1(x))
        x = self.norm1(x)
        x = self.conv2(self.conv2_reduce(x))
        x = self.pool2(self.norm2(x))
        aux: list[torch.Tensor] = []
        for name in self._order:
            if name.startswith("aux"):
                aux.append(getattr(self, name)(x))
            else:
                x = getattr(self, name)(x)
        x = torch.flatten(self.avgpool(x), 1)
        x = self.fc(self.dropout(x))
        if self.aux_logits:
            return (x, *aux)
        return x


@register_model(
    "googlenet",
    paper=_PAPER,
    family="inception",
    knobs={
        "num_classes": Knob(1000, "classifier classes", type=int, low=1),
        "aux_logits": Knob(0, "1 adds the two auxiliary classifiers on inception 4a and 4d "
                              "(training graph; forward then returns (logits, aux1, aux2))",
                           type=int, choices=(0, 1)),
        "impl": Knob("paper", "'paper': Table 1 / BVLC Caffe (conv biases, LRN, 5x5 branch, no BN); "
                              "'torchvision': BN, no LRN, 3x3 kernel in the 5x5 branch "
                              "(torchvision bug, vision#906)",
                     type=str, choices=("paper", "torchvision")),
    },
    resolution=224,
    in_channels=3,
    aliases=("inception_v1",),
)
def googlenet(num_classes: int = 1000, aux_logits: int = 0, impl: str = "paper") -> nn.Module:
    """GoogLeNet / Inception v1 (Szegedy et al. 2015, Table 1)."""
    return GoogLeNet(num_classes=num_classes, aux_logits=bool(aux_logits), impl=impl).eval()


# --------------------------------------------------------------------------------------
_TABLE1_CONV1 = (
    "Table 1 lists conv1 (7x7/2, 64 maps, 112x112 output) as 2.7K params / 34M ops, but "
    "7*7*3*64 = 9,408 weights and 9,408*112*112 = 118.0 M MACs (erratum); Table 1's ops "
    "column sums to 1502 M as printed, 1586 M with conv1 corrected; every other module "
    "matches costlab's per-module MACs within 1% except 5a (54 vs 51.1 M); costlab 1,582.7 M "
    "(Table 1 per-module values from memory of the PDF, not from a stored copy)")
_BUDGET = ("'1.5 billion multiply-adds' is the paper's design budget (Sec. 1), not a count; "
           + _TABLE1_CONV1)

paper_rows(
    PaperRow("GoogLeNet", "as quoted in MobileNetV1 paper Table 8", "googlenet",
             ("params", "madds"),
             reasons={"madds": "MobileNet prints 1550 M (costlab 1,582.7 M, +2.1%); how it got "
                               "1550 is not stated (unexplained); " + _TABLE1_CONV1,
                      "params": "MobileNet's 6.8 M is the sum of Table 1's params column "
                                "(6797.7 'K'); that column has errata (conv1 2.7K vs 9,408 "
                                "weights, 4c 463K vs 497.5K, 5a 1072K vs 1018K, ...) and "
                                "omits biases; costlab counts 6,990,272 weights + 8,280 "
                                "biases = 6,998,552 (+2.9%)"}),
    PaperRow("GoogLeNet", "paper design budget", "googlenet", ("madds",),
             reasons={"madds": _BUDGET}),
    PaperRow("GoogLeNet", "as quoted in ShuffleNetV1 paper Table 6", "googlenet", ("madds",),
             reasons={"madds": "ShuffleNet quotes the paper's round 1.5 G (Sec. 1 budget / "
                               "Table 1 sum 1502 M); " + _TABLE1_CONV1}),
    PaperRow("GoogLeNet", "torchvision googlenet IMAGENET1K_V1 (no aux heads)",
             "googlenet:impl=torchvision", ("params", "madds")),
)
