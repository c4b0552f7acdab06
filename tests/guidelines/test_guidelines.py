"""G1-G4 findings (costlab.guidelines): planted violations found with hand-computed numbers,
nets built to satisfy a guideline raise nothing for it, severity from measured share,
latency-based shares, JSON keys, `costlab guidelines` CLI and the paper's verdicts.

Formulas: ShuffleNet V2 (Ma et al. 2018, arXiv:1807.11164) Sec. 2, G1: MAC = hw(c1+c2) +
c1*c2 >= 2*sqrt(hw*B) + B/(hw); G2: MAC = hw*c1 + B*g/c1 + B/(hw). Every expected number
below is worked out by hand in the comment next to it.
"""
from __future__ import annotations

import json
import math
import textwrap

import pytest
import torch
import torch.nn as nn

import costlab
from costlab.cli import main
from costlab.guidelines import (DEFAULT_THRESHOLDS, FINDING_KEYS, GUIDELINES, GuidelineError, check,
                                layer_findings, parse_thresholds, ranking)
from costlab.present.guidelines import comparison_text as render_comparison
from costlab.present.guidelines import findings_text as render

ALL = {"min_share": 0.0}  # list every violation, however small


def only(result, g):
    return [f for f in result.findings if f["guideline"] == g]


# -- G1 ------------------------------------------------------------------------------------------

def test_g1_planted_1x1_conv_hand_numbers():
    # 1x1 conv 16 -> 64 on 8x8: hw = 64, B = 64*16*64 = 65536
    # MAC = 64*(16+64) + 16*64 = 5120 + 1024 = 6144
    # bound = 2*sqrt(64*65536) + 65536/64 = 2*2048 + 1024 = 5120
    # excess = 1024 elements = 4096 bytes (fp32); model MAC bytes = (1024 in + 4096 out + 1024 w)*4 = 24576
    report = costlab.analyze(nn.Sequential(nn.Conv2d(16, 64, 1, bias=False)), (1, 16, 8, 8))
    res = check(report)
    (f,) = only(res, "G1")
    assert f["value"] == 6144
    assert f["bound"] == pytest.approx(5120)
    assert f["excess"] == pytest.approx(4096)
    assert f["share"] == pytest.approx(4096 / 24576)
    assert f["where"] == "0:conv" and f["severity"] == "high"
    assert res.summary["G1"] == {"violated": True, "share": pytest.approx(1 / 6), "count": 1,
                                 "excess_bytes": pytest.approx(4096)}


def test_g1_group_1x1_conv_bound_per_group():
    # 1x1 conv 16 -> 64, g = 4, on 8x8: MAC = 64*80 + 16*64/4 = 5376; B = 64*16*64/4 = 16384
    # bound (per group, summed) = 2*sqrt(4*64*16384) + 16384/64 = 4096 + 256 = 4352; excess 1024 el
    report = costlab.analyze(nn.Sequential(nn.Conv2d(16, 64, 1, groups=4, bias=False)), (1, 16, 8, 8))
    (f,) = only(check(report), "G1")
    assert (f["value"], f["bound"], f["excess"]) == (5376, pytest.approx(4352), pytest.approx(4096))


def test_g1_batch_and_fp16_scale_positions_and_bytes():
    # batch 2 doubles hw: MAC = 128*80 + 1024 = 11264, bound = 2*sqrt(128*131072) + 1024 = 5120 + 1024
    # excess = 128*(4-8)^2 = 2048 elements = 4096 bytes at fp16
    report = costlab.analyze(nn.Sequential(nn.Conv2d(16, 64, 1, bias=False)), (2, 16, 8, 8), dtype="float16")
    (f,) = only(check(report), "G1")
    assert (f["value"], f["bound"], f["excess"]) == (11264, pytest.approx(9216), pytest.approx(4096))


