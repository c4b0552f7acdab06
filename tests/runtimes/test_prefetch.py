"""Runtime samples converted by worker processes before any is timed (costlab profile --jobs)."""
from __future__ import annotations

import importlib.util

import pytest

from costlab.runtimes import artifact, get_runtime
from costlab.runtimes.prefetch import missing, prefetch
from tests.cli.measurement_boards import run

needs_ort = pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="costlab[ort] not installed")

ITEMS = [("micro_conv:cin=8,cout=16,k=3,stride=1,groups=1", (1, 8, 16, 16)),
         ("micro_act:c=8,act=relu", (1, 8, 16, 16)),
         ("micro_pool:c=8,kind=max,k=2,stride=2,pad=0", (1, 8, 16, 16))]


@needs_ort
def test_prefetch_converts_what_is_not_cached_in_workers(tmp_path, monkeypatch):
    monkeypatch.setenv("COSTLAB_CACHE", str(tmp_path))
    rt = get_runtime("ort")
    assert len(missing(ITEMS, rt)) == 3
    assert prefetch(ITEMS, rt, jobs=1)["converted"] == 0 and len(missing(ITEMS, rt)) == 3   # one job: nothing here
    res = prefetch(ITEMS, rt, jobs=2)
    assert res == {"converted": 3, "failed": [], "jobs": 2}
    assert missing(ITEMS, rt) == []
    assert all(artifact(rt, s, shp).cached for s, shp in ITEMS)          # the timing finds them all
    assert prefetch(ITEMS, rt, jobs=2)["converted"] == 0                 # nothing left to do


def test_jobs_is_refused_for_the_cpu_harness(capsys):
    code, out, err = run(["profile", "--target", "cpu", "--jobs", "2"], capsys)
    assert code == 2 and "--jobs applies to --target ort|openvino|litert" in err and err.count("\n") == 1


def test_op_sample_correction_takes_the_call_cost_out_before_the_edge_share():
    """The edge share is a share of kernel time; the per-call cost is outside every kernel:
    latency = (median - call) x (1 - share). It was median x (1 - share) - call, which took
    call x share too much off and floored small ops (ORT's depthwise samples at 7x7-14x14 came out
    at 5% of their median, and the fit priced every depthwise conv 4x too cheap)."""
    from costlab.runtimes import profile as P

    row = {"spec": "micro_conv:cin=8,cout=8,k=3,stride=1,groups=8", "input_shape": [1, 8, 16, 16],
           "median_ms": 0.010, "p10_ms": 0.009, "p90_ms": 0.011, "runs": 5, "noise": 0.2, "convert_s": 0.1}
    smp = P._sample_of(row, 0.5, 0.004)
    assert smp["latency_ms"] == pytest.approx(0.003) and smp["stats"]["median_ms"] == pytest.approx(0.010)
    assert P._sample_of({**row, "median_ms": 0.0041}, 0.5, 0.004)["latency_ms"] == pytest.approx(0.000205)
    assert P._sample_of(row, None, 0.004)["latency_ms"] == pytest.approx(0.010)       # no per-op times: as measured


def test_module_digest_tells_apart_modules_that_differ_only_in_a_plain_attribute():
    """A conv then a function-valued activation attribute: ReLU and SiLU versions have the same
    class source, structure and weights; the cache must not hand one the other's artifact."""
    import torch
    import torch.nn as nn

    from costlab.runtimes.cache import module_digest

    class ConvAct(nn.Module):
        def __init__(self, act=torch.relu, scale=1.0):
            super().__init__()
            self.conv, self.act, self.scale = nn.Conv2d(2, 2, 1), act, scale

        def forward(self, x):
            return self.act(self.conv(x)) * self.scale

    def make(**kw):
        torch.manual_seed(0)
        return ConvAct(**kw)

    assert module_digest(make()) == module_digest(make())                       # stable
    assert module_digest(make()) != module_digest(make(act=torch.nn.functional.silu))
    assert module_digest(make()) != module_digest(make(scale=0.5))
