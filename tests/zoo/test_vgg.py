"""VGG-16/19 against paper_counts.csv: MobileNet Table 8, ShuffleNet Table 6, ResNet paper,
Han et al. 2015 Table 5, Keras and torchvision exact counts. fvcore on VGG at 224 costs a
few seconds per model, so each (spec, resolution) is counted once (lru_cache)."""
from __future__ import annotations

import re

import pytest
import torch

from costlab.zoo import SpecError, create_model, parse_spec
from tests.fvcore_ref import param_count
from tests.zoo.paper_rows import counts, fvcore_by_module, paper_row_tests

FAMILY = "vgg"
N_PAPER_ROWS = 7
# (model, variant, metric) -> largest relative difference accepted (a reason is declared).
EXPECTED_OFF = {
    ("VGG-16", "as quoted in MobileNetV1 paper Table 8", "madds"): 0.012,  # 15,470 M vs 15300
    ("VGG-16", "as quoted in ShuffleNetV1 paper Table 6", "madds"): 0.012,
}

test_every_declared_row_exists_in_csv, test_declared_rows = paper_row_tests(FAMILY, N_PAPER_ROWS, EXPECTED_OFF)


def test_exact_counts():
    assert counts("vgg16", 224) == {"params": 138_357_544, "madds": 15_470_264_320,
                                    "flops": 30_940_528_640}
    assert counts("vgg19", 224)["params"] == 143_667_240
    assert counts("vgg19", 224)["madds"] == 19_632_062_464


def test_vgg16_conv_only_macs_explain_15300():
    """The 13 convs alone are 15,347 M MACs (within 0.3% of the papers' 15300 M)."""
    bm = fvcore_by_module(create_model("vgg16"), (1, 3, 224, 224))
    convs = sum(v for k, v in bm.items() if re.fullmatch(r"features\.conv\d_\d", k))
    fcs = sum(bm[f"classifier.fc{i}"] for i in (6, 7, 8))
    assert convs == 15_346_630_656 and fcs == 123_633_664
    assert abs(convs - 15_300e6) / 15_300e6 < 0.004


def test_paper_table1_layout():
    names = [n for n, m in create_model("vgg16").features.named_children() if isinstance(m, torch.nn.Conv2d)]
    assert names == ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
                     "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3"]
    n_convs = {n: sum(isinstance(m, torch.nn.Conv2d) for m in create_model(n).modules())
               for n in ("vgg11", "vgg13", "vgg16", "vgg19")}
    assert n_convs == {"vgg11": 8, "vgg13": 10, "vgg16": 13, "vgg19": 16}


def test_batch_norm_knob():
    # torchvision vgg16_bn: 138,365,992 params (BN gamma/beta of 4,224 channels)
    entry, knobs = parse_spec("vgg16:batch_norm=1")
    assert param_count(entry.build(**knobs)) == 138_365_992


def test_knobs_and_specs():
    entry, knobs = parse_spec("vgg-16:num_classes=10")
    assert entry.name == "vgg16" and knobs == {"batch_norm": 0, "num_classes": 10}
    with torch.device("meta"):
        assert entry.build(**knobs)(torch.zeros(2, 3, 224, 224)).shape == (2, 10)
    with pytest.raises(SpecError):
        parse_spec("vgg16:batch_norm=2")
    with pytest.raises(SpecError):
        parse_spec("vgg19:num_classes=0")
    with pytest.raises(SpecError):
        parse_spec("vgg16:width=0.5")