def test_g1_linear_over_positions_but_not_classifier():
    # Linear 16 -> 64 over 10 positions: MAC = 10*80 + 1024 = 1824;
    # bound = 2*sqrt(10*10240) + 10240/10 = 640 + 1024 = 1664; excess 160 el = 640 B
    report = costlab.analyze(nn.Sequential(nn.Linear(16, 64)), (1, 10, 16))
    (f,) = only(check(report, thresholds=ALL), "G1")
    assert (f["value"], f["bound"], f["excess"]) == (1824, pytest.approx(1664), pytest.approx(640))
    # the same layer as a classifier on a pooled vector has no feature-map positions: no G1
    report = costlab.analyze(nn.Sequential(nn.Linear(16, 64)), (1, 16))
    assert only(check(report, thresholds=ALL), "G1") == []


def test_g1_equal_widths_raise_nothing():
    net = nn.Sequential(nn.Conv2d(32, 32, 1, bias=False), nn.Conv2d(32, 32, 1, groups=4, bias=False),
                        nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False))
    res = check(costlab.analyze(net, (1, 32, 8, 8)), thresholds=ALL)
    assert only(res, "G1") == [] and res.summary["G1"] == {"violated": False, "share": 0, "count": 0,
                                                          "excess_bytes": 0}


# -- G2 ------------------------------------------------------------------------------------------

def test_g2_planted_group_conv_paper_formula():
    # 1x1 conv 32 -> 64, g = 4, on 8x8: B = 64*32*64/4 = 32768
    # paper: MAC = hw*c1 + B*g/c1 + B/hw = 2048 + 4096 + 512 = 6656; at g = 1, same B: 2048 + 1024 + 512 = 3584
    # increase 3072 el = 12288 B; model MAC bytes = (2048 + 4096 + 512)*4 = 26624
    report = costlab.analyze(nn.Sequential(nn.Conv2d(32, 64, 1, groups=4, bias=False)), (1, 32, 8, 8))
    res = check(report)
    (f,) = only(res, "G2")
    assert (f["value"], f["bound"], f["excess"]) == (6656, 3584, 12288)
    assert f["share"] == pytest.approx(12288 / 26624)
    assert res.summary["G2"]["violated"] and res.summary["G2"]["count"] == 1


def test_g2_3x3_group_conv_keeps_weights_term():
    # 3x3 conv 32 -> 64, g = 4, pad 1, on 8x8: weights 9*32*64/4 = 4608; MAC = 64*96 + 4608 = 10752
    # g = 1 with the same FLOPs: 64*32 + 64*16 + 4608 = 7680; increase = hw*c2*(1 - 1/g) = 3072 el
    net = nn.Sequential(nn.Conv2d(32, 64, 3, padding=1, groups=4, bias=False))
    (f,) = only(check(costlab.analyze(net, (1, 32, 8, 8))), "G2")
    assert (f["value"], f["bound"], f["excess"]) == (10752, 7680, 12288)


def test_g2_depthwise_and_dense_raise_nothing():
    net = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False),   # depthwise: G4's
                        nn.Conv2d(32, 64, 3, padding=1, bias=False))                # g = 1
    res = check(costlab.analyze(net, (1, 32, 8, 8)), thresholds=ALL)
    assert only(res, "G2") == [] and not res.summary["G2"]["violated"]
    assert any(f["where"].startswith("dwconv") for f in only(res, "G4"))


# -- G3 ------------------------------------------------------------------------------------------

