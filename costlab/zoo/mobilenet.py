"""MobileNet v1 and MobileNet v2.

MobileNet v1: Howard et al. 2017, "MobileNets: Efficient Convolutional Neural Networks
for Mobile Vision Applications", arXiv:1704.04861, Table 1 (body), Sec. 3.3 (width
multiplier alpha), Table 4 ("Conv MobileNet") and Table 5 ("Shallow MobileNet").

MobileNet v2: Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", arXiv:1801.04381, Table 1 (bottleneck block) and Table 2 (body).

Checked against the official code (read-only, via the code index):
  * tensorflow/models research/slim/nets/mobilenet_v1.py (_CONV_DEFS; channel rule
    ``depth(d) = max(int(d * depth_multiplier), min_depth=8)`` applied to *every* conv,
    the first conv included; BN after every conv, ReLU6; SAME padding, which for a 3x3
    stride-2 conv gives the same output size as PyTorch padding 1; head = global avg
    pool -> dropout -> 1x1 conv with bias to the classes).  Its docstring lists the
    per-layer base counts we reproduce exactly: 3,185,088 params / 567,716,352 MACs at
    1.0-224, and 1,800,144 / 106,002,432 at 0.75-128.
  * tensorflow/models research/slim/nets/mobilenet/{mobilenet_v2.py, mobilenet.py,
    conv_blocks.py} (V2_DEF; every ``num_outputs`` goes through
    ``_make_divisible(d * multiplier, 8, min_depth=8)``; the expansion width is
    ``_make_divisible(c_in * 6, 8)`` of the *actual* input width; the first bottleneck
    has expansion 1, so no expand conv; residual add iff stride 1 and c_in == c_out;
    projection is linear; ``finegrain_classification_mode`` keeps the last 1x1 conv at
    1280 for multipliers < 1 (the paper's rule, Sec. 4), and for multipliers > 1 it is
    make_divisible(1280 * alpha)). pytorch/vision mobilenetv2.py follows the same rules
    (``last_channel = _make_divisible(1280 * max(1.0, width_mult), 8)``).

The TF-slim checkpoints have a 1001-class head (background class); ours defaults to 1000
classes, which changes the parameter count by 1,025 (v1) / 1,281 (v2) only.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import ConvBNAct, make_divisible
from .registry import Knob, PaperRow, SpecError, paper_rows, register_model

# --------------------------------------------------------------------------------------
# MobileNet v1 body: Howard et al. 2017 Table 1 (= TF-slim _CONV_DEFS).
# ("conv", stride, out) is a full 3x3 conv; ("dwsep", stride, out) is a 3x3 depthwise
# conv + 1x1 pointwise conv, each followed by BN + ReLU.
_V1_CONV_DEFS: tuple[tuple[str, int, int], ...] = (
    ("conv", 2, 32),      # 224 -> 112
    ("dwsep", 1, 64),
    ("dwsep", 2, 128),    # -> 56
    ("dwsep", 1, 128),
    ("dwsep", 2, 256),    # -> 28
    ("dwsep", 1, 256),
    ("dwsep", 2, 512),    # -> 14
    ("dwsep", 1, 512),    # \
    ("dwsep", 1, 512),    #  |
    ("dwsep", 1, 512),    #  | "5x" 14x14x512 layers, removed in the paper's
    ("dwsep", 1, 512),    #  | "Shallow MobileNet" (Table 5)
    ("dwsep", 1, 512),    # /
    ("dwsep", 2, 1024),   # -> 7
    ("dwsep", 1, 1024),
)
_V1_MID_FIRST, _V1_MID_COUNT = 7, 5   # indices 7..11 are the repeated 14x14x512 layers
_V1_MIN_DEPTH = 8

# MobileNet v2 body: Sandler et al. 2018 Table 2 (= TF-slim V2_DEF).
# t: expansion factor, c: output channels, n: repeats, s: stride of the first repeat.
_V2_STEM = 32
_V2_SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    # t,   c, n, s
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
_V2_LAST = 1280


def _check_width(width: float) -> None:
    if not width > 0:
        raise SpecError(f"knob 'width' must be > 0 (the paper's width multiplier alpha); got {width!r}")


# --------------------------------------------------------------------------------------
# MobileNet v1


class DepthwiseSeparable(nn.Module):
    """3x3 depthwise conv -> BN -> ReLU6 -> 1x1 pointwise conv -> BN -> ReLU6
    (Howard et al. 2017 Fig. 3, right)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.dw = ConvBNAct(c_in, c_in, 3, stride, groups=c_in, act=nn.ReLU6)
        self.pw = ConvBNAct(c_in, c_out, 1, 1, act=nn.ReLU6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


class FullConvBlock(nn.Module):
    """The paper's "Conv MobileNet" (Table 4): a full 3x3 conv -> BN -> ReLU6 in place of
    each depthwise separable layer."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv = ConvBNAct(c_in, c_out, 3, stride, act=nn.ReLU6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class MobileNetV1(nn.Module):
    def __init__(self, width: float = 1.0, num_classes: int = 1000, conv: str = "separable",
                 mid_layers: int = _V1_MID_COUNT, dropout: float = 0.001):
        super().__init__()

        def depth(d: int) -> int:  # TF-slim: max(int(d * depth_multiplier), min_depth)
            return max(int(d * width), _V1_MIN_DEPTH)

        # Table 1 with the "5x" 14x14x512 layers repeated ``mid_layers`` times.
        defs = (list(_V1_CONV_DEFS[:_V1_MID_FIRST]) + [("dwsep", 1, 512)] * mid_layers
                + list(_V1_CONV_DEFS[_V1_MID_FIRST + _V1_MID_COUNT:]))
        block = DepthwiseSeparable if conv == "separable" else FullConvBlock

        layers: list[nn.Module] = []
        c_in = 3
        for kind, stride, d in defs:
            c_out = depth(d)
            if kind == "conv":
                layers.append(ConvBNAct(c_in, c_out, 3, stride, act=nn.ReLU6))
            else:
                layers.append(block(c_in, c_out, stride))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.num_features = c_in
        # TF-slim head: global average pool -> dropout -> 1x1 conv (with bias) = Linear.
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(c_in, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1)
        x = torch.flatten(x, 1)
        return self.classifier(x)


# --------------------------------------------------------------------------------------
# MobileNet v2


class InvertedResidual(nn.Module):
    """Sandler et al. 2018 Table 1: 1x1 expand -> BN -> ReLU6 -> 3x3 depthwise (stride s)
    -> BN -> ReLU6 -> 1x1 linear projection -> BN, plus the input when stride 1 and
    c_in == c_out. With expansion 1 (first block) there is no expand conv."""

    def __init__(self, c_in: int, c_out: int, stride: int, hidden: int):
        super().__init__()
        self.use_residual = stride == 1 and c_in == c_out
        layers: list[nn.Module] = []
        if hidden > c_in:  # TF-slim conv_blocks.expanded_conv: expand only if it grows
            layers.append(ConvBNAct(c_in, hidden, 1, act=nn.ReLU6))
        else:
            hidden = c_in
        layers.append(ConvBNAct(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6))
        layers.append(ConvBNAct(hidden, c_out, 1, act=None))  # linear bottleneck
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_residual:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, width: float = 1.0, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        c_in = make_divisible(_V2_STEM * width, 8)
        layers: list[nn.Module] = [ConvBNAct(3, c_in, 3, 2, act=nn.ReLU6)]
        for t, c, n, s in _V2_SETTINGS:
            c_out = make_divisible(c * width, 8)
            for i in range(n):
                # expansion 1 uses divisible_by=1 in TF-slim, i.e. hidden = c_in exactly
                hidden = c_in if t == 1 else make_divisible(c_in * t, 8)
                layers.append(InvertedResidual(c_in, c_out, s if i == 0 else 1, hidden))
                c_in = c_out
        # Last 1x1 conv: not shrunk for width < 1 (paper Sec. 4), scaled for width > 1.
        last = make_divisible(_V2_LAST * max(1.0, width), 8)
        layers.append(ConvBNAct(c_in, last, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.num_features = last
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1)
        x = torch.flatten(x, 1)
        return self.classifier(x)


# --------------------------------------------------------------------------------------
# Registry

_V1_PAPER = ("Howard et al. 2017, MobileNets: Efficient Convolutional Neural Networks for "
             "Mobile Vision Applications, arXiv:1704.04861")
_V2_PAPER = ("Sandler et al. 2018, MobileNetV2: Inverted Residuals and Linear Bottlenecks, "
             "arXiv:1801.04381")


@register_model(
    "mobilenet_v1",
    paper=_V1_PAPER,
    family="mobilenet",
    knobs={
        "width": Knob(1.0, "width multiplier alpha (paper: 1.0, 0.75, 0.5, 0.25); every "
                      "layer gets max(int(c * alpha), 8) channels", type=float, low=0.0, high=2.0),
        "conv": Knob("separable", "'separable' (MobileNet) or 'full' 3x3 convs in place of "
                     "every depthwise separable layer (paper Table 4 'Conv MobileNet')",
                     type=str, choices=("separable", "full")),
        "mid_layers": Knob(5, "number of repeated 14x14x512 separable layers (paper: 5; 0 "
                           "gives Table 5 'Shallow MobileNet')", type=int, low=0, high=16),
        "num_classes": Knob(1000, "classifier classes", type=int, low=1),
    },
    resolution=224,
    in_channels=3,
    aliases=("mobilenetv1",),
)
def mobilenet_v1(width: float = 1.0, conv: str = "separable", mid_layers: int = 5,
                 num_classes: int = 1000) -> nn.Module:
    """MobileNet v1 (depthwise separable convs, width multiplier alpha)."""
    _check_width(width)
    return MobileNetV1(width=width, num_classes=num_classes, conv=conv,
                       mid_layers=mid_layers).eval()


@register_model(
    "mobilenet_v2",
    paper=_V2_PAPER,
    family="mobilenet",
    knobs={
        "width": Knob(1.0, "width multiplier alpha (paper: 0.35, 0.5, 0.75, 1.0, 1.3, 1.4); "
                      "channels make_divisible(c * alpha, 8); last conv stays 1280 for alpha < 1",
                      type=float, low=0.0, high=2.0),
        "num_classes": Knob(1000, "classifier classes", type=int, low=1),
    },
    resolution=224,
    in_channels=3,
    aliases=("mobilenetv2",),
)
def mobilenet_v2(width: float = 1.0, num_classes: int = 1000) -> nn.Module:
    """MobileNet v2 (inverted residuals with linear bottlenecks, width multiplier alpha)."""
    _check_width(width)
    return MobileNetV2(width=width, num_classes=num_classes).eval()


# --------------------------------------------------------------------------------------
# Paper rows (costlab/data/paper_counts.csv) these models reproduce.

def _v1_conv0_macs(width: float, res: int) -> int:
    """MACs of MobileNet v1's first 3x3/2 conv (Conv2d_0) at input side ``res``."""
    side = (res + 1) // 2
    return max(int(32 * width), _V1_MIN_DEPTH) * 3 * 9 * side * side


_V1_ZOO_075 = (
    "the TF-slim zoo README's four 0.75 rows (317/233/162/104) are costlab's count minus the "
    "first conv Conv2d_0 (24*27*(R/2)^2 MACs: 317.27/233.30/162.25/104.12 M), at all four "
    "resolutions; its other 12 rows include Conv2d_0. TF-slim's own mobilenet_v1.py docstring "
    "lists 106,002,432 base MACs at 0.75-128, which agrees with costlab (106.77 M with the "
    "FC) and not with the README's 104. The paper's Table 6 also gives 325 for 0.75-224, so "
    "the README figure is in error (CONVENTIONS.md 2.3 lists 325 vs 317)")
_V1_ZOO_025_192 = (
    "the TF-slim zoo README prints 34 for 0.25-192; costlab gives 30.21 M, which also equals "
    "41.03 M x (192/224)^2, so the README's neighbouring rows agree with costlab. 34 does "
    "not fit any resolution scaling; unexplained (probably a typo in the README)")
_V1_ZOO_ROUND = ("the README prints whole MMACs; costlab's 13.57 M rounds to the printed 14, "
                 "so the gap is only the printed rounding")
_V1_575_REASON = (
    "MobileNetV2 paper Table 4 quotes 575 M for MobileNetV1 1.0-224. The v1 paper, the TF-slim "
    "zoo and ShuffleNetV2 Table 8 give 569 M, which costlab matches (568.74 M). The MobileNetV2 "
    "paper does not explain its figure (CONVENTIONS.md 2.3)")
_V1_P05 = ("the paper prints 1.3 M (2 significant digits); costlab's exact 1,331,592 matches the "
           "TF-slim zoo's 1.34 M within 1%")
_V1_P025 = ("the paper prints 0.5 M (1 significant digit); costlab's exact 470,072 matches the "
            "TF-slim zoo's 0.47 M")
_V1_KERAS = ("Keras 'Total params' also counts the BN moving mean/variance (2 x 10,944 "
             "non-trainable); costlab counts nn.Parameters only: 4,231,976 + 21,888 = "
             "4,253,864, Keras's figure exactly")

_v1_rows = []
for _a in ("1.0", "0.75", "0.5", "0.25"):
    _reasons: dict[str, str] = {}
    if _a == "0.75":
        _reasons = {"madds": _V1_ZOO_075}
    if _a == "0.25":
        _reasons = {"madds@192": _V1_ZOO_025_192, "madds@128": _V1_ZOO_ROUND}
    _v1_rows.append(PaperRow("MobileNetV1", f"alpha={_a}", f"mobilenet_v1:width={_a}",
                             ("params", "madds"), _reasons))

paper_rows(
    # TF-slim zoo README (tensorflow/models research/slim/nets/mobilenet_v1.md): 4 x 4 table.
    *_v1_rows,
    # Paper Table 6 (width multiplier) and Table 7 (resolution).
    PaperRow("MobileNetV1", "alpha=1.0 (paper)", "mobilenet_v1:width=1.0"),
    PaperRow("MobileNetV1", "alpha=0.75 (paper)", "mobilenet_v1:width=0.75"),
    PaperRow("MobileNetV1", "alpha=0.5 (paper)", "mobilenet_v1:width=0.5",
             reasons={"params": _V1_P05}),
    PaperRow("MobileNetV1", "alpha=0.25 (paper)", "mobilenet_v1:width=0.25",
             reasons={"params": _V1_P025}),
    PaperRow("MobileNetV1", "alpha=0.5 (paper Table 9)", "mobilenet_v1:width=0.5"),
    # Paper Table 4 (full convolutions) and Table 5 (shallow).
    PaperRow("MobileNetV1", "Conv MobileNet (full conv instead of depthwise-separable)",
             "mobilenet_v1:conv=full"),
    PaperRow("MobileNetV1", "Shallow MobileNet (5x 14x14x512 dw-sep layers removed)",
             "mobilenet_v1:mid_layers=0"),
    # The same models quoted elsewhere.
    PaperRow("MobileNetV1", "alpha=1.0 as quoted in MobileNetV2 paper", "mobilenet_v1:width=1.0",
             ("madds",), reasons={"madds": _V1_575_REASON}),
    PaperRow("MobileNetV1", "alpha=1.0 Keras", "mobilenet_v1:width=1.0", ("params",),
             reasons={"params": _V1_KERAS}),
    PaperRow("MobileNetV1", "1.0 MobileNetV1-224 (as quoted by ShuffleNet repo)",
             "mobilenet_v1:width=1.0"),
    PaperRow("MobileNetV1", "0.75 MobileNetV1-224 (as quoted by ShuffleNet repo)",
             "mobilenet_v1:width=0.75"),
    PaperRow("MobileNetV1", "0.5 MobileNetV1-224 (as quoted by ShuffleNet repo)",
             "mobilenet_v1:width=0.5", reasons={"params": _V1_P05}),
    PaperRow("MobileNetV1", "0.25 MobileNetV1-224 (as quoted by ShuffleNet repo)",
             "mobilenet_v1:width=0.25", reasons={"params": _V1_P025}),
    PaperRow("MobileNetV1", "0.25 MobileNetV1 [ShuffleNetV2 Table 8]", "mobilenet_v1:width=0.25",
             ("madds",)),
    PaperRow("MobileNetV1", "0.5 MobileNetV1 [ShuffleNetV2 Table 8]", "mobilenet_v1:width=0.5",
             ("madds",)),
    PaperRow("MobileNetV1", "0.75 MobileNetV1 [ShuffleNetV2 Table 8]", "mobilenet_v1:width=0.75",
             ("madds",)),
    PaperRow("MobileNetV1", "1.0 MobileNetV1 [ShuffleNetV2 Table 8]", "mobilenet_v1:width=1.0",
             ("madds",)),
)

_V2_TF_PARAMS = (
    "the TF-slim README's parameter counts leave out the BN gamma/beta (34,112 at 1.0) and "
    "use a 1001-class head. On that basis costlab gives 3,504,872 + 1,281 - 34,112 = "
    "3,472,041 (3.47 M), and the same rule reproduces all six README figures to the printed "
    "digit: 6.06/5.34/3.47/2.61/1.95/1.66. costlab counts the BN affine parameters, as "
    "torchvision does")
_V2_TF_MADDS = (
    "the TF-slim README's MACs are truncated, not rounded, to whole millions: all 22 MobileNetV2 "
    "rows equal floor(costlab / 1e6), e.g. 0.35-96: 11.93 M -> 11 and 0.5-96: 18.89 M -> 18. "
    "At small sizes the truncation alone is more than 1%")
_V2_PAPER_PARAMS = (
    "the paper's 3.4 M is the TF-slim-style count (BN gamma/beta left out, 1001 classes: "
    "3,472,041) truncated to one decimal; costlab's 3,504,872 equals torchvision's "
    "num_params exactly")
_V2_14_PARAMS = (
    "the paper's Table 4 prints 6.9 M for MobileNetV2 1.4, and the ShuffleNet repo copies it. "
    "The official TF-slim 1.4 checkpoint (same code, last conv 1792) has 6.06 M, which "
    "costlab matches: 6,108,776, or 6,062,633 without BN affine parameters and with 1001 "
    "classes. The paper figure is unexplained (CONVENTIONS.md 2.3)")
_V2_KERAS = ("Keras 'Total params' also counts the BN moving mean/variance (2 x 17,056 "
             "non-trainable); costlab counts nn.Parameters only: 3,504,872 + 34,112 = "
             "3,538,984, the figure exactly")
_V2_TV_GMAC = ("torchvision prints _ops to 2 decimals in G (0.3 G = 295..305 M); costlab's "
               "300.77 M lies inside that rounding")

_v2_rows = [
    PaperRow("MobileNetV2", f"alpha={_a}", f"mobilenet_v2:width={_a}", ("params", "madds"),
             {"params": _V2_TF_PARAMS, "madds": _V2_TF_MADDS})
    for _a in ("1.4", "1.3", "1.0", "0.75", "0.5", "0.35")
]

paper_rows(
    # TF-slim zoo README (tensorflow/models research/slim/nets/mobilenet/README.md).
    *_v2_rows,
    # Paper Table 4.
    PaperRow("MobileNetV2", "alpha=1.0 (paper)", "mobilenet_v2:width=1.0",
             reasons={"params": _V2_PAPER_PARAMS}),
    PaperRow("MobileNetV2", "alpha=1.4 (paper)", "mobilenet_v2:width=1.4",
             reasons={"params": _V2_14_PARAMS}),
    # The same models quoted elsewhere.
    PaperRow("MobileNetV2", "torchvision IMAGENET1K_V1", "mobilenet_v2:width=1.0",
             reasons={"madds": _V2_TV_GMAC}),
    PaperRow("MobileNetV2", "Keras alpha=1.0", "mobilenet_v2:width=1.0", ("params",),
             reasons={"params": _V2_KERAS}),
    PaperRow("MobileNetV2", "1.0 (as quoted by ShuffleNet repo)", "mobilenet_v2:width=1.0",
             ("params",), reasons={"params": _V2_PAPER_PARAMS}),
    PaperRow("MobileNetV2", "1.4 (as quoted by ShuffleNet repo)", "mobilenet_v2:width=1.4",
             ("params",), reasons={"params": _V2_14_PARAMS}),
    PaperRow("MobileNetV2", "1.0 MobileNetV2 (paper) [ShuffleNetV2 Table 8]",
             "mobilenet_v2:width=1.0", ("madds",)),
    PaperRow("MobileNetV2", "1.0 MobileNetV2 (authors' impl.) [ShuffleNetV2 Table 8]",
             "mobilenet_v2:width=1.0", ("madds",)),
    PaperRow("MobileNetV2", "1.4 MobileNetV2 (paper) [ShuffleNetV2 Table 8]",
             "mobilenet_v2:width=1.4", ("madds",)),
    PaperRow("MobileNetV2", "1.4 MobileNetV2 (authors' impl.) [ShuffleNetV2 Table 8]",
             "mobilenet_v2:width=1.4", ("madds",)),
)
