"""ONNX files on the command line: the commands that take a MODEL, the input rule for symbolic
dims, and every bad file as one line on stderr with exit 2 (nothing written, the file unchanged)."""
from __future__ import annotations

import hashlib
import json
import os
import sys

import pytest
import torch
import torch.nn as nn


from .onnx_graphs import helper, init, model, onnx, save
from tests.cli.measurement_boards import run


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                                      nn.Conv2d(8, 8, 1))
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx")
    m = Tiny().eval()
    static, dynamic = str(d / "tiny.onnx"), str(d / "tiny_dyn.onnx")
    x = torch.zeros(1, 3, 16, 16)
    torch.onnx.export(m, (x,), static, dynamo=False, opset_version=17)
    torch.onnx.export(m, (x,), dynamic, dynamo=False, opset_version=17, input_names=["image"],
                      dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"}})
    return static, dynamic



def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_analyze_json_depth_and_file_unchanged(tiny_files, capsys):
    path = tiny_files[0]
    before = sha(path)
    code, out, err = run(["analyze", path, "--format", "json", "--depth", "1"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert [r["name"] for r in d["layers"]] == ["features", "(root)", "fc"]
    macs = 256 * (8 * 3 * 9) + 256 * 8 * 8 + 8 * 4
    assert d["totals"]["macs"] == macs
    assert "ONNX graph" in d["conventions"]["trace"]
    assert sha(path) == before


def test_symbolic_dims_need_input_shape(tiny_files, capsys):
    path = tiny_files[1]
    code, out, err = run(["analyze", path], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "'image'" in err and "batch, height, width" in err
    code, out, err = run(["analyze", path, "--input-shape", "2x3x32x32", "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out)["totals"]["macs"] == 2 * 4 * (256 * (8 * 3 * 9) + 256 * 8 * 8) + 2 * 8 * 4
    code, out, err = run(["analyze", path, "--resolution", "32", "--batch", "2", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["input_shape"] == [2, 3, 32, 32]
    # --resolution alone: the symbolic batch is 1 (was: refused, and --batch 1 could not say it)
    code, out, err = run(["analyze", path, "--resolution", "32", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["input_shape"] == [1, 3, 32, 32], err
    code, out, err = run(["memory", path, "--resolution", "32", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["input_shape"] == [[1, 3, 32, 32]], err
    code, _, err = run(["analyze", tiny_files[0], "--input-shape", "1x3x32x32"], capsys)
    assert code == 2 and "fixed size 16" in err
    code, _, err = run(["compare", tiny_files[0], path], capsys)     # the file named once, not twice
    assert code == 2 and err.count(os.path.basename(path)) == 1 and "'image'" in err, err
    code, _, err = run(["analyze", tiny_files[0], "--resolution", "32"], capsys)
    assert code == 2 and "fixes its input size (1x3x16x16)" in err


@pytest.mark.parametrize("cmd", [["guidelines"], ["compare"], ["plot", "layers"], ["advise"]])
def test_other_commands_take_a_file(tiny_files, cmd, capsys, tmp_path):
    extra = ["-o", str(tmp_path / "p.png")] if cmd[0] == "plot" else ["--device", "arm"] if cmd[0] == "advise" else []
    if cmd[0] == "compare":
        args = cmd + [tiny_files[0], tiny_files[0].replace("tiny.onnx", "tiny_dyn.onnx"), "--input-shape", "1x3x16x16"]
    else:
        args = cmd + [tiny_files[0]] + extra
    code, out, err = run(args, capsys)
    assert code == 0, err
    if cmd[0] == "plot":
        assert os.path.getsize(tmp_path / "p.png") > 0
    elif cmd[0] == "advise":
        assert "rewrites tried" in out
    else:
        assert "tiny" in out


def test_compress_refuses_a_file_in_one_line(tiny_files, capsys):
    code, out, err = run(["compress", tiny_files[0], "--bits", "8"], capsys)
    assert code == 2 and err.count("\n") == 1 and "PyTorch model's weights" in err


def test_device_latency(tiny_files, capsys):
    code, out, err = run(["analyze", tiny_files[0], "--device", "arm", "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out)["totals"]["latency_ms"] > 0


def _bad(capsys, path, needle, tmp_path):
    out_file = tmp_path / "out.json"
    code, out, err = run(["analyze", str(path), "-o", str(out_file)], capsys)
    assert code == 2 and out == "" and not out_file.exists()
    assert err.startswith("costlab: error:") and err.count("\n") == 1, err
    assert needle in err, err


def test_not_a_model_and_truncated(tmp_path, tiny_files, capsys):
    text = tmp_path / "notes.onnx"
    text.write_text("hello, this is not a model\n")
    _bad(capsys, text, "not a readable ONNX model", tmp_path)
    data = open(tiny_files[0], "rb").read()
    for frac in (0.3, 0.97):
        cut = tmp_path / f"cut{frac}.onnx"
        cut.write_bytes(data[: int(len(data) * frac)])
        _bad(capsys, cut, "ONNX", tmp_path)
    _bad(capsys, tmp_path / "missing.onnx", "does not exist", tmp_path)
    _bad(capsys, tmp_path / "model.ort", "ORT-format", tmp_path)


def test_external_data_missing(tmp_path, capsys):
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"])], [("x", [1, 64])], [("y", [1, 64])],
              [init("w", [64, 64])])
    path = tmp_path / "ext.onnx"
    onnx.save(m, str(path), save_as_external_data=True, location="ext.data", size_threshold=0)
    code, out, err = run(["analyze", str(path), "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["totals"]["params"] == 64 * 64
    os.remove(tmp_path / "ext.data")
    _bad(capsys, path, "'ext.data', which is missing", tmp_path)


def test_loop_and_data_dependent_if(tmp_path, capsys):
    body = helper.make_graph([helper.make_node("Identity", ["c"], ["c_out"]), helper.make_node("Relu", ["v"], ["v_out"])],
                             "body", [helper.make_tensor_value_info("i", 7, []), helper.make_tensor_value_info("c", 9, []),
                                      helper.make_tensor_value_info("v", 1, [4])],
                             [helper.make_tensor_value_info("c_out", 9, []), helper.make_tensor_value_info("v_out", 1, [4])])
    loop = model([helper.make_node("Loop", ["n", "", "x"], ["y"], body=body)],
                 [("n", [], 7), ("x", [4])], [("y", [4])], check=False)
    _bad(capsys, save(loop, tmp_path / "loop.onnx"), "Loop", tmp_path)
    branch = helper.make_graph([helper.make_node("Relu", ["x"], ["r"])], "b", [], [helper.make_tensor_value_info("r", 1, [4])])
    cond = model([helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0), helper.make_node("Greater", ["s", "zero"], ["c"]),
                  helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch)],
                 [("x", [4])], [("y", [4])], [init("zero", [], value=0.0)], check=False)
    _bad(capsys, save(cond, tmp_path / "if.onnx"), "depends on data", tmp_path)


def test_onnx_not_installed(tiny_files, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    code, out, err = run(["analyze", tiny_files[0]], capsys)
    assert code == 2 and "pip install costlab[onnx]" in err and err.count("\n") == 1


def test_weights_are_not_read_and_a_cut_inside_them_is_caught(tmp_path, capsys):
    """The reader skips large initializer data (costlab.frontends.onnx_wire) yet gives the same
    counts as onnx.load, and a file cut inside that data is still refused."""
    from costlab.frontends.onnx_wire import KEEP_BYTES, weightless_bytes

    m = model([helper.make_node("MatMul", ["x", "w"], ["y"])], [("x", [1, 256])], [("y", [1, 256])],
              [init("w", [256, 256])])
    path = save(m, tmp_path / "big.onnx")
    light = onnx.load_model_from_string(weightless_bytes(path))
    assert len(m.graph.initializer[0].raw_data) > KEEP_BYTES and not light.graph.initializer[0].raw_data
    assert list(light.graph.initializer[0].dims) == [256, 256]
    code, out, err = run(["analyze", path, "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["totals"]["params"] == 65536 and json.loads(out)["totals"]["macs"] == 65536
    data = open(path, "rb").read()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: len(data) // 2])
    _bad(capsys, cut, "not a readable ONNX model", tmp_path)


def test_too_few_shapes_for_two_inputs_say_the_fix(tmp_path, capsys):
    m = model([helper.make_node("Add", ["a", "b"], ["y"], name="add")], [("a", ["B", 4]), ("b", ["B", 4])],
              [("y", ["B", 4])])
    path = save(m, tmp_path / "two.onnx")
    code, out, err = run(["memory", path, "--input-shape", "3x4"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "--input-shape 1x4,1x4" in err          # was: '... --input-shape gave 1', no fix
    code, _, err = run(["memory", path, "--input-shape", "3x4:int64,3x4"], capsys)
    assert code == 2 and "drop ':int64'" in err and err.count("\n") == 1
    code, _, err = run(["memory", path, "--input-shape", "3x4x1,3x4"], capsys)
    assert code == 2 and "give 2 dims, e.g. 1x4" in err and err.count("\n") == 1
    code, _, err = run(["memory", path], capsys)           # the example names both inputs (was: 1x4 only)
    assert code == 2 and "e.g. 1x4,1x4" in err and err.count("\n") == 1


def test_symbolic_image_size_suggests_a_usable_example(tiny_files, capsys):
    code, _, err = run(["memory", tiny_files[1]], capsys)
    assert code == 2 and "e.g. 1x3x224x224 (or --resolution 224 for H and W)" in err    # was 1x3x1x1


def test_a_size_beyond_64_bits_is_one_line(tiny_files, capsys):
    """memory/analyze file.onnx --input-shape 1x3x99999999999x99999999999 ended in numpy's
    OverflowError traceback (the torch trace refuses such a size itself)."""
    for cmd in ("memory", "analyze"):
        code, out, err = run([cmd, tiny_files[1], "--input-shape", "1x3x99999999999x99999999999"], capsys)
        assert code == 2 and out == "" and err.count("\n") == 1 and "64-bit" in err


def test_resolution_fills_h_and_w_of_a_channels_last_input(tmp_path, capsys):
    """An NHWC file (TFLite-style: N x H x W x 3, H and W symbolic): --resolution is its H and W
    (was: only W, dims 2-3 taken as H, W, and H left symbolic)."""
    class Nhwc(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = Tiny()

        def forward(self, x):
            return self.body(x.permute(0, 3, 1, 2))

    path = str(tmp_path / "nhwc.onnx")
    torch.onnx.export(Nhwc().eval(), (torch.zeros(1, 16, 16, 3),), path, dynamo=False, opset_version=17,
                      input_names=["image"], dynamic_axes={"image": {0: "batch", 1: "height", 2: "width"}})
    code, out, err = run(["analyze", path, "--resolution", "16", "--format", "json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["input_shape"] == [1, 16, 16, 3]
    assert d["totals"]["macs"] == 256 * (8 * 3 * 9) + 256 * 8 * 8 + 8 * 4
    code, out, err = run(["analyze", path], capsys)
    assert code == 2 and "1x224x224x3" in err, err
