"""costlab reproduce counts: paper values parsed right, every >1% difference explained."""
from __future__ import annotations

import pytest

from costlab.cli import main
from costlab.reproduce.paper_counts import costlab_value, load_rows, paper_value, printed_half_unit


@pytest.mark.parametrize("value,unit,metric,expected", [
    ("569", "MMAC", "madds", 569e6),
    ("4.24", "millions", "params", 4.24e6),
    ("0.3", "GMAC (labelled GFLOPS)", "madds", 0.3e9),
    ("576K", "FLOP (=2*MAC)", "flops", 576e3),
    ("1.5B", "FLOP (=2*MAC)", "flops", 1.5e9),
    ("0.5K", "weights", "params", 500.0),
    ("13.07", "BFLOPs", "bflops_darknet", 13.07e9),
    ("3504872", "count", "params", 3504872.0),
    ("0.66 / 0.47", "MB", "size_mb", None),
])
def test_paper_value_units(value, unit, metric, expected):
    row = {"value": value, "unit": unit, "metric": metric}
    got = paper_value(row)
    assert got == (pytest.approx(expected) if expected is not None else None)


def test_printed_precision():
    assert printed_half_unit({"value": "1.3", "unit": "millions"}) == pytest.approx(0.05e6)
    assert printed_half_unit({"value": "569", "unit": "MMAC"}) == pytest.approx(0.5e6)


def test_costlab_value_conventions():
    t = {"params": 1_000_000, "macs": 300}
    assert costlab_value("flops", t) == 600 and costlab_value("bflops_darknet", t) == 600
    assert costlab_value("size_mb", t) == pytest.approx(4e6 / 2**20)


def test_csv_loaded():
    rows = load_rows()
    assert len(rows) == 407 and {"model", "variant", "resolution", "metric", "value", "unit"} <= set(rows[0])


def test_reproduce_counts_report(tmp_path, capsys):
    assert main(["reproduce", "counts", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "0 unexplained" in out
    md = (tmp_path / "counts.md").read_text()
    import pandas as pd

    df = pd.read_csv(tmp_path / "counts.csv", keep_default_na=False)
    assert len(df) >= 200
    off = df[df["within_1pct"].astype(str) != "True"]
    assert (off["reason"].str.len() > 0).all()      # every exception explained
    # headline rows of the foundation issue are within 1%
    for spec, metric in [("mobilenet_v2:width=1.0", "madds"), ("shufflenet_v2:width=1.0", "madds")]:
        rows = df[(df["spec"] == spec) & (df["metric"] == metric) & (df["resolution"] == 224)]
        assert len(rows) and (rows["within_1pct"].astype(str) == "True").any(), spec
    assert "Published counts vs costlab" in md and md.count("| ---") == 0


def test_reproduce_unknown_name(capsys, tmp_path):
    assert main(["reproduce", "countz", "-o", str(tmp_path)]) == 2
    assert "did you mean counts" in capsys.readouterr().err
