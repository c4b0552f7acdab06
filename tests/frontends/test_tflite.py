"""TFLite files: the checked-in litert-torch conversions of tests/frontends/tflite_modules.py
(tests/data/tflite/, written by tests/data/make_tflite.py) read back and compared with costlab's
trace of the same modules; layouts, int8 layers and bytes, module paths, the CLI, unsupported
ops and every bad file as one line, exit 2."""
from __future__ import annotations

import json
import os
import sys

import pytest

from costlab import analyze
from costlab.errors import InputError
from tests.cli.measurement_boards import run

from .tflite_modules import MODULES

DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "tflite")


def _reader_or_skip():
    from costlab.frontends.tflite import schema

    try:
        return schema()
    except InputError:
        pytest.skip("no TFLite reader (pip install 'costlab[tflite]')")


@pytest.fixture(autouse=True)
def reader():
    return _reader_or_skip()


def path(name: str) -> str:
    return os.path.join(DATA, f"{name}.tflite")


def trace(name: str):
    cls, shape = MODULES[name]
    return analyze(cls().eval(), shape)


def row(report, name: str) -> dict:
    return report.layers.set_index("name").loc[name].to_dict()


def test_float_net_is_its_trace():
    f, t = analyze(path("net")), trace("net")
    assert f.totals["macs"] == t.totals["macs"] == 55_296 + 18_432 + 32_768 + 160
    # BN folded by the converter: its 16 scales and shifts gone, one bias per stem conv output channel
    assert f.totals["params"] == t.totals["params"] - 16 + 8
    assert f.unsupported == []
    stem = row(f, "stem.0:conv")                  # NHWC file, NCHW report; module path from tensor names
    assert stem["op"] == "conv3x3/s2" and stem["output_shape"] == [1, 8, 16, 16]
    assert stem["elem_ops"] == 2 * 2048           # bias + the fused ReLU6
    assert row(f, "dw:conv")["op"] == "dwconv3x3" and row(f, "pw:conv")["op"] == "conv1x1"
    # the layout TRANSPOSEs litert-torch adds are free views, as absent from the trace
    assert not any(f.layers["op"].isin(["copy"]))
    assert set(f.rollup(depth=1)["name"]) == {"stem", "dw", "pw", "fc", "(root)"}


def test_ops_net_is_its_trace():
    f, t = analyze(path("ops")), trace("ops")
    assert f.totals["macs"] == t.totals["macs"] == 73_728 + 4_096 + 8 * 8 * 256
    assert f.totals["params"] == t.totals["params"] == 296 + 20     # the index buffer is no parameter
    assert row(f, "gconv:conv")["op"] == "gconv3x3/g2"
    # only the channel shuffle's transpose copies (a reshape must read it contiguous), as in torch
    copies = f.layers[f.layers["op"] == "copy"]
    assert len(copies) == 1 and copies.iloc[0]["activations"] == 2048
    assert {"cat", "pad", "pool", "upsample", "gather", "sigmoid", "mul"} <= set(f.layers["op"])


def test_int8_net_counts_int8_layers_and_bytes():
    f = analyze(path("net_int8"))
    assert f.totals["macs"] == trace("net").totals["macs"]
    assert f.sections["quantized"].data["int8_layers"] == ["stem.0", "dw", "pw", "fc"]
    stem = row(f, "stem.0:conv")
    # int8 input (34x34 padded) and weights, int32 bias, int8 output: 1 byte per element
    assert stem["mac_bytes"] == 3 * 34 * 34 + 8 * 27 + 8 * 4 + 8 * 16 * 16
    assert int(f.totals["mac_bytes"]) < int(analyze(path("net")).totals["mac_bytes"])


