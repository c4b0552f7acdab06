"""Every mapped ONNX op on a graph built by hand, its counts worked out by hand here.

Formulas (costlab.ops): conv MACs = N x output positions x weight elements (transposed: input
positions x weight elements); Gemm M K N (+ one add per output with C); MatMul output elements x
K; Einsum one MAC per index combination; MAC bytes = (distinct tensors read + result) x 4 bytes.
ONNX operator semantics from onnx/docs/Operators.md (Conv, ConvTranspose, Gemm, MatMul, Resize,
Pad, Split, Einsum, Softmax)."""
from __future__ import annotations

import numpy as np
import pytest

import costlab
from costlab import ops

from .onnx_graphs import helper, init, ints, model, save

B4 = 4   # bytes per float32 element


def analyze(m, tmp_path, **kw):
    return costlab.analyze(save(m, tmp_path / "m.onnx"), **kw)


def rows(report):
    return report.layers.reset_index(drop=True)


def test_grouped_and_depthwise_conv(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "wg"], ["g"], group=2, pads=[1, 1, 1, 1], kernel_shape=[3, 3], name="/g/Conv"),
             helper.make_node("Conv", ["g", "wd", "bd"], ["y"], group=16, strides=[2, 2], pads=[1, 1, 1, 1],
                              name="/d/Conv")]
    m = model(nodes, [("x", [1, 8, 10, 10])], [("y", [1, 16, 5, 5])],
              [init("wg", [16, 4, 3, 3]), init("wd", [16, 1, 3, 3]), init("bd", [16])])
    r = rows(analyze(m, tmp_path))
    # grouped: 100 positions x 576 weights; depthwise stride 2: 25 positions x 144 weights, bias 1/output
    assert list(r["macs"]) == [100 * 16 * 4 * 9, 25 * 16 * 9]
    assert list(r["elem_ops"]) == [0, 16 * 25]
    assert list(r["op"]) == ["gconv3x3/g2", "dwconv3x3/s2"]
    assert r["mac_bytes"][0] == (800 + 576 + 1600) * B4
    assert r["mac_bytes"][1] == (1600 + 144 + 16 + 400) * B4
    assert list(r["params"]) == [576, 160]
    assert list(r["module"]) == ["g", "d"]


def test_conv_transpose(tmp_path):
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], kernel_shape=[3, 3])
    m = model([node], [("x", [1, 4, 5, 5])], [("y", [1, 2, 11, 11])], [init("w", [4, 2, 3, 3])])
    r = rows(analyze(m, tmp_path))
    # every input element (4 x 25) is multiplied into 2 x 3 x 3 outputs
    assert r["macs"][0] == 4 * 25 * 2 * 9
    assert r["op"][0] == "convT3x3/s2"
    assert r["output_shape"][0] == [1, 2, 11, 11]


