"""Ops of newer models that ``benchmarks/hf_auto_sweep.py`` found listed as unsupported (counted 0):
the gated delta rule's triangular solve (hf:qwen3_5, olmo_hybrid), deformable attention's grid
sample (hf:rt_detr), nn.Unfold / nn.Fold (hf:mobilevitv2), ``_is_all_true`` (hf:gemma3n_text) and
``torch.polar`` (hf:llama4_text's rotary embedding). Each count by hand."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from costlab.api import count


def _elem_ops_of(report, op: str) -> int:
    nodes = [n for n in report.graph.nodes if n.op.startswith(op)]
    assert nodes, [n.op for n in report.graph.nodes]
    return sum(int(v) for n, v in zip(report.graph.nodes, report.layers["elem_ops"]) if n.op.startswith(op))


class Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def test_triangular_solve_counts_half_the_triangle_per_output_element():
    r = count(Fn(lambda a, b: torch.linalg.solve_triangular(a, b, upper=False)), input_shape=[(2, 8, 8), (2, 8, 3)])
    assert not r.unsupported
    assert r.totals["macs"] == 2 * 3 * 8 * 9 // 2          # 2 batches x 3 columns x n(n+1)/2


@pytest.mark.parametrize("mode, taps", [("bilinear", 4), ("nearest", 0), ("bicubic", 16)])
def test_grid_sample_counts_its_taps(mode, taps):
    r = count(Fn(lambda x, g: F.grid_sample(x, g, mode=mode, align_corners=False)),
              input_shape=[(1, 4, 8, 8), (1, 5, 6, 2)])
    assert not r.unsupported
    assert _elem_ops_of(r, "aten.grid_sampler_2d") == taps * 4 * 5 * 6


def test_unfold_fold_all_and_polar_are_counted():
    def fn(x):
        cols = F.unfold(x, 2, stride=2)                 # 1 x 12 x 16: a gathering copy, no arithmetic
        y = F.fold(cols, (8, 8), 2, stride=2)            # adds the 192 column entries into place
        flag = torch.ops.aten._is_all_true(y > -1)       # one check per element
        return torch.polar(y.abs(), y), flag             # abs * cos, abs * sin per element

    r = count(Fn(fn), input_shape=(1, 3, 8, 8))
    assert not r.unsupported
    assert _elem_ops_of(r, "aten.im2col") == 0
    assert _elem_ops_of(r, "aten.col2im") == 192
    assert _elem_ops_of(r, "aten._is_all_true") == 192
    assert _elem_ops_of(r, "aten.polar") == 2 * 192


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_weight_norm_counts_three_ops_per_weight_element():
    lin = torch.nn.utils.weight_norm(nn.Linear(6, 4))
    r = count(lin, input_shape=(1, 6))
    assert not r.unsupported
    assert _elem_ops_of(r, "aten._weight_norm_interface") == 3 * 4 * 6
