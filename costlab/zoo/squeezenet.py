"""SqueezeNet v1.0 / v1.1 (Iandola et al. 2016, arXiv:1602.07360).

Checked against (read, not copied):
- forresti/SqueezeNet SqueezeNet_v1.0/deploy.prototxt and train_val.prototxt: conv1 96x7x7/2
  (no pad), max-pool 3/2 after conv1, fire4, fire8; fire2..fire9 squeeze/expand widths below;
  dropout 0.5 after fire9; conv10 1x1 -> 1000 (with ``pad: 1``, a Caffe quirk: 15x15 instead of
  13x13 output at 227, see knob ``conv10_pad``); ReLU; global average pool.  All convs carry a
  bias (Caffe default), there is no BN.  Caffe pooling rounds up (``ceil_mode=True``).
- forresti/SqueezeNet SqueezeNet_v1.1/deploy.prototxt and README: conv1 64x3x3/2, pools after
  conv1, fire3, fire5; conv10 without padding; same fire widths.
- torchvision's SqueezeNet (pytorch/vision torchvision/models/squeezenet.py): same layers, no
  conv10 padding, params 1,248,424 / 1,235,496 (reproduced exactly here).
- Paper Sec. 5 (design-space metaparameters, Fig. 3) and Sec. 6 (bypass, Fig. 2 / Table 3), read
  in a stored bilingual transcription of arXiv:1602.07360 (Table 3 itself is an image there).

Resolution: the Caffe models use 227x227 crops; torchvision (and this zoo's default) uses 224.
With ceil-mode pooling the fire modules see 55/27/13 (227) or 54/27/13 (224) pixel maps.
"""
from __future__ import annotations

from collections import OrderedDict
import math

import torch
import torch.nn as nn

from .registry import Knob, PaperRow, SpecError, paper_rows, register_model

PAPER = ("Iandola et al. 2016, SqueezeNet: AlexNet-level accuracy with 50x fewer parameters "
         "and <0.5MB model size, arXiv:1602.07360")

