"""costlab calibrate / validate / profiles: outputs, atomic writes, one-line errors (exit 2)."""
from __future__ import annotations

import json

import pytest

from costlab.cli import main
from costlab.latency.profile import dumps_profile, load_document, load_profile
from costlab.calibrate.validate import validate_measured


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_profiles_lists_shipped_profiles_with_accuracy(capsys):
    code, out, err = run(["profiles", "--format", "json"], capsys)
    assert code == 0
    rows = {r["profile"].split()[0]: r for r in json.loads(out)["profiles"]}
    assert {"arm-sd810", "gpu-gtx1080ti", "arm-pixel1-tflite"} <= set(rows)
    arm = rows["arm-sd810"]
    assert arm["n"] == 15 and arm["mape_network"] < arm["baseline_network"]
    code, out, _ = run(["profiles"], capsys)
    assert code == 0 and "arm-sd810 (arm)" in out and "gpu-gtx1080ti (gpu)" in out
    # JSON and CSV name the profile as --device takes it (was "arm-sd810 (arm)"), the alias apart
    code, out, _ = run(["profiles", "--format", "json"], capsys)
    by = {r["profile"]: r["alias"] for r in json.loads(out)["profiles"]}
    assert by["arm-sd810"] == "arm" and by["gpu-gtx1080ti"] == "gpu" and by["arm-sd810-ncnn"] is None
    code, out, _ = run(["profiles", "--format", "csv"], capsys)
    assert "\narm-sd810,\"Qualcomm" in out and "(arm)" not in out and ",arm," in out


def test_validate_json_has_the_issue_schema(capsys, tmp_path):
    target = tmp_path / "v.json"
    code, out, err = run(["validate", "--device", "gpu", "--format", "json", "-q", "-o", str(target)], capsys)
    assert code == 0 and out == ""
    d = json.loads(target.read_text())
    assert {"profile", "n", "mape", "within_10pct", "spearman", "baseline", "rows"} <= set(d)
    assert d["profile"] == "gpu-gtx1080ti" and d["n"] == len(d["rows"]) == 15
    assert {"n", "mape", "within_10pct", "spearman"} <= set(d["baseline"])
    row = d["rows"][0]
    assert {"spec", "input_shape", "measured_ms", "predicted_ms", "error_pct", "baseline_ms"} <= set(row)
    assert row["error_pct"] == pytest.approx(100 * (row["predicted_ms"] - row["measured_ms"]) / row["measured_ms"],
                                             abs=0.05)


def test_calibrate_writes_a_valid_fitted_copy(capsys, tmp_path):
    src = load_document("arm-sd810-ncnn")
    unfitted = {k: v for k, v in src.items() if k not in ("predictor", "baseline", "validation", "_path")}
    p = tmp_path / "board.json"
    p.write_text(dumps_profile(unfitted))
    out_path = tmp_path / "fitted.json"
    code, out, err = run(["calibrate", str(p), "-o", str(out_path), "-q"], capsys)
    assert code == 0, err
    fitted = load_profile(str(out_path))
    assert fitted.predictor["form"] == "reduced" and "leave-one-network-out" in out
    assert "predictor" not in json.loads(p.read_text())      # the source was not touched


def test_calibrate_refuses_a_broken_profile_with_the_field(capsys, tmp_path):
    d = load_document("arm-sd810-ncnn")
    d["samples"][2]["latency_ms"] = "fast"
    p = tmp_path / "broken.json"
    p.write_text(dumps_profile(d))
    code, out, err = run(["calibrate", str(p)], capsys)
    assert code == 2 and "samples[2].latency_ms" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "cut.json").write_text(p.read_text()[:300])
    code, out, err = run(["calibrate", str(tmp_path / "cut.json")], capsys)
    assert code == 2 and "not valid JSON" in err


@pytest.mark.parametrize("args, msg", [
    (["validate", "--device", "nope"], "unknown device profile 'nope'"),
    (["validate", "--device", "arm", "--measure"], "ARM device"),
    (["calibrate"], "give a PROFILE"),
    (["calibrate", "--build", "arm-sd811"], "did you mean arm-sd810"),
])
def test_usage_errors_are_one_line_exit_2(capsys, args, msg):
    code, out, err = run(args, capsys)
    assert code == 2 and msg in err and out == ""


def test_validate_measured_compares_with_the_profile():
    """--measure path with a stand-in harness: measured = 1.1 x predicted for every net."""
    from costlab.blocks import predict_spec

    prof = load_profile("gpu")
    calls = {}

    def fake_measure(specs, **kw):
        calls.update(kw)
        rows = []
        for s in specs:
            shape = [kw["batch"], 3, 224, 224]
            rows.append({"spec": s, "input_shape": shape, "median_ms": 1.1 * predict_spec(s, shape, prof),
                         "noise": 0.02, "repeats": 21})
        return rows

    specs = ["mobilenet_v1:width=0.5", "shufflenet_v2", "resnet18", "squeezenet1_1"]
    res = validate_measured(prof, specs, measure_fn=fake_measure, progress=False)
    assert calls["batch"] == 8 and calls["device"] == "cuda"
    assert res["skipped_fitted"] == ["mobilenet_v1:width=0.5", "shufflenet_v2"]   # fitted: not held out
    assert res["n"] == 2 and res["mape"] == pytest.approx(100 * (1 - 1 / 1.1), abs=0.01)
    assert res["within_10pct"] == 100.0 and res["noise_median"] == pytest.approx(0.02)


def test_validate_guide_form_is_a_different_model():
    """--form guide holds out the guide's pre-registered form (no Mpix term, one form)."""
    from costlab.calibrate.validate import validate

    own = validate("arm", "network", progress=False)
    guide = validate("arm", "network", progress=False, form="guide")
    assert guide["form"] == "guide" and guide["n"] == own["n"]
    assert guide["mape"] != own["mape"]
    assert guide["baseline"]["mape"] == own["baseline"]["mape"]   # same FLOPs-only line


def test_validate_csv_holds_every_row_the_table_shows(capsys):
    # the CSV held the 15 headline rows only: the role=train and role=check rows the table lists were dropped
    code, out, _ = run(["validate", "--device", "arm", "--format", "csv", "-q"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split(",")[-2:] == ["role", "source"] and len(lines) == 1 + 15 + 4 + 2
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["role"] for r in rows].count("train") == 4 and [r["role"] for r in rows].count("check") == 2
    assert {r["spec"] for r in rows if r["role"] == "check"} == {"mobilenet_v1", "shufflenet_v2"}
    assert all(r["input"].count("x") == 3 for r in rows)


def test_calibrate_output_must_be_a_json_file(capsys, tmp_path):
    # -o x.csv wrote the profile there, and --device x.csv then named no profile
    board = tmp_path / "board.csv"
    board.write_text("spec,latency_ms\nmobilenet_v2,100\nshufflenet_v2,40\nmobilenet_v1,150\n")
    code, out, err = run(["calibrate", "--measurements", str(board), "-o", str(tmp_path / "fit.csv"), "-q"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "end the name with .json, e.g. -o fit.json" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board.csv"]