class Branches(nn.Module):
    """x -> k parallel 1x1 convs c -> c/k -> concat (an Inception-style block)."""

    def __init__(self, c=16, k=4):
        super().__init__()
        self.b = nn.ModuleList(nn.Conv2d(c, c // k, 1, bias=False) for _ in range(k))

    def forward(self, x):
        return torch.cat([b(x) for b in self.b], 1)


class Nested(nn.Module):
    """conv a(x); conv b(x) -> {conv c, conv d}; conv e(x); cat: levels 1: a, b, e; 2: c, d."""

    def __init__(self, c=12):
        super().__init__()
        self.a, self.b, self.e = (nn.Conv2d(c, 3, 1, bias=False) for _ in range(3))
        self.c, self.d = (nn.Conv2d(3, 3, 3, padding=1, bias=False) for _ in range(2))

    def forward(self, x):
        y = self.b(x)
        return torch.cat([self.a(x), self.c(y), self.d(y), self.e(x)], 1)


def test_g3_planted_parallel_blocks_at_the_innermost_module():
    net = nn.Sequential(Branches(16, 4), Branches(16, 4), nn.Conv2d(16, 16, 1, bias=False))
    report = costlab.analyze(net, (1, 16, 8, 8))
    res = check(report)
    g3 = only(res, "G3")
    assert sorted(f["where"] for f in g3) == ["0 (Branches)", "1 (Branches)"]  # not the Sequential
    for f in g3:
        assert (f["value"], f["bound"], f["excess"]) == (4, 2, 2)
    # each block: 4 convs (in 1024 + w 64 + out 256 el) + cat (in 1024, out 1024) = 4*1344 + 2048 = 7424 el
    # tail conv: 1024 + 256 + 1024 = 2304 el; model 2*7424 + 2304 = 17152 el
    assert g3[0]["share"] == pytest.approx(7424 / 17152)
    assert res.summary["G3"]["share"] == pytest.approx(2 * 7424 / 17152)
    assert res.summary["G3"]["violated"] and res.summary["G3"]["max_branches"] == 4
    # ops = 2*(4 convs + cat) + conv = 11; longest chain = conv, cat, conv, cat, conv = 5
    assert (res.summary["G3"]["ops"], res.summary["G3"]["longest_chain"]) == (11, 5)


def test_g3_branches_counted_from_data_flow():
    (f,) = only(check(costlab.analyze(Nested(), (1, 12, 8, 8))), "G3")
    assert f["where"] == "(model) (Nested)" and f["value"] == 3      # a, b, e side by side
    res = check(costlab.analyze(Nested(), (1, 12, 8, 8)), thresholds={"branches": 3})
    assert only(res, "G3") == [] and not res.summary["G3"]["violated"]


def test_g3_two_branches_and_chains_raise_nothing():
    net = nn.Sequential(Branches(16, 2), nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.ReLU())
    res = check(costlab.analyze(net, (1, 16, 8, 8)), thresholds=ALL)
    assert only(res, "G3") == [] and res.summary["G3"]["max_branches"] == 2


# -- G4 ------------------------------------------------------------------------------------------

class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)

    def forward(self, x):
        return torch.relu(self.conv(x)) + x


def test_g4_planted_elementwise_hand_numbers():
    # on 1x8x8x8 (512 el): conv MAC bytes (512 + 576 + 512)*4 = 6400, 36864 MACs = 73728 FLOPs
    # relu (512 + 512)*4 = 4096 B, 512 elem ops; add (512 + 512 + 512)*4 = 6144 B, 512 elem ops
    total_b, total_w = 6400 + 4096 + 6144, 73728 + 512 + 512
    res = check(costlab.analyze(Residual(), (1, 8, 8, 8)))
    g4 = {f["where"]: f for f in only(res, "G4")}
    assert set(g4) == {"relu x1", "add x1"}
    relu = g4["relu x1"]
    assert relu["value"] == 4096
    assert relu["bound"] == pytest.approx(512 / total_w * total_b)
    assert relu["excess"] == pytest.approx(4096 - 512 / total_w * total_b)
    assert relu["share"] == pytest.approx(4096 / total_b)
    s = res.summary["G4"]
    assert s["share"] == pytest.approx(10240 / total_b) and s["bytes_share"] == pytest.approx(10240 / total_b)
    assert s["ops_share"] == pytest.approx(1024 / total_w) and s["macs_share"] == 0
    # 61.5 % of the bytes: under the default 66.7 %, over a 60 % threshold
    assert not s["violated"]
    assert check(costlab.analyze(Residual(), (1, 8, 8, 8)), thresholds={"G4": 0.6}).summary["G4"]["violated"]


def test_g4_kinds_bn_bias_shuffle_copy():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(8, 8, 1, bias=False)
            self.bn = nn.BatchNorm2d(8)
            self.bias = nn.Parameter(torch.zeros(1, 8, 1, 1))

        def forward(self, x):
            y = self.bn(self.conv(x)) + self.bias
            b, c, h, w = y.shape
            return y.view(b, 2, c // 2, h, w).transpose(1, 2).contiguous().view(b, c, h, w)

    res = check(costlab.analyze(Net(), (1, 8, 4, 4)), thresholds=ALL)
    kinds = {f["where"] for f in only(res, "G4")}
    assert kinds == {"batch_norm x1", "bias add x1", "copy x1"}


def test_g4_conv_chain_raises_nothing():
    net = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.Conv2d(8, 8, 3, padding=1, bias=False))
    res = check(costlab.analyze(net, (1, 8, 8, 8)), thresholds=ALL)
    assert res.findings == [] and res.verdict() == "no guideline violated"
    assert all(not res.summary[g]["violated"] and res.summary[g]["count"] == 0 for g in GUIDELINES)


# -- severity, thresholds, latency ----------------------------------------------------------------

def _big_and_tiny():
    # a 3x3 conv 64 -> 64 on 32x32 carries the cost; a 1x1 conv 64 -> 65 violates G1 by a hair:
    # excess = hw*(sqrt(64) - sqrt(65))^2 = 1024*0.00386 = 3.95 el, far below 0.1 % of the model
    return nn.Sequential(nn.Conv2d(64, 64, 3, padding=1, bias=False), nn.Conv2d(64, 65, 1, bias=False))


def test_severity_comes_from_share_not_presence():
    report = costlab.analyze(_big_and_tiny(), (1, 64, 32, 32))
    res = check(report)
    assert only(res, "G1") == [] and res.unlisted["G1"] == 1       # present, but not worth listing
    assert res.summary["G1"]["count"] == 1 and not res.summary["G1"]["violated"]
    (f,) = only(check(report, thresholds=ALL), "G1")
    assert f["severity"] == "low"
    assert f["excess"] == pytest.approx(1024 * (8 - math.sqrt(65)) ** 2 * 4)
    # the planted 16 -> 64 conv alone is 1/6 of its model: high
    big = check(costlab.analyze(nn.Sequential(nn.Conv2d(16, 64, 1, bias=False)), (1, 16, 8, 8)))
    assert only(big, "G1")[0]["severity"] == "high"
    lowered = check(costlab.analyze(nn.Sequential(nn.Conv2d(16, 64, 1, bias=False)), (1, 16, 8, 8)),
                    thresholds={"high": 0.5, "medium": 0.1})
    assert only(lowered, "G1")[0]["severity"] == "medium"
    raised = check(costlab.analyze(nn.Sequential(nn.Conv2d(16, 64, 1, bias=False)), (1, 16, 8, 8)),
                   thresholds={"G1": 0.2})
    assert not raised.summary["G1"]["violated"]


def test_parse_thresholds_errors_and_forms():
    assert parse_thresholds(["G1=5%", "high=0.2,branches=3"]) == {
        **DEFAULT_THRESHOLDS, "G1": 0.05, "high": 0.2, "branches": 3}
    for bad in (["G1"], ["G9=0.1"], ["G1=abc"], ["G1=1.5"], ["branches=0"], ["medium=0.5"]):
        with pytest.raises(GuidelineError):
            parse_thresholds(bad)


def test_latency_column_replaces_mac_bytes():
    # 1x1 conv 16 -> 64 (G1 excess 1024 of 6144 MAC elements) then ReLU; synthetic latency 3 ms + 1 ms
    report = costlab.analyze(nn.Sequential(nn.Conv2d(16, 64, 1, bias=False), nn.ReLU()), (1, 16, 8, 8))
    report.layers["latency_ms"] = [3.0, 1.0]
    res = check(report)
    assert res.cost == "latency_ms"
    (g1,) = only(res, "G1")
    assert g1["share"] == pytest.approx(1024 / 6144 * 3.0 / 4.0)
    assert g1["excess"] == pytest.approx(4096)                        # excess stays in bytes
    (g4,) = only(res, "G4")
    assert g4["share"] == pytest.approx(1.0 / 4.0)
    assert res.summary["G4"]["share"] == pytest.approx(0.25)
    # by MAC bytes the relu would weigh (4096 + 4096)*4 / (24576 + 32768) = 57 %: the column decides
    report.layers = report.layers.drop(columns="latency_ms")
    assert check(report).summary["G4"]["share"] != pytest.approx(0.25)


def test_check_needs_the_traced_graph():
    report = costlab.analyze(nn.Sequential(nn.Conv2d(16, 64, 1)), (1, 16, 8, 8))
    report.graph = None
    with pytest.raises(GuidelineError, match="graph"):
        check(report)


def test_check_guidelines_is_analyze_then_check():
    """costlab.api.check_guidelines analyzes as analyze() does (same rules for device and
    runtime), then checks: the findings are measured on the device's predicted latency."""
    from costlab.api import check_guidelines
    from costlab.errors import InputError

    report, res = check_guidelines("squeezenet1_1", device="arm")
    same = costlab.analyze("squeezenet1_1", device="arm", guidelines=True)
    assert res.cost == "latency_ms" and report.layers.equals(same.layers)
    assert report.to_dict()["guidelines"] == same.to_dict()["guidelines"]
    with pytest.raises(InputError, match="needs a device profile"):
        check_guidelines("lenet5", runtime="eager")


# -- output --------------------------------------------------------------------------------------

def test_to_dict_keys_and_json():
    report = costlab.analyze(nn.Sequential(nn.Conv2d(16, 64, 1, bias=False), nn.ReLU()), (1, 16, 8, 8))
    d = json.loads(json.dumps(check(report).to_dict("mine")))
    assert set(d) == {"model", "findings", "summary"} and d["model"] == "mine"
    assert d["findings"] and all(list(f) == list(FINDING_KEYS) for f in d["findings"])
    assert set(d["summary"]) == set(GUIDELINES)
    for g in GUIDELINES:
        s = d["summary"][g]
        assert {"violated", "share", "count"} <= set(s)
        assert isinstance(s["violated"], bool) and isinstance(s["count"], int) and isinstance(s["share"], (int, float))
    shares = [f["share"] for f in d["findings"]]
    assert shares == sorted(shares, reverse=True)                     # worst first


def test_layer_findings_labels():
    net = nn.Sequential(nn.Conv2d(16, 64, 1, bias=False), nn.ReLU(), nn.Conv2d(64, 64, 1, bias=False))
    report = costlab.analyze(net, (1, 16, 8, 8))
    res = check(report)
    col = layer_findings(report, res)
    assert len(col) == len(report.layers)
    by_name = dict(zip(report.layers["name"], col))
    assert by_name == {"0:conv": "G1", "1:relu": "G4", "2:conv": ""}
    rolled = costlab.analyze(net, (1, 16, 8, 8), guidelines=True).rollup(0)   # the column's union rule
    assert list(rolled["findings"]) == ["G1,G4"]


def test_depth0_keeps_findings_of_root_level_ops():
    # ops issued by the root module itself (F.relu in forward) used to be dropped at --depth 0
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(16, 64, 1, bias=False)

        def forward(self, x):
            return torch.relu(self.conv(x))

    rep = costlab.analyze(Net(), (1, 16, 8, 8), guidelines=True)
    assert rep.layers.set_index("name").loc["(root):relu", "findings"] == "G4"
    assert list(rep.rollup(0)["findings"]) == ["G1,G4"]


def test_render_formats():
    report = costlab.analyze(nn.Sequential(nn.Conv2d(16, 64, 1, bias=False), nn.ReLU()), (1, 16, 8, 8))
    res = check(report)
    table = render(res, "table", report)
    assert "G1" in table and "0:conv" in table and "violates G1" in table
    md = render(res, "markdown", report)
    assert md.startswith("## Guidelines") and "| guideline |" in md
    csv = render(res, "csv").splitlines()
    assert csv[0] == "model,guideline,severity,where,value,bound,unit,ratio,excess,excess_unit,share,advice"
    g1 = next(line for line in csv if ",G1," in line)      # MAC elements, its excess in bytes (was: no unit)
    assert ",elements," in g1 and ",bytes," in g1 and ",bytes," in next(line for line in csv if ",G4," in line)
    assert json.loads(render_comparison([res, res], "json"))["models"][0]["model"] == res.model


# -- CLI -----------------------------------------------------------------------------------------

@pytest.fixture()
def user_model(tmp_path):
    f = tmp_path / "nets.py"
    f.write_text(textwrap.dedent("""
        import torch.nn as nn
        def bottleneck():
            return nn.Sequential(nn.Conv2d(16, 64, 1, bias=False), nn.Conv2d(64, 16, 1, bias=False))
        def plain():
            return nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, bias=False))
    """))
    return f


def test_cli_fail_on_exit_codes(user_model, capsys):
    spec = f"{user_model}:bottleneck"
    assert main(["guidelines", spec, "--input-shape", "1x16x8x8", "--fail-on", "G1,G2"]) == 1
    out, err = capsys.readouterr()
    assert "violates G1" in err and "0:conv" in out
    assert main(["guidelines", spec, "--input-shape", "1x16x8x8", "--fail-on", "G2,G3"]) == 0
    assert main(["guidelines", spec, "--input-shape", "1x16x8x8", "--fail-on", "G1",
                 "--threshold", "G1=0.9"]) == 0
    assert main(["guidelines", spec, "--input-shape", "1x16x8x8", "--fail-on", "G5"]) == 2
    assert main(["guidelines", spec, "--input-shape", "1x16x8x8", "--threshold", "G1=2"]) == 2
    assert main(["guidelines", spec, f"{user_model}:plain", "--input-shape", "1x16x8x8"]) == 2
    err = capsys.readouterr().err
    assert "unknown guideline 'G5'" in err and "--compare" in err


def test_cli_json_and_compare(user_model, capsys, tmp_path):
    target = tmp_path / "g.json"
    code = main(["guidelines", f"{user_model}:bottleneck", "--input-shape", "1x16x8x8", "--format", "json",
                 "-o", str(target)])
    assert code == 0 and capsys.readouterr().out == ""
    d = json.loads(target.read_text())
    assert set(d) == {"model", "findings", "summary"} and d["summary"]["G1"]["violated"] is True
    code = main(["guidelines", "--compare", f"{user_model}:bottleneck", f"{user_model}:plain",
                 "--input-shape", "1x16x8x8", "--format", "json", "--fail-on", "all"])
    d = json.loads(capsys.readouterr().out)
    assert code == 1 and [m["summary"]["G1"]["violated"] for m in d["models"]] == [True, False]


# -- the paper's verdicts ---------------------------------------------------------------------------

def test_paper_verdicts_from_measured_numbers():
    # ShuffleNet V2 Sec. 2-3: v1 violates G1 and G2; MobileNet v2 violates G1 and G4; Inception-style
    # multi-branch nets violate G3; ShuffleNet v2 follows all four.
    res = {m: check(costlab.analyze(m)) for m in ("shufflenet_v1", "mobilenet_v2", "googlenet", "shufflenet_v2")}
    assert {"G1", "G2"} <= set(res["shufflenet_v1"].violated())
    assert {"G1", "G4"} <= set(res["mobilenet_v2"].violated())
    assert "G3" in res["googlenet"].violated()
    assert res["shufflenet_v2"].violated() == []
    assert ranking(list(res.values()))[0].model == "shufflenet_v2"


def test_reproduction_report_written_and_missing_models_not_counted(tmp_path, monkeypatch):
    from costlab.reproduce import guidelines as rep

    monkeypatch.setattr(rep, "_specs", lambda: ["shufflenet_v2", "sv2bench_g2"])
    monkeypatch.setattr(rep, "_bench_specs", lambda: [f"sv2bench_g1:ratio={r}" for r in (1, 2, 6, 12)])
    summary = rep.reproduce_guidelines(tmp_path)
    md = (tmp_path / "guidelines.md").read_text()
    # sv2bench_g2 takes a 64-channel feature map, not an image: left out of the network comparison
    assert "Left out as building blocks" in md and "| sv2bench_g2 |" not in md
    # the claims about ShuffleNet v1 / MobileNet v2 / Inception were not analyzed: not reproduced
    assert "| shufflenet_v1 | not analyzed | no |" in md
    assert summary.startswith("1/6 paper verdicts reproduced over 1 models")
    # G1 grows with c1:c2 as Table 1's slowdowns do; the other benchmarks were not run
    assert "1/1 guidelines grow with the paper's measured slowdowns" in md
    assert (tmp_path / "guidelines.csv").read_text().startswith("model,cost,G1")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".costlab-")]