# ---------------------------------------------------------------------------------------
# Paper Table 1 (SqueezeNet v1.0; identical widths in v1.1), fire modules in order:
#   name    squeeze1x1  expand1x1  expand3x3
#   fire2       16          64         64
#   fire3       16          64         64
#   fire4       32         128        128
#   fire5       32         128        128
#   fire6       48         192        192
#   fire7       48         192        192
#   fire8       64         256        256
#   fire9       64         256        256
# They follow from the Sec. 5.1 metaparameters (paper defaults base_e=128, incr_e=128,
# freq=2, pct_3x3=0.5, SR=0.125), with i = 0 for fire2 ... i = 7 for fire9:
#   e_i = base_e + incr_e * floor(i / freq)
#   e_i,3x3 = e_i * pct_3x3,  e_i,1x1 = e_i - e_i,3x3,  s_i,1x1 = SR * e_i
# (the paper gives no rounding rule; non-integer results are rounded half up here, with at
# least one filter in the squeeze and in each expand branch).
# ---------------------------------------------------------------------------------------
FIRE_NAMES = ("fire2", "fire3", "fire4", "fire5", "fire6", "fire7", "fire8", "fire9")
TABLE1_FIRES = {
    "fire2": (16, 64, 64), "fire3": (16, 64, 64),
    "fire4": (32, 128, 128), "fire5": (32, 128, 128),
    "fire6": (48, 192, 192), "fire7": (48, 192, 192),
    "fire8": (64, 256, 256), "fire9": (64, 256, 256),
}
# version -> (conv1 filters, conv1 kernel, layers followed by a 3x3/2 max-pool)
VERSIONS = {
    "1_0": (96, 7, ("conv1", "fire4", "fire8")),   # pool1, pool4, pool8 (+ global pool10)
    "1_1": (64, 3, ("conv1", "fire3", "fire5")),   # pool1, pool3, pool5 (+ global pool10)
}
# Sec. 6 / Fig. 2: simple (identity) bypass around fire3, 5, 7, 9, where input and output
# widths match; the complex variant adds a 1x1-conv bypass around the others (2, 4, 6, 8).
# For non-default metaparameters the rule generalises to: identity wherever in == out
# channels, 1x1 conv (complex only) wherever they differ.
BYPASS = ("none", "simple", "complex")


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def fire_channels(base_e: int = 128, incr_e: int = 128, freq: int = 2,
                  pct_3x3: float = 0.5, sr: float = 0.125) -> list[tuple[int, int, int]]:
    """(squeeze1x1, expand1x1, expand3x3) for fire2..fire9 from the paper's Sec. 5.1 formulas."""
    out = []
    for i in range(len(FIRE_NAMES)):
        e = base_e + incr_e * (i // freq)
        if e < 2:
            raise SpecError(f"fire{i + 2} would have {e} expand filters; need base_e >= 2")
        e3 = min(max(_round_half_up(e * pct_3x3), 1), e - 1)
        e1 = e - e3
        s = max(_round_half_up(sr * e), 1)
        out.append((s, e1, e3))
    return out


class Fire(nn.Module):
    """Fire module: squeeze 1x1 -> (expand 1x1 || expand 3x3) -> concat, each conv + ReLU;
    optional bypass (identity, or a 1x1 conv with bias) added to the concatenated output."""

    def __init__(self, c_in: int, squeeze: int, e1x1: int, e3x3: int, bypass: str = "none"):
        super().__init__()
        self.squeeze = nn.Conv2d(c_in, squeeze, 1)
        self.squeeze_relu = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, e1x1, 1)
        self.expand1x1_relu = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, e3x3, 3, padding=1)
        self.expand3x3_relu = nn.ReLU(inplace=True)
        c_out = e1x1 + e3x3
        self.identity_bypass = bypass == "identity"
        self.bypass = nn.Conv2d(c_in, c_out, 1) if bypass == "conv" else None
        if self.identity_bypass and c_in != c_out:
            raise ValueError("identity bypass needs equal input and output channels")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze_relu(self.squeeze(x))
        out = torch.cat([self.expand1x1_relu(self.expand1x1(s)),
                         self.expand3x3_relu(self.expand3x3(s))], 1)
        if self.bypass is not None:
            out = out + self.bypass(x)
        elif self.identity_bypass:
            out = out + x
        return out


