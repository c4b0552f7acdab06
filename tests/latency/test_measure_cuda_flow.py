"""The CUDA harness's control flow on a CPU machine: torch.cuda replaced by a fake whose
events tick a virtual clock, so time_sample / measure_cuda_samples run end to end (warm-up,
eager, host, graph capture and replay, capture failure, records, the time limit) without a
GPU. What the real driver does is not checked here; that the harness calls it as PyTorch
documents, and builds the records from what it measured, is."""
from __future__ import annotations

import contextlib

import pytest
import torch

from costlab.calibrate import measure_cuda as mc


class _Clock:
    ms = 0.0


class _Event:
    def __init__(self, enable_timing=False):
        assert enable_timing
        self.t = None

    def record(self, stream=None):
        self.t = _Clock.ms

    def synchronize(self):
        pass

    def elapsed_time(self, other):
        return other.t - self.t


class _Stream:
    def wait_stream(self, other):
        assert isinstance(other, _Stream)


class _Graph:
    captured: list = []

    def replay(self):
        for f in self.captured:
            f(graph=True)


@pytest.fixture
def fake_cuda(monkeypatch):
    calls = {"sync": 0, "capture": 0, "empty_cache": 0}
    cuda = torch.cuda

    def graph(g):
        @contextlib.contextmanager
        def cm():
            calls["capture"] += 1
            _Graph.captured = []
            _Capturing.on = True
            try:
                yield
            finally:
                _Capturing.on = False
        return cm()

    for name, value in {"synchronize": lambda *a: calls.__setitem__("sync", calls["sync"] + 1),
                        "Event": _Event, "CUDAGraph": _Graph, "Stream": lambda *a, **k: _Stream(),
                        "stream": lambda s: contextlib.nullcontext(),
                        "current_stream": lambda *a: _Stream(),
                        "graph": graph, "device": lambda d: contextlib.nullcontext(),
                        "empty_cache": lambda: calls.__setitem__("empty_cache", calls["empty_cache"] + 1)}.items():
        monkeypatch.setattr(cuda, name, value)
    return calls


class _Capturing:
    on = False


def _forward(eager_ms: float, graph_ms: float, fail_capture: bool = False):
    """A forward costing ``eager_ms`` of virtual GPU time, ``graph_ms`` when replayed."""
    def fwd(graph=False):
        if _Capturing.on:
            if fail_capture:
                raise RuntimeError("operation not permitted when stream is capturing\nmore")
            _Graph.captured.append(fwd)
            return
        _Clock.ms += graph_ms if graph else eager_ms
    return fwd


def test_time_sample_measures_three_clocks(fake_cuda):
    times, err = mc.time_sample(_forward(2.0, 0.5), repeats=5, warmup=2)
    assert err is None and fake_cuda["capture"] == 1
    assert times["eager"] == [2.0] * 5 and times["graph"] == [0.5] * 5
    assert len(times["host"]) == 5 and all(t >= 0 for t in times["host"])


def test_capture_failure_keeps_eager_and_host(fake_cuda):
    times, err = mc.time_sample(_forward(2.0, 0.5, fail_capture=True), repeats=3, warmup=1)
    assert times["graph"] == [] and err == "RuntimeError: operation not permitted when stream is capturing"
    rec = mc.sample_record("lenet5", (1, 1, 28, 28), times, err)
    assert rec["latency_ms"] == 2.0 and "graph_ms" not in rec and rec["graph_error"] == err


def test_measure_cuda_samples_builds_records_in_order_and_stops_at_the_limit(fake_cuda, monkeypatch):
    costs = {"lenet5": (2.0, 0.5), "squeezenet1_1": (3.0, 1.0)}
    monkeypatch.setattr(mc, "build_forward", lambda spec, shape, device: _forward(*costs[spec]))
    pairs = [("lenet5", (1, 1, 28, 28)), ("squeezenet1_1", (8, 3, 224, 224))]
    out = mc.measure_cuda_samples(pairs, torch.device("cuda"), repeats=3, warmup=1, progress=False)
    assert [s["spec"] for s in out] == ["lenet5", "squeezenet1_1"] and fake_cuda["empty_cache"] == 2
    assert out[1]["input_shape"] == [8, 3, 224, 224] and out[1]["graph_ms"] == 1.0 and out[1]["latency_ms"] == 3.0
    assert mc.noise_summary(out)["graph_failed"] == 0
    assert torch.is_grad_enabled()                         # grad mode restored
    assert mc.measure_cuda_samples(pairs, torch.device("cuda"), repeats=3, warmup=1, progress=False,
                                   time_limit_s=-1.0) == []
    with pytest.raises(mc.MeasureError, match="needs a CUDA device"):
        mc.measure_cuda_samples(pairs, torch.device("cpu"), progress=False)


def test_measure_profile_on_cuda_writes_a_valid_unfitted_gpu_profile(fake_cuda, monkeypatch):
    """``costlab profile --device cuda``'s path (measure_profile): device checks, machine
    description, samples with host and graph times, a profile the validator accepts."""
    import types

    from costlab.calibrate import measure
    from costlab.calibrate.gpu_profile import has_gpu_times
    from costlab.latency.profile import validate_profile

    props = types.SimpleNamespace(name="Fake H200", multi_processor_count=132, total_memory=141 * 2 ** 30,
                                  major=9, minor=0)
    for name, value in {"is_available": lambda: True, "current_device": lambda: 0, "device_count": lambda: 1,
                        "get_device_properties": lambda *a: props}.items():
        monkeypatch.setattr(torch.cuda, name, value)
    costs = {"lenet5": (2.0, 0.5), "micro_conv:cin=8,cout=8,k=1": (0.05, 0.01)}
    monkeypatch.setattr(mc, "build_forward", lambda spec, shape, device: _forward(*costs[spec]))
    d = measure.measure_profile("cuda", name="gpu-fake", items=[("lenet5", (1, 1, 28, 28)),
                                                               ("micro_conv:cin=8,cout=8,k=1", (1, 8, 14, 14))],
                                repeats=3, warmup=1, progress=False)
    assert d["device"].startswith("Fake H200 (132 SMs") and d["device_class"] == "gpu"
    assert [s["graph_ms"] for s in d["samples"]] == [0.5, 0.01] and has_gpu_times(d)
    assert d["provenance"]["machine"]["clock"] == "cuda_events+wall"
    validate_profile(d, label="gpu-fake")


def test_profile_command_on_cuda_says_how_noisy_each_clock_was(fake_cuda, monkeypatch, tmp_path, capsys):
    import types

    from costlab.cli import main

    props = types.SimpleNamespace(name="Fake H200", multi_processor_count=132, total_memory=141 * 2 ** 30,
                                  major=9, minor=0)
    for name, value in {"is_available": lambda: True, "current_device": lambda: 0, "device_count": lambda: 1,
                        "get_device_properties": lambda *a: props}.items():
        monkeypatch.setattr(torch.cuda, name, value)
    n = {"i": 0}

    def build(spec, shape, device):
        n["i"] += 1
        return _forward(1.0 + 0.001 * n["i"], 0.2, fail_capture=n["i"] == 2)

    monkeypatch.setattr(mc, "build_forward", build)
    out = tmp_path / "gpu-fake.json"
    code = main(["profile", "--device", "cuda", "--batch", "1", "--repeats", "3", "--warmup", "1", "--no-fit",
                 "--no-networks", "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 0, err
    line = next(ln for ln in err.splitlines() if ln.startswith("costlab: noise per clock:"))
    assert "eager median" in line and "host median" in line and "graph median" in line
    assert "capture failed for 1 sample (eager and host kept" in line and out.exists()
