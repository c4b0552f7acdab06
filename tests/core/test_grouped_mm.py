"""``torch._grouped_mm``, the experts of transformers' mixture-of-experts models: its meta kernel
accepts bf16 only (torch 2.13), so a float32 MoE model failed on meta (19 of the 158 ``hf:`` types of
``benchmarks/hf_auto_sweep.py``). costlab makes the op's meta result itself and counts its MACs."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from costlab.api import count
from costlab.meta_kernels import fast_meta

OFFS = torch.tensor([4, 8, 12], dtype=torch.int32)      # 3 groups (experts)
# (mat_a, mat_b, offs, MACs by hand): each group's rows times its matrix
LAYOUTS = [
    ((12, 8), (3, 8, 16), OFFS, 12 * 8 * 16),            # 2D x 3D: 12 tokens sorted by expert, K=8, N=16
    ((3, 4, 8), (3, 8, 16), None, 3 * 4 * 8 * 16),       # 3D x 3D: a batched matmul
    ((3, 4, 8), (8, 12), OFFS, 3 * 4 * 8 * 4),           # 3D x 2D: each group's 4 of the 12 columns
    ((4, 12), (12, 8), OFFS, 4 * 12 * 8),                # 2D x 2D: K=12 split over 3 groups
]


@pytest.mark.parametrize("a, b, offs, macs", LAYOUTS)
def test_the_meta_result_has_the_shape_the_op_computes_on_cpu(a, b, offs, macs):
    x, w = torch.randn(a), torch.randn(b)
    real = torch._grouped_mm(x, w, offs=offs)
    meta = fast_meta("aten._grouped_mm.default", (x.to("meta"), w.to("meta"),
                                                  None if offs is None else offs.to("meta")))
    assert meta.shape == real.shape and meta.dtype == real.dtype == torch.float32


class Experts(nn.Module):
    """A float32 mixture of experts as transformers runs it: tokens sorted by expert, one
    grouped matmul against a weight per expert."""

    def __init__(self, a, b, offs):
        super().__init__()
        self.w = nn.Parameter(torch.randn(b))
        self.a, self.offs = a, offs

    def forward(self, x):
        offs = None if self.offs is None else self.offs.to(x.device)
        return torch._grouped_mm(x, self.w, offs=offs)


@pytest.mark.parametrize("a, b, offs, macs", LAYOUTS)
def test_a_float32_grouped_matmul_traces_on_meta_and_counts(a, b, offs, macs):
    with torch.device("meta"):
        on_meta = Experts(a, b, offs)
    r = count(on_meta, input_shape=a)             # raised: 'Expected inputs of BF16 type'
    assert r.graph.mode == "meta" and not r.unsupported
    assert r.totals["macs"] == macs
    user = Experts(a, b, offs)                    # a user's CPU model: the same count, still on meta
    r = count(user, input_shape=a)
    assert r.graph.mode != "real" and r.totals["macs"] == macs
    assert user.w.device.type == "cpu"


def test_the_routers_token_count_per_expert_is_counted():
    # transformers' MoE routers count tokens per expert with torch.histc: listed as unsupported before
    class Router(nn.Module):
        def forward(self, ids):
            return torch.histc(ids.float(), bins=8, min=0, max=7) + torch.bincount(ids.flatten(), minlength=8)

    r = count(Router(), input_shape="2x16:int64")
    assert not r.unsupported and r.totals["elem_ops"] >= 2 * 32
