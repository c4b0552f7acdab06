"""Formula tests: every registered op against hand-computed values."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

import costlab
from costlab import ops


def run(fn, *shapes, dtype="float32"):
    """Analyze a one-op module; returns the layers DataFrame."""

    class M(nn.Module):
        def forward(self, *xs):
            return fn(*xs)

    return costlab.analyze(M(), [list(s) for s in shapes], dtype=dtype).layers


def only(df, op_prefix=None):
    rows = df if op_prefix is None else df[df["op"].str.startswith(op_prefix)]
    assert len(rows) == 1, df[["name", "op"]]
    return rows.iloc[0]


def test_conv_dense_with_bias():
    conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
    r = only(costlab.analyze(conv, (2, 3, 16, 16)).layers)
    # out 2x8x8x8; each output: 3*3*3 MACs
    assert r["op"] == "conv3x3/s2"
    assert r["macs"] == 2 * 8 * 8 * 8 * 27
    assert r["flops"] == 2 * r["macs"]
    assert r["params"] == 8 * 27 + 8
    assert r["elem_ops"] == 2 * 8 * 8 * 8  # bias adds
    assert r["mac_bytes"] == 4 * (2 * 3 * 16 * 16 + 8 * 27 + 8 + 2 * 8 * 8 * 8)
    assert r["activations"] == 2 * 8 * 8 * 8


def test_conv_dilation_padding_groups_depthwise():
    dw = nn.Conv2d(16, 16, 3, padding=2, dilation=2, groups=16, bias=False)
    r = only(costlab.analyze(dw, (1, 16, 10, 10)).layers)
    assert r["op"] == "dwconv3x3"
    assert r["output_shape"] == [1, 16, 10, 10]
    assert r["macs"] == 16 * 10 * 10 * 9
    assert r["elem_ops"] == 0
    g = nn.Conv2d(12, 24, 1, groups=3, bias=False)
    r = only(costlab.analyze(g, (1, 12, 7, 7)).layers)
    assert r["op"] == "gconv1x1/g3"
    assert r["macs"] == 7 * 7 * 12 * 24 // 3
    assert r["params"] == 12 * 24 // 3


def test_conv_nonsquare_kernel_and_1d_3d():
    c = nn.Conv2d(4, 6, (1, 7), padding=(0, 3), bias=False)
    r = only(costlab.analyze(c, (1, 4, 5, 9)).layers)
    assert r["macs"] == 5 * 9 * 6 * 4 * 7
    c1 = nn.Conv1d(4, 6, 3, bias=False)
    r = only(costlab.analyze(c1, (2, 4, 10)).layers)
    assert r["macs"] == 2 * 8 * 6 * 4 * 3
    c3 = nn.Conv3d(2, 3, 3, bias=False)
    r = only(costlab.analyze(c3, (1, 2, 5, 5, 5)).layers)
    assert r["macs"] == 27 * 3 * 2 * 27


def test_conv_transpose():
    ct = nn.ConvTranspose2d(8, 4, 2, stride=2, bias=True)
    r = only(costlab.analyze(ct, (1, 8, 5, 5)).layers)
    assert r["op"] == "convT2x2/s2"
    assert r["output_shape"] == [1, 4, 10, 10]
    # each of the 8*5*5 input elements meets 4*2*2 weights
    assert r["macs"] == 8 * 5 * 5 * 4 * 4
    assert r["params"] == 8 * 4 * 4 + 4


def test_linear_matmul_bmm():
    r = only(costlab.analyze(nn.Linear(20, 30), (4, 20)).layers)
    assert (r["op"], r["macs"], r["elem_ops"], r["params"]) == ("linear", 4 * 20 * 30, 4 * 30, 630)
    r = only(run(torch.matmul, (5, 6), (6, 7)))
    assert r["macs"] == 5 * 6 * 7
    r = only(run(torch.bmm, (3, 5, 6), (3, 6, 7)))
    assert r["macs"] == 3 * 5 * 6 * 7
    # matmul of batched 3-D by 2-D (a linear without bias over tokens)
    df = run(torch.matmul, (2, 5, 6), (6, 7))
    assert int(df["macs"].sum()) == 2 * 5 * 6 * 7


def test_batchnorm_layernorm_groupnorm():
    bn = nn.BatchNorm2d(8)
    r = only(costlab.analyze(bn, (2, 8, 4, 4)).layers)
    assert r["op"] == "batch_norm" and r["elem_ops"] == 2 * 2 * 8 * 16 and r["params"] == 16
    rep = costlab.analyze(bn, (2, 8, 4, 4))
    assert rep.totals["buffers"] == 16  # running mean/var, apart from params
    ln = nn.LayerNorm(16)
    r = only(costlab.analyze(ln, (3, 16)).layers)
    assert r["op"] == "layer_norm" and r["elem_ops"] == 4 * 48 and r["params"] == 32
    gn = nn.GroupNorm(2, 8)
    r = only(costlab.analyze(gn, (1, 8, 3, 3)).layers)
    assert r["op"] == "group_norm" and r["elem_ops"] == 4 * 72


@pytest.mark.parametrize("act,label", [
    (nn.ReLU(), "relu"), (nn.ReLU6(), "relu6"), (nn.Hardswish(), "hardswish"),
    (nn.Hardsigmoid(), "hardsigmoid"), (nn.Sigmoid(), "sigmoid"), (nn.SiLU(), "silu"),
    (nn.GELU(), "gelu"), (nn.Tanh(), "tanh"), (nn.LeakyReLU(0.1), "leaky_relu"),
    (nn.ReLU(inplace=True), "relu"), (nn.Mish(), "mish"),
])
def test_activations(act, label):
    r = only(costlab.analyze(act, (2, 3, 4, 5)).layers)
    assert r["op"] == label
    assert r["elem_ops"] == 120 and r["macs"] == 0 and r["params"] == 0
    assert r["mac_bytes"] == 4 * 240
    assert r["activations"] == 120


def test_add_mul_broadcast_and_scalar():
    r = only(run(lambda a, b: a + b, (2, 8, 4, 4), (2, 8, 4, 4)))
    assert r["op"] == "add" and r["elem_ops"] == 256 and r["mac_bytes"] == 4 * 3 * 256
    r = only(run(lambda a, b: a * b, (2, 8, 4, 4), (2, 8, 1, 1)))  # SE-style broadcast
    assert r["op"] == "mul" and r["elem_ops"] == 256 and r["mac_bytes"] == 4 * (256 + 16 + 256)
    r = only(run(lambda a: a + 1, (10,)))
    assert r["elem_ops"] == 10 and r["mac_bytes"] == 80


def test_pooling():
    r = only(costlab.analyze(nn.MaxPool2d(3, 2, 1), (1, 4, 8, 8)).layers)
    assert r["op"] == "pool" and r["output_shape"] == [1, 4, 4, 4] and r["elem_ops"] == 64 * 9
    assert r["mac_bytes"] == 4 * (256 + 64)
    r = only(costlab.analyze(nn.AvgPool2d(2), (1, 4, 8, 8)).layers)
    assert r["elem_ops"] == 64 * 4
    r = only(costlab.analyze(nn.AdaptiveAvgPool2d(1), (1, 4, 8, 8)).layers)
    assert r["elem_ops"] == 256 and r["output_shape"] == [1, 4, 1, 1]
    r = only(costlab.analyze(nn.AdaptiveAvgPool2d(2), (1, 4, 8, 8)).layers)
    assert r["op"] == "adaptive_pool" and r["elem_ops"] == 256
    r = only(run(lambda x: x.mean((2, 3)), (1, 4, 8, 8)))
    assert r["op"] == "mean" and r["elem_ops"] == 256 and r["activations"] == 4


def test_cat_split_chunk_views_and_shuffle_copy():
    def f(x):
        a, b = x.chunk(2, dim=1)          # view
        c, d = torch.split(x, [3, 5], 1)  # view
        y = torch.cat([b, a], 1)          # copy
        n, ch, h, w = y.shape
        z = y.view(n, 2, ch // 2, h, w).transpose(1, 2).contiguous().view(n, ch, h, w)  # shuffle
        return z.flatten(1).reshape(n, -1).permute(1, 0)

    df = run(f, (1, 8, 4, 4))
    assert list(df["op"]) == ["cat", "copy"]
    cat, copy = df.iloc[0], df.iloc[1]
    assert cat["mac_bytes"] == 4 * (64 + 64 + 128) and cat["elem_ops"] == 0
    assert copy["mac_bytes"] == 4 * (128 + 128)
    rep = costlab.analyze(type("M", (nn.Module,), {"forward": lambda s, x: f(x)})(), (1, 8, 4, 4))
    kinds = [ops.kind_of(n.op) for n in rep.graph.nodes]
    assert "split" in kinds and "view" in kinds
    views = [n for n in rep.graph.nodes if n.is_view]
    assert views and all(ops.count(n)["mac_bytes"] == 0 for n in views)
    copies = [n for n in rep.graph.nodes if not n.is_view]
    assert len(copies) == 2


def test_dropout_free_in_eval_softmax_upsample():
    r = run(lambda x: F.dropout(x, 0.5, training=False), (4, 4))
    assert r.empty
    d = costlab.analyze(nn.Sequential(nn.Dropout(0.3), nn.Softmax(-1)), (4, 10)).layers
    assert list(d["op"]) == ["softmax"] and d.iloc[0]["elem_ops"] == 120
    r = only(run(lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), (1, 2, 3, 3)))
    assert r["op"] == "upsample" and r["elem_ops"] == 0 and r["mac_bytes"] == 4 * (18 + 72)
    r = only(run(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), (1, 2, 3, 3)))
    assert r["elem_ops"] == 4 * 72


def test_dtype_changes_bytes_only():
    conv = nn.Conv2d(8, 8, 1, bias=False)
    a = costlab.analyze(conv, (1, 8, 4, 4), dtype="float32").totals
    b = costlab.analyze(conv, (1, 8, 4, 4), dtype="float16").totals
    c = costlab.analyze(conv, (1, 8, 4, 4), dtype="int8").totals
    assert a["macs"] == b["macs"] == c["macs"]
    assert a["mac_bytes"] == 2 * b["mac_bytes"] == 4 * c["mac_bytes"]
    with pytest.raises(ValueError, match="dtype"):
        costlab.analyze(conv, (1, 8, 4, 4), dtype="float8")


def test_unsupported_goes_to_ledger():
    r = costlab.analyze(type("M", (nn.Module,), {"forward": lambda s, x: torch.lgamma(x)})(), (2, 5))
    assert r.unsupported == [{"op": "aten.lgamma.default", "count": 1}]
    assert r.layers.iloc[0]["op"].startswith("UNSUPPORTED")


@settings(max_examples=40, deadline=None)
@given(
    c_in_g=st.integers(1, 6), c_out_g=st.integers(1, 6), groups=st.integers(1, 4),
    k=st.sampled_from([1, 3, 5]), stride=st.integers(1, 3), pad=st.integers(0, 2),
    dil=st.integers(1, 2), hw=st.integers(5, 12), batch=st.integers(1, 3), bias=st.booleans(),
)
def test_conv_macs_property(c_in_g, c_out_g, groups, k, stride, pad, dil, hw, batch, bias):
    c_in, c_out = c_in_g * groups, c_out_g * groups
    if hw + 2 * pad - dil * (k - 1) - 1 < 0:
        return
    conv = nn.Conv2d(c_in, c_out, k, stride, pad, dil, groups, bias=bias)
    r = only(costlab.analyze(conv, (batch, c_in, hw, hw)).layers)
    ho = (hw + 2 * pad - dil * (k - 1) - 1) // stride + 1
    assert r["output_shape"] == [batch, c_out, ho, ho]
    assert r["macs"] == batch * ho * ho * c_out * (c_in // groups) * k * k
    assert r["params"] == c_out * (c_in // groups) * k * k + (c_out if bias else 0)


@settings(max_examples=60, deadline=None)
@given(c1=st.integers(1, 64), c2=st.integers(1, 64), h=st.integers(1, 16), w=st.integers(1, 16))
def test_g1_mac_lower_bound_property(c1, c2, h, w):
    conv = nn.Conv2d(c1, c2, 1, bias=False)
    r = only(costlab.analyze(conv, (1, c1, h, w)).layers)
    hw = h * w
    B = r["macs"]
    assert B == hw * c1 * c2
    mac_elems = r["mac_bytes"] / 4
    assert mac_elems == hw * (c1 + c2) + c1 * c2
    bound = 2 * math.sqrt(hw * B) + B / hw
    assert mac_elems >= bound - 1e-6 * bound
    if c1 == c2:
        assert mac_elems == pytest.approx(bound, rel=1e-12)
    else:
        assert mac_elems > bound * (1 + 1e-12)