@pytest.mark.parametrize("trans_a,trans_b", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_gemm_trans(tmp_path, trans_a, trans_b):
    m_, k, n = 4, 6, 5
    a_shape = [k, m_] if trans_a else [m_, k]
    b_shape = [n, k] if trans_b else [k, n]
    node = helper.make_node("Gemm", ["a", "b", "c"], ["y"], transA=trans_a, transB=trans_b)
    m = model([node], [("a", a_shape)], [("y", [m_, n])], [init("b", b_shape), init("c", [n])])
    r = rows(analyze(m, tmp_path))
    assert r["macs"][0] == m_ * k * n
    assert r["elem_ops"][0] == m_ * n                     # beta * C: one add per output
    assert r["params"][0] == k * n + n
    assert r["mac_bytes"][0] == (m_ * k + k * n + n + m_ * n) * B4


@pytest.mark.parametrize("a,b,out", [([2, 3, 4, 5], [5, 6], [2, 3, 4, 6]),
                                     ([3, 1, 4, 5], [2, 5, 6], [3, 2, 4, 6]),
                                     ([5], [5, 6], [6])])
def test_matmul_broadcast(tmp_path, a, b, out):
    m = model([helper.make_node("MatMul", ["a", "b"], ["y"])], [("a", a), ("b", b)], [("y", out)])
    r = rows(analyze(m, tmp_path, input_shape=[a, b]))
    assert r["macs"][0] == int(np.prod(out)) * a[-1]
    assert r["output_shape"][0] == out


def test_resize_nearest_and_linear(tmp_path):
    nodes = [helper.make_node("Resize", ["x", "", "s"], ["n"], mode="nearest"),
             helper.make_node("Resize", ["x", "", "s"], ["l"], mode="linear"),
             helper.make_node("Add", ["n", "l"], ["y"])]
    m = model(nodes, [("x", [1, 3, 4, 4])], [("y", [1, 3, 8, 8])],
              [init("s", [4], value=[1, 1, 2, 2])])
    rep = analyze(m, tmp_path)
    r = rows(rep)
    assert list(r["elem_ops"][:2]) == [0, 4 * 192]        # nearest moves data; bilinear 4 per output
    assert list(r["mac_bytes"][:2]) == [(48 + 192) * B4] * 2   # the scales are no tensor read
    assert rep.totals["params"] == 0                         # nor a parameter
    assert [ops.category_of(op) for op in ("onnx.Resize.nearest", "onnx.Resize.linear")] == ["layout", "resample"]


def test_pad_split_concat(tmp_path):
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"]),
             helper.make_node("Split", ["p", "split"], ["a", "b", "c"], axis=1),
             helper.make_node("Concat", ["c", "a"], ["y"], axis=1)]
    m = model(nodes, [("x", [1, 6, 4, 4])], [("y", [1, 4, 6, 6])],
              [ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]), ints("split", [2, 2, 2])])
    rep = analyze(m, tmp_path)
    r = rows(rep)
    assert list(r["op"]) == ["pad", "cat"]                 # the split is a view: free, no row
    assert r["mac_bytes"][0] == (96 + 216) * B4
    assert r["mac_bytes"][1] == (72 + 72 + 144) * B4
    assert rep.totals["params"] == 0 and rep.totals["elem_ops"] == 0


def test_shuffle_and_split_transpose_is_a_view(tmp_path):
    """ShuffleNet v2's reshape(b*c/2, 2, hw) -> permute(1, 0, 2) -> reshape(2, b, c/2, h, w): the
    last reshape can view the permuted strides (ATen's computeStride), so nothing is copied, as
    in torch; the two halves are selects (Gather of a scalar index)."""
    nodes = [helper.make_node("Reshape", ["x", "s1"], ["r"]),
             helper.make_node("Transpose", ["r"], ["t"], perm=[1, 0, 2]),
             helper.make_node("Reshape", ["t", "s2"], ["v"]),
             helper.make_node("Gather", ["v", "one"], ["odd"], axis=0),
             helper.make_node("Relu", ["odd"], ["y"])]
    m = model(nodes, [("x", [1, 8, 4, 4])], [("y", [1, 4, 4, 4])],
              [ints("s1", [4, 2, 16]), ints("s2", [2, 1, 4, 4, 4]), ints("one", 1)])
    rep = analyze(m, tmp_path)
    assert list(rows(rep)["op"]) == ["relu"]
    assert rows(rep)["mac_bytes"][0] == 2 * 64 * B4


def test_channel_shuffle_reshape_transpose(tmp_path):
    nodes = [helper.make_node("Reshape", ["x", "s1"], ["r"]),
             helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1, 3]),
             helper.make_node("Reshape", ["t", "s2"], ["y"])]
    m = model(nodes, [("x", [1, 6, 4, 4])], [("y", [1, 6, 4, 4])], [ints("s1", [1, 2, 3, 16]), ints("s2", [1, 6, 4, 4])])
    rep = analyze(m, tmp_path)
    r = rows(rep)
    assert list(r["op"]) == ["copy"]                       # the transpose materialises (torch's contiguous)
    assert r["mac_bytes"][0] == 2 * 96 * B4
    assert rep.totals["params"] == 0


def test_einsum(tmp_path):
    node = helper.make_node("Einsum", ["a", "b"], ["y"], equation="bij,bjk->bik")
    m = model([node], [("a", [2, 3, 4]), ("b", [2, 4, 5])], [("y", [2, 3, 5])])
    assert rows(analyze(m, tmp_path, input_shape=[[2, 3, 4], [2, 4, 5]]))["macs"][0] == 2 * 3 * 4 * 5


