"""ShuffleNet v2 zoo entry against paper_counts.csv (Ma et al. 2018, arXiv:1807.11164)."""
from __future__ import annotations

import functools

import pytest
import torch
import torch.nn as nn

from costlab.zoo import SpecError, create_model, get_entry, list_paper_rows, parse_spec
from costlab.zoo.shufflenet_v2 import ShuffleV2Block, _split_even_odd
from tests.fvcore_ref import fvcore_conv_linear_macs, param_count
from tests.zoo.paper_rows import CSV_ROWS

UNIT = {"millions": 1e6, "count": 1.0, "MFLOPs(=MAdds)": 1e6, "GMAC (labelled GFLOPS)": 1e9}

DECLARED = [
    (pr, r)
    for pr in list_paper_rows() if pr.spec.split(":")[0] == "shufflenet_v2"
    for r in CSV_ROWS
    if r["model"] == pr.model and r["variant"] == pr.variant and r["metric"] in pr.metrics
]


@functools.lru_cache(maxsize=None)
def counts(spec: str) -> dict[str, int]:
    entry, knobs = parse_spec(spec)
    model = entry.build(**knobs)
    return {"params": param_count(model),
            "madds": fvcore_conv_linear_macs(model, entry.default_input_shape())}


# Rows off by more than 1% (with a declared reason) and the most they may be off.
TOLERANCE = {
    ("0.5x", "madds"): 0.015,                           # 41 printed, 40.48 M counted
    ("0.5x", "params"): 0.03,                           # 1.4 M printed, 1.366 M counted
    ("0.5x (official PyTorch impl)", "madds"): 0.015,
    ("0.5x (official PyTorch impl)", "params"): 0.03,
    ("torchvision shufflenet_v2_x0_5", "madds"): 0.0125,  # 0.04 G printed
}


def test_declared_rows_cover_csv():
    assert len(DECLARED) == 24   # paper Table 5, official README, torchvision: 4 widths x 2 each
    for pr, _ in DECLARED:
        parse_spec(pr.spec)


@pytest.mark.parametrize("pr,row", DECLARED,
                         ids=[f"{pr.spec}|{r['variant']}|{r['metric']}" for pr, r in DECLARED])
def test_paper_row(pr, row):
    paper = float(row["value"]) * UNIT[row["unit"]]
    ours = counts(pr.spec)[row["metric"]]
    rel = abs(ours - paper) / paper
    if rel <= 0.01:
        return
    assert pr.reasons.get(row["metric"]), (pr.spec, row["variant"], row["metric"], ours, paper)
    assert rel <= TOLERANCE[(row["variant"], row["metric"])], (pr.spec, ours, paper, rel)


def test_headline_counts_exact():
    # official megvii layout (FC without bias)
    assert counts("shufflenet_v2:width=1.0") == {"params": 2_278_760, "madds": 145_814_296}
    assert counts("shufflenet_v2:width=2.0")["madds"] == 590_783_000          # 591 M
    # torchvision num_params exactly
    for w, n in ((0.5, 1_366_792), (1.0, 2_278_604), (1.5, 3_503_624), (2.0, 7_393_996)):
        assert counts(f"shufflenet_v2:width={w},impl=torchvision")["params"] == n
    # paper rounding of the 0.5x count: 1.37 M -> "1.4"
    assert round(counts("shufflenet_v2:width=0.5")["params"] / 1e6, 1) == 1.4


TABLE5 = {0.5: (48, 96, 192, 1024), 1.0: (116, 232, 464, 1024),
          1.5: (176, 352, 704, 1024), 2.0: (244, 488, 976, 2048)}


@pytest.mark.parametrize("width", sorted(TABLE5))
def test_table5_channels_and_shapes(width):
    model = create_model("shufflenet_v2", width=width)
    x = torch.zeros(1, 3, 224, 224)
    x = model.maxpool(model.first_conv(x))
    assert x.shape == (1, 24, 56, 56)
    sizes = (28, 14, 7)
    for stage, c, s, n in zip((model.stage2, model.stage3, model.stage4), TABLE5[width], sizes, (4, 8, 4)):
        assert len(stage) == n
        x = stage(x)
        assert x.shape == (1, c, s, s)
    assert model.conv_last[0].out_channels == TABLE5[width][3]
    assert model.classifier.bias is None
    assert isinstance(model.dropout, nn.Dropout) == (width == 2.0)


def test_official_unit_layout():
    model = create_model("shufflenet_v2", width=1.0)
    first = model.stage2[0]
    # stride 2: proj branch keeps the 24 input channels, main branch gives 116 - 24
    assert first.branch_proj[2].out_channels == 24
    assert first.branch_main[0].out_channels == 58 and first.branch_main[5].out_channels == 92
    unit = model.stage2[1]
    assert unit.branch_proj is None and unit.branch_main[0].in_channels == 58
    tv = create_model("shufflenet_v2", width=1.0, impl="torchvision").stage2[0]
    assert tv.branch_proj[2].out_channels == 58 and tv.branch_main[5].out_channels == 58


def test_shuffle_split_is_even_odd():
    x = torch.arange(2 * 8, dtype=torch.float32).view(2, 8, 1, 1)
    even, odd = _split_even_odd(x)
    assert torch.equal(even, x[:, 0::2]) and torch.equal(odd, x[:, 1::2])
    # identity half of a stride-1 unit passes the even channels through unchanged
    unit = ShuffleV2Block(4, 8, stride=1).eval()
    y = unit(torch.randn(1, 8, 5, 5))
    assert y.shape == (1, 8, 5, 5)


def test_other_resolutions_and_meta():
    model = create_model("shufflenet_v2", width=0.5, num_classes=10)
    assert model(torch.zeros(2, 3, 160, 160)).shape == (2, 10)
    with torch.device("meta"):
        for impl in ("megvii", "torchvision"):
            m = create_model("shufflenet_v2", width=1.5, impl=impl)
            assert m(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)


@pytest.mark.parametrize("spec", ["shufflenet_v2:width=0.75", "shufflenet_v2:width=3",
                                  "shufflenet_v2:width=x", "shufflenet_v2:impl=caffe",
                                  "shufflenet_v2:groups=3", "shufflenet_v2:num_classes=0"])
def test_bad_knobs_raise_spec_error(spec):
    with pytest.raises(SpecError):
        entry, knobs = parse_spec(spec)
        entry.build(**knobs)


def test_parse_spec_and_alias():
    entry, knobs = parse_spec("shufflenet_v2:width=2")
    assert entry.name == "shufflenet_v2" and knobs["width"] == 2.0 and knobs["impl"] == "megvii"
    assert get_entry("shufflenetv2").name == "shufflenet_v2"
    assert parse_spec("shufflenet_v2:width=0.5,impl=torchvision")[1]["impl"] == "torchvision"
