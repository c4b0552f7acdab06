"""AlexNet (2012 grouped network and torchvision's one-weird-trick variant) against
paper_counts.csv: MobileNet Table 9, ShuffleNet Table 6, Han et al. 2015, torchvision."""
from __future__ import annotations

import re

import pytest
import torch

from costlab.zoo import SpecError, create_model, parse_spec
from tests.zoo.paper_rows import CSV_ROWS, counts, fvcore_by_module, paper_row_tests

FAMILY = "alexnet"
N_PAPER_ROWS = 5
# (model, variant, metric) -> largest relative difference accepted (a reason is declared).
EXPECTED_OFF = {
    ("AlexNet", "as quoted in MobileNetV1 paper Table 9", "params"): 0.017,  # 60.97 M vs "60"
    ("AlexNet", "Han 2015 Table 4 total", "flops"): 0.035,  # 1.449 B vs "1.5B"
}

test_every_declared_row_exists_in_csv, test_declared_rows = paper_row_tests(FAMILY, N_PAPER_ROWS, EXPECTED_OFF)


def test_exact_counts():
    assert counts("alexnet", 224) == {"params": 60_965_224, "madds": 724_406_816, "flops": 1_448_813_632}
    assert counts("alexnet:variant=owt", 224)["params"] == 61_100_840
    assert counts("alexnet:variant=owt", 224)["madds"] == 714_188_480


def test_original_is_caffe_bvlc_alexnet():
    """Per-layer shapes of Caffe's bvlc_alexnet (227 crop): 55/27/13/13/13 maps, groups=2."""
    m = create_model("alexnet")
    f = m.features
    assert [f.conv1.out_channels, f.conv2.out_channels, f.conv3.out_channels,
            f.conv4.out_channels, f.conv5.out_channels] == [96, 256, 384, 384, 256]
    assert [f.conv1.groups, f.conv2.groups, f.conv3.groups, f.conv4.groups, f.conv5.groups] == [1, 2, 1, 2, 2]
    assert isinstance(f.norm1, torch.nn.LocalResponseNorm) and isinstance(f.norm2, torch.nn.LocalResponseNorm)
    assert m.classifier.fc6.in_features == 9216
    owt = create_model("alexnet", variant="owt")
    assert not any(isinstance(x, torch.nn.LocalResponseNorm) for x in owt.modules())
    assert all(c.groups == 1 for c in owt.modules() if isinstance(c, torch.nn.Conv2d))


def _han_table4():
    row = next(r for r in CSV_ROWS if r["model"] == "AlexNet" and r["variant"] == "Han 2015 Table 4 total")
    # definition: "... (per-layer conv1 211M conv2 448M ... fc1 75M fc2 34M fc3 8M)"  (UNVERIFIED row)
    pairs = re.findall(r"(conv\d|fc\d) (\d+)M", row["definition"])
    fc = {"fc1": "fc6", "fc2": "fc7", "fc3": "fc8"}
    return [(("classifier." + fc[n]) if n in fc else ("features." + n), int(v) * 1e6) for n, v in pairs]


def test_han2015_table4_per_layer():
    pairs = _han_table4()
    assert len(pairs) == 8
    bm = fvcore_by_module(create_model("alexnet"), (1, 3, 224, 224))
    for path, want in pairs:
        got = 2 * bm[path]  # Han's FLOP = 2 x MAC
        # printed to the nearest million
        assert abs(got - want) <= 0.5e6, (path, got, want)
    assert sum(w for _, w in pairs) == 1_449e6


def test_other_resolutions_trace():
    # 227 (Caffe crop) keeps the 6x6 pool5; 256 goes through the adaptive pool fallback
    assert counts("alexnet", 227)["params"] == 60_965_224
    assert counts("alexnet", 256)["madds"] > counts("alexnet", 224)["madds"]
    with torch.device("meta"):
        assert create_model("alexnet")(torch.zeros(2, 3, 224, 224)).shape == (2, 1000)
        assert create_model("alexnet", variant="owt")(torch.zeros(2, 3, 224, 224)).shape == (2, 1000)


def test_knobs_and_specs():
    entry, knobs = parse_spec("alexnet:variant=owt,num_classes=10")
    assert entry.name == "alexnet" and knobs == {"variant": "owt", "num_classes": 10}
    assert parse_spec("alexnet")[1] == {"variant": "original", "num_classes": 1000}
    assert entry.build(**knobs).classifier.fc8.out_features == 10
    with pytest.raises(SpecError):
        parse_spec("alexnet:variant=caffenet")
    with pytest.raises(SpecError):
        parse_spec("alexnet:num_classes=0")
    with pytest.raises(SpecError):
        parse_spec("alexnet:groups=2")