def test_attention(tmp_path):
    """softmax(Q K^T / sqrt(E)) V, B=1, H=2, L=4, E=8."""
    nodes = [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
             helper.make_node("MatMul", ["q", "kt"], ["s"]),
             helper.make_node("Constant", [], ["scale"], value=helper.make_tensor("v", 1, [], [8 ** -0.5])),
             helper.make_node("Mul", ["s", "scale"], ["ss"]),
             helper.make_node("Softmax", ["ss"], ["a"], axis=-1),
             helper.make_node("MatMul", ["a", "v"], ["y"])]
    shape = [1, 2, 4, 8]
    m = model(nodes, [("q", shape), ("k", shape), ("v", shape)], [("y", shape)])
    rep = analyze(m, tmp_path, input_shape=[shape] * 3)
    r = rows(rep)
    # K's transpose is torch's k.transpose(-2, -1): a view the matmul reads (no copy)
    assert list(r["op"]) == ["matmul", "mul", "softmax", "matmul"]
    assert rep.totals["macs"] == 2 * 4 * 4 * 8 + 2 * 4 * 8 * 4
    assert list(r["elem_ops"]) == [0, 32, 3 * 32, 0]
    assert r["mac_bytes"][0] == (64 + 64 + 32) * B4
    assert r["mac_bytes"][1] == 2 * 32 * B4                # the scalar is an argument, not a tensor read


