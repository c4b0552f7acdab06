"""CSPNet zoo (darknet cfgs) against the CSPNet README counts in paper_counts.csv."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn as nn

import costlab
from costlab.zoo import SpecError, create_model, get_entry, list_paper_rows, parse_spec
from tests.fvcore_ref import fvcore_conv_linear_macs, param_count

CSV = Path(costlab.__file__).parent / "data" / "paper_counts.csv"
VARIANT = "CSPNet paper/README"
MODELS = {  # zoo name -> CSV model
    "cspresnet50": "CSPResNet-50",
    "cspresnext50": "CSPResNeXt-50",
    "cspdarknet53": "CSPDarkNet-53",
}


@pytest.fixture(scope="module")
def csv():
    return pd.read_csv(CSV, dtype=str)


def _paper(csv, model: str, metric: str) -> tuple[float, int]:
    row = csv[(csv.model == model) & (csv.variant == VARIANT) & (csv.metric == metric)]
    assert len(row) == 1, (model, metric)
    r = row.iloc[0]
    return float(r.value), int(r.resolution)


@pytest.fixture(scope="module")
def measured():
    out = {}
    for name in MODELS:
        m = create_model(name)
        res = get_entry(name).resolution
        macs = fvcore_conv_linear_macs(m, (1, 3, res, res))
        conv_w = sum(x.weight.numel() for x in m.modules() if isinstance(x, nn.Conv2d))
        out[name] = dict(params=param_count(m), macs=macs, conv_w=conv_w)
    return out


@pytest.mark.parametrize("name", list(MODELS))
def test_default_resolution_is_cfg_256(name, csv):
    _, res = _paper(csv, MODELS[name], "bflops_darknet")
    assert res == 256 == get_entry(name).resolution


@pytest.mark.parametrize("name", list(MODELS))
def test_params_match_readme(name, csv, measured):
    paper, _ = _paper(csv, MODELS[name], "params")  # millions
    got = measured[name]["params"] / 1e6
    assert abs(got - paper) / paper < 0.01, (got, paper)
    # The README counts conv weights only (darknet): that matches to the printed rounding.
    conv_w = measured[name]["conv_w"] / 1e6
    assert abs(conv_w - paper) < 0.0051, (conv_w, paper)


@pytest.mark.parametrize("name", list(MODELS))
def test_bflops_darknet_is_2x_mac(name, csv, measured):
    paper, _ = _paper(csv, MODELS[name], "bflops_darknet")
    got = 2 * measured[name]["macs"] / 1e9
    assert abs(got - paper) / paper < 0.01, (got, paper)
    # ratio paper BFLOPs / MAC is 2 to within 0.1% (darknet BFLOPs = 2 x MAC)
    assert abs(paper * 1e9 / measured[name]["macs"] - 2.0) < 0.002


def test_paper_rows_declared(csv):
    rows = {(r.model, r.variant): r for r in list_paper_rows() if r.spec.split(":")[0] in MODELS}
    for name, model in MODELS.items():
        r = rows[(model, VARIANT)]
        assert r.spec == name
        assert set(r.metrics) == {"params", "bflops_darknet"}
        for metric in r.metrics:
            _paper(csv, model, metric)  # the row exists


def test_structure_and_forward():
    m = create_model("cspresnet50", num_classes=10)
    assert [n for n, _ in m.named_children()] == [
        "stem", "stage1", "stage2", "stage3", "stage4", "classifier"]
    assert [n for n, _ in m.stage2.named_children()] == [
        "down", "part1", "part2", "blocks", "transition", "fuse"]
    assert len(m.stage3.blocks) == 5
    d = create_model("cspdarknet53")
    assert [len(getattr(d, f"stage{i}").blocks) for i in range(1, 6)] == [1, 2, 8, 8, 4]
    with torch.no_grad():
        assert m(torch.zeros(1, 3, 64, 64)).shape == (1, 10)
    # meta tensors (dispatch-level tracing)
    x = create_model("cspresnext50", act="mish").to("meta")
    assert x(torch.zeros(1, 3, 256, 256, device="meta")).shape == (1, 1000)


def test_specs_and_knobs():
    entry, knobs = parse_spec("cspresnext50:num_classes=10,act=mish")
    assert entry.name == "cspresnext50" and knobs == {"num_classes": 10, "act": "mish"}
    assert parse_spec("csdarknet53")[0].name == "cspdarknet53"  # cfg-name alias
    with pytest.raises(SpecError):
        parse_spec("cspresnet50:num_classes=0")
    with pytest.raises(SpecError):
        parse_spec("cspresnet50:act=relu")
    with pytest.raises(SpecError):
        parse_spec("cspdarknet53:width=2")
    with pytest.raises(SpecError):
        create_model("cspresnet50", num_classes="x")
