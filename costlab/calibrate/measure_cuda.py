"""Measuring a CUDA GPU: the eager, host-dispatch and CUDA-graph time of every sample.

``costlab profile --target cuda`` times each sample (a zoo spec at an input shape, built on
the GPU with random weights, eval mode, ``torch.no_grad``) three ways, after ``warmup``
untimed forwards, ``repeats`` times each:

* **eager** (the sample's ``latency_ms``): ``torch.cuda.synchronize()``, a CUDA event, one
  forward, a CUDA event, wait for it: the end-to-end eager latency, the gaps where the GPU
  waits for the host included;
* **host** (``host_ms``): ``synchronize()`` (the GPU idle), then the wall time
  (``time.perf_counter``) until the forward call returns, no synchronisation inside: the
  host's dispatch time (Python, dispatcher, driver), as long as the launch queue does not fill;
* **graph** (``graph_ms``): the forward captured once as a CUDA graph (two forwards on a
  side stream first, as PyTorch's documentation asks), then replays timed by CUDA events:
  the GPU's own time, the launch overhead removed. Capture fails for some models (an op
  that synchronises, CPU fallbacks, data-dependent shapes): such a sample keeps its eager
  and host times and records ``graph_error``.

Per clock the statistics are the median, p10 and p90 (nearest rank over the repeats) and
``noise = (p90 - p10) / median``; the sample's ``stats`` keeps them. This is the method of
the project's ``gpu_decomp.py`` (``costlab/data/latency/gpu_h200/gpu_decomp.py.txt``), which
measured the shipped H200 data. The statistics and record building are plain Python,
testable without a GPU; only :func:`time_sample` and :func:`measure_cuda_samples` need one.
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Sequence

import torch

from ..errors import MeasureError
from .grid import family_of, granularity

CLOCK_KEYS = ("eager", "host", "graph")


class CudaTimer:
    """Seconds for ``number`` back-to-back calls on a CUDA device, by CUDA events.

    ``synchronize`` first (nothing earlier in the stream is counted), an event before and
    after the calls on the current stream, then wait for the end event: the elapsed time
    covers every kernel the calls launched and the gaps between them.
    """

    name = "torch.cuda.Event"

    def __init__(self, device: torch.device):
        self.device = device

    def __call__(self, fn: Callable[[], Any], number: int) -> float:
        torch.cuda.synchronize(self.device)
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(number):
            fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3


# -- statistics and records (no GPU needed) ------------------------------------------------------------

def nearest_rank(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile by nearest rank: ``sorted(values)[min(n - 1, int(q * n))]``."""
    if not values:
        raise MeasureError("no timings to summarise")
    a = sorted(float(v) for v in values)
    return a[min(len(a) - 1, int(q * len(a)))]


def clock_stats(times_ms: Sequence[float]) -> dict:
    """median / p10 / p90 / noise of one clock's repeats (ms)."""
    med = float(statistics.median(times_ms))
    p10, p90 = nearest_rank(times_ms, 0.1), nearest_rank(times_ms, 0.9)
    return {"median_ms": med, "p10_ms": p10, "p90_ms": p90,
            "noise": (p90 - p10) / med if med > 0 else float("nan"), "repeats": len(times_ms)}


def sample_record(spec: str, input_shape: Sequence[int], times: dict, graph_error: str | None = None) -> dict:
    """A profile sample from one sample's timings: ``times`` maps eager / host / graph to
    the per-repeat ms (graph may be missing when capture failed: ``graph_error`` says why)."""
    for key in ("eager", "host"):
        if not times.get(key):
            raise MeasureError(f"{spec}: no {key} timings")
    st = {k: clock_stats(v) for k, v in times.items() if v}
    s = {"spec": spec, "input_shape": [int(x) for x in input_shape], "granularity": granularity(spec),
         "family": family_of(spec), "latency_ms": round(st["eager"]["median_ms"], 6),
         "host_ms": round(st["host"]["median_ms"], 6)}
    if "graph" in st:
        s["graph_ms"] = round(st["graph"]["median_ms"], 6)
    stats = {}
    for k in CLOCK_KEYS:
        if k in st:
            stats.update({f"{k}_p10_ms": round(st[k]["p10_ms"], 6), f"{k}_p90_ms": round(st[k]["p90_ms"], 6),
                          f"{k}_noise": round(st[k]["noise"], 4)})
    stats["repeats"] = int(st["eager"]["repeats"])
    s["stats"] = stats
    if graph_error is not None and "graph" not in st:
        s["graph_error"] = graph_error
    return s


def noise_summary(samples: Sequence[dict]) -> dict:
    """Median and 90th percentile over samples of each clock's (p90 - p10) / median; the
    top-level ``median`` / ``p90`` are the eager clock's (the samples' ``latency_ms``)."""
    out: dict[str, Any] = {"median": None, "p90": None,
                           "definition": "(p90 - p10) / median of the repeats, per sample and clock"}
    for k in CLOCK_KEYS:
        vals = sorted(s["stats"][f"{k}_noise"] for s in samples if f"{k}_noise" in s.get("stats", {}))
        if vals:
            out[k] = {"median": round(float(statistics.median(vals)), 4), "p90": round(nearest_rank(vals, 0.9), 4)}
    if "eager" in out:
        out["median"], out["p90"] = out["eager"]["median"], out["eager"]["p90"]
    out["graph_failed"] = sum(1 for s in samples if "graph_error" in s)
    return out


