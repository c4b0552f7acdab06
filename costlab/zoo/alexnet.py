"""AlexNet: the 2012 two-GPU network and torchvision's "one weird trick" single tower.

Krizhevsky, Sutskever, Hinton 2012, "ImageNet Classification with Deep Convolutional
Neural Networks" (NIPS 2012), Sec. 3.5 / Fig. 2; the abstract says "60 million
parameters". Krizhevsky 2014, "One weird trick for parallelizing convolutional neural
networks", arXiv:1404.5997 (the torchvision variant).

variant="original" (default; the network the papers count):
    conv1  96@11x11 s4            -> ReLU -> LRN -> max-pool 3/2      55x55 -> 27x27
    conv2 256@5x5  p2 groups=2    -> ReLU -> LRN -> max-pool 3/2      27x27 -> 13x13
    conv3 384@3x3  p1                                                 13x13
    conv4 384@3x3  p1 groups=2                                        13x13
    conv5 256@3x3  p1 groups=2    -> ReLU -> max-pool 3/2             13x13 -> 6x6
    fc6 9216->4096, fc7 4096->4096 (ReLU, dropout), fc8 4096->1000
    60,965,224 params; 724.4 M MACs (= Caffe bvlc_alexnet at its 227 crop).
    Reproduces: MobileNet Table 9 (720 M Mult-Adds, "60 M"), ShuffleNet Table 6
    (720 MFLOPs), Han et al. 2015 (61 M params; Table 4 per-layer FLOP conv1 211M ...).
variant="owt" (torchvision alexnet, single tower 64-192-384-256-256, no LRN, no groups,
    AdaptiveAvgPool2d(6)): 61,100,840 params, 714.2 M MACs. Reproduces torchvision's
    weight metadata (61,100,840 / 0.714 "GFLOPS").

Checked against: BVLC/caffe models/bvlc_alexnet/train_val.prototxt (crop 227, conv1 no
pad, group: 2 on conv2/conv4/conv5, LRN local_size 5 alpha 1e-4 beta 0.75 after
relu1/relu2, pool 3/2, fc6/fc7 with ReLU + dropout) and pytorch/vision
torchvision/models/alexnet.py (owt: padding=2 on conv1, dropout before fc6/fc7).

Input size: the 2012 paper feeds 224x224 and gets 55x55 conv1 maps (cuda-convnet rounds
the output size up); Caffe gets the same 55x55 with a 227 crop and no padding. We feed
224 and pad conv1 by 2 (as torchvision does), which gives the same 55/27/13/6 maps and
exactly Caffe's per-layer counts. LRN uses the paper's k=2, n=5, alpha=1e-4, beta=0.75
(nn.LocalResponseNorm divides alpha by n like Caffe does); LRN costs no MACs either way.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from .registry import Knob, PaperRow, paper_rows, register_model

# (name, out_channels, kernel, stride, padding, groups, lrn_after, pool_after)
ALEXNET_CFG = {
    "original": [
        ("conv1", 96, 11, 4, 2, 1, True, True),
        ("conv2", 256, 5, 1, 2, 2, True, True),
        ("conv3", 384, 3, 1, 1, 1, False, False),
        ("conv4", 384, 3, 1, 1, 2, False, False),
        ("conv5", 256, 3, 1, 1, 2, False, True),
    ],
    "owt": [
        ("conv1", 64, 11, 4, 2, 1, False, True),
        ("conv2", 192, 5, 1, 2, 1, False, True),
        ("conv3", 384, 3, 1, 1, 1, False, False),
        ("conv4", 256, 3, 1, 1, 1, False, False),
        ("conv5", 256, 3, 1, 1, 1, False, True),
    ],
}
ALEXNET_FC = 4096
ALEXNET_POOL_OUT = 6  # pool5 map side at 224 (and 227 in Caffe)


class AlexNet(nn.Module):
    def __init__(self, variant: str = "original", num_classes: int = 1000, in_channels: int = 3):
        super().__init__()
        self.variant = variant
        feats: list[tuple[str, nn.Module]] = []
        c_in = in_channels
        for name, c_out, k, s, p, g, lrn, pool in ALEXNET_CFG[variant]:
            i = name[-1]
            feats.append((name, nn.Conv2d(c_in, c_out, k, s, p, groups=g)))
            feats.append((f"relu{i}", nn.ReLU(inplace=True)))
            if lrn:
                feats.append((f"norm{i}", nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75,
                                                                 k=2.0)))
            if pool:
                feats.append((f"pool{i}", nn.MaxPool2d(3, 2)))
            c_in = c_out
        self.features = nn.Sequential(OrderedDict(feats))
        flat = c_in * ALEXNET_POOL_OUT * ALEXNET_POOL_OUT
        if variant == "owt":
            # torchvision: adaptive pool always applied; dropout *before* fc6/fc7.
            self.avgpool = nn.AdaptiveAvgPool2d((ALEXNET_POOL_OUT, ALEXNET_POOL_OUT))
            head = [
                ("drop6", nn.Dropout()), ("fc6", nn.Linear(flat, ALEXNET_FC)),
                ("relu6", nn.ReLU(inplace=True)),
                ("drop7", nn.Dropout()), ("fc7", nn.Linear(ALEXNET_FC, ALEXNET_FC)),
                ("relu7", nn.ReLU(inplace=True)),
                ("fc8", nn.Linear(ALEXNET_FC, num_classes)),
            ]
        else:
            # Caffe/2012: no pooling before fc6 (pool5 is already 6x6 at 224).
            self.avgpool = None
            head = [
                ("fc6", nn.Linear(flat, ALEXNET_FC)), ("relu6", nn.ReLU(inplace=True)),
                ("drop6", nn.Dropout()),
                ("fc7", nn.Linear(ALEXNET_FC, ALEXNET_FC)), ("relu7", nn.ReLU(inplace=True)),
                ("drop7", nn.Dropout()),
                ("fc8", nn.Linear(ALEXNET_FC, num_classes)),
            ]
        self.classifier = nn.Sequential(OrderedDict(head))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        if self.avgpool is not None:
            x = self.avgpool(x)
        elif tuple(x.shape[-2:]) != (ALEXNET_POOL_OUT, ALEXNET_POOL_OUT):
            # Only off the native input size (224-227): keep fc6 at 9216 inputs.
            x = F.adaptive_avg_pool2d(x, ALEXNET_POOL_OUT)
        return self.classifier(torch.flatten(x, 1))


@register_model(
    "alexnet",
    paper="Krizhevsky et al. 2012, ImageNet Classification with Deep Convolutional Neural "
          "Networks, NIPS 2012 (owt: Krizhevsky 2014, One weird trick, arXiv:1404.5997)",
    family="alexnet",
    knobs={
        "variant": Knob("original", "original = 2012 two-GPU net (groups=2, LRN); owt = "
                        "torchvision single tower 64-192-384-256-256", type=str,
                        choices=("original", "owt")),
        "num_classes": Knob(1000, "classifier classes", type=int, low=1),
    },
    resolution=224,
    in_channels=3,
)
def alexnet(variant: str = "original", num_classes: int = 1000) -> nn.Module:
    """AlexNet (2012 grouped network by default; variant=owt for torchvision's)."""
    return AlexNet(variant=variant, num_classes=num_classes).eval()


paper_rows(
    PaperRow(
        model="AlexNet", variant="as quoted in MobileNetV1 paper Table 9", spec="alexnet",
        reasons={"params": "the MobileNet paper prints AlexNet as '60' M, the round figure of "
                 "Krizhevsky et al.'s abstract ('60 million parameters'); the exact count of the "
                 "2012 grouped network is 60,965,224 (Caffe bvlc_alexnet), which Han et al. 2015 "
                 "quote as 61 M"},
    ),
    PaperRow(model="AlexNet", variant="as quoted in ShuffleNetV1 paper Table 6", spec="alexnet",
             metrics=("madds",)),
    PaperRow(model="AlexNet", variant="Han 2015 total", spec="alexnet", metrics=("params",)),
    PaperRow(
        model="AlexNet", variant="Han 2015 Table 4 total", spec="alexnet", metrics=("flops",),
        reasons={"flops": "paper rounds the total to '1.5B'; its own per-layer FLOP (conv1 211M, "
                 "conv2 448M, conv3 299M, conv4 224M, conv5 150M, fc6 75M, fc7 34M, fc8 8M) sum "
                 "to 1,449M, which costlab matches per layer (2 x 724.4 M MACs = 1,448.9 M); "
                 "row is UNVERIFIED (from memory)"},
    ),
    PaperRow(model="AlexNet",
             variant="torchvision alexnet (One-weird-trick variant 64-192-384-256-256)",
             spec="alexnet:variant=owt"),
)