class SqueezeNet(nn.Module):
    """``features`` (conv1, pools, fire2..fire9 named as in the Caffe prototxt) and
    ``classifier`` (drop9, conv10, relu10, pool10)."""

    def __init__(self, version: str = "1_0", num_classes: int = 1000, bypass: str = "none",
                 base_e: int = 128, incr_e: int = 128, freq: int = 2, pct_3x3: float = 0.5,
                 sr: float = 0.125, conv10_pad: int = 0):
        super().__init__()
        c1, k1, pool_after = VERSIONS[version]
        self.fire_config = fire_channels(base_e, incr_e, freq, pct_3x3, sr)
        layers: list[tuple[str, nn.Module]] = [
            ("conv1", nn.Conv2d(3, c1, k1, stride=2)),
            ("relu1", nn.ReLU(inplace=True)),
        ]
        if "conv1" in pool_after:
            layers.append(("pool1", nn.MaxPool2d(3, 2, ceil_mode=True)))
        c = c1
        for name, (s, e1, e3) in zip(FIRE_NAMES, self.fire_config):
            c_out = e1 + e3
            kind = "none"
            if bypass != "none":
                if c == c_out:
                    kind = "identity"
                elif bypass == "complex":
                    kind = "conv"
            layers.append((name, Fire(c, s, e1, e3, kind)))
            c = c_out
            if name in pool_after:
                layers.append(("pool" + name[4:], nn.MaxPool2d(3, 2, ceil_mode=True)))
        self.features = nn.Sequential(OrderedDict(layers))
        self.classifier = nn.Sequential(OrderedDict([
            ("drop9", nn.Dropout(p=0.5)),
            ("conv10", nn.Conv2d(c, num_classes, 1, padding=conv10_pad)),
            ("relu10", nn.ReLU(inplace=True)),
            ("pool10", nn.AdaptiveAvgPool2d((1, 1))),
        ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.classifier(x)
        return torch.flatten(x, 1)


def _knobs(conv10_pad_help: str) -> dict[str, Knob]:
    return {
        "num_classes": Knob(1000, "classifier classes (conv10 filters)", type=int, low=1),
        "bypass": Knob("none", "Sec. 6 bypass: none, simple (identity around fire3/5/7/9), "
                       "complex (+1x1 conv around fire2/4/6/8)", type=str, choices=BYPASS),
        "base_e": Knob(128, "Sec. 5.1 base_e: expand filters of fire2", type=int, low=2),
        "incr_e": Knob(128, "Sec. 5.1 incr_e: expand filters added every freq modules",
                       type=int, low=0),
        "freq": Knob(2, "Sec. 5.1 freq: fire modules per expand-width step", type=int, low=1),
        "pct_3x3": Knob(0.5, "Sec. 5.2 pct_3x3: share of 3x3 filters in the expand layer",
                        type=float, low=0.01, high=0.99),
        "sr": Knob(0.125, "Sec. 5.1 squeeze ratio SR = squeeze filters / expand filters",
                   type=float, low=0.01, high=1.0),
        "conv10_pad": Knob(0, conv10_pad_help, type=int, choices=(0, 1)),
    }


@register_model(
    "squeezenet1_0",
    paper=PAPER,
    family="squeezenet",
    knobs=_knobs("conv10 padding: 0 as torchvision; 1 as the official v1.0 Caffe prototxt "
                 "(a padded 1x1 conv: +28.7M MACs at 227)"),
    resolution=224,
    aliases=("squeezenet", "squeezenet_v1.0", "squeezenet1.0"),
)
def squeezenet1_0(num_classes=1000, bypass="none", base_e=128, incr_e=128, freq=2,
                  pct_3x3=0.5, sr=0.125, conv10_pad=0) -> nn.Module:
    """SqueezeNet v1.0 (paper Table 1; official Caffe model uses 227x227 input)."""
    return SqueezeNet("1_0", num_classes, bypass, base_e, incr_e, freq, pct_3x3, sr,
                      conv10_pad).eval()


@register_model(
    "squeezenet1_1",
    paper=PAPER,
    family="squeezenet",
    knobs=_knobs("conv10 padding: 0 as torchvision and the official v1.1 prototxt"),
    resolution=224,
    aliases=("squeezenet_v1.1", "squeezenet1.1"),
)
def squeezenet1_1(num_classes=1000, bypass="none", base_e=128, incr_e=128, freq=2,
                  pct_3x3=0.5, sr=0.125, conv10_pad=0) -> nn.Module:
    """SqueezeNet v1.1 (official repo: conv1 64x3x3, pools after conv1/fire3/fire5; ~2.4x
    less compute than v1.0). Bypass/metaparameter knobs apply as for v1.0 (the paper only
    explored them on v1.0)."""
    return SqueezeNet("1_1", num_classes, bypass, base_e, incr_e, freq, pct_3x3, sr,
                      conv10_pad).eval()


# ---------------------------------------------------------------------------------------
# paper_counts.csv rows.  size_mb: costlab computes params * 4 B / 2**20 (MiB); the SqueezeNet
# sources' "MB" is MiB (CONVENTIONS.md section 4: 1,248,424 x 4 B = 4.76 MiB ~ "4.8MB"); the
# paper's sizes look like `ls -lh` of the fp32 .caffemodel (MiB rounded UP: 4.76 -> "4.8MB",
# SR=0.75: 18.47 -> "19MB", SR=0.5: 12.99 -> "13MB", Sec. 5.2/5.3 text; see the tests).
# flops: FLOPs = 2 x MAC (the official README's "GFLOPS/image", definition not stated).
# Rows about the official Caffe model (227 crops) use conv10_pad=1 as its prototxt does.
# ---------------------------------------------------------------------------------------
CAFFE_1_0 = "squeezenet1_0:conv10_pad=1"
_SHUFFLENET = ("833M is costlab's count at 227x227, the Caffe crop (832.7M, conv10 unpadded); at "
               "the CSV's 224 costlab gives 818.9M, equal to torchvision's 0.82G: ShuffleNet "
               "Table 6 apparently counted SqueezeNet at 227 (CONVENTIONS.md section 2.7)")
_TWO_X = ("printed as 'Mult-Adds' but it is 2 x MAC: the official v1.0 Caffe model (227, "
          "conv10 pad 1) has 861.3M conv MACs, 2 x MAC = 1722.7M = the official README's "
          "1.72 GFLOPS (1.3% from 1700); MobileNet Table 9 quotes a FLOPs(=2xMAC) figure "
          "labelled Mult-Adds (CONVENTIONS.md section 2.1)")
_V11_FLOPS = ("unexplained: 0.72 GFLOPS (= 0.36 GMAC) lies between costlab's 2 x MAC of the "
              "official v1.1 prototxt at 227 with Caffe's ceil-mode pooling (fire maps 56/28/14: "
              "0.3877 GMAC -> 0.775 GFLOPs, +7.7%) and with floor-mode pooling (56/27/13: 0.705) "
              "or at 224 (0.698); the v1.0 figure 1.72 is reproduced exactly (conv10_pad=1), and "
              "1.72/0.72 is the README's own '2.4x'")
_COMPLEX = ("unexplained, and the row is UNVERIFIED: 1x1-conv bypasses (with bias) around "
            "fire2/4/6/8 as Sec. 6 describes add 96*128+128*256+256*384+384*512 weights + "
            "1,280 biases = 341,248 params -> 1,589,672 params = 6.06 MiB (6.36 MB decimal), "
            "not 7.7; 1x1 convs around all eight fires would give 7.94 MiB; checked the paper "
            "text (Sec. 6) and the official prototxts (no bypass variant published there)")
paper_rows(
    PaperRow("SqueezeNet", "torchvision squeezenet1_0", "squeezenet1_0",
             metrics=("params", "madds", "size_mb")),
    PaperRow("SqueezeNet", "torchvision squeezenet1_1", "squeezenet1_1",
             metrics=("params", "madds", "size_mb")),
    PaperRow("SqueezeNet", "as quoted in ShuffleNetV1 paper Table 6", "squeezenet1_0",
             metrics=("madds",), reasons={"madds": _SHUFFLENET}),
    PaperRow("SqueezeNet", "1.0 paper Table 1 total (before pruning)", CAFFE_1_0,
             metrics=("params",)),
    PaperRow("SqueezeNet", "1.0", CAFFE_1_0, metrics=("flops",)),
    PaperRow("SqueezeNet", "1.1", "squeezenet1_1", metrics=("flops",),
             reasons={"flops": _V11_FLOPS}),
    PaperRow("SqueezeNet", "1.0 Caffe model (official)", CAFFE_1_0, metrics=("size_mb",)),
    PaperRow("SqueezeNet", "1.0 (as quoted in MobileNetV1 paper Table 9)", CAFFE_1_0,
             metrics=("params", "madds"), reasons={"madds": _TWO_X}),
    PaperRow("SqueezeNet", "1.0 vanilla", "squeezenet1_0:bypass=none", metrics=("size_mb",)),
    PaperRow("SqueezeNet", "1.0 simple bypass", "squeezenet1_0:bypass=simple",
             metrics=("size_mb",)),
    PaperRow("SqueezeNet", "1.0 complex bypass", "squeezenet1_0:bypass=complex",
             metrics=("size_mb",), reasons={"size_mb": _COMPLEX}),
)
