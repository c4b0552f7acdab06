"""Paper reproductions (costlab/reproduce/*.py): agreement bookkeeping, determinism, the
index, the no-profile path, and the paper data they cite."""
from __future__ import annotations

import csv
import re

import pandas as pd
import pytest

from costlab.reproduce.paper_counts import DATA, declared_comparisons
from costlab.reproduce import list_reproductions
from costlab.reproduce import devices, papers
from costlab.reproduce.papers import Agreement


@pytest.fixture
def lenet_only(monkeypatch):
    """Restrict the declared comparisons to LeNet (fast: no other zoo model is traced)."""
    def comps():
        out, _ = declared_comparisons(lambda spec, res: devices.totals_for(spec, res) if spec.startswith("lenet")
                                      else {"params": 1, "macs": 1})
        return tuple(c for c in out if c.model.startswith("LeNet"))

    monkeypatch.setattr(papers, "all_comparisons", comps)


def test_agreement_counts_names_misses_and_missing_values():
    a = Agreement("t", 0.01)
    assert a.add("ok", 100.0, 100.9) is True
    assert a.add("off", 100.0, 102.0, printed_ok=True) is False
    assert a.add("nothing", 100.0, None) is None
    line = a.line()
    assert "**1/2 rows within 1%**" in line
    assert "off (+2.00%)" in line and "1 of these 1 equal" in line
    assert "no costlab value for 1: nothing" in line
    assert "every row" in Agreement("t", 0.1, n_ok=3, n=3).line()


def test_summary_return_separates_kinds():
    s = papers.summary_return([Agreement("a", 0.01, n_ok=2, n=3), Agreement("b", 0.10, n_ok=1, n=4),
                               Agreement("c", 0.10, n_ok=1, n=1, kind="ratios")])
    assert s == "counts 2/3 rows within 1%; latency 1/4 rows within 10%; ratios 1/1 rows within 10%"


def test_device_without_profile_predicts_nothing_and_says_why():
    dev = devices.Device("no-such-profile-anywhere")
    assert not dev.ok and "no-such-profile-anywhere" in dev.note
    assert dev.predict_ms("lenet5", (1, 1, 28, 28)) is None
    assert dev.held_out_ms("lenet5", (1, 1, 28, 28)) == (None, False)
    df = pd.DataFrame({"spec": ["lenet5"], "resolution": [28]})
    assert papers.predicted_column(df, dev) == ["-"]


def test_lenet_report_is_deterministic_and_names_every_miss(tmp_path, lenet_only):
    rep = {r.name: r for r in list_reproductions()}["lenet"]
    rep.fn(tmp_path)
    first = (tmp_path / "lenet.md").read_bytes()
    rep.fn(tmp_path)
    assert (tmp_path / "lenet.md").read_bytes() == first
    text = first.decode()
    assert "costlab reproduce lenet" in text
    summary = text.split("## Summary")[1].split("\n## ")[0]
    for line in summary.strip().splitlines():
        assert re.search(r"\*\*\d+/\d+ rows within 1%\*\*", line), line
    # every table row marked 'no' is named in its section's agreement line
    for section in text.split("\n## ")[1:]:
        agreement = next((ln for ln in section.splitlines() if "rows within" in ln), "")
        for row in section.splitlines():
            if row.startswith("| ") and "| **no** |" in row:
                layer = row.split("|")[1].strip()
                assert layer in agreement, (layer, agreement)


def test_han_lenet_tables_match_costlab(lenet_only):
    """Han et al. 2015 Tables 2-3 (UNVERIFIED transcription, CONVENTIONS.md section 6): weights
    without biases and FLOP = 2 x MAC per layer of the dense LeNets, at the printed precision."""
    df = papers.count_rows(lambda c: True)      # only LeNet rows under the fixture
    from costlab.reproduce.lenet import layer_rows

    rows = layer_rows(devices.Device("no-such-profile-anywhere"))
    assert len(rows) == 18                       # 4 + 5 layers/totals x (weights, FLOP) in the paper tables
    assert rows["printed_ok"].all(), rows[~rows["printed_ok"]][["network", "layer", "metric", "costlab"]]
    assert not df.empty


