"""LeNet-300-100 and LeNet-5 (Caffe) as used by Han et al. 2015 for pruning.

Tables (Han, Pool, Tran, Dally 2015, "Learning both Weights and Connections for
Efficient Neural Networks", arXiv:1506.02626, Tables 2 and 3; FLOP = 2 x MAC, weights
exclude biases):

    LeNet-300-100   fc1 784->300  235K w / 470K FLOP
                    fc2 300->100   30K w /  60K FLOP
                    fc3 100->10     1K w /   2K FLOP     total 266K / 532K
    LeNet-5         conv1 20@5x5 (24x24 out)   0.5K w /  576K FLOP
                    conv2 50@5x5x20 (8x8 out)   25K w / 3200K FLOP
                    fc1 800->500               400K w /  800K FLOP
                    fc2 500->10                  5K w /   10K FLOP   total 431K / 4586K

Those per-layer rows in paper_counts.csv are UNVERIFIED (transcribed from a lecture, the
PDF tables were not at hand); they are arithmetically consistent with the nets below.

Architecture checked against BVLC/caffe examples/mnist/lenet.prototxt (LeNet-5 as Caffe
ships it and Han et al. prune it): conv1 20@5x5 s1 (no pad, no activation) -> max-pool
2/2 -> conv2 50@5x5 (no activation) -> max-pool 2/2 -> ip1 800->500 -> ReLU -> ip2 500->10.
Input 1x28x28 (MNIST). Every layer has a bias (Caffe default), so exact parameter counts
are weights + biases: LeNet-5 431,080, LeNet-300-100 266,610. LeNet-300-100 is the
784-300-100-10 MLP of LeCun et al. 1998 with ReLU between the layers (Caffe-style).
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from .registry import Knob, PaperRow, paper_rows, register_model

_HAN2015 = ("Han et al. 2015, Learning both Weights and Connections for Efficient Neural "
            "Networks, arXiv:1506.02626")

# (name, in, out) for the MLP; Han 2015 Table 2.
LENET_300_100_CFG = [("fc1", 784, 300), ("fc2", 300, 100), ("fc3", 100, None)]

# Caffe LeNet-5: (name, out_channels, kernel) convs, each followed by a 2x2/2 max-pool;
# then fully connected layers. Han 2015 Table 3.
LENET5_CONVS = [("conv1", 20, 5), ("conv2", 50, 5)]
LENET5_FC_HIDDEN = 500


class LeNet300100(nn.Module):
    """784-300-100-10 multilayer perceptron on a flattened 1x28x28 image."""

    def __init__(self, num_classes: int = 10, in_features: int = 784):
        super().__init__()
        layers: list[tuple[str, nn.Module]] = []
        c_in = in_features
        for i, (name, _, c_out) in enumerate(LENET_300_100_CFG):
            c_out = num_classes if c_out is None else c_out
            layers.append((name, nn.Linear(c_in, c_out)))
            if i < len(LENET_300_100_CFG) - 1:
                layers.append((f"relu{i + 1}", nn.ReLU(inplace=True)))
            c_in = c_out
        self.classifier = nn.Sequential(OrderedDict(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(x, 1))


class LeNet5(nn.Module):
    """Caffe LeNet: conv1 -> pool1 -> conv2 -> pool2 -> fc1 -> ReLU -> fc2 (no conv ReLUs)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, resolution: int = 28):
        super().__init__()
        layers: list[tuple[str, nn.Module]] = []
        c_in, side = in_channels, resolution
        for i, (name, c_out, k) in enumerate(LENET5_CONVS):
            layers.append((name, nn.Conv2d(c_in, c_out, k)))
            layers.append((f"pool{i + 1}", nn.MaxPool2d(2, 2)))
            c_in, side = c_out, (side - k + 1) // 2
        self.features = nn.Sequential(OrderedDict(layers))
        self.classifier = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(c_in * side * side, LENET5_FC_HIDDEN)),  # 50*4*4 = 800
            ("relu1", nn.ReLU(inplace=True)),
            ("fc2", nn.Linear(LENET5_FC_HIDDEN, num_classes)),
        ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        return self.classifier(torch.flatten(x, 1))


_NUM_CLASSES = Knob(10, "classifier classes", type=int, low=1)


@register_model("lenet_300_100", paper=_HAN2015, family="lenet",
                knobs={"num_classes": _NUM_CLASSES}, resolution=28, in_channels=1,
                aliases=("lenet-300-100",))
def lenet_300_100(num_classes: int = 10) -> nn.Module:
    """LeNet-300-100: 784-300-100-10 MLP on 28x28 MNIST (Han et al. 2015 Table 2)."""
    return LeNet300100(num_classes=num_classes).eval()


@register_model("lenet5", paper=_HAN2015, family="lenet",
                knobs={"num_classes": _NUM_CLASSES}, resolution=28, in_channels=1,
                aliases=("lenet-5", "lenet_5"))
def lenet5(num_classes: int = 10) -> nn.Module:
    """LeNet-5 as in Caffe's MNIST example: conv 20@5x5, conv 50@5x5, fc 500, fc 10."""
    return LeNet5(num_classes=num_classes).eval()


paper_rows(
    # Totals only; the per-layer rows of Han 2015 Tables 2-3 are checked in
    # tests/zoo/test_lenet.py against the modules conv1/conv2/fc1/fc2(/fc3).
    # The tables count weights without biases; with biases the totals stay within 0.2%.
    PaperRow(model="LeNet-5", variant="total", spec="lenet5", metrics=("params", "flops")),
    PaperRow(model="LeNet-300-100", variant="total", spec="lenet_300_100",
             metrics=("params", "flops")),
)
