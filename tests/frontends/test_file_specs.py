"""Model files where a command reads many models from a file: a ``sweep`` specs file and a
``validate`` / ``calibrate --measurements`` CSV may name ``.onnx`` / ``.tflite`` files (a row's
size chooses a file's symbolic dims); every bad row is one line naming the file and line, exit 2.
``search`` varies a zoo model's knobs and refuses a file in one line."""
from __future__ import annotations

import json
import os

import pytest

from costlab import analyze
from costlab.errors import InputError
from tests.cli.measurement_boards import run

from .onnx_graphs import helper, init, model, save

TFLITE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "tflite", "net.tflite")


def _tflite_or_skip() -> str:
    from costlab.frontends.tflite import schema

    try:
        schema()
    except InputError:
        pytest.skip("no TFLite reader (pip install 'costlab[tflite]')")
    return TFLITE


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A conv graph with symbolic N, H, W; the same with static 1x3x16x16; a two-input add."""
    d = tmp_path_factory.mktemp("specs")
    conv = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])
    dyn = save(model([conv], [("x", ["n", 3, "h", "w"])], [("y", ["n", 8, "h", "w"])], [init("w", (8, 3, 3, 3))]), d / "dyn.onnx")
    static = save(model([conv], [("x", [1, 3, 16, 16])], [("y", ["n", 8, "h", "w"])], [init("w", (8, 3, 3, 3))]),
                  d / "static.onnx")
    add = helper.make_node("Add", ["a", "b"], ["c"])
    two = save(model([add], [("a", [1, 4]), ("b", [1, 4])], [("c", [1, 4])]), d / "two.onnx")
    return {"dyn": dyn, "static": static, "two": two}


def _write(path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_sweep_specs_file_names_files(files, tmp_path, capsys):
    tfl = _tflite_or_skip()
    specs = _write(tmp_path / "specs.txt", f"{files['static']}\n{files['dyn']} 1x3x16x16\n{tfl}\nlenet5\n")
    out = tmp_path / "out.csv"
    code, _, err = run(["sweep", specs, "--device", "arm", "-o", str(out)], capsys)
    assert code == 0, err
    import pandas as pd

    df = pd.read_csv(out)
    assert list(df["input_shape"]) == ["1x3x16x16", "1x3x16x16", "1x3x32x32", "1x1x28x28"]
    conv_macs = 8 * 16 * 16 * 27
    assert list(df["macs"][:3]) == [conv_macs, conv_macs, 106_656]
    # a file row predicts what `costlab analyze FILE --device arm` predicts
    for (_, r), (path, shape) in zip(df.iloc[:3].iterrows(),
                                     [(files["static"], None), (files["dyn"], "1x3x16x16"), (tfl, None)]):
        ref = analyze(path, input_shape=shape, device="arm")
        assert r["latency_ms"] == pytest.approx(float(ref.totals["latency_ms"]), abs=1e-4)
        assert r["params"] == ref.totals["params"] and not isinstance(r["error"], str)


@pytest.mark.parametrize("row,needle", [
    ("{dyn}", "symbolic dims"),                      # no size for a symbolic input
    ("{static} 1x3x32x32", "fixed size 16"),          # a static file's size cannot change
    ("{two}", "has 2 inputs"),                       # a row gives one input shape
    ("{missing}", "does not exist"),
])
def test_sweep_bad_file_rows_one_line(files, tmp_path, capsys, row, needle):
    specs = _write(tmp_path / "specs.txt", "lenet5\n" + row.format(**files, missing=tmp_path / "no.onnx") + "\n")
    out = tmp_path / "out.csv"
    code, stdout, err = run(["sweep", specs, "--device", "arm", "-o", str(out)], capsys)
    assert code == 2 and not out.exists(), err
    assert err.startswith(f"costlab: error: {specs}:2: ") and err.count("\n") == 1 and needle in err, err


def test_measurements_name_files(files, tmp_path, capsys):
    tfl = _tflite_or_skip()
    rows = [(files["static"], "", 0.9), (files["dyn"], "1x3x24x24", 1.6), (tfl, "", 1.2), ("lenet5", "", 0.3),
            ("lenet_300_100", "", 0.2), ("micro_conv", "", 4.0), ("micro_block_res", "", 20.0)]
    csv = _write(tmp_path / "m.csv", "spec,input_shape,latency_ms\n" + "".join(f"{s},{i},{t}\n" for s, i, t in rows))
    code, out, err = run(["validate", "--measurements", csv, "--samples", "4", "--repeats", "3", "--format", "json"],
                         capsys)
    assert code == 0, err
    prof = tmp_path / "board.json"
    code, out, err = run(["calibrate", "--measurements", csv, "--base", "arm", "--name", "board", "-o", str(prof)],
                         capsys)
    assert code == 0, err
    samples = json.loads(prof.read_text())["samples"]
    # a file is a family of its own (leave-family-out holds it out alone), at its own input
    assert [(s["family"], s["input_shape"]) for s in samples[:3]] == [
        ("static.onnx", [1, 3, 16, 16]), ("dyn.onnx", [1, 3, 24, 24]), ("net.tflite", [1, 3, 32, 32])]
    code, out, err = run(["analyze", files["static"], "--device", str(prof), "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["totals"]["latency_ms"] > 0, err


def test_measurements_bad_file_row_one_line(files, tmp_path, capsys):
    csv = _write(tmp_path / "m.csv", f"spec,latency_ms\nlenet5,0.3\n{files['dyn']},1.0\n")
    code, out, err = run(["validate", "--measurements", csv, "--samples", "2"], capsys)
    assert code == 2 and err.count("\n") == 1 and "line 3" in err and "symbolic dims" in err, err


def test_search_refuses_a_file(files, capsys):
    code, out, err = run(["search", files["static"], "--device", "arm", "--budget-ms", "5"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "is a model file" in err and "costlab sweep" in err