def test_int8_mac_bytes_are_the_int8_trace_plus_biases_and_explicit_pad():
    """An int8 file's MAC layers read and write what the trace at ``--dtype int8`` does (int8
    weights, activations and outputs: 1 byte each), plus, per layer: 4 bytes per int32 bias where
    the trace has none (the stem's BN, folded by the converter) or 3 more where the trace's bias is
    1 byte at int8; and a conv after an explicit ``PAD`` (litert-torch pads a stride-2 conv so) reads
    the padded tensor, where the trace's conv pads implicitly. Nothing else. (On MobileNetV2:
    ``benchmarks/tflite_zoo.py --int8 mobilenet_v2`` splits its +206,980 bytes the same way.)"""
    f = analyze(path("net_int8"))
    cls, shape = MODULES["net"]
    t = analyze(cls().eval(), shape, dtype="int8")
    layers = ["stem.0:conv", "dw:conv", "pw:conv", "fc:linear"]
    gap = {name: row(f, name)["mac_bytes"] - row(t, name)["mac_bytes"] for name in layers}
    assert gap == {"stem.0:conv": 8 * 4 + 3 * (34 * 34 - 32 * 32), "dw:conv": 8 * 3, "pw:conv": 16 * 3,
                   "fc:linear": 10 * 3}
    from benchmarks.tflite_zoo import int8_byte_gap

    assert int8_byte_gap(f, t) == {"total": sum(gap.values()), "bias": 8 * 4 + 8 * 3 + 16 * 3 + 10 * 3,
                                   "padded_input": 3 * (34 * 34 - 32 * 32), "other": 0}


