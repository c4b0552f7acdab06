"""The GPU host/device profile through the facade and the commands (no GPU needed)."""
from __future__ import annotations

import json

import pytest

import costlab
from costlab.cli import main
from costlab.latency.profile import load_document


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_analyze_gpu_profile_has_host_and_device_columns_and_a_bound():
    r = costlab.analyze("mobilenet_v2", device="gpu-h200")
    assert {"host_ms", "device_ms", "latency_ms"} <= set(r.layers.columns)
    info = r.to_dict()["latency"]
    assert info["runtime"] == "eager" and info["bound"]["bound"] == "host"   # batch 1: dispatch-bound
    assert info["host_ms"] > info["device_ms"] > 0
    # eager is at least the larger clock; a CUDA graph removes the host part
    g = costlab.analyze("mobilenet_v2", device="gpu-h200", runtime="cudagraph")
    assert r.totals["latency_ms"] >= max(info["host_ms"], info["device_ms"]) - 1e-9
    assert g.totals["latency_ms"] < r.totals["latency_ms"]
    assert g.totals["latency_ms"] == pytest.approx(info["device_ms"] + load_document("gpu-h200")["predictor"]
                                                   ["device"]["graph_launch_ms"], rel=1e-3)
    # per-layer shares add up to the total (up to the part no op owns)
    assert r.layers["latency_ms"].sum() <= r.totals["latency_ms"] + 1e-4      # the total is rounded to 4 decimals


def test_large_batch_is_device_bound():
    r = costlab.analyze("vgg16", device="gpu-h200", batch=64)
    assert r.to_dict()["latency"]["bound"]["bound"] == "device"


def test_cli_analyze_prints_the_bound_and_refuses_runtime_without_gpu_profile(capsys):
    code, out, err = run(["analyze", "mobilenet_v2", "--device", "gpu-h200", "--depth", "1"], capsys)
    assert code == 0 and "host-bound at batch 1" in out and "host_ms" in out and "device_ms" in out
    code, out, err = run(["analyze", "lenet5", "--device", "arm", "--runtime", "cudagraph"], capsys)
    assert code == 2 and "not a GPU host/device profile" in err and err.count("\n") == 1
    code, out, err = run(["analyze", "lenet5", "--runtime", "eager"], capsys)
    assert code == 2 and "--device" in err


def test_cli_validate_gpu_profile_per_batch(capsys):
    code, out, err = run(["validate", "--device", "gpu-h200", "--runtime", "cudagraph", "-q", "--format", "json"],
                         capsys)
    assert code == 0
    d = json.loads(out)
    assert d["runtime"] == "cudagraph" and set(d["held_out"]["per_batch"]) == {"1", "8", "32", "64"}
    held = d["held_out"]["all"]
    assert held["n"] == 68 and held["mape"] < held["baseline"]["mape"]          # beats FLOPs-only
    assert "lono" in d
    code, out, _ = run(["validate", "--device", "gpu-h200", "--runtime", "cudagraph", "-q", "--format", "csv"], capsys)
    lines = out.splitlines()       # shapes as 1x3x224x224 (was the Python list "[1, 3, 224, 224]")
    assert code == 0 and len(lines) == 69 and "[" not in out and ",1,1x3x224x224," in lines[1]


def test_calibrate_build_gpu_profile_uses_the_gpu_fitter(tmp_path, capsys):
    out = tmp_path / "g.json"
    code, _, err = run(["calibrate", "--build", "gpu-h200", "-o", str(out), "-q"], capsys)
    assert code == 0, err
    d = json.loads(out.read_text())
    assert d["predictor"]["form"] == load_document("gpu-h200")["predictor"]["form"] == "gpu-host-device"


def test_compare_and_plot_take_runtime(tmp_path, capsys):
    code, out, err = run(["compare", "mobilenet_v2", "shufflenet_v2", "--device", "gpu-h200", "--runtime",
                          "cudagraph", "--format", "json"], capsys)
    assert code == 0
    rows = json.loads(out)["rows"]
    direct = costlab.analyze("mobilenet_v2", device="gpu-h200", runtime="cudagraph").totals["latency_ms"]
    assert rows[0]["latency_ms"] == pytest.approx(direct)
    code, _, err = run(["plot", "breakdown", "mobilenet_v2", "--device", "gpu-h200", "--runtime", "cudagraph",
                        "-o", str(tmp_path / "b.png")], capsys)
    assert code == 0 and (tmp_path / "b.png").stat().st_size > 0


def test_cudagraph_bound_line_says_the_graph_is_device_time(capsys):
    code, out, _ = run(["analyze", "mobilenet_v2", "--device", "gpu-h200", "--runtime", "cudagraph"], capsys)
    line = next(ln for ln in out.splitlines() if ln.startswith("bound"))
    assert code == 0 and line.startswith("bound       device (CUDA graph")
    assert "in eager it would be host-bound at batch 1" in line and "x the graph's time" in line


def test_breakdown_adds_up_to_the_total_with_the_graph_launch():
    from costlab.latency.breakdown import UNATTRIBUTED, class_breakdown

    from costlab.api import count

    rep = count("mobilenet_v2")
    prof = load_document("gpu-h200")
    for rt in ("eager", "cudagraph"):
        by = class_breakdown(rep, prof, rt)
        total = costlab.analyze("mobilenet_v2", device="gpu-h200", runtime=rt).totals["latency_ms"]
        assert sum(by.values()) == pytest.approx(total, rel=1e-3), rt
    assert class_breakdown(rep, prof, "cudagraph")[UNATTRIBUTED] == pytest.approx(
        prof["predictor"]["device"]["graph_launch_ms"], abs=1e-4)     # the total is rounded to 4 decimals
    assert UNATTRIBUTED not in class_breakdown(rep, load_document("arm"))      # a CPU profile: every ms is an op's


def test_validate_reports_the_families_no_training_network_has(capsys):
    from costlab.calibrate.grid import family_of

    code, out, err = run(["validate", "--device", "gpu-h200", "--runtime", "cudagraph", "-q", "--format", "json"],
                         capsys)
    d = json.loads(out)
    new = d["held_out"]["new_families"]
    trained = {family_of(s["spec"]) for s in load_document("gpu-h200")["samples"]
               if s.get("role", "fit") != "check" and s["granularity"] == "network"}
    assert new["families"] and not set(new["families"]) & trained
    held = {r["spec"] for r in d["held_out"]["rows"]}
    assert set(new["networks"]) == {s for s in held if family_of(s) not in trained}
    assert new["all"]["n"] == 4 * len(new["networks"])
    code, out, _ = run(["validate", "--device", "gpu-h200", "--runtime", "cudagraph", "-q"], capsys)
    assert "the leak-free figure" in out