def test_index_links_every_registered_report(tmp_path):
    rep = {r.name: r for r in list_reproductions()}
    (tmp_path / "lenet.md").write_text("x\n")
    rep["index"].fn(tmp_path)
    text = (tmp_path / "README.md").read_text()
    for name in rep:
        if name != "index":
            assert f"]({name}.md)" in text and f"costlab reproduce {name}" in text
    for expected in ("counts", "shufflenetv2-guidelines", "shufflenetv2-table8", "shufflenet", "mobilenet",
                     "squeezenet", "xception", "lenet", "cspnet"):
        assert expected in rep
    missing = text.split("Not generated yet (run `costlab reproduce all`): ")[1].split("\n")[0].rstrip(".").split(", ")
    assert "lenet.md" not in missing and "mobilenet.md" in missing


def test_guideline_ordering_checks():
    from costlab.reproduce.shufflenetv2 import ordering

    sub = pd.DataFrame({"row": ["g=1", "g=2", "g=4", "g=8"], "s": [40.0, 35.0, 32.9, 27.8]})
    assert ordering(sub, "Table2", "s") == "yes"
    sub["s"] = [40.0, 35.0, 35.0, 27.8]
    assert ordering(sub, "Table2", "s") == "yes (with ties)"
    sub["s"] = [40.0, 35.0, 32.9, 33.0]
    assert ordering(sub, "Table2", "s").startswith("**no**: g=8 faster than g=4")
    sub["s"] = [40.0, 35.0, 32.9, None]
    assert ordering(sub, "Table2", "s") == "yes (without g=8: no value)"


def test_shufflenetv2_benchmark_nets_keep_flops_fixed_as_the_paper_says():
    """ShuffleNet V2 Sec. 2: Table 1 fixes the total FLOPs while c1:c2 varies, Table 2 while g
    varies (per platform and column). The paper's integer widths make it approximate: within 6%."""
    from costlab.reproduce.shufflenetv2 import _read, bench_spec

    cells: dict = {}
    for r in _read("shufflenetv2_tables.csv"):
        if r["table"] in ("Table1", "Table2"):
            spec, shape = bench_spec(r["table"], r["row_label"], r["config_for_x1"], r["column"])
            if r["table"] == "Table2" and shape[1] % int(r["row_label"].split("=")[1]):
                continue                       # c not divisible by g: not buildable
            macs = devices.report_for(spec, shape).totals["macs"]
            cells.setdefault((r["table"], r["platform"], r["column"]), []).append(macs)
    assert len(cells) == 12
    for key, macs in cells.items():
        assert max(macs) / min(macs) < 1.06, (key, macs)


def test_shufflenet_v1_table8_data_is_cited_and_consistent_with_the_abstract():
    """arXiv:1707.01083 abstract (verified): '~13x actual speedup over AlexNet' on ARM,
    at 'comparable accuracy' (ShuffleNet 0.5x). The transcribed Table 8 ms must agree."""
    with (DATA / "shufflenet_v1_table8.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 15
    for r in rows:
        assert r["source"] and "1707.01083" in r["source"] and "Table 8" in r["source"]
        assert r["verification"] == "UNVERIFIED" and r["source"].startswith("UNVERIFIED")
    ms = {(r["model"], r["input_hw"]): float(r["ms"]) for r in rows}
    ratios = [ms[("AlexNet", hw)] / ms[("ShuffleNet 0.5x (g = 3)", hw)] for hw in ("224x224", "480x640", "720x1280")]
    assert all(11.5 <= x <= 14.5 for x in ratios)
    for r in rows:
        devices.totals_for(r["spec"])            # every spec builds
