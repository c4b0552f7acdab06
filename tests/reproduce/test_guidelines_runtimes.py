"""``costlab reproduce guidelines-runtimes``: ordering verdicts on hand-made numbers, the report
from a small CSV fixture (no measuring, byte-identical on rerun), bad input, and one real tiny
measurement through ONNX Runtime."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from costlab.reproduce import guidelines_runtimes as gr
from costlab.reproduce import guidelines_runtimes_report as rep
from costlab.runtimes import bench
from tests.cli.measurement_boards import run

FIXTURE = Path(__file__).parent / "data" / "guidelines_runtimes_small.csv"
CHAIN = ["a", "b", "c"]


def one_error_line(err: str, message: str) -> bool:
    """stderr holds progress lines and exactly one error line, which says ``message``."""
    errors = [ln for ln in err.splitlines() if ln.startswith("costlab: error:")]
    return len(errors) == 1 and message in errors[0]


def exact(**ms):
    return {k: (v, v, v) for k, v in ms.items()}


# -- verdicts ---------------------------------------------------------------------------------------

def test_chain_holds_when_every_step_is_slower():
    assert rep.chain_verdict(exact(a=1.0, b=1.5, c=2.0), CHAIN) == "yes"
    assert rep.chain_ratio({"a": 1.0, "b": 1.5, "c": 2.0}, CHAIN) == pytest.approx(2.0)
    assert rep.chain_verdict(exact(a=1.0, b=1.0, c=2.0), CHAIN) == "yes"      # a tie holds


def test_chain_reversed_beyond_noise_is_no_and_names_the_step():
    v = rep.chain_verdict({"a": (1.0, 0.99, 1.01), "b": (0.9, 0.89, 0.91), "c": (2.0, 1.9, 2.1)}, CHAIN)
    assert v == "**no**: b faster than a"
    assert rep.short_verdict(v) == "**no**"
    # the ends can hold while a middle step is reversed: ratio > 1, verdict no
    assert rep.chain_ratio({"a": 1.0, "b": 0.9, "c": 2.0}, CHAIN) == pytest.approx(2.0)


def test_chain_reversed_within_overlapping_spread_is_noise():
    v = rep.chain_verdict({"a": (1.00, 0.95, 1.05), "b": (0.98, 0.94, 1.03), "c": (2.0, 1.9, 2.1)}, CHAIN)
    assert v == "within noise: b faster than a"
    assert rep.short_verdict(v) == "noise"
    # the paper's values have no spread: a reversal there is always a 'no'
    assert rep.chain_verdict(exact(a=1.0, b=0.99, c=2.0), CHAIN).startswith("**no**")


def test_chain_with_missing_rows_skips_and_names_them():
    assert rep.chain_verdict(exact(a=1.0, c=2.0), CHAIN) == "yes (without b)"
    assert rep.chain_verdict(exact(a=1.0), CHAIN) == "-"
    assert rep.chain_ratio({"a": 1.0, "b": 2.0}, CHAIN) is None        # an end is missing: no ratio


def test_paper_arm_chains_from_the_shipped_table():
    rows = gr.guideline_rows()
    t1 = [r for r in rows if r.table == "Table1"]
    s = rep.paper_stats(t1, "paper_arm")
    assert rep.chain_verdict(s, rep.CHAINS["Table1"][0]) == "yes"
    assert rep.chain_ratio({k: v[0] for k, v in s.items()}, rep.CHAINS["Table1"][0]) == pytest.approx(76.2 / 57.6)
    t3 = [r for r in rows if r.table == "Table3"]      # the paper's own ARM parallel chain is reversed
    assert rep.chain_verdict(rep.paper_stats(t3, "paper_arm"), rep.CHAINS["Table3"][1]).startswith("**no**")


def test_networks_are_the_smallest_complete_columns_and_table8_zoo_rows():
    rows = gr.all_rows()
    t2 = {r.row: r.spec for r in rows if r.table == "Table2"}
    assert t2["g=8"] == "sv2bench_g2:c=360,groups=8"          # x2: x1's c=180 is not divisible by 8
    assert {r.table for r in rows} == {"Table1", "Table2", "Table3", "Table4", "Table8"}
    assert len(gr.networks(rows)) == 35                        # 17 benchmark + 18 distinct Table 8 networks


# -- the report from a CSV ---------------------------------------------------------------------------

@pytest.fixture
def no_measuring(monkeypatch):
    def fail(*a, **k):
        raise AssertionError("measured although it must not")

    monkeypatch.setattr(bench, "measure_many", fail)
    monkeypatch.setattr(gr, "measure_rows", fail)


def test_report_from_csv_fixture_never_measures_and_is_byte_identical(tmp_path, capsys, no_measuring):
    shutil.copy(FIXTURE, tmp_path / gr.CSV)
    code, out, err = run(["reproduce", gr.NAME, "--from-csv", "-o", str(tmp_path)], capsys)
    assert code == 0, err
    md = (tmp_path / f"{gr.NAME}.md").read_text()
    png = (tmp_path / "figures" / f"{gr.NAME}.png").read_bytes()
    assert "Test CPU (2026-01-01), 1 thread, median of 5 timed runs" in md
    assert "Measuring took 0.9 min (ort 12 s, litert 40 s)" in md
    assert "| Table 1 | G1: c1:c2 1:1 -> 1:12 | 1.98 yes | 1.32 yes | 2.00 yes | 0.80 **no** |" in md
    assert "- LiteRT (XNNPACK): c1:c2=1:1 -> c1:c2=1:2 -> c1:c2=1:6 -> c1:c2=1:12: **no**" in md
    assert "cannot convert 'x': op aten.channel_shuffle" in md          # the not-measured row, with its reason
    assert "1.25 (fastest)" in md and "0.83 (behind 0.25 MobileNet v1 [13]; 1 not measured)" in md
    assert "ONNX Runtime 3/3" in md and "LiteRT (XNNPACK) 2/3" in md
    assert "chains holding" in out
    assert (tmp_path / gr.CSV).read_bytes() == FIXTURE.read_bytes()      # the CSV is read, not rewritten
    # the default (what 'costlab reproduce all' runs) also rebuilds from the CSV, with the same bytes
    code, _, err = run(["reproduce", gr.NAME, "-o", str(tmp_path)], capsys)
    assert code == 0, err
    assert (tmp_path / f"{gr.NAME}.md").read_text() == md
    assert (tmp_path / "figures" / f"{gr.NAME}.png").read_bytes() == png


def test_without_csv_the_default_writes_a_not_measured_report(tmp_path, capsys, no_measuring):
    code, out, err = run(["reproduce", gr.NAME, "-o", str(tmp_path)], capsys)
    assert code == 0, err
    assert "**Not measured yet**" in (tmp_path / f"{gr.NAME}.md").read_text()
    assert "not measured yet" in out


def test_measure_writes_the_csv_then_the_report(tmp_path, capsys, monkeypatch):
    df = gr.read_csv(FIXTURE)
    seen = {}

    def fake(items, runtimes, **kw):
        seen["n"], seen["runtimes"] = len(items), list(runtimes)
        return df

    monkeypatch.setattr(gr, "measure_rows", fake)
    code, _, err = run(["reproduce", gr.NAME, "--measure", "-o", str(tmp_path)], capsys)
    assert code == 0, err
    assert seen["n"] == 35 and "torch" in seen["runtimes"]
    written = pd.read_csv(tmp_path / gr.CSV, keep_default_na=False)
    assert list(written.columns) == gr.CSV_COLUMNS and len(written) == len(df)
    assert "Test CPU" in (tmp_path / f"{gr.NAME}.md").read_text()


@pytest.mark.parametrize("args, message", [
    (["--measure", "--from-csv"], "exclude each other"),
    (["--from-csv"], "no '"),
])
def test_bad_usage_is_one_line_exit_2(tmp_path, capsys, no_measuring, args, message):
    code, _, err = run(["reproduce", gr.NAME, *args, "-o", str(tmp_path)], capsys)
    assert code == 2 and one_error_line(err, message)
    assert not (tmp_path / f"{gr.NAME}.md").exists()


def test_from_csv_on_a_report_without_a_csv_is_refused(tmp_path, capsys):
    code, _, err = run(["reproduce", "lenet", "--from-csv", "-o", str(tmp_path)], capsys)
    assert code == 2 and one_error_line(err, "keeps no measured CSV") and gr.NAME in err


@pytest.mark.parametrize("edit, message", [
    (lambda df: df.drop(columns=["p90_ms"]), "no column p90_ms"),
    (lambda df: df.assign(median_ms=["x"] + list(df["median_ms"][1:])), "not a number"),
    (lambda df: df.assign(median_ms=[""] + list(df["median_ms"][1:])), "no positive median_ms"),
])
def test_bad_csv_is_one_line_exit_2(tmp_path, capsys, no_measuring, edit, message):
    df = pd.read_csv(FIXTURE, keep_default_na=False, dtype=str)
    edit(df).to_csv(tmp_path / gr.CSV, index=False)
    code, _, err = run(["reproduce", gr.NAME, "--from-csv", "-o", str(tmp_path)], capsys)
    assert code == 2 and one_error_line(err, message)
    assert not (tmp_path / f"{gr.NAME}.md").exists()


# -- a real measurement ---------------------------------------------------------------------------------

def test_real_tiny_measurement_through_ort(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("COSTLAB_CACHE", str(tmp_path / "cache"))
    items = [("sv2bench_g4:c=8,relu=1,shortcut=1", (1, 8, 28, 28)),
             ("sv2bench_g2:c=12,groups=8", (1, 12, 28, 28))]          # 8 groups do not divide 12: not measured
    df = gr.measure_rows(items, ["ort"], runs=3, warmup=1, progress=False)
    assert list(df.columns) == gr.CSV_COLUMNS and len(df) == 2
    ok, bad = df.iloc[0], df.iloc[1]
    assert ok["status"] == "measured" and 0 < ok["p10_ms"] <= ok["median_ms"] <= ok["p90_ms"]
    assert ok["runs"] == 3 and ok["threads"] == 1 and ok["runtime"] == "ort" and ok["input"] == "1x8x28x28"
    assert ok["runtime_version"] and ok["cpu_model"] and ok["date"] and ok["runtime_s"] > 0
    assert bad["status"] == "not measured" and "groups=8 must divide" in bad["note"] and bad["median_ms"] != bad["median_ms"]
