"""The user's module is exactly as it was after any analysis, whatever its forward did
(issue 22 item 1: a buffer replaced inside forward, as timm's convit does)."""
from __future__ import annotations

import torch
import torch.nn as nn

import costlab


class ReplacesBuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.register_buffer("cache", torch.zeros(1), persistent=False)

    def forward(self, x):
        if self.cache.shape[0] != x.shape[-1]:
            self.cache = torch.ones(x.shape[-1], device=self.lin.weight.device)
        return self.lin(x) + self.cache


def test_a_buffer_replaced_in_forward_is_put_back():
    m = ReplacesBuffer()
    before = m.cache
    r = costlab.analyze(m, input_shape=(2, 4))
    assert r.totals["macs"] == 2 * 4 * 4
    assert m.cache is before and m.cache.device.type == "cpu" and m.cache.shape == (1,)
    assert list(dict(m.named_buffers())) == ["cache"]
    out = m(torch.zeros(2, 4))                 # the model's next real forward works
    assert out.shape == (2, 4) and m.cache.shape == (4,)


def test_a_replaced_buffer_on_a_real_trace_is_put_back_too():
    m = ReplacesBuffer()
    before = m.cache
    costlab.analyze(m, input_shape=(2, 4), trace_mode="real")
    assert m.cache is before and torch.equal(m.cache, torch.zeros(1))
