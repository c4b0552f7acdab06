"""Xception (Chollet 2017): paper rows, exact counts, knobs."""
from __future__ import annotations

import pytest
import torch

from costlab.zoo import SpecError, create_model, parse_spec
from tests.fvcore_ref import param_count
from tests.zoo.paper_rows import (check_declared_metric, counts, declared_metric_params,
                                  family_rows)

FAMILY = "inception"
MODEL = "xception"
ROWS = family_rows(FAMILY, MODEL)
CASES = declared_metric_params(FAMILY, MODEL)


def test_rows_declared():
    assert {r.variant for r in ROWS} >= {"paper", "Keras include_top=True"}


@pytest.mark.parametrize("row,metric", CASES)
def test_paper_row(row, metric):
    check_declared_metric(row, metric, {})  # no row may be more than 1% off


def test_exact_counts():
    m = create_model(MODEL)
    assert param_count(m) == 22_855_952                   # paper Table 3 = Keras trainable
    bn = sum(mod.num_features for mod in m.modules() if isinstance(mod, torch.nn.BatchNorm2d))
    assert param_count(m) + 2 * bn == 22_910_480          # Keras total (+ moving mean/var)
    assert counts("xception", 299)["madds"] == 8_357_403_496


def test_structure():
    m = create_model(MODEL)
    assert [n for n, _ in m.entry_flow.named_children()] == ["block1", "block2", "block3", "block4"]
    assert [n for n, _ in m.middle_flow.named_children()] == [f"block{i}" for i in range(5, 13)]
    assert [n for n, _ in m.exit_flow.named_children()] == ["block13", "block14"]
    x = torch.zeros(1, 3, 299, 299)
    sizes = []
    for blk in m.entry_flow:
        x = blk(x)
        sizes.append(tuple(x.shape[1:]))
    assert sizes == [(64, 147, 147), (128, 74, 74), (256, 37, 37), (728, 19, 19)]
    sep = m.middle_flow.block5.sepconv1
    assert sep.depthwise.groups == 728 and sep.depthwise.bias is None
    assert sep.pointwise.kernel_size == (1, 1) and sep.pointwise.bias is None
    assert m(torch.zeros(1, 3, 299, 299)).shape == (1, 1000)


def test_knobs_and_spec():
    entry, knobs = parse_spec("xception:num_classes=17")
    assert entry.name == MODEL and knobs == {"num_classes": 17}
    assert entry.resolution == 299 and entry.in_channels == 3
    assert param_count(entry.build(**knobs)) == 22_855_952 - 2049 * 1000 + 2049 * 17
    for bad in ("xception:num_classes=0", "xception:num_classes=1.5", "xception:aux_logits=1",
                "xception:num_classes"):
        with pytest.raises(SpecError):
            parse_spec(bad)
