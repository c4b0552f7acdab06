"""Xception (Chollet 2017): paper rows, exact counts, knobs."""
from __future__ import annotations

import csv
import functools
from pathlib import Path

import pytest
import torch

import costlab
from costlab.zoo import SpecError, create_model, get_entry, list_paper_rows, parse_spec
from tests.fvcore_ref import fvcore_conv_linear_macs, param_count

CSV = Path(costlab.__file__).parent / "data" / "paper_counts.csv"
MODEL = "xception"


def _scale(unit: str) -> float:
    if unit == "count":
        return 1.0
    if unit == "millions" or unit.startswith("M"):
        return 1e6
    if unit.startswith("G"):
        return 1e9
    raise AssertionError(f"unknown unit {unit!r}")


def _csv_rows(model: str, variant: str, metric: str) -> list[dict]:
    with open(CSV, newline="") as f:
        return [r for r in csv.DictReader(f)
                if r["model"] == model and r["variant"] == variant and r["metric"] == metric]


@functools.lru_cache(maxsize=None)
def _counts(spec: str, resolution: int) -> dict[str, int]:
    entry, knobs = parse_spec(spec)
    model = entry.build(**knobs)
    shape = entry.default_input_shape(resolution)
    return {"params": param_count(model), "madds": fvcore_conv_linear_macs(model, shape)}


ROWS = [r for r in list_paper_rows() if r.spec.split(":")[0] == MODEL]
CASES = [(r, m) for r in ROWS for m in r.metrics]


@functools.lru_cache(maxsize=None)
def _params(spec: str) -> int:
    entry, knobs = parse_spec(spec)
    return param_count(entry.build(**knobs))


def test_rows_declared():
    assert {r.variant for r in ROWS} >= {"paper", "Keras include_top=True"}


@pytest.mark.parametrize("row,metric", CASES, ids=[f"{r.variant}-{m}" for r, m in CASES])
def test_paper_row(row, metric):
    csv_rows = _csv_rows(row.model, row.variant, metric)
    assert csv_rows, f"no CSV row for {row.model} / {row.variant} / {metric}"
    for c in csv_rows:
        res = get_entry(MODEL).resolution if c["resolution"] == "-" else int(c["resolution"])
        paper = float(c["value"]) * _scale(c["unit"])
        got = _counts(row.spec, res)[metric] if metric == "madds" else _params(row.spec)
        assert abs(got - paper) / paper <= 0.01, (row.variant, metric, got, paper)


def test_exact_counts():
    m = create_model(MODEL)
    assert param_count(m) == 22_855_952                   # paper Table 3 = Keras trainable
    bn = sum(mod.num_features for mod in m.modules() if isinstance(mod, torch.nn.BatchNorm2d))
    assert param_count(m) + 2 * bn == 22_910_480          # Keras total (+ moving mean/var)
    assert _counts("xception", 299)["madds"] == 8_357_403_496


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