# -- timing on the GPU -------------------------------------------------------------------------------

def _event_ms(fn: Callable[[], Any]) -> float:
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    s.record()
    fn()
    e.record()
    e.synchronize()
    return s.elapsed_time(e)


def _graph_times(fwd: Callable[[], Any], repeats: int) -> tuple[list[float], str | None]:
    try:
        torch.cuda.synchronize()
        g, side = torch.cuda.CUDAGraph(), torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):
                fwd()
        torch.cuda.current_stream().wait_stream(side)
        with torch.cuda.graph(g):
            fwd()
        for _ in range(3):
            g.replay()
        out = [_event_ms(g.replay) for _ in range(repeats)]
        del g
        return out, None
    except Exception as exc:  # noqa: BLE001 - capture is best effort: keep eager and host
        try:
            torch.cuda.synchronize()
        except RuntimeError:
            pass
        return [], f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"


def time_sample(fwd: Callable[[], Any], repeats: int = 15, warmup: int = 3) -> tuple[dict, str | None]:
    """({"eager": [...], "host": [...], "graph": [...]}, graph_error) in ms for one forward."""
    for _ in range(warmup):
        fwd()
    eager = [_event_ms(fwd) for _ in range(repeats)]
    host = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        t = time.perf_counter()
        fwd()
        host.append((time.perf_counter() - t) * 1e3)
    torch.cuda.synchronize()
    graph, err = _graph_times(fwd, repeats)
    return {"eager": eager, "host": host, "graph": graph}, err


def build_forward(spec: str, input_shape: Sequence[int], device: torch.device) -> Callable[[], Any]:
    """Zoo ``spec`` on ``device`` (random weights, eval) and a ``randn`` input: its forward."""
    from ..spec import build_zoo

    model = build_zoo(spec, device=device).model.eval()
    x = torch.randn(tuple(int(d) for d in input_shape), device=device)

    def fwd():
        return model(x)

    return fwd


def measure_cuda_samples(pairs: Sequence[tuple[str, Sequence[int]]], device: torch.device, *, repeats: int = 15,
                         warmup: int = 3, progress: bool | Any = True, time_limit_s: float | None = None) -> list[dict]:
    """One profile sample per (spec, input_shape), in order (see the module docstring).
    ``time_limit_s``: stop before a sample that would start after it (the rest are left out)."""
    if device.type != "cuda":
        raise MeasureError(f"measure_cuda_samples needs a CUDA device, got {device}")
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(pairs), desc="profiling cuda samples", unit="sample", leave=False, dynamic_ncols=True,
                   disable=None)
    out, t0 = [], time.perf_counter()
    prev = torch.is_grad_enabled()
    torch.set_grad_enabled(False)
    try:
        with torch.cuda.device(device):
            for spec, shape in pairs:
                if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
                    break
                times, err = time_sample(build_forward(spec, shape, device), repeats, warmup)
                out.append(sample_record(spec, shape, times, err))
                torch.cuda.empty_cache()
                if bar is not None:
                    bar.update(1)
    finally:
        torch.set_grad_enabled(prev)
        if bar is not None:
            bar.close()
    return out


# -- describing the machine ---------------------------------------------------------------------------

def cuda_info(device: torch.device) -> dict:
    p = torch.cuda.get_device_properties(device)
    return {"gpu": p.name, "gpu_sms": int(p.multi_processor_count), "gpu_memory_gib": round(p.total_memory / 2 ** 30, 1),
            "gpu_capability": f"{p.major}.{p.minor}", "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(), "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
            "cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
            "matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32)}


def describe(info: dict) -> tuple[str, str]:
    """(device description, runtime) of a CUDA machine_info."""
    desc = f"{info['gpu']} ({info['gpu_sms']} SMs, {info['gpu_memory_gib']} GiB), host {info['cpu_model']}"
    tf32 = "TF32 convs on" if info["cudnn_allow_tf32"] else "TF32 off"
    runtime = (f"PyTorch {info['torch']} fp32, CUDA {info['cuda']}, cuDNN {info['cudnn']} "
               f"(benchmark={'on' if info['cudnn_benchmark'] else 'off'}, {tf32}); eager, host dispatch and CUDA-graph "
               "replay timed per sample")
    return desc, runtime


def method_text(n: int, repeats: int, warmup: int) -> str:
    return (f"costlab CUDA harness (costlab/calibrate/measure_cuda.py): {n} samples (ops, blocks, networks) built "
            f"from zoo specs with random weights, eval mode, torch.no_grad, randn input; {warmup} untimed forwards, "
            f"then {repeats} each of: eager (synchronize, CUDA events around one forward), host (wall time for the "
            "forward call to return, GPU idle at its start) and CUDA-graph replay (CUDA events); latency_ms = eager "
            "median, host_ms and graph_ms medians; p10/p90 by nearest rank in stats")
