"""LeNet-300-100 and LeNet-5 against Han et al. 2015 Tables 2-3 (paper_counts.csv).

The LeNet rows of the CSV are UNVERIFIED (transcribed from a lecture, not the PDF); they
are arithmetically consistent with Caffe's LeNet under FLOP = 2 x MAC.
"""
from __future__ import annotations

import functools

import pytest
import torch

from costlab.zoo import SpecError, create_model, parse_spec
from tests.zoo.paper_rows import CSV_ROWS, counts, fvcore_by_module, paper_row_tests, paper_value

FAMILY = "lenet"
N_PAPER_ROWS = 2
# no row may be more than 1% off
test_every_declared_row_exists_in_csv, test_declared_rows_within_1pct = paper_row_tests(FAMILY, N_PAPER_ROWS)


def test_totals_exact():
    # weights + biases (Caffe layers all have biases); Han's tables exclude biases.
    assert counts("lenet5", 28) == {"params": 431_080, "madds": 2_293_000, "flops": 4_586_000}
    assert counts("lenet_300_100", 28) == {"params": 266_610, "madds": 266_200, "flops": 532_400}


# Han 2015 per-layer rows: CSV variant's first word -> module path in the zoo model.
LAYER_MODULES = {
    ("LeNet-5", "conv1"): ("lenet5", "features.conv1"),
    ("LeNet-5", "conv2"): ("lenet5", "features.conv2"),
    ("LeNet-5", "fc1"): ("lenet5", "classifier.fc1"),
    ("LeNet-5", "fc2"): ("lenet5", "classifier.fc2"),
    ("LeNet-300-100", "fc1"): ("lenet_300_100", "classifier.fc1"),
    ("LeNet-300-100", "fc2"): ("lenet_300_100", "classifier.fc2"),
    ("LeNet-300-100", "fc3"): ("lenet_300_100", "classifier.fc3"),
}
PER_LAYER_ROWS = [
    r for r in CSV_ROWS
    if r["model"] in ("LeNet-5", "LeNet-300-100") and r["metric"] in ("params", "flops")
    and (r["model"], r["variant"].split()[0]) in LAYER_MODULES
]


@functools.lru_cache(maxsize=None)
def by_module(name: str):
    model = create_model(name)
    return model, fvcore_by_module(model, (1, 1, 28, 28))


def test_per_layer_rows_present():
    assert len(PER_LAYER_ROWS) == 14  # 4 + 3 layers, weights and FLOP each


@pytest.mark.parametrize("row", PER_LAYER_ROWS, ids=lambda r: f"{r['model']}|{r['variant']}|{r['metric']}")
def test_han2015_per_layer(row):
    name, path = LAYER_MODULES[(row["model"], row["variant"].split()[0])]
    model, macs = by_module(name)
    module = model.get_submodule(path)
    if row["metric"] == "params":
        got = module.weight.numel()  # Han's "Weights" exclude biases
    else:
        got = 2 * macs[path]  # Han's FLOP = 2 x MAC
    want = paper_value(row)
    assert abs(got - want) / want <= 0.01, (path, got, want)


def test_lenet5_shapes_match_han_table():
    model, macs = by_module("lenet5")
    # conv1 20x5x5 on 24x24 outputs, conv2 50x5x5x20 on 8x8 outputs, fc1 800 -> 500
    assert macs["features.conv1"] == 20 * 25 * 24 * 24
    assert macs["features.conv2"] == 50 * 25 * 20 * 8 * 8
    assert model.classifier.fc1.in_features == 800
    # Caffe LeNet has no activation after the convs; one ReLU after fc1
    assert sum(isinstance(m, torch.nn.ReLU) for m in model.modules()) == 1


def test_knobs_and_specs():
    entry, knobs = parse_spec("lenet5:num_classes=7")
    assert entry.name == "lenet5" and knobs == {"num_classes": 7}
    assert entry.default_input_shape() == (1, 1, 28, 28)
    assert create_model("lenet_300_100", num_classes=7)(torch.zeros(2, 1, 28, 28)).shape == (2, 7)
    assert parse_spec("lenet-5")[0].name == "lenet5"
    with pytest.raises(SpecError):
        parse_spec("lenet5:num_classes=0")
    with pytest.raises(SpecError):
        parse_spec("lenet5:num_classes=ten")
    with pytest.raises(SpecError):
        parse_spec("lenet_300_100:width=2")


def test_meta_forward():
    with torch.device("meta"):
        for name in ("lenet5", "lenet_300_100"):
            out = create_model(name)(torch.zeros(3, 1, 28, 28))
            assert out.shape == (3, 10)
