"""ResNet-50 (v1: stride on the 1x1, the paper's; v1.5: stride on the 3x3, torchvision's)
and ResNet-34 against paper_counts.csv. The CSPNet README's darknet ResNet-50 rows
(22.73 M / 9.74 BFLOPs at 256) are a different network and are not claimed."""
from __future__ import annotations

import pytest
import torch

from costlab.zoo import SpecError, create_model, parse_spec
from tests.fvcore_ref import fvcore_conv_linear_macs, param_count
from tests.zoo.paper_rows import CSV_ROWS, counts, paper_row_tests

FAMILY = "resnet"
N_PAPER_ROWS = 7
# (model, variant, metric) -> largest relative difference accepted (a reason is declared).
EXPECTED_OFF = {
    ("ResNet-50", "paper Table 1", "madds"): 0.016,  # 3.858 G vs "3.8"
    ("ResNet-50", "as quoted in ShuffleNetV2 paper", "madds"): 0.016,
    ("ResNet-34", "plain/residual baseline", "madds"): 0.018,  # 3.664 G vs "3.6"
    ("ResNet-50", "as quoted in TF-slim MobileNet README", "madds"): 0.11,  # 3.858 G vs "~3500"
}

test_every_declared_row_exists_in_csv, test_declared_rows = paper_row_tests(FAMILY, N_PAPER_ROWS, EXPECTED_OFF)


def test_exact_counts():
    assert counts("resnet50", 224) == {"params": 25_557_032, "madds": 3_857_973_248,
                                       "flops": 7_715_946_496}
    assert counts("resnet50:stride_in=3x3", 224) == {"params": 25_557_032, "madds": 4_089_184_256,
                                                     "flops": 8_178_368_512}
    assert counts("resnet34", 224) == {"params": 21_797_672, "madds": 3_663_761_408,
                                       "flops": 7_327_522_816}


def test_keras_params_are_torchvision_plus_biases_and_bn_stats():
    model = create_model("resnet50")
    conv_ch = sum(m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    bn_ch = sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    keras = next(r for r in CSV_ROWS if r["model"] == "ResNet50" and r["variant"] == "Keras include_top=True")
    assert param_count(model) + conv_ch + 2 * bn_ch == int(keras["value"]) == 25_636_712


def test_stride_placement():
    v1 = create_model("resnet50")
    v15 = create_model("resnet50", stride_in="3x3")
    for stage in ("layer2", "layer3", "layer4"):
        b1, b15 = getattr(v1, stage)[0], getattr(v15, stage)[0]
        assert (b1.conv1.stride, b1.conv2.stride) == ((2, 2), (1, 1))
        assert (b15.conv1.stride, b15.conv2.stride) == ((1, 1), (2, 2))
        assert b1.downsample[0].stride == (2, 2)
    assert v1.layer1[0].downsample is not None and v1.layer1[1].downsample is None


def test_blocks_are_modules():
    model = create_model("resnet50")
    names = dict(model.named_modules())
    assert [len(getattr(model, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]
    assert type(names["layer3.5"]).__name__ == "Bottleneck"
    assert type(dict(create_model("resnet18").named_modules())["layer1.1"]).__name__ == "BasicBlock"


def test_other_depths_build_small():
    # 101/152 have no CSV row; check they build and trace (small input keeps this fast)
    model = create_model("resnet101")
    assert [len(getattr(model, f"layer{i}")) for i in range(1, 5)] == [3, 4, 23, 3]
    assert fvcore_conv_linear_macs(model, (1, 3, 64, 64)) > 0
    with torch.device("meta"):
        model = create_model("resnet152", stride_in="3x3")
        assert [len(getattr(model, f"layer{i}")) for i in range(1, 5)] == [3, 8, 36, 3]
        assert model(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)


def test_knobs_and_specs():
    entry, knobs = parse_spec("resnet50:stride_in=3x3,num_classes=10")
    assert entry.name == "resnet50" and knobs == {"stride_in": "3x3", "num_classes": 10}
    assert parse_spec("resnet50")[1]["stride_in"] == "1x1"  # the paper's v1 is the default
    with torch.device("meta"):
        assert entry.build(**knobs)(torch.zeros(2, 3, 224, 224)).shape == (2, 10)
    with pytest.raises(SpecError):
        parse_spec("resnet50:stride_in=2x2")
    with pytest.raises(SpecError):
        parse_spec("resnet50:num_classes=0")
    with pytest.raises(SpecError):
        parse_spec("resnet34:stride_in=1x1")  # basic blocks have no such knob
