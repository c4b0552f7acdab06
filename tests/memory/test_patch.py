"""Patch-based inference (MCUNetV2): extra MACs from receptive fields against a brute-force
count of the pixels each patch needs, and MobileNetV2's patch-based peak beside the paper's."""
from __future__ import annotations

import pytest
import torch.nn as nn

from costlab.api import count
from costlab.errors import InputError
from costlab.memory import build, memory_pass, patch_summary
from costlab.memory.patch import grid, patch_plan


class Small(nn.Module):
    def __init__(self, s0=2, k0=3):
        super().__init__()
        self.c0 = nn.Conv2d(3, 8, k0, s0, k0 // 2)
        self.relu = nn.ReLU()
        self.dw = nn.Conv2d(8, 8, 3, 1, 1, groups=8)
        self.pw = nn.Conv2d(8, 8, 1)
        self.c = nn.Conv2d(8, 8, 3, 1, 1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        y = self.pw(self.dw(self.relu(self.c0(x))))
        z = y + self.c(y)
        return self.fc(z.mean((2, 3)))


def _expand(pixels, k, s, p, h, w):
    return {(i * s - p + a, j * s - p + b) for i, j in pixels for a in range(k) for b in range(k)
            if 0 <= i * s - p + a < h and 0 <= j * s - p + b < w}


def brute_force_macs(net: Small, side: int, n: int) -> tuple[int, int]:
    """(MACs over all patches, MACs once) by sets of pixels, layer by layer."""
    k0, s0 = net.c0.kernel_size[0], net.c0.stride[0]
    h1 = (side + 2 * (k0 // 2) - k0) // s0 + 1
    per_px = {"c0": 3 * 8 * k0 * k0, "dw": 8 * 9, "pw": 64, "c": 64 * 9}
    total = 0
    for r0, r1, c0, c1 in grid(h1, h1, n):
        z = {(i, j) for i in range(r0, r1) for j in range(c0, c1)}
        y = z | _expand(z, 3, 1, 1, h1, h1)
        dw_out = y
        relu_out = _expand(dw_out, 3, 1, 1, h1, h1)
        total += len(z) * per_px["c"] + len(y) * per_px["pw"] + len(dw_out) * per_px["dw"] + len(relu_out) * per_px["c0"]
    return total, h1 * h1 * sum(per_px.values())


def _split_step(lt):
    return max(i for i, nid in enumerate(lt.steps) if lt.graph.nodes[nid].kind == "add")


@pytest.mark.parametrize("side,n,s0,k0", [(16, 2, 2, 3), (16, 4, 2, 3), (20, 3, 2, 3), (12, 3, 1, 5), (9, 2, 1, 3)])
def test_extra_macs_match_brute_force(side, n, s0, k0):
    net = Small(s0, k0)
    rep = count(net, (1, 3, side, side), dtype="int8")
    lt = build(rep.graph, "int8", "mcu")
    r = patch_plan(lt, _split_step(lt), n)
    patched, once = brute_force_macs(net, side, n)
    assert r.stage_macs == once
    assert r.extra_macs == patched - once > 0
    assert r.peak_bytes == max(r.stage_peak_bytes, r.rest_peak_bytes)


def test_one_patch_is_layer_by_layer():
    rep = count(Small(), (1, 3, 16, 16), dtype="int8")
    lt = build(rep.graph, "int8", "mcu")
    r = patch_plan(lt, _split_step(lt), 1)
    assert r.extra_macs == 0


def test_not_patchable_past_a_global_pool():
    rep = count(Small(), (1, 3, 16, 16), dtype="int8")
    lt = build(rep.graph, "int8", "mcu")
    with pytest.raises(InputError):
        patch_plan(lt, lt.n - 1, 2)


def test_mobilenet_v2_patch_based_beside_the_paper():
    """MCUNetV2 Fig. 1: 4x4 patches over the first blocks cut MobileNetV2's int8 peak from
    1,372 KB to 172 KB. costlab splits after features.4 (28x28x32)."""
    rep = count("mobilenet_v2", dtype="int8")
    m = memory_pass(rep, order=False)
    p = patch_summary(rep, m, 4, "features.4")
    assert p["peak_bytes"] < 256 * 1024 < m.layer_peak_bytes
    assert abs(p["peak_bytes"] / 1024 - 172) / 172 < 0.02
    assert 0 < p["overhead"] < 0.15
    assert p["split_bytes"] == 28 * 28 * 32
