"""ShuffleNet v1.

Zhang, Zhou, Lin & Sun 2017/2018, "ShuffleNet: An Extremely Efficient Convolutional
Neural Network for Mobile Devices", arXiv:1707.01083: Table 1 (architecture, output
channels per group number g), Fig. 2 (the unit), Table 2 (scale factor s), Table 5
(2x with SE).

Checked against the official PyTorch code, megvii-model/ShuffleNet-Series
ShuffleNetV1/network.py (@d8e4db13) and ShuffleNetV1/blocks.py (@a96672fd), read-only:
  * conv1: 3x3 stride 2, padding 1, no bias, BN, ReLU; then MaxPool 3x3 stride 2 pad 1.
  * stages 2/3/4 with 4/8/4 units; the first unit of each stage has stride 2.
  * unit: 1x1 (group) conv -> BN -> ReLU -> channel shuffle (only if g > 1) -> 3x3
    depthwise conv (stride 1 or 2) -> BN (no ReLU) -> 1x1 group conv -> BN (no ReLU);
    bottleneck ``mid = out // 4`` of the *stage* output, also in the stride-2 unit.
    stride 1: ``relu(x + main)``; stride 2: the main branch outputs ``out - in``
    channels and ``cat(avgpool3x3s2p1(x), relu(main))`` (paper Fig. 2c).
  * the first 1x1 conv of stage 2 is not grouped (its input is conv1's output; paper
    Sec. 3.3), but the shuffle and the second 1x1 group conv are.
  * head: global average pool -> Linear(out, classes, bias=False).
  * conv1 width is NOT simply 24*s in the official code: 12 (g=3) / 16 (g=8) at 0.5x,
    24 at 1.0x *and* 1.5x, 48 at 2.0x; stage widths are exactly s x Table 1.  The paper
    (Table 5) and the official README both give 292 MFLOPs for 1.5x g=3, which needs
    conv1 = 24 (36 would give 299.6 M), so the paper used the same rule.
Our rule (covers every group and scale): conv1 = _CONV1[s] rounded up to a multiple of
g (gives 16 for 0.5x g=8 as the official code); stage widths = s x Table 1 (always a
multiple of g); bottleneck = out/4 rounded to the nearest multiple of g (only changes
the non-divisible cases 0.25x/0.5x/1.5x with g=2 or g=4, which neither the paper nor
the official code specify).  The 0.25x conv1 width (12) is not stated anywhere: 12
reproduces Table 2's "13 MFLOPs" (13.2-13.3 M for g=1..4), s*24 = 6 would give 11.0 M.

SE variant (Table 5, "2x with SE"): the paper gives no details; we put a standard SE
block (GAP -> 1x1 conv c/16 + ReLU -> 1x1 conv c + sigmoid, with biases) on the main
branch after its last BN, before the add/concat, as SENet does for residual units; this
gives 526.5 M against the printed 527 M.

The official shuffle reshapes to (c/g, g) instead of (g, c/g): the inverse
permutation, same cost. We use the (g, c/g) form of the paper's description.

Counting notes (see the paper_rows at the bottom):
  * Table 1's five 1x numbers (143/140/137/133/137) are all reproduced to rounding *if
    the 1000-way FC is left out* (142.5/140.0/136.5/133.3/136.8 M); with the FC (as the
    official code has it, and as its README's numbers need: 524/522/292/290 M) they are
    143.1/140.8/137.5/134.3/138.4 M, so g=4 is 1.0% above the printed 133.
  * 1x g=3 is 137 M in Table 1, 140 M in Tables 2/8, 138 M in the official README
    (CONVENTIONS.md 2.3); costlab gives 137.5 M.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import ConvBNAct, channel_shuffle, make_divisible
from .registry import Knob, PaperRow, SpecError, paper_rows, register_model

# --------------------------------------------------------------------------------------
# Paper Table 1: output channels of stages 2/3/4 at 1x, per number of groups g.
# conv1 24 channels 3x3/2, MaxPool 3x3/2, stages of 1+3 / 1+7 / 1+3 units, GAP, FC.
STAGE_OUT_CHANNELS: dict[int, tuple[int, int, int]] = {
    1: (144, 288, 576),
    2: (200, 400, 800),
    3: (240, 480, 960),
    4: (272, 544, 1088),
    8: (384, 768, 1536),
}
STAGE_REPEATS = (4, 8, 4)
# conv1 width per scale factor s (official network.py; 0.25x: see module docstring).
_CONV1 = {0.25: 12, 0.5: 12, 1.0: 24, 1.5: 24, 2.0: 48}
_SE_REDUCTION = 16  # SENet's default ratio; gives 526.5 M vs Table 5's 527 M for 2x g=3

_PAPER = ("Zhang et al. 2017, ShuffleNet: An Extremely Efficient Convolutional Neural "
          "Network for Mobile Devices, arXiv:1707.01083")


def shufflenet_v1_channels(groups: int, width: float) -> tuple[int, tuple[int, int, int]]:
    """(conv1 channels, (stage2, stage3, stage4) output channels) for g and scale s."""
    if groups not in STAGE_OUT_CHANNELS:
        raise SpecError(f"groups must be one of {sorted(STAGE_OUT_CHANNELS)}; got {groups}")
    if width not in _CONV1:
        raise SpecError(f"width must be one of {sorted(_CONV1)}; got {width}")
    conv1 = -(-_CONV1[width] // groups) * groups
    stages = tuple(int(round(c * width)) for c in STAGE_OUT_CHANNELS[groups])
    return conv1, stages  # type: ignore[return-value]


class ChannelShuffle(nn.Module):
    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_shuffle(x, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class SqueezeExcite(nn.Module):
    """SENet block (Hu et al.): GAP -> FC(c/r) -> ReLU -> FC(c) -> sigmoid -> scale."""

    def __init__(self, channels: int, reduction: int = _SE_REDUCTION):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s


class ShuffleUnit(nn.Module):
    """Paper Fig. 2(b) (stride 1, add) and 2(c) (stride 2, avg-pool shortcut + concat)."""

    def __init__(self, c_in: int, c_out: int, groups: int, stride: int,
                 group_first_pw: bool = True, se: bool = False):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError("stride must be 1 or 2")
        if stride == 1 and c_in != c_out:
            raise ValueError("a stride-1 unit needs c_in == c_out")
        self.stride = stride
        main_out = c_out - c_in if stride == 2 else c_out
        mid = make_divisible(c_out / 4, groups, min_value=groups)
        g1 = groups if group_first_pw else 1
        self.pw1 = ConvBNAct(c_in, mid, 1, groups=g1)                     # 1x1 GConv, BN, ReLU
        self.shuffle = ChannelShuffle(groups) if groups > 1 else nn.Identity()
        self.dw = ConvBNAct(mid, mid, 3, stride, groups=mid, act=None)   # 3x3 DWConv, BN
        self.pw2 = ConvBNAct(mid, main_out, 1, groups=groups, act=None)  # 1x1 GConv, BN
        self.se = SqueezeExcite(main_out) if se else nn.Identity()
        self.shortcut = (nn.AvgPool2d(3, 2, 1) if stride == 2 else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.se(self.pw2(self.dw(self.shuffle(self.pw1(x)))))
        if self.stride == 1:
            return F.relu(x + y)
        return torch.cat((self.shortcut(x), F.relu(y)), 1)


class ShuffleNetV1(nn.Module):
    def __init__(self, groups: int = 3, width: float = 1.0, num_classes: int = 1000,
                 se: bool = False, in_channels: int = 3):
        super().__init__()
        conv1, stages = shufflenet_v1_channels(groups, width)
        self.groups, self.width, self.stage_channels = groups, width, stages
        self.conv1 = ConvBNAct(in_channels, conv1, 3, 2)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c_in = conv1
        for idx, (c_out, n) in enumerate(zip(stages, STAGE_REPEATS)):
            units = []
            for i in range(n):
                units.append(ShuffleUnit(c_in, c_out, groups, 2 if i == 0 else 1,
                                         group_first_pw=not (idx == 0 and i == 0), se=se))
                c_in = c_out
            self.add_module(f"stage{idx + 2}", nn.Sequential(*units))
        self.fc = nn.Linear(c_in, num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


@register_model(
    "shufflenet_v1",
    paper=_PAPER,
    family="shufflenet",
    knobs={
        "groups": Knob(3, "number of groups g of the 1x1 group convs (paper Table 1)",
                       type=int, choices=(1, 2, 3, 4, 8)),
        "width": Knob(1.0, "scale factor s: channels scaled s times (paper Table 2)",
                      type=float, choices=(0.25, 0.5, 1.0, 1.5, 2.0)),
        "se": Knob(0, "1 = squeeze-and-excitation (r=16) on every unit's main branch "
                      "(paper Table 5)", type=int, choices=(0, 1)),
        "num_classes": Knob(1000, "classifier classes", type=int, low=1),
    },
    resolution=224,
    in_channels=3,
    aliases=("shufflenetv1",),
)
def shufflenet_v1(groups: int = 3, width: float = 1.0, se: int = 0,
                  num_classes: int = 1000) -> nn.Module:
    """ShuffleNet v1 (ShuffleNet s x, g groups), official megvii layout."""
    return ShuffleNetV1(groups=groups, width=width, se=bool(se), num_classes=num_classes).eval()


# --------------------------------------------------------------------------------------
# Paper rows reproduced (paper_counts.csv). Every row of a (model, variant) pair is
# compared, so e.g. "1x g=3" covers both Table 1 (137) and Table 8 (140).
_FC_REASON = ("Table 1's 1x numbers match costlab without the 1000-way FC (142.5/140.0/"
              "136.5/133.3/136.8 M for g=1/2/3/4/8); with it they are 143.1/140.8/137.5/"
              "134.3/138.4 M. costlab keeps the FC because the official code has it and its "
              "README (524/522/292/290 M) needs it, so g=4 reads 134.3 M, 1.0% above 133")
_G3_140 = ("1x g=3 is printed 137 M (Table 1), 140 M (Tables 2/8, ShuffleNetV2 Table 8) and "
           "138 M (official README): a known inconsistency of the paper (CONVENTIONS.md 2.3, "
           "8). costlab gives 137.5 M, matching Table 1 and the README")
_R38 = ("printed 38 M (2 significant digits); costlab 37.6 M rounds to it, and the official "
        "README gives 38 M for this exact code")


def _params_rounding(printed: str, ours: str) -> str:
    return (f"official README prints params to 0.1 M: {printed} M; costlab {ours} M rounds "
            f"to it")


paper_rows(
    # Table 1: complexity of 1x at each g (stage-2 first pointwise conv not grouped).
    PaperRow("ShuffleNetV1", "1x g=1", "shufflenet_v1:groups=1", ("madds",)),
    PaperRow("ShuffleNetV1", "1x g=2", "shufflenet_v1:groups=2", ("madds",)),
    PaperRow("ShuffleNetV1", "1x g=3", "shufflenet_v1:groups=3", ("madds",),
             reasons={"madds": _G3_140}),  # Table 1 (137) and Table 8 (140)
    PaperRow("ShuffleNetV1", "1x g=4", "shufflenet_v1:groups=4", ("madds",),
             reasons={"madds": _FC_REASON}),
    PaperRow("ShuffleNetV1", "1x g=8", "shufflenet_v1:groups=8", ("madds",),  # Tables 1, 5
             reasons={"madds": "Table 5 prints the nominal 140 M for 1x g=8 (Table 1: 137 M, "
                               "official README: 138 M); costlab 138.4 M"}),
    # Table 2: nominal complexity per scale factor (one number for every g; compared at g=3).
    PaperRow("ShuffleNetV1", "1x (all g, nominal)", "shufflenet_v1:groups=3,width=1.0",
             ("madds",), reasons={"madds": _G3_140}),
    PaperRow("ShuffleNetV1", "0.5x (all g, nominal)", "shufflenet_v1:groups=3,width=0.5",
             ("madds",), reasons={"madds": _R38}),
    PaperRow("ShuffleNetV1", "0.25x (all g, nominal)", "shufflenet_v1:groups=3,width=0.25",
             ("madds",),
             reasons={"madds": "Table 2 prints one nominal 13 M for every g; costlab 13.3 M "
                               "(g=3; 13.2-13.4 M for g=1..4). The 0.25x conv1 width is not "
                               "published: costlab's 12 is the value that gives ~13 M "
                               "(24*s = 6 would give 11.0 M)"}),
    # Table 5 (vs MobileNet); "2x g=3" is also Table 8.
    PaperRow("ShuffleNetV1", "2x g=3", "shufflenet_v1:groups=3,width=2.0", ("madds",)),
    PaperRow("ShuffleNetV1", "2x g=3 with SE", "shufflenet_v1:groups=3,width=2.0,se=1",
             ("madds",)),
    PaperRow("ShuffleNetV1", "1.5x g=3", "shufflenet_v1:groups=3,width=1.5", ("madds",)),
    PaperRow("ShuffleNetV1", "0.5x g=4", "shufflenet_v1:groups=4,width=0.5", ("madds",),
             reasons={"madds": "0.5x g=4 has a stage-2 bottleneck of 136/4 = 34 channels, not "
                               "divisible by 4 groups; neither the paper nor the official code "
                               "(g=3/8 only) says how it was resolved. costlab rounds it to 36 "
                               "and gets 37.5 M against the printed 38 M (2 significant "
                               "digits)"}),
    # Table 8 (ARM timing), g=3.
    PaperRow("ShuffleNetV1", "0.5x g=3", "shufflenet_v1:groups=3,width=0.5", ("madds",),
             reasons={"madds": _R38}),
    # Official PyTorch implementation (megvii-model/ShuffleNet-Series README).
    PaperRow("ShuffleNetV1", "2.0x g=3 (official PyTorch impl)",
             "shufflenet_v1:groups=3,width=2.0"),
    PaperRow("ShuffleNetV1", "2.0x g=8 (official PyTorch impl)",
             "shufflenet_v1:groups=8,width=2.0"),
    PaperRow("ShuffleNetV1", "1.5x g=3 (official PyTorch impl)",
             "shufflenet_v1:groups=3,width=1.5",
             reasons={"params": _params_rounding("3.4", "3.44")}),
    PaperRow("ShuffleNetV1", "1.5x g=8 (official PyTorch impl)",
             "shufflenet_v1:groups=8,width=1.5"),
    PaperRow("ShuffleNetV1", "1.0x g=3 (official PyTorch impl)",
             "shufflenet_v1:groups=3,width=1.0",
             reasons={"params": _params_rounding("1.9", "1.86")}),
    PaperRow("ShuffleNetV1", "1.0x g=8 (official PyTorch impl)",
             "shufflenet_v1:groups=8,width=1.0",
             reasons={"params": _params_rounding("2.4", "2.43")}),
    PaperRow("ShuffleNetV1", "0.5x g=3 (official PyTorch impl)",
             "shufflenet_v1:groups=3,width=0.5",
             reasons={"params": _params_rounding("0.7", "0.72"), "madds": _R38}),
    PaperRow("ShuffleNetV1", "0.5x g=8 (official PyTorch impl)",
             "shufflenet_v1:groups=8,width=0.5",
             reasons={"params": _params_rounding("1.0", "1.01"),
                      "madds": "printed 40 M (2 significant digits); costlab 40.5 M rounds "
                               "to it"}),
    # The same models quoted by other papers (g=3).
    PaperRow("ShuffleNetV1", "1.5x (as quoted in MobileNetV2 paper)",
             "shufflenet_v1:groups=3,width=1.5",
             reasons={"params": "quoted as 3.4 M (from the official README, 0.1 M precision); "
                                "costlab 3.44 M rounds to it"}),
    PaperRow("ShuffleNetV1", "2x (as quoted in MobileNetV2 paper)",
             "shufflenet_v1:groups=3,width=2.0"),
    PaperRow("ShuffleNetV1", "ShuffleNetV1 0.5x g=3 [ShuffleNetV2 Table 8]",
             "shufflenet_v1:groups=3,width=0.5", ("madds",), reasons={"madds": _R38}),
    PaperRow("ShuffleNetV1", "ShuffleNetV1 1x g=3 [ShuffleNetV2 Table 8]",
             "shufflenet_v1:groups=3,width=1.0", ("madds",), reasons={"madds": _G3_140}),
    PaperRow("ShuffleNetV1", "ShuffleNetV1 1.5x g=3 [ShuffleNetV2 Table 8]",
             "shufflenet_v1:groups=3,width=1.5", ("madds",)),
    PaperRow("ShuffleNetV1", "ShuffleNetV1 2x g=3 [ShuffleNetV2 Table 8]",
             "shufflenet_v1:groups=3,width=2.0", ("madds",)),
    # Not built: "0.5x g=3 shallow (26-layer)" (Table 5; the unit counts/widths of the
    # shallow variant are not given in any copy at hand) and "ShuffleNetV1-50 (authors'
    # impl.)" (ShuffleNetV2 Table 6; no architecture published).
)
