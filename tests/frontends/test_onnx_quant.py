"""Quantized ONNX: QDQ graphs and the integer ops counted as int8 MACs with int8 bytes (operator
inputs from onnx/docs/Operators.md: QuantizeLinear, DequantizeLinear, QLinearConv, QLinearMatMul,
ConvInteger, MatMulInteger)."""
from __future__ import annotations

import numpy as np

import costlab

from .onnx_graphs import TensorProto, helper, init, model, save

I8, U8 = TensorProto.INT8, TensorProto.UINT8


def q(name):   # scale and zero point initializers
    return [init(f"{name}_s", [], value=0.05), init(f"{name}_z", [], dtype=np.int8, value=0)]


def test_qdq_conv_is_an_int8_conv(tmp_path):
    """x -> Q -> DQ -> Conv(DQ(w int8), DQ(b int32)) -> Relu -> Q -> DQ -> y: a runtime runs one
    int8 conv (QLinearConv) and one int8 relu; the input's Q and the output's DQ are kernels."""
    nodes = [helper.make_node("QuantizeLinear", ["x", "x_s", "x_z"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "x_s", "x_z"], ["xd"]),
             helper.make_node("DequantizeLinear", ["w", "w_s", "w_z"], ["wd"]),
             helper.make_node("DequantizeLinear", ["b", "b_s"], ["bd"]),
             helper.make_node("Conv", ["xd", "wd", "bd"], ["c"], pads=[1, 1, 1, 1], name="/conv/Conv"),
             helper.make_node("QuantizeLinear", ["c", "c_s", "c_z"], ["cq"]),
             helper.make_node("DequantizeLinear", ["cq", "c_s", "c_z"], ["cd"]),
             helper.make_node("Relu", ["cd"], ["r"], name="/relu/Relu"),
             helper.make_node("QuantizeLinear", ["r", "c_s", "c_z"], ["rq"]),
             helper.make_node("DequantizeLinear", ["rq", "c_s", "c_z"], ["y"])]
    inits = [init("w", [8, 4, 3, 3], dtype=np.int8, value=np.ones(288)), init("b", [8], dtype=np.int32, value=np.ones(8)),
             init("b_s", [], value=0.01)] + q("x") + q("w") + q("c")
    m = model(nodes, [("x", [1, 4, 8, 8])], [("y", [1, 8, 8, 8])], inits)
    rep = costlab.analyze(save(m, tmp_path / "qdq.onnx"))
    r = rep.layers.reset_index(drop=True)
    assert list(r["op"]) == ["quantize", "conv3x3", "relu", "quantize"]
    conv = r.iloc[1]
    assert conv["macs"] == 64 * 288
    assert conv["mac_bytes"] == 256 * 1 + 288 * 1 + 8 * 4 + 512 * 1     # int8 x, int8 w, int32 bias, int8 y
    assert r.iloc[2]["mac_bytes"] == 512 + 512                           # int8 relu
    assert r.iloc[0]["mac_bytes"] == 256 * 4 + 256                       # float in, int8 out
    assert rep.totals["params"] == 288 + 8                               # scales and zero points are not params
    assert rep.sections["quantized"].data["int8_layers"] == ["conv"]


def test_qlinear_and_integer_ops(tmp_path):
    nodes = [helper.make_node("QLinearConv", ["x", "x_s", "x_z", "w", "w_s", "w_z", "y_s", "y_z"], ["c"],
                              kernel_shape=[1, 1], name="/qconv/QLinearConv"),
             helper.make_node("Reshape", ["c", "shape"], ["f"]),
             helper.make_node("QLinearMatMul", ["f", "y_s", "y_z", "m", "w_s", "w_z", "y_s", "y_z"], ["mm"]),
             helper.make_node("MatMulInteger", ["mm", "m2"], ["mi"]),
             helper.make_node("ConvInteger", ["x", "w"], ["ci"])]
    inits = [init("w", [8, 4, 1, 1], dtype=np.int8, value=np.ones(32)), init("m", [8, 5], dtype=np.int8, value=np.ones(40)),
             init("m2", [5, 3], dtype=np.int8, value=np.ones(15)),
             helper.make_tensor("shape", TensorProto.INT64, [2], [16, 8])] + \
        [init(n, [], value=0.1) for n in ("x_s", "w_s", "y_s")] + \
        [init(n, [], dtype=np.int8, value=0) for n in ("x_z", "w_z", "y_z")]
    m = model(nodes, [("x", [1, 4, 4, 4], I8)], [("mi", [16, 3], TensorProto.INT32), ("ci", [1, 8, 4, 4], TensorProto.INT32)],
              inits)
    rep = costlab.analyze(save(m, tmp_path / "q.onnx"))
    r = rep.layers.reset_index(drop=True)
    assert list(r["macs"]) == [16 * 32, 16 * 8 * 5, 16 * 5 * 3, 16 * 32]
    assert r["mac_bytes"][0] == 64 + 32 + 128                # all int8
    assert r["mac_bytes"][2] == 16 * 5 + 15 + 16 * 3 * 4      # int8 in, int32 out
    assert r["mac_bytes"][3] == 64 + 32 + 128 * 4
    assert rep.totals["params"] == 32 + 40 + 15               # the Reshape target is a shape, not a param
    assert len(rep.sections["quantized"].data["int8_layers"]) == 4


def test_dynamic_quantize_linear_is_counted(tmp_path):
    """ONNX Runtime's quantize_dynamic puts a DynamicQuantizeLinear before each int8 op: it was
    unsupported (counted as 0, a warning on every such file); now min + max + quantize per element."""
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
             helper.make_node("ConvInteger", ["xq", "w", "xz"], ["ci"])]
    inits = [init("w", [8, 4, 1, 1], dtype=np.uint8, value=np.ones(32))]
    m = model(nodes, [("x", [1, 4, 4, 4])], [("ci", [1, 8, 4, 4], TensorProto.INT32)], inits)
    rep = costlab.analyze(save(m, tmp_path / "dq.onnx"))
    r = rep.layers.reset_index(drop=True)
    assert not rep.unsupported
    assert list(r["op"]) == ["quantize", "conv1x1"] and r["elem_ops"][0] == 3 * 64
    assert r["mac_bytes"][0] >= 64 * 4 + 64                  # float in, uint8 out
