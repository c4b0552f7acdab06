"""The memory pass on hand-built graphs, peaks computed by hand (int8: one byte per element)."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from costlab.api import count
from costlab.memory import build, memory_pass
from costlab.memory.arena import greedy_by_size, overlaps
from costlab.memory.order import best_order, simulate


def mem(model, shape, **kw):
    rep = count(model, shape, dtype="int8")
    return rep, memory_pass(rep, **kw)


class Chain(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 4, 1)

    def forward(self, x):
        return self.b(F.relu(self.a(x)))


def test_chain():
    # x 3x8x8 = 192; a 8x8x8 = 512; relu 512 (a new tensor); b 4x8x8 = 256
    _, m = mem(Chain(), (1, 3, 8, 8))
    assert [r["live_bytes"] for r in m.layers] == [192 + 512, 512 + 512, 512 + 256]
    assert m.peak_activation_bytes == 1024 and m.peak_layer.endswith(":relu")
    # layer by layer: the ReLU runs in place on a's output
    assert [r["layer_bytes"] for r in m.layers] == [704, 512, 768]
    assert m.layer_peak_bytes == 768
    assert m.weight_bytes == (8 * 3 * 9 + 8) + (4 * 8 + 4)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return x + self.relu(self.conv(x))


def test_residual_and_inplace_relu():
    # x 256 stays live until the add; relu_ reuses the conv's buffer
    _, m = mem(Residual(), (1, 4, 8, 8))
    assert [r["live_bytes"] for r in m.layers] == [512, 512, 768]
    assert m.peak_activation_bytes == 768
    # MCU: the add runs in place on an input nobody reads later
    assert m.layer_peak_bytes == 512


class Branches(nn.Module):
    """Two branches, traced interleaved: both 16-channel intermediates live at once."""

    def __init__(self):
        super().__init__()
        self.a1, self.b1 = nn.Conv2d(4, 16, 1), nn.Conv2d(4, 16, 1)
        self.a2, self.b2 = nn.Conv2d(16, 1, 1), nn.Conv2d(16, 1, 1)

    def forward(self, x):
        a, b = self.a1(x), self.b1(x)
        return torch.cat([self.a2(a), self.b2(b)], 1)


def test_concat_of_branches_and_best_order():
    # x 256, big 1024, small 64, cat 128
    _, m = mem(Branches(), (1, 4, 8, 8))
    assert [r["live_bytes"] for r in m.layers] == [1280, 2304, 2112, 1152, 256]
    assert m.peak_activation_bytes == 2304
    # a1, a2, b1, b2, cat: 1280, 1344, 1344, 1152, 256
    assert m.best_order_peak_bytes == 1344 and m.best_order_exact and m.best_order_changed
    assert m.arena_bytes >= m.peak_activation_bytes


class Views(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(3, 2, 1), nn.Linear(32, 10)

    def forward(self, x):
        y = self.conv(x)
        z = y.transpose(2, 3)                 # a view: aliases y
        return self.fc(z.flatten(1))          # flatten of a transposed tensor copies


def test_views_alias_their_base():
    rep, m = mem(Views(), (1, 3, 4, 4))
    ops_ = [r["op"] for r in m.layers]
    assert ops_[0].startswith("conv") and ops_[-1] == "linear"
    # conv: x 48 + y 32; the copy (if any) reads y through the transpose view: y 32 + copy 32
    live = [r["live_bytes"] for r in m.layers]
    assert live[0] == 80
    if len(live) == 3:
        assert live[1] == 64 and live[2] == 32 + 10
    else:
        assert live == [80, 42]


def test_traced_simulation_matches_profile():
    for model, shape in ((Branches(), (1, 4, 8, 8)), (Residual(), (1, 4, 8, 8)), (Chain(), (1, 3, 8, 8))):
        rep = count(model, shape, dtype="int8")
        lt = build(rep.graph, "int8")
        assert simulate(lt, list(range(lt.n))) == int(lt.live().max())
        b = best_order(lt)
        assert simulate(lt, b.order) == b.peak <= b.traced_peak


def test_arena_matches_tflite_example():
    # sizes and lifetimes; greedy by size: 100@0 (0..1), 80 placed beside it (1..2) at 100,
    # 60 (2..3) overlaps only the 80 -> the gap below it (0..80) fits: offset 0
    plan = greedy_by_size([100, 80, 60], [0, 1, 2], [1, 2, 3], align=1)
    assert plan.offsets == [0, 100, 0] and plan.arena == 180
    assert overlaps(plan, [0, 1, 2], [1, 2, 3]) == []
    assert greedy_by_size([10, 1], [0, 0], [0, 0]).sizes == [16, 16]   # TFLM rounds up to 16


def test_model_left_as_it_was():
    model = Residual()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    hooks = (len(model._forward_hooks), len(model.conv._forward_hooks))
    mem(model, (1, 4, 8, 8))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert (len(model._forward_hooks), len(model.conv._forward_hooks)) == hooks
    assert model.training


def test_no_steps():
    # an identity model: no op materialises anything, but its input (= its output) is held: 48 bytes,
    # as the arena says (the peak was 0 below an arena of 48, '0.0% above the live peak')
    rep, m = mem(nn.Identity(), (1, 3, 4, 4))
    assert m.layers == [] and m.peak_activation_bytes == m.layer_peak_bytes == m.best_order_peak_bytes == 48
    assert m.arena_bytes == 48 and m.peak_layer == "(model input)" and m.best_order_exact
