"""ShuffleNet v2.

Ma et al. 2018, "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture
Design", arXiv:1807.11164, Table 5 (overall architecture), Fig. 3 (c)/(d) (units).

Checked against the official code, megvii-model/ShuffleNet-Series
ShuffleNetV2/{network.py, blocks.py} (read-only, via the code index):
  * stage_out_channels [24, c2, c3, c4, c5] per size; repeats [4, 8, 4]; conv1 3x3/2 +
    BN + ReLU, maxpool 3x3/2 pad 1, conv5 1x1 + BN + ReLU, global average pool, dropout
    0.2 for 2.0x only, Linear **without bias**.
  * ShuffleV2Block(inp, oup, mid=oup//2, ksize=3, stride):
      main branch: 1x1 (inp->mid) BN ReLU, 3x3 dw (stride) BN, 1x1 (mid->oup-inp) BN ReLU;
      stride 2: projection branch 3x3 dw (stride) BN, 1x1 (inp->inp) BN ReLU on the whole
      input; output concat(proj, main); stride 1: inp = c/2 and the block starts with
      the channel split.
    So the main branch of a stride-2 unit outputs ``oup - inp`` channels: in stage 2 the
    first unit's branches give 24 + (c2 - 24) channels, not c2/2 + c2/2 as in
    torchvision's shufflenetv2.py.
  * Where the shuffle happens: the official code has no shuffle after the concat.
    Each stride-1 unit begins with ``channel_shuffle``, which reshapes (b*c/2, 2, h*w),
    permutes to (2, b*c/2, h*w) and splits: even channels go to the identity branch, odd
    channels to the main branch. That is "channel shuffle + channel split" fused into one
    copy at the unit's input. Stride-2 units read their input unshuffled; both of their
    branches see every channel, so an extra permutation there would change nothing.
    torchvision instead shuffles at the end of every unit; the counts are the same.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import channel_shuffle
from .registry import Knob, PaperRow, paper_rows, register_model

# Ma et al. 2018 Table 5 (= official network.py stage_out_channels):
# width -> (conv1, stage2, stage3, stage4, conv5) output channels.
_STAGE_OUT: dict[float, tuple[int, int, int, int, int]] = {
    0.5: (24, 48, 96, 192, 1024),
    1.0: (24, 116, 232, 464, 1024),
    1.5: (24, 176, 352, 704, 1024),
    2.0: (24, 244, 488, 976, 2048),
}
_REPEATS = (4, 8, 4)   # stage2, stage3, stage4 (first unit of each has stride 2)
_IMPLS = ("megvii", "torchvision")


def _split_even_odd(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Official ShuffleNet-Series channel shuffle + split: even channels, odd channels."""
    b, c, h, w = x.shape
    x = x.reshape(b * c // 2, 2, h * w)
    x = x.permute(1, 0, 2)
    x = x.reshape(2, -1, c // 2, h, w)
    return x[0], x[1]


class ShuffleV2Block(nn.Module):
    """One ShuffleNet v2 unit (Fig. 3c for stride 1, Fig. 3d for stride 2).

    ``inp`` is the input width of the main branch (c/2 for stride 1, c for stride 2).
    ``impl='megvii'`` (official): main branch inp -> oup/2 -> oup/2 -> oup - inp, shuffle
    + split fused at the input of stride-1 units. ``impl='torchvision'``: both stride-2
    branches output oup/2, plain chunk split, channel shuffle after every concat.
    """

    def __init__(self, inp: int, oup: int, stride: int, impl: str = "megvii", ksize: int = 3):
        super().__init__()
        assert stride in (1, 2) and impl in _IMPLS
        self.stride = stride
        self.impl = impl
        pad = ksize // 2
        mid = oup // 2
        outputs = oup - inp if impl == "megvii" else oup // 2
        self.branch_main = nn.Sequential(
            nn.Conv2d(inp, mid, 1, 1, 0, bias=False),                          # pw
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, ksize, stride, pad, groups=mid, bias=False),   # dw
            nn.BatchNorm2d(mid),
            nn.Conv2d(mid, outputs, 1, 1, 0, bias=False),                      # pw-linear
            nn.BatchNorm2d(outputs),
            nn.ReLU(inplace=True),
        )
        if stride == 2:
            proj_out = inp if impl == "megvii" else oup // 2
            self.branch_proj = nn.Sequential(
                nn.Conv2d(inp, inp, ksize, stride, pad, groups=inp, bias=False),  # dw
                nn.BatchNorm2d(inp),
                nn.Conv2d(inp, proj_out, 1, 1, 0, bias=False),                    # pw-linear
                nn.BatchNorm2d(proj_out),
                nn.ReLU(inplace=True),
            )
        else:
            self.branch_proj = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.impl == "megvii":
            if self.branch_proj is None:
                x_proj, x_main = _split_even_odd(x)
                return torch.cat((x_proj, self.branch_main(x_main)), 1)
            return torch.cat((self.branch_proj(x), self.branch_main(x)), 1)
        if self.branch_proj is None:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch_main(x2)), 1)
        else:
            out = torch.cat((self.branch_proj(x), self.branch_main(x)), 1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, width: float = 1.0, num_classes: int = 1000, impl: str = "megvii"):
        super().__init__()
        c1, c2, c3, c4, c5 = _STAGE_OUT[width]
        self.first_conv = nn.Sequential(
            nn.Conv2d(3, c1, 3, 2, 1, bias=False),
            nn.BatchNorm2d(c1),
            nn.ReLU(inplace=True),
        )
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        c_in = c1
        for name, c_out, n in zip(("stage2", "stage3", "stage4"), (c2, c3, c4), _REPEATS):
            units = []
            for i in range(n):
                if i == 0:
                    units.append(ShuffleV2Block(c_in, c_out, stride=2, impl=impl))
                else:
                    units.append(ShuffleV2Block(c_in // 2, c_out, stride=1, impl=impl))
                c_in = c_out
            setattr(self, name, nn.Sequential(*units))
        self.conv_last = nn.Sequential(
            nn.Conv2d(c_in, c5, 1, 1, 0, bias=False),
            nn.BatchNorm2d(c5),
            nn.ReLU(inplace=True),
        )
        # official: dropout 0.2 for 2.0x only, Linear without bias; torchvision: Linear + bias
        self.dropout = nn.Dropout(0.2) if width == 2.0 and impl == "megvii" else nn.Identity()
        self.classifier = nn.Linear(c5, num_classes, bias=impl == "torchvision")
        self.num_features = c5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.first_conv(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        x = self.conv_last(x)
        x = F.adaptive_avg_pool2d(x, 1)   # official: AvgPool2d(7) at 224
        x = self.dropout(torch.flatten(x, 1))
        return self.classifier(x)


@register_model(
    "shufflenet_v2",
    paper=("Ma et al. 2018, ShuffleNet V2: Practical Guidelines for Efficient CNN "
           "Architecture Design, arXiv:1807.11164"),
    family="shufflenet",
    knobs={
        "width": Knob(1.0, "channel multiplier of paper Table 5 (0.5x, 1x, 1.5x, 2x)",
                      type=float, choices=(0.5, 1.0, 1.5, 2.0)),
        "impl": Knob("megvii", "'megvii' (official ShuffleNet-Series code) or 'torchvision' "
                     "(pytorch/vision shufflenetv2.py: c/2-wide stride-2 branches, shuffle "
                     "after every concat, FC bias)", type=str, choices=_IMPLS),
        "num_classes": Knob(1000, "classifier classes", type=int, low=1),
    },
    resolution=224,
    in_channels=3,
    aliases=("shufflenetv2",),
)
def shufflenet_v2(width: float = 1.0, impl: str = "megvii", num_classes: int = 1000) -> nn.Module:
    """ShuffleNet v2 (channel split + channel shuffle units)."""
    return ShuffleNetV2(width=width, num_classes=num_classes, impl=impl).eval()


_SN05_MADDS = (
    "paper Table 5 / official README print 41 M; costlab's conv + FC count is 40.48 M, which "
    "rounds to 40. The gap to the rounding boundary is only 24 K MACs: counting anything "
    "more than 24 K extra (e.g. the 7x7 global average pool, 50 K adds) would print 41 and "
    "still print 146/299/591 for the other widths. The paper says only that FLOPs count the "
    "convolution part, so the extra is unexplained. The architecture is the official one, and "
    "torchvision's build of the same network gives 0.04 G")
_SN05_PARAMS = ("paper prints 1.4 M (2 significant digits); the exact count is 1,365,792 "
                "(torchvision, which adds a 1,000-element FC bias: 1,366,792)")
_TV_GMAC = ("torchvision prints _ops to 2 decimals in G for x0.5 (0.04 G = 35..45 M); costlab "
            "40.48 M lies inside that rounding")

paper_rows(
    PaperRow("ShuffleNetV2", "0.5x", "shufflenet_v2:width=0.5",
             reasons={"madds": _SN05_MADDS, "params": _SN05_PARAMS}),
    PaperRow("ShuffleNetV2", "1x", "shufflenet_v2:width=1.0"),
    PaperRow("ShuffleNetV2", "1.5x", "shufflenet_v2:width=1.5"),
    PaperRow("ShuffleNetV2", "2x", "shufflenet_v2:width=2.0"),
    PaperRow("ShuffleNetV2", "0.5x (official PyTorch impl)", "shufflenet_v2:width=0.5",
             reasons={"madds": _SN05_MADDS, "params": _SN05_PARAMS}),
    PaperRow("ShuffleNetV2", "1.0x (official PyTorch impl)", "shufflenet_v2:width=1.0"),
    PaperRow("ShuffleNetV2", "1.5x (official PyTorch impl)", "shufflenet_v2:width=1.5"),
    PaperRow("ShuffleNetV2", "2.0x (official PyTorch impl)", "shufflenet_v2:width=2.0"),
    PaperRow("ShuffleNetV2", "torchvision shufflenet_v2_x0_5",
             "shufflenet_v2:width=0.5,impl=torchvision", reasons={"madds": _TV_GMAC}),
    PaperRow("ShuffleNetV2", "torchvision shufflenet_v2_x1_0",
             "shufflenet_v2:width=1.0,impl=torchvision"),
    PaperRow("ShuffleNetV2", "torchvision shufflenet_v2_x1_5",
             "shufflenet_v2:width=1.5,impl=torchvision"),
    PaperRow("ShuffleNetV2", "torchvision shufflenet_v2_x2_0",
             "shufflenet_v2:width=2.0,impl=torchvision"),
)