def test_norms_activations_pools(tmp_path):
    c = 4
    nodes = [helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["bn"]),
             helper.make_node("Clip", ["bn", "lo", "hi"], ["r6"]),
             helper.make_node("MaxPool", ["r6"], ["mp"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("AveragePool", ["mp"], ["ap"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("GlobalAveragePool", ["ap"], ["gp"]),
             helper.make_node("Flatten", ["gp"], ["f"]),
             helper.make_node("LayerNormalization", ["f", "lg", "lb"], ["y"], axis=-1)]
    m = model(nodes, [("x", [1, c, 8, 8])], [("y", [1, c])],
              [init(n, [c]) for n in "gbmv"] + [init("lo", [], value=0.0), init("hi", [], value=6.0),
                                                 init("lg", [c]), init("lb", [c])])
    rep = analyze(m, tmp_path)
    r = rows(rep)
    assert list(r["op"]) == ["batch_norm", "relu6", "pool", "pool", "adaptive_pool", "layer_norm"]
    assert list(r["elem_ops"]) == [2 * 256, 256, 64 * 4, 64 * 9, 64, 4 * 4]
    assert rep.totals["params"] == 6 * c                   # Clip's bounds are no parameters


def test_shared_and_deduplicated_initializers_count_once(tmp_path):
    """Two convs reading one weight, and a third reading it through the legacy exporter's Identity."""
    nodes = [helper.make_node("Identity", ["w"], ["w_alias"]),
             helper.make_node("Conv", ["x", "w"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["a", "w"], ["b"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["b", "w_alias"], ["y"], pads=[1, 1, 1, 1])]
    m = model(nodes, [("x", [1, 4, 6, 6])], [("y", [1, 4, 6, 6])], [init("w", [4, 4, 3, 3])])
    rep = analyze(m, tmp_path)
    assert rep.totals["params"] == 144
    assert list(rows(rep)["params"]) == [144, 0, 0]
    assert rep.totals["macs"] == 3 * 36 * 144


def test_embedding_gather_and_select(tmp_path):
    nodes = [helper.make_node("Gather", ["table", "ids"], ["e"]),
             helper.make_node("Constant", [], ["zero"], value=helper.make_tensor("z", 7, [], [0])),
             helper.make_node("Gather", ["e", "zero"], ["y"], axis=1)]
    m = model(nodes, [("ids", [1, 5], 7)], [("y", [1, 16])], [init("table", [100, 16])])
    rep = analyze(m, tmp_path)
    r = rows(rep)
    assert list(r["op"]) == ["gather"]                     # x[:, 0] is a select: a free view
    assert r["mac_bytes"][0] == 5 * 16 * B4 + 5 * 8 + 5 * 16 * B4   # rows read, int64 ids, result
    assert rep.totals["params"] == 1600


def test_unsupported_op_is_listed_not_zero(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Hardmax", ["r"], ["y"])]
    m = model(nodes, [("x", [2, 10])], [("y", [2, 10])])
    rep = analyze(m, tmp_path)
    assert rep.unsupported == [{"op": "onnx.Hardmax", "count": 1}]
    assert "UNSUPPORTED onnx.Hardmax" in list(rows(rep)["op"])


def test_every_registered_onnx_name_is_a_known_category():
    names = {n: s for n, s in ops.registered().items() if n.startswith("onnx.")}
    assert len(names) > 100
    assert ops.kind_of("onnx.Conv") == ops.kind_of("aten.convolution.default") == "conv"
    assert ops.spec_of("onnx.MatMul").formula is ops.spec_of("aten.matmul").formula
    assert {s.category for s in names.values()} <= set(ops.CATEGORIES)


def test_transpose_view_rule_agrees_with_torch_view():
    """The ATen computeStride port decides as torch does: x.permute(p).view(s) works exactly when
    the rule says 'view' (random shapes, permutations and regroupings)."""
    import itertools

    import torch

    from costlab.frontends.onnx_views import transpose_is_view

    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(200):
        shape = [int(d) for d in rng.integers(1, 4, size=int(rng.integers(2, 5)))]
        perm = [int(p) for p in rng.permutation(len(shape))]
        permuted = [shape[p] for p in perm]
        cut = sorted({int(c) for c in rng.integers(1, len(permuted), size=2)})
        groups = [permuted[a:b] for a, b in itertools.pairwise([0] + cut + [len(permuted)])]
        new = [int(np.prod(g)) for g in groups if g]
        try:
            torch.zeros(shape).permute(perm).view(new)
            viewable = True
        except RuntimeError:
            viewable = False
        assert transpose_is_view(shape, perm, [new]) == viewable, (shape, perm, new)
        checked += 1
    assert checked == 200


@pytest.mark.parametrize("op, gates, dirs", [("LSTM", 4, 1), ("GRU", 3, 2), ("RNN", 1, 1)])
def test_recurrent_ops(tmp_path, op, gates, dirs):
    """X (T=5, B=2, I=6), hidden 4: every step applies W (G*H x I) and R (G*H x H) per direction
    (was: unsupported, counted as 0 with a warning)."""
    t, b, i, h = 5, 2, 6, 4
    extra = {"direction": "bidirectional"} if dirs == 2 else {}
    nodes = [helper.make_node(op, ["x", "w", "r", "bias"], ["y"], hidden_size=h, name=f"/rnn/{op}", **extra)]
    m = model(nodes, [("x", [t, b, i])], [("y", [t, dirs, b, h])],
              [init("w", [dirs, gates * h, i]), init("r", [dirs, gates * h, h]), init("bias", [dirs, 2 * gates * h])])
    rep = analyze(m, tmp_path)
    assert not rep.unsupported
    r = rows(rep)
    assert list(r["op"]) == ["rnn"]
    assert r["macs"][0] == dirs * t * b * gates * h * (i + h)
    assert r["elem_ops"][0] > 0 and rep.totals["params"] == dirs * gates * h * (i + h + 2)


def test_an_exported_lstm_has_the_macs_of_the_traced_one(tmp_path):
    import torch

    lstm = torch.nn.LSTM(8, 16, batch_first=True, bidirectional=True).eval()
    path = str(tmp_path / "lstm.onnx")
    import contextlib
    import io
    import warnings

    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(lstm, (torch.zeros(1, 6, 8),), path, dynamo=False, opset_version=17)
    f, t = costlab.analyze(path).totals, costlab.analyze(lstm, input_shape=(1, 6, 8)).totals
    assert f["macs"] == t["macs"]
    # element ops too: the fused formula counts what the unfused trace counts (was 17 per step and
    # unit for an LSTM against the trace's 21)
    assert f["elem_ops"] == t["elem_ops"]