def test_cli_analyze_guidelines_compare(capsys):
    code, out, err = run(["analyze", path("net_int8"), "--format", "json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["int8_layers"] == ["stem.0", "dw", "pw", "fc"] and "layout" in doc["conventions"]
    code, out, err = run(["analyze", path("net"), "--depth", "1", "--device", "arm"], capsys)
    assert code == 0 and "stem" in out, err
    code, out, err = run(["guidelines", path("net")], capsys)
    assert code == 0, err
    code, out, err = run(["compare", path("net"), path("net_int8")], capsys)
    assert code == 0 and "net_int8.tflite" in out, err


def _bad(capsys, args, needle, tmp_path):
    out_file = tmp_path / "out.json"
    code, out, err = run(["analyze", *map(str, args), "-o", str(out_file)], capsys)
    assert code == 2 and out == "" and not out_file.exists(), err
    assert err.startswith("costlab: error:") and err.count("\n") == 1, err
    assert needle in err, err


def test_bad_files_one_line_exit_2(tmp_path, capsys):
    text = tmp_path / "notes.tflite"
    text.write_text("hello, this is not a model\n")
    _bad(capsys, [text], "not a TFLite model", tmp_path)
    data = open(path("net"), "rb").read()
    for frac in (0.02, 0.3, 0.7, 0.97):
        cut = tmp_path / f"cut{frac}.tflite"
        cut.write_bytes(data[: int(len(data) * frac)])
        _bad(capsys, [cut], "TFLite", tmp_path)
    _bad(capsys, [tmp_path / "missing.tflite"], "does not exist", tmp_path)
    _bad(capsys, [path("net"), "--input-shape", "1x3x64x64"], "fixes the size of every tensor", tmp_path)
    _bad(capsys, [path("net"), "--resolution", "64"], "leave out --resolution", tmp_path)
    code, out, err = run(["crosscheck", path("net")], capsys)
    assert code == 2 and "no reference counter reads tflite files" in err and err.count("\n") == 1, err


def test_same_input_shape_is_accepted(capsys):
    code, out, err = run(["analyze", path("net"), "--input-shape", "1x3x32x32", "--resolution", "32"], capsys)
    assert code == 2 and "not both" in err          # the usual rule still holds
    code, out, err = run(["analyze", path("net"), "--input-shape", "1x3x32x32", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["totals"]["macs"] == 106_656, err


def _patch_opcode(data: bytes, old: str, new: str, s) -> bytes:
    """``data`` with operator code ``old`` renamed ``new`` (both builtin code fields rewritten in place)."""
    codes = {k: v for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    buf = bytearray(data)
    m = s.Model.GetRootAsModel(bytes(buf), 0)
    for i in range(m.OperatorCodesLength()):
        oc = m.OperatorCodes(i)
        if max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode()) != codes[old]:
            continue
        dep, full = oc._tab.Offset(4), oc._tab.Offset(10)
        if not dep or not full:
            pytest.skip("the file leaves a builtin code field at its default")
        buf[oc._tab.Pos + dep] = min(codes[new], 127)
        buf[oc._tab.Pos + full: oc._tab.Pos + full + 4] = codes[new].to_bytes(4, "little")
        return bytes(buf)
    raise AssertionError(f"no {old} op")


def test_unsupported_op_is_listed_never_zero(tmp_path, reader, capsys):
    p = tmp_path / "odd.tflite"
    p.write_bytes(_patch_opcode(open(path("net"), "rb").read(), "SOFTMAX", "RFFT2D", reader))
    r = analyze(str(p))
    assert r.unsupported == [{"op": "tflite.RFFT2D", "count": 1}]
    assert r.totals["macs"] == 106_656
    code, out, err = run(["analyze", str(p)], capsys)
    assert code == 0 and "tflite.RFFT2D" in out, err


def test_control_flow_is_refused(tmp_path, reader, capsys):
    p = tmp_path / "loop.tflite"
    p.write_bytes(_patch_opcode(open(path("net"), "rb").read(), "SOFTMAX", "WHILE", reader))
    _bad(capsys, [p], "a WHILE op runs a subgraph", tmp_path)


def test_reader_fallback_and_missing_reader(monkeypatch, capsys, tmp_path):
    from costlab.frontends import tflite as front

    monkeypatch.setitem(sys.modules, "tflite", None)          # the 'tflite' package absent
    try:
        s = front.schema()
    except InputError:
        s = None
    if s is not None:                                        # LiteRT's copy of the schema reads it alike
        assert analyze(path("net")).totals["macs"] == 106_656
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.schema_py_generated", None)
    _bad(capsys, [path("net")], "pip install 'costlab[tflite]'", tmp_path)


def test_module_paths_from_tensor_names():
    from costlab.frontends.tflite_build import module_of

    name = ("pkg.Net/torch.nn.modules.container.Sequential_features/pkg.Block_3/torch.nn.modules.batchnorm.BatchNorm2d_1;;"
            "pkg.Net/torch.nn.modules.container.Sequential_features/pkg.Block_3/torch.nn.modules.conv.Conv2d_conv_dw;1")
    assert module_of(name) == ("features.3.conv_dw", {"features": "Sequential", "features.3": "Block",
                                                      "features.3.conv_dw": "Conv2d"})
    assert module_of("serving_default_output_0_output") == ("", {})
    # a private class: its leading underscore is the class name's, not the separator
    assert module_of("pkg._Micro/pkg._LRN_body/torch.nn.modules.normalization.LocalResponseNorm_lrn;7") == (
        "body.lrn", {"body": "_LRN", "body.lrn": "LocalResponseNorm"})
    assert module_of("pkg.Net;3") == ("", {})
    # a fully-connected with a fused ReLU names both modules: the MAC op is the Linear's, as traced
    fused = "pkg.Net/torch.nn.modules.linear.Linear_fc1;;pkg.Net/torch.nn.modules.activation.ReLU_relu1;"
    assert module_of(fused, mac=True) == ("fc1", {"fc1": "Linear"})
    assert module_of(fused) == ("relu1", {"relu1": "ReLU"})


def _reduce_window(x_shape, out_shape, window, strides, body):
    """One STABLEHLO_REDUCE_WINDOW node built by hand (parsed-file dataclasses, no flatbuffer)."""
    from costlab.frontends.tflite import Op, Tensor, TfliteModel
    from costlab.frontends.tflite_build import Builder

    tensors = [Tensor("x", x_shape, x_shape, "float32", 0, False),
               Tensor("init", (), (), "float32", 1, True),
               Tensor("y", out_shape, out_shape, "float32", 0, False)]
    options = {"window_dimensions": list(window), "window_strides": list(strides),
               "base_dilations": [1] * len(window), "window_dilations": [1] * len(window),
               "window_padding": [0] * 2 * len(window), "body": list(body)}
    g = Builder(TfliteModel("hand.tflite", tensors, [Op("STABLEHLO_REDUCE_WINDOW", [0, 1], [2], options)],
                            [0], [2])).build()
    return g.nodes[0]


def test_reduce_window_counts_by_hand():
    from costlab import ops
    from costlab.ops.costs import count

    # LRN's window sum over channels of an (N, 1, C, H, W) view: avg_pool3d's kernel (5, 1, 1),
    # as in the trace; 8 x 6 x 6 outputs x 5 adds; reads 12x6x6, writes 8x6x6 (the init value is
    # an argument, not a tensor read)
    n = _reduce_window((1, 1, 12, 6, 6), (1, 1, 8, 6, 6), (1, 1, 5, 1, 1), (1, 1, 1, 1, 1), ["ADD"])
    assert n.op == "tflite.STABLEHLO_REDUCE_WINDOW.add" and n.kind == "avg_pool"
    assert n.args["kernel_size"] == [5, 1, 1] and n.args["stride"] == [1, 1, 1]
    c = count(n)
    assert (c["macs"], c["elem_ops"], c["mac_bytes"]) == (0, 8 * 36 * 5, 4 * (12 * 36 + 8 * 36))
    assert ops.category_of(n.op) == "pool_avg" and ops.label_of(n.kind) == "pool"
    # a 2x2 / 2 window max over H, W: max_pool's formula, 4 x 4 x 4 outputs x 4 compares
    for body in (["MAXIMUM"], ["STABLEHLO_MAXIMUM"], ["STABLEHLO_MINIMUM"]):
        n = _reduce_window((1, 4, 8, 8), (1, 4, 4, 4), (1, 1, 2, 2), (1, 1, 2, 2), body)
        assert n.kind == "max_pool" and n.args["kernel_size"] == [2, 2] and n.args["stride"] == [2, 2]
        assert count(n)["elem_ops"] == 64 * 4
    # a window over the batch dim too: the whole window, 2 x 3 x 4 x 4 outputs x 2
    n = _reduce_window((4, 3, 4, 4), (2, 3, 4, 4), (2, 1, 1, 1), (2, 1, 1, 1), ["STABLEHLO_ADD"])
    assert n.args["kernel_size"] == [2, 1, 1, 1] and count(n)["elem_ops"] == 96 * 2
    # a product, or a body of several ops: no formula, listed as unsupported (never 0)
    for body in (["MUL"], ["ADD", "MUL"], []):
        n = _reduce_window((1, 4, 8, 8), (1, 4, 4, 4), (1, 1, 2, 2), (1, 1, 2, 2), body)
        assert n.op == "tflite.STABLEHLO_REDUCE_WINDOW" and count(n) is None


def test_lrn_file_reads_the_reduce_window_and_is_its_trace():
    """litert-torch's LRN (tests/data/tflite/lrn.tflite): the window sum is read from the
    flatbuffer (StablehloReduceWindowOptions and its ADD body subgraph) and equals the trace's
    avg_pool3d; the file's only extra work is the MUL by 1/size that torch's average divides in."""
    f, t = analyze(path("lrn")), trace("lrn")
    assert f.unsupported == [] and f.totals["macs"] == t.totals["macs"] == 8 * 16 * 16 * 27
    node = next(n for n in f.graph.nodes if n.op.startswith("tflite.STABLEHLO_REDUCE_WINDOW"))
    assert node.op.endswith(".add") and node.args["kernel_size"] == [5, 1, 1]
    assert row(f, "lrn:pool")["elem_ops"] == row(t, "lrn:pool")["elem_ops"] == 8 * 16 * 16 * 5
    assert row(f, "lrn:pool")["mac_bytes"] == row(t, "lrn:pool")["mac_bytes"]
    assert f.totals["elem_ops"] - t.totals["elem_ops"] == 8 * 16 * 16      # the 1/size MUL
    assert {"conv", "lrn"} <= set(f.rollup(depth=1)["name"])               # module paths as the trace's
    assert "STABLEHLO_REDUCE_WINDOW of one ADD body" in f.conventions["trace"]


def test_a_file_without_operators_is_its_input():
    """A model whose output is its input (a concatenation of the input's own halves, which the
    converter removes): a file without operators is read, with nothing to count (the trace counts
    its cat as a copy: a difference in the model, not in the counting)."""
    f = analyze(path("same"))
    assert len(f.graph.nodes) == 0 and f.totals["macs"] == 0 and f.unsupported == []
