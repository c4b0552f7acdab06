"""``costlab memory``: JSON keys, budget verdict, bad input (exit 2, nothing written), plot."""
from __future__ import annotations

import json

import pytest

from tests.cli.measurement_boards import run

KEYS = {"weight_bytes", "peak_activation_bytes", "layer_peak_bytes", "arena_bytes", "best_order_peak_bytes",
        "peak_layer", "layers"}



def test_json_keys_and_rows(capsys, tmp_path):
    target = tmp_path / "m.json"
    code, out, _ = run(["memory", "mobilenet_v2", "--dtype", "int8", "-o", str(target)], capsys)
    assert code == 0 and out == ""
    d = json.loads(target.read_text())
    assert KEYS <= set(d)
    assert d["layer_peak_bytes"] == 1_404_928
    assert max(r["live_bytes"] for r in d["layers"]) == d["peak_activation_bytes"] <= d["arena_bytes"]
    assert max(r["layer_bytes"] for r in d["layers"]) == d["layer_peak_bytes"]


def test_analyze_totals_have_memory(capsys):
    code, out, _ = run(["analyze", "mobilenet_v2", "--dtype", "int8", "--format", "json"], capsys)
    t = json.loads(out)["totals"]
    code2, out2, _ = run(["memory", "mobilenet_v2", "--dtype", "int8", "--format", "json"], capsys)
    d = json.loads(out2)
    assert t["peak_activation_bytes"] == d["peak_activation_bytes"] and t["weight_bytes"] == d["weight_bytes"]


def test_budget(capsys):
    code, out, _ = run(["memory", "mobilenet_v2", "--dtype", "int8", "--budget-kb", "256", "--format", "json"], capsys)
    b = json.loads(out)["budget"]
    assert code == 0 and not b["fits"] and b["over_bytes"] == 1_404_928 - 256 * 1024
    assert b["layer"].startswith("features.2")
    assert b["changes"] and all(c["peak_bytes"] <= 256 * 1024 for c in b["changes"])
    assert b["changes"][0]["change"].startswith("patch")
    code, out, _ = run(["memory", "mobilenet_v2", "--dtype", "int8", "--budget-kb", "2048"], capsys)
    assert "fits" in out and "NOT" not in out


@pytest.mark.parametrize("args", [
    ["--budget-kb", "-3"],
    ["--budget-kb", "inf"],
    ["--budget-kb", "nan"],
    ["--max-overhead", "nan"],
    ["--max-overhead", "-0.1"],
    ["--split", "features.4"],
    ["--patches", "4", "--split", "nowhere"],
    ["--patches", "4", "--split", "classifier"],
    ["--dtype", "int4"],
    ["--plot", "x.gif"],
])
def test_bad_input(capsys, tmp_path, args):
    target = tmp_path / "out.json"
    code, out, err = run(["memory", "mobilenet_v2", *args, "-o", str(target)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and not target.exists()


def test_plot_and_patches(capsys, tmp_path):
    fig = tmp_path / "m.png"
    code, out, _ = run(["memory", "mobilenet_v2", "--dtype", "int8", "--patches", "4", "--split", "features.4",
                        "--plot", str(fig), "--budget-kb", "256"], capsys)
    assert code == 0 and fig.stat().st_size > 1000
    assert "patch-based 4x4" in out


def test_max_overhead_chooses_the_split(capsys):
    args = ["memory", "mobilenet_v2", "--resolution", "96", "--dtype", "int8", "--format", "json"]
    code, out, _ = run(args + ["--max-overhead", "0.05"], capsys)
    p = json.loads(out)["patch"]
    assert code == 0 and p["overhead"] <= 0.05
    code, out, _ = run(args + ["--max-overhead", "0.5"], capsys)
    q = json.loads(out)["patch"]
    assert q["peak_bytes"] <= p["peak_bytes"] < json.loads(out)["layer_peak_bytes"]


def test_help_shows_one_percent_sign(capsys):
    code, out, _ = run(["memory", "--help"], capsys)
    assert code == 0 and "(0.1 = 10%)" in out and "%%" not in out


TINY = """
import torch.nn as nn
def build():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(512, 10))
"""


@pytest.mark.parametrize("args, fix", [
    (["--patches", "2"], "--split LAYER"),                      # no block output: was 'allow more with --max-overhead'
    (["--patches", "2", "--split", "3"], "choose another --split"),     # was '(root): view changes the shape'
    (["--patches", "9", "--split", "1"], "use --patches 8 or fewer"),   # was '9x9 patches of a 8x8 map'
])
def test_patch_errors_say_the_fix(capsys, tmp_path, monkeypatch, args, fix):
    (tmp_path / "tinynet.py").write_text(TINY)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["memory", "tinynet.py:build", "--input-shape", "1x3x8x8", *args], capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and fix in err
    assert "--max-overhead" not in err


def test_a_user_model_over_budget_says_what_was_searched(capsys, tmp_path, monkeypatch):
    """Resolution and width are searched for zoo models only: a user model's verdict said 'no patch
    split, lower resolution or narrower width found', though only a patch split was tried."""
    (tmp_path / "tinynet.py").write_text(TINY)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["memory", "tinynet.py:build", "--input-shape", "1x3x8x8", "--budget-kb", "0.5"], capsys)
    assert code == 0, err
    assert "does NOT fit" in out and "searched: patch split (resolution and width are searched for zoo models only)" in out
    code, out, _ = run(["memory", "tinynet.py:build", "--input-shape", "1x3x8x8", "--budget-kb", "0.5",
                        "--format", "json"], capsys)
    assert "zoo models only" in json.loads(out)["budget"]["searched"]


def test_weight_bytes_of_a_quantized_file_use_its_int8_weights(capsys):
    """net_int8.tflite: 618 params, int8 weights and int32 biases; weight_bytes was 618 x 4 = 2,472,
    the float file's, though the bytes convention says integer tensors count at their own size."""
    import os

    data = os.path.join(os.path.dirname(__file__), "..", "data", "tflite")
    out = {}
    for name in ("net.tflite", "net_int8.tflite"):
        code, text, err = run(["memory", os.path.join(data, name), "--format", "json"], capsys)
        assert code == 0, err
        out[name] = json.loads(text)["weight_bytes"]
    assert out["net.tflite"] == 618 * 4
    assert 618 <= out["net_int8.tflite"] < 618 * 2


def test_a_greedy_order_that_reaches_its_lower_bound_is_said_optimal():
    from costlab.present.memory import memory_text

    d = {"model": "m", "input_shape": [[1, 3, 8, 8]], "dtype": "int8", "weight_bytes": 0,
         "peak_activation_bytes": 100, "peak_layer": "a", "layer_peak_bytes": 100, "layer_peak_layer": "a",
         "arena_bytes": 112, "fragmentation": 0.12, "converted_arena_bytes": 112, "best_order_peak_bytes": 100,
         "best_order_exact": False, "best_order_lower_bound": 100, "best_order_changed": False,
         "inplace_depthwise": True, "layers": [], "conventions": {}}
    assert "optimal: it reaches its lower bound" in memory_text(d, "table")     # was 'heuristic, lower bound 100'
    d["best_order_lower_bound"] = 90
    assert "heuristic, lower bound 90" in memory_text(d, "table")
