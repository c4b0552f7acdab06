"""VGG-16/19 against paper_counts.csv: MobileNet Table 8, ShuffleNet Table 6, ResNet paper,
Han et al. 2015 Table 5, Keras and torchvision exact counts. fvcore on VGG at 224 costs a
few seconds per model, so each (spec, resolution) is counted once (lru_cache)."""
from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

import pytest
import torch
from fvcore.nn import FlopCountAnalysis

import costlab
from costlab.zoo import SpecError, create_model, list_paper_rows, parse_spec
from tests.fvcore_ref import fvcore_conv_linear_macs, param_count

FAMILY = "vgg"
N_PAPER_ROWS = 7
# (model, variant, metric) -> largest relative difference accepted (a reason is declared).
EXPECTED_OFF = {
    ("VGG-16", "as quoted in MobileNetV1 paper Table 8", "madds"): 0.012,  # 15,470 M vs 15300
    ("VGG-16", "as quoted in ShuffleNetV1 paper Table 6", "madds"): 0.012,
}

CSV_ROWS = list(csv.DictReader((Path(costlab.__file__).parent / "data" / "paper_counts.csv").open()))
_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9}


def paper_value(row: dict) -> float:
    v, mult = row["value"].strip(), 1.0
    if v[-1] in _SUFFIX:
        v, mult = v[:-1], _SUFFIX[v[-1]]
    unit = row["unit"]
    if unit == "millions" or unit.startswith(("MMAC", "MFLOP")):
        mult *= 1e6
    elif unit.startswith("GMAC"):
        mult *= 1e9
    return float(v) * mult


@functools.lru_cache(maxsize=None)
def counts(spec: str, resolution: int) -> dict[str, int]:
    entry, knobs = parse_spec(spec)
    model = entry.build(**knobs)
    macs = fvcore_conv_linear_macs(model, entry.default_input_shape(resolution))
    return {"params": param_count(model), "madds": macs, "flops": 2 * macs}


def family_rows():
    return [pr for pr in list_paper_rows() if parse_spec(pr.spec)[0].family == FAMILY]


def _declared():
    out = []
    for pr in family_rows():
        for row in CSV_ROWS:
            if row["model"] == pr.model and row["variant"] == pr.variant and row["metric"] in pr.metrics:
                out.append(pytest.param(pr, row, id=f"{pr.spec}|{row['model']}|{row['variant']}|{row['metric']}"))
    return out


DECLARED = _declared()


def test_every_declared_row_exists_in_csv():
    prs = family_rows()
    assert len(prs) == N_PAPER_ROWS
    for pr in prs:
        assert any(r["model"] == pr.model and r["variant"] == pr.variant and r["metric"] in pr.metrics
                   for r in CSV_ROWS), pr


@pytest.mark.parametrize("pr,row", DECLARED)
def test_declared_rows(pr, row):
    """Within 1% of the paper, or a declared reason and the stated tolerance."""
    entry = parse_spec(pr.spec)[0]
    res = entry.resolution if row["resolution"] == "-" else int(row["resolution"])
    got = counts(pr.spec, res)[row["metric"]]
    want = paper_value(row)
    rel = abs(got - want) / want
    key = (row["model"], row["variant"], row["metric"])
    if key in EXPECTED_OFF:
        assert row["metric"] in pr.reasons or f"{row['metric']}@{res}" in pr.reasons, key
        assert 0.01 < rel <= EXPECTED_OFF[key], (got, want, rel)
    else:
        assert rel <= 0.01, (got, want, rel)
    if row["unit"] == "count" and row["metric"] not in pr.reasons:  # exact framework counts
        assert got == int(want)


def test_exact_counts():
    assert counts("vgg16", 224) == {"params": 138_357_544, "madds": 15_470_264_320,
                                    "flops": 30_940_528_640}
    assert counts("vgg19", 224)["params"] == 143_667_240
    assert counts("vgg19", 224)["madds"] == 19_632_062_464


def test_vgg16_conv_only_macs_explain_15300():
    """The 13 convs alone are 15,347 M MACs (within 0.3% of the papers' 15300 M)."""
    model = create_model("vgg16")
    fca = FlopCountAnalysis(model, torch.zeros(1, 3, 224, 224))
    fca.unsupported_ops_warnings(False)
    fca.uncalled_modules_warnings(False)
    bm = fca.by_module()
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
