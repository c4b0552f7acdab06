"""``costlab compare``: side-by-side totals, ensembles as sums, reference ratios, column
providers, formats and errors."""
from __future__ import annotations

import csv
import io
import json
import textwrap

import pytest

import costlab
from costlab.cli import main
from costlab.compare import Column, ColumnProvider, _PROVIDERS, compare, register_column_provider
from costlab.spec import InputError


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_rows_equal_analyze_and_ensembles_sum_members():
    cmp = compare(["resnet18", "lenet5", "resnet18+lenet5+lenet5"])
    rows = {r["model"]: r for r in cmp.rows}
    a, b = costlab.analyze("resnet18").totals, costlab.analyze("lenet5").totals
    r18 = rows["resnet18"]
    assert (r18["params"], r18["macs"], r18["flops"], r18["mac_bytes"], r18["activations"]) == \
        (a["params"], a["macs"], a["flops"], a["mac_bytes"], a["activations"])
    assert r18["size_bytes"] == 4 * a["params"]
    ens = rows["resnet18 + lenet5 + lenet5"]
    assert ens["ensemble"] and ens["members"] == ["resnet18", "lenet5", "lenet5"]
    for k in ("params", "macs", "flops", "mac_bytes", "activations"):
        assert ens[k] == a[k] + 2 * b[k]
    assert ens["size_bytes"] == 4 * (a["params"] + 2 * b["params"])
    assert ens["input"] == "1x3x224x224 + 1x1x28x28 + 1x1x28x28"     # each member at its paper's input
    # the first entry is the reference of the rel columns (teacher first, then students)
    assert r18["params_rel"] == 1.0
    assert rows["lenet5"]["macs_rel"] == pytest.approx(b["macs"] / a["macs"])
    assert cmp.reference == "resnet18"


def test_dtype_sets_model_size():
    cmp = compare(["lenet5"], dtype="float16")
    assert cmp.rows[0]["size_bytes"] == 2 * cmp.rows[0]["params"]


def test_bad_entries_and_unused_options():
    with pytest.raises(InputError, match="bad ensemble"):
        compare(["resnet18+"])
    with pytest.raises(InputError, match="--colour: no column"):
        compare(["lenet5"], options={"colour": "red"})
    with pytest.raises(InputError, match="unknown column group"):
        compare(["lenet5"], providers=["latency_nope"])
    with pytest.raises(InputError):
        compare([])


def test_column_provider_extension_point():
    # a later capability (e.g. predicted latency per device) plugs in as a provider
    def fake_latency(member, options):
        return {"fake_ms": member.report.totals["macs"] / 1e6, "fake_device": options["fake_device"]}

    prov = ColumnProvider("fake_latency", (Column("fake_ms", "latency", "ms", relative=True),
                                           Column("fake_device", "device", "text", combine="join")),
                          fake_latency, needs=("fake_device",), order=90)
    register_column_provider(prov)
    try:
        plain = compare(["lenet5", "lenet5+lenet5"])
        assert "fake_ms" not in plain.rows[0]                    # needs --fake_device: skipped without it
        cmp = compare(["lenet5", "lenet5+lenet5"], options={"fake_device": "cpu"})
        one, two = cmp.rows
        assert two["fake_ms"] == pytest.approx(2 * one["fake_ms"])   # members run one after another
        assert two["fake_ms_rel"] == pytest.approx(2.0) and two["fake_device"] == "cpu"
        with pytest.raises(InputError, match="need --fake_device"):
            compare(["lenet5"], providers=["counts", "fake_latency"])
        with pytest.raises(ValueError):
            register_column_provider(prov)
    finally:
        _PROVIDERS.pop("fake_latency", None)


def test_cli_formats(capsys, tmp_path):
    code, out, _ = run(["compare", "resnet18", "mobilenet_v2", "resnet18+mobilenet_v2", "--format", "csv"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["model"] for r in rows] == ["resnet18", "mobilenet_v2", "resnet18 + mobilenet_v2"]
    assert rows[2]["members"] == "resnet18+mobilenet_v2"
    assert int(rows[2]["params"]) == int(rows[0]["params"]) + int(rows[1]["params"])
    target = tmp_path / "c.json"
    code, out, _ = run(["compare", "resnet18", "mobilenet_v2", "--format", "json", "-o", str(target)], capsys)
    d = json.loads(target.read_text())
    assert code == 0 and out == "" and d["reference"] == "resnet18"
    assert {c["key"] for c in d["columns"]} >= {"params", "macs", "flops", "mac_bytes", "activations", "size_bytes"}
    for fmt in ("table", "markdown"):
        code, out, _ = run(["compare", "resnet18", "mobilenet_v2", "--format", fmt], capsys)
        assert code == 0 and "mobilenet_v2" in out and "params rel" in out and "model size" in out
    code, out, _ = run(["compare", "resnet18", "mobilenet_v2", "--format", "markdown"], capsys)
    assert out.splitlines()[1].endswith("|---|---|")      # input and violates are text, left-aligned (was ---:)


def test_cli_user_models_and_errors(capsys, tmp_path):
    f = tmp_path / "nets.py"
    f.write_text(textwrap.dedent("""
        import torch.nn as nn
        def big():
            return nn.Sequential(nn.Conv2d(3, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3))
        def small():
            return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3))
    """))
    code, out, err = run(["compare", f"{f}:big", f"{f}:small", "--format", "json"], capsys)
    assert code == 0 and "using 1x3x224x224" in err
    d = json.loads(out)
    assert d["rows"][1]["params_rel"] == pytest.approx((3 * 8 * 9 + 8 + 8 * 8 * 9 + 8) / (3 * 64 * 9 + 64 + 64 * 64 * 9 + 64))
    code, out, err = run(["compare", "resnet18", "--device", "nosuchdevice"], capsys)
    assert code == 2 and out == "" and "unknown device profile" in err and len(err.strip().splitlines()) == 1
    code, out, err = run(["compare", "nosuchnet"], capsys)
    assert code == 2 and "unknown model" in err


def test_latency_and_guideline_columns():
    cmp = compare(["shufflenet_v2", "shufflenet_v2+shufflenet_v2", "shufflenet_v1:groups=8"],
                  options={"device": "arm"})
    one, two, v1 = cmp.rows
    assert one["latency_ms"] > 0 and two["latency_ms"] == pytest.approx(2 * one["latency_ms"])
    assert two["latency_ms_rel"] == pytest.approx(2.0)
    assert "G2" in v1["guidelines"] and one["guidelines"] == "-"
