"""Properties on random DAGs and the zoo: the live peak never above the planned arena, the
best order never worse than the traced one (and strictly better on Xception), MCUNet's figure."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings, strategies as st

from costlab.api import count
from costlab.memory import build, memory_pass
from costlab.memory.arena import greedy_by_size, overlaps
from costlab.memory.order import best_order, simulate

C = 4


class RandomDag(nn.Module):
    """ops: ('conv', i) conv1x1 of node i; ('add', i, j); ('relu_', i); ('cat', i, j) then a
    conv back to C channels; the output sums the last node and one earlier node."""

    def __init__(self, ops, extra_out):
        super().__init__()
        self.ops, self.extra_out = ops, extra_out
        self.convs = nn.ModuleList(nn.Conv2d(2 * C if op[0] == "cat" else C, C, 1) for op in ops)

    def forward(self, x):
        vals = [x]
        for conv, op in zip(self.convs, self.ops):
            if op[0] == "conv":
                vals.append(conv(vals[op[1]]))
            elif op[0] == "add":
                vals.append(vals[op[1]] + vals[op[2]])
            elif op[0] == "relu_":
                vals.append(torch.relu(vals[op[1]].clone()).relu_())
            else:
                vals.append(conv(torch.cat([vals[op[1]], vals[op[2]]], 1)))
        return vals[-1] + vals[self.extra_out], vals[len(vals) // 2]


@st.composite
def dags(draw):
    n = draw(st.integers(2, 9))
    ops = []
    for k in range(1, n + 1):
        kind = draw(st.sampled_from(["conv", "conv", "add", "relu_", "cat"]))
        i, j = draw(st.integers(0, k - 1)), draw(st.integers(0, k - 1))
        ops.append((kind, i) if kind in ("conv", "relu_") else (kind, i, j))
    return ops, draw(st.integers(0, n))


@settings(max_examples=25, deadline=None)
@given(dags(), st.integers(2, 6))
def test_random_dags(dag, side):
    ops, extra = dag
    rep = count(RandomDag(ops, extra), (1, C, side, side), dtype="int8")
    m = memory_pass(rep)
    assert m.peak_activation_bytes <= m.arena_bytes
    lt = build(rep.graph, "int8")
    assert simulate(lt, list(range(lt.n))) == m.peak_activation_bytes
    b = best_order(lt)
    assert simulate(lt, b.order) == b.peak == m.best_order_peak_bytes <= m.peak_activation_bytes
    assert b.lower_bound <= b.peak
    bufs = lt.buffers
    plan = greedy_by_size([x.size for x in bufs], [x.first for x in bufs], [x.last for x in bufs])
    assert overlaps(plan, [x.first for x in bufs], [x.last for x in bufs]) == []


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 500), st.integers(0, 20), st.integers(0, 8)), min_size=1, max_size=30))
def test_arena_never_below_live_peak(bufs):
    sizes = [s for s, _, _ in bufs]
    first = [f for _, f, _ in bufs]
    last = [f + d for _, f, d in bufs]
    plan = greedy_by_size(sizes, first, last, align=1)
    assert overlaps(plan, first, last) == []
    live = max(sum(s for s, f, l in zip(sizes, first, last) if f <= t <= l) for t in range(30))
    assert plan.arena >= live


def test_mobilenet_v2_mcunet_figure():
    """MCUNetV2 (Lin et al., NeurIPS 2021, Fig. 1): MobileNetV2's int8 peak 1,372 KB =
    112 x 112 x (16 + 96): block 2's 1x1 expansion, depthwise convs in place."""
    rep = count("mobilenet_v2", dtype="int8")
    m = memory_pass(rep)
    assert m.layer_peak_bytes == 112 * 112 * (16 + 96) == 1_404_928
    assert m.layer_peak_layer.startswith("features.2.conv.0.0")
    # without in-place depthwise: block 2's stride-2 depthwise conv, 112x112x96 + 56x56x96
    assert memory_pass(rep, inplace_depthwise=False).layer_peak_bytes == 112 * 112 * 96 + 56 * 56 * 96
    assert m.peak_activation_bytes <= m.arena_bytes
    assert m.weight_bytes == rep.totals["params"]
    assert memory_pass(count("mobilenet_v2"), order=False).weight_bytes == 4 * rep.totals["params"]


@pytest.mark.parametrize("name", ["googlenet", "shufflenet_v2", "nb201", "resnet18"])
def test_best_order_never_worse_on_branchy_zoo(name):
    rep = count(name, dtype="int8")
    lt = build(rep.graph, "int8")
    b = best_order(lt)
    assert simulate(lt, b.order) == b.peak <= b.traced_peak
    assert memory_pass(rep).arena_bytes >= b.traced_peak


def test_best_order_lowers_xception():
    rep = count("xception", dtype="int8")
    m = memory_pass(rep)
    assert m.best_order_peak_bytes < m.peak_activation_bytes
    lt = build(rep.graph, "int8")
    assert simulate(lt, best_order(lt).order) == m.best_order_peak_bytes
