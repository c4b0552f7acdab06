"""Measuring latency on the local device: a micro-benchmark harness.

``costlab profile`` and ``costlab validate --measure`` time zoo specs (micro ops, blocks,
whole networks) here. How a spec is timed:

* it is built on the device with its ordinary (random) initialisation, in eval mode, and
  run under ``torch.inference_mode()`` on a ``randn`` input of the sample's shape;
  denormals are flushed to zero, so random weights cannot hit the slow path;
* ``torch.set_num_threads(threads)`` is fixed for the whole run (restored afterwards)
  and recorded in the profile; on CPU with glibc, freed memory is kept by the process
  while measuring (:func:`keep_freed_memory`: otherwise a network's forward page-faults
  its activations in again on every call, which no single op timed alone shows);
* ``warmup`` untimed calls, then ``repeats`` timed repeats; the statistics over them are
  the median (a sample's ``latency_ms``), p10, p90 and ``noise = (p90 - p10) / median``.
  Specs slower than ``slow_ms`` (100 ms) get ``max(5, repeats // 2)`` repeats; the
  timer's own cost (an empty call) is subtracted;
* **ops and blocks** (``costlab profile``) are timed in chunks of 16 of similar size (sorted
  by the bytes they touch), in rounds: every timed call follows a call of a *different* op,
  as in a network, and a burst of load from another process spreads over the chunk; the
  input is written (untimed) just before each call. Checked on the leaf modules of
  MobileNet v2 x0.75, ShuffleNet v1 g=8, ResNet-34 and SqueezeNet 1.0: such per-op times
  summed to within 4% of the network's time (tight loops: 52-88%, cache-flushed: 110-170%);
* **networks** are timed back to back, four at a time taking turns (one untimed forward,
  then a third of the repeats), so a burst of load lands on several networks' repeats;
* CPU clock, one thread (default): ``time.thread_time``, the CPU time of the timing thread
  (on a shared machine it leaves out the time spent waiting for a core: here a network's
  wall-clock spread was 30-60% of its median, the thread clock's 4-9%); the wall clock is
  kept too (``wall_median_ms``). More threads, or ``clock='wall'``: ``time.perf_counter``;
* CUDA (``costlab profile --target cuda``): every sample's eager, host-dispatch and
  CUDA-graph times, see :mod:`costlab.calibrate.measure_cuda`. ``measure_networks`` /
  ``measure_specs`` on CUDA time back-to-back calls lasting >= 5 ms by CUDA events
  (end-to-end eager latency).

Nothing here asserts speeds; everything it measures is reported with its spread.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import math
import os
import platform
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch

from ..errors import MeasureError
from ..latency.machine import cpu_model
from .grid import NETWORK_SAMPLES, default_grid, default_input_shape, family_of, granularity  # noqa: F401
from .measure_cuda import CudaTimer, cuda_info, describe as describe_cuda, measure_cuda_samples
from .measure_cuda import method_text as cuda_method, noise_summary as cuda_noise

__all__ = [
    "MeasureError", "Case", "CpuTimer", "CudaTimer", "resolve_device", "measurement_context",
    "time_cases", "summarize", "make_runner", "measure_specs", "measure_networks", "default_grid",
    "NETWORK_SAMPLES", "machine_info", "measure_profile", "keep_freed_memory", "resolve_clock",
    "timer_overhead", "CLOCKS",
]


CUDA_MIN_REPEAT_MS = 5.0




# -- devices and timers ---------------------------------------------------------------------

def resolve_device(device: str | torch.device) -> torch.device:
    """'cpu', 'cuda' or 'cuda:N' -> torch.device; refuses a CUDA device that is not there."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise MeasureError(f"unknown device {device!r}; use cpu or cuda (cuda:N)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise MeasureError(
                f"--target {device}: CUDA is not available here (torch {torch.__version__}, "
                f"built {'with CUDA ' + torch.version.cuda if torch.version.cuda else 'without CUDA'}); "
                "use --target cpu")
        idx = dev.index if dev.index is not None else torch.cuda.current_device()
        if idx >= torch.cuda.device_count():
            raise MeasureError(f"--target {device}: only {torch.cuda.device_count()} CUDA device(s) here")
        return torch.device("cuda", idx)
    if dev.type != "cpu":
        raise MeasureError(f"unsupported device {device!r}; use cpu or cuda (cuda:N)")
    return dev


CLOCKS = ("auto", "thread", "wall")


class CpuTimer:
    """Seconds for ``number`` back-to-back calls on the CPU.

    ``clock='wall'``: ``time.perf_counter``. ``clock='thread'``: ``time.thread_time``, the
    CPU time of the calling thread. With ``torch.set_num_threads(1)`` every op runs in the
    calling thread, so on an idle machine the two agree; on a shared machine the thread
    clock leaves out the time the thread waited for a core (other processes), which the
    wall clock counts. Both are read on every call; ``last_wall`` keeps the wall seconds.
    """

    def __init__(self, clock: str = "wall"):
        if clock not in ("thread", "wall"):
            raise MeasureError(f"unknown clock {clock!r}; use thread or wall")
        self.clock = clock
        self.name = "time.thread_time" if clock == "thread" else "time.perf_counter"
        self.last_wall = 0.0

    def __call__(self, fn: Callable[[], Any], number: int) -> float:
        w0 = time.perf_counter()
        c0 = time.thread_time()
        for _ in range(number):
            fn()
        c = time.thread_time() - c0
        self.last_wall = time.perf_counter() - w0
        return c if self.clock == "thread" else self.last_wall


def resolve_clock(device: torch.device, threads: int | None, clock: str = "auto") -> str:
    """'auto' -> 'thread' for a one-thread CPU measurement, else 'wall' (CUDA: events)."""
    if clock not in CLOCKS:
        raise MeasureError(f"unknown clock {clock!r}; use {', '.join(CLOCKS)}")
    if device.type == "cuda":
        return "cuda_events"
    n = threads if threads is not None else torch.get_num_threads()
    if clock == "thread" and n != 1:
        raise MeasureError(f"clock 'thread' needs threads=1 (got {n}): worker threads' time would be missed; "
                           "use --clock wall")
    if clock == "auto":
        return "thread" if n == 1 else "wall"
    return clock


def default_timer(device: torch.device, clock: str = "wall"):
    return CudaTimer(device) if device.type == "cuda" else CpuTimer(clock)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3       # glibc mallopt parameters
_GLIBC_DEFAULT_THRESHOLD = 128 * 1024
_KEEP_BYTES = 1 << 30


def _glibc():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") else None
    except OSError:
        return None


@contextlib.contextmanager
def keep_freed_memory(enabled: bool = True):
    """Make glibc malloc keep freed memory instead of returning it to the OS.

    With glibc's defaults a network's forward trims the heap, so the next forward page-faults
    its activations in again (MobileNet v2 x0.75 here: 2,600 faults, 6 ms of system time per
    21 ms forward). Raising ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` (what jemalloc /
    tcmalloc give) removes them; afterwards both return to glibc's documented defaults
    (128 KiB). Yields whether the setting was applied (glibc only; a no-op elsewhere).
    """
    libc = _glibc() if enabled else None
    if libc is None:
        yield False
        return
    libc.mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES)
    libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES)
    try:
        yield True
    finally:
        libc.mallopt(_M_TRIM_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
        libc.mallopt(_M_MMAP_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)


@contextlib.contextmanager
def measurement_context(device: torch.device, threads: int | None, keep_memory: bool = True):
    """Fixed thread count, denormals flushed, freed memory kept (CPU, glibc), inference
    mode; restored afterwards. Yields whether freed memory is kept."""
    prev = torch.get_num_threads()
    if threads is not None:
        if threads < 1:
            raise MeasureError(f"threads must be >= 1 (got {threads})")
        torch.set_num_threads(int(threads))
    torch.set_flush_denormal(True)
    ctx = torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()
    try:
        with ctx, keep_freed_memory(keep_memory and device.type == "cpu") as kept, torch.inference_mode():
            yield kept
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(prev)


# -- the harness -------------------------------------------------------------------------------

@dataclass
class Case:
    """One thing to time. ``make()`` builds it (model + input) and returns the zero-argument
    callable to time; it is called only when the case's chunk starts, so memory stays
    bounded by one chunk."""

    key: str
    make: Callable[[], Callable[[], Any]]
    meta: dict = field(default_factory=dict)


def summarize(times_ms: Sequence[float]) -> dict:
    """median / p10 / p90 / noise of per-call times in ms."""
    a = np.asarray(times_ms, dtype=float)
    if a.size == 0:
        raise MeasureError("no timings to summarise")
    med = float(np.median(a))
    p10, p90 = (float(x) for x in np.percentile(a, [10, 90]))
    return {"median_ms": med, "p10_ms": p10, "p90_ms": p90,
            "noise": (p90 - p10) / med if med > 0 else float("nan"),
            "min_ms": float(a.min()), "repeats": int(a.size)}


def time_cases(cases: Sequence[Case], *, timer: Callable[[Callable[[], Any], int], float],
               warmup: int = 3, repeats: int = 21, min_repeat_ms: float = 0.0,
               max_number: int = 10_000, slow_ms: float = 100.0, chunk: int = 16, burst: int = 1,
               progress: bool | Any = True, desc: str = "measuring") -> list[dict]:
    """Time every case; returns one :func:`summarize` dict per case (same order), plus
    ``number`` (calls per repeat) and ``times_ms`` (per-call time of each repeat).

    ``timer(fn, number)`` returns seconds for ``number`` calls of ``fn``. Cases are taken
    ``chunk`` at a time; a chunk is built, warmed up, then timed in rounds: each round
    times every case of the chunk once, in an order rotated round by round. A repeat is
    ``number`` back-to-back calls, ``number`` sized from one timed call so a repeat lasts
    ``min_repeat_ms`` (0: one call, so every call follows a *different* case, as an op
    follows other ops in a network). The timer's own cost (timing an empty call) is
    subtracted. Cases slower than ``slow_ms`` get ``max(5, repeats // 2)`` repeats. A
    callable with a ``prepare`` attribute has it called, untimed, before each repeat.
    ``burst`` > 1: a case's turn in a round is one untimed call and then ``burst``
    repeats back to back (a warm, benchmark-loop regime that still spreads each case's
    repeats over several moments of the run).
    """
    if repeats < 1 or warmup < 0 or chunk < 1 or burst < 1:
        raise MeasureError("repeats, chunk and burst must be >= 1 and warmup >= 0")
    results: list[dict | None] = [None] * len(cases)
    dual = getattr(timer, "clock", "wall") not in ("wall", None) and hasattr(timer, "last_wall")
    overhead = timer_overhead(timer)
    bar = _progress(progress, total=len(cases) * repeats, desc=desc)
    try:
        for start in range(0, len(cases), chunk):
            idx = list(range(start, min(start + chunk, len(cases))))
            fns = {}
            number, reps, times, walls, preps = {}, {}, {}, {}, {}
            for i in idx:
                if bar is not None:
                    bar.set_postfix_str(cases[i].key[:40], refresh=False)
                fn = cases[i].make()
                for _ in range(warmup):
                    timer(fn, 1)
                t1 = max(timer(fn, 1) - overhead, 1e-9)
                number[i] = int(min(max_number, max(1, math.ceil(min_repeat_ms / 1e3 / t1))))
                reps[i] = repeats if t1 * 1e3 < slow_ms else min(repeats, max(5, repeats // 2))
                times[i], walls[i] = [], []
                fns[i] = fn
                preps[i] = getattr(fn, "prepare", None)
            for r in range(math.ceil(max(reps.values()) / burst)):
                k = r % len(idx)
                for i in idx[k:] + idx[:k]:          # rotated order, one turn each
                    todo = min(burst, reps[i] - len(times[i]))
                    if todo > 0 and burst > 1:
                        fns[i]()                      # untimed: back in cache after the others
                    for _ in range(todo):
                        if preps[i] is not None:
                            preps[i]()
                        t = timer(fns[i], number[i]) - overhead
                        times[i].append(max(t, 1e-9) / number[i] * 1e3)
                        if dual:
                            walls[i].append(timer.last_wall / number[i] * 1e3)
                        if bar is not None:
                            bar.update(1)
            for i in idx:
                st = summarize(times[i])
                st["number"] = number[i]
                st["times_ms"] = [round(t, 6) for t in times[i]]
                if dual:
                    w = summarize(walls[i])
                    st["wall_median_ms"], st["wall_noise"] = w["median_ms"], w["noise"]
                results[i] = st
                if bar is not None and reps[i] < repeats:
                    bar.update(repeats - reps[i])
            del fns
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
    finally:
        if bar is not None:
            bar.close()
    return results  # type: ignore[return-value]


def timer_overhead(timer, samples: int = 51) -> float:
    """Median seconds the timer reports for an empty call (subtracted from every repeat)."""
    def noop():
        return None

    ts = sorted(timer(noop, 1) for _ in range(samples))
    return max(0.0, ts[len(ts) // 2])


def _progress(progress, total: int, desc: str, unit: str = "rep"):
    if progress is False or progress is None:
        return None
    if progress is not True:
        return progress
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True, disable=None)


# -- building what is timed -------------------------------------------------------------------

def _shape(input_shape) -> tuple[int, ...]:
    return tuple(int(d) for d in input_shape)


def make_runner(spec: str, input_shape: Sequence[int], device: torch.device) -> Callable[[], Any]:
    """Build zoo ``spec`` on ``device`` (random weights, eval) with a ``randn`` input of
    ``input_shape``; return the zero-argument forward to time."""
    from ..spec import build_zoo

    resolved = build_zoo(spec, device=device)
    model = resolved.model.eval()
    with torch.inference_mode():
        x = torch.randn(_shape(input_shape), device=device)
        model(x)  # fails here, before timing, if the shape does not fit

    def run():
        return model(x)

    def prepare():
        # write the input, untimed, just before the call: in a network an op's input was
        # just produced by the op before it, so it sits in cache (dirty), not in memory
        x.add_(0.0)

    run.prepare = prepare  # type: ignore[attr-defined]
    return run


def _footprint(spec: str, input_shape) -> int:
    """Bytes a sample touches (its memory access cost: inputs, weights, outputs)."""
    from ..api import analyze

    try:
        return int(analyze(spec, input_shape=[_shape(input_shape)]).totals.get("mac_bytes", 0))
    except Exception:  # noqa: BLE001 - ordering only; a bad spec fails loudly when built
        return 0


def _normalize(items: Iterable) -> list[tuple[str, tuple[int, ...] | None]]:
    out = []
    for it in items:
        if isinstance(it, str):
            out.append((it, None))
        elif isinstance(it, dict):
            out.append((it["spec"], _shape(it["input_shape"]) if it.get("input_shape") else None))
        else:
            spec, shape = it
            out.append((spec, _shape(shape) if shape is not None else None))
    return out


def measure_specs(items: Iterable, *, device: str | torch.device = "cpu", batch: int = 1,
                  repeats: int = 21, warmup: int = 3, threads: int | None = 1,
                  min_repeat_ms: float | None = None, chunk: int = 16, progress: bool | Any = True,
                  timer=None, desc: str = "measuring", clock: str = "auto",
                  keep_memory: bool = True, burst: int = 1) -> list[dict]:
    """Time zoo specs on the local device.

    ``items``: spec strings (input = the entry's default shape at ``batch``), or
    ``(spec, input_shape)`` pairs, or dicts with ``spec`` / ``input_shape``.
    ``min_repeat_ms``: None = one call per repeat on CPU, >= 5 ms of back-to-back calls on
    CUDA (see :func:`time_cases`).
    ``clock``: 'auto' (CPU time of the timing thread when threads == 1, else wall clock;
    CUDA events on a GPU), 'thread' or 'wall'. ``keep_memory``: see :func:`keep_freed_memory`.
    Returns one dict per item: spec, input_shape, median_ms, p10_ms, p90_ms, noise,
    repeats, number (calls per repeat), device, threads, clock (and wall_median_ms,
    wall_noise when the thread clock was used).
    """
    dev = resolve_device(device)
    if min_repeat_ms is None:
        min_repeat_ms = CUDA_MIN_REPEAT_MS if dev.type == "cuda" else 0.0
    pairs = [(s, shape if shape is not None else default_input_shape(s, batch)) for s, shape in _normalize(items)]
    from ..zoo.registry import parse_spec

    for s, _ in pairs:       # fail on a bad spec before anything is timed
        parse_spec(s)
    with measurement_context(dev, threads, keep_memory) as kept:
        used_threads = torch.get_num_threads()
        used_clock = resolve_clock(dev, used_threads, clock)
        timer = timer or default_timer(dev, used_clock)
        cases = [Case(f"{s} {'x'.join(map(str, shp))}",
                      (lambda s=s, shp=shp: make_runner(s, shp, dev))) for s, shp in pairs]
        stats = time_cases(cases, timer=timer, warmup=warmup, repeats=repeats,
                           min_repeat_ms=min_repeat_ms, chunk=chunk, burst=burst, progress=progress,
                           desc=desc)
    rows = []
    for (s, shp), st in zip(pairs, stats):
        rows.append({"spec": s, "input_shape": list(shp), **{k: st[k] for k in
                     ("median_ms", "p10_ms", "p90_ms", "noise", "min_ms", "repeats", "number")},
                     "device": str(dev), "threads": used_threads, "clock": used_clock,
                     "keep_freed_memory": bool(kept),
                     **{k: st[k] for k in ("wall_median_ms", "wall_noise") if k in st}})
    return rows


NETWORK_CHUNK = 4


def _burst(repeats: int, turns: int = 3) -> int:
    return max(1, math.ceil(repeats / turns))


def measure_networks(specs: Iterable, *, device: str | torch.device = "cpu", batch: int = 1,
                     repeats: int = 21, threads: int | None = 1, warmup: int = 3,
                     progress: bool | Any = True, timer=None, clock: str = "auto",
                     keep_memory: bool = True) -> list[dict]:
    """Time zoo models end to end on the local device (for ``costlab validate --measure``).

    Forwards back to back, each timed, four networks taking turns (three turns each: one
    untimed forward + a third of the repeats). ``specs``: spec strings (default input at
    ``batch``) or ``(spec, input_shape)`` pairs; ``threads``: ``torch.set_num_threads``
    while measuring (``None`` leaves torch's). Returns :func:`measure_specs`'s rows (use the
    clock the profile records in provenance.machine.clock).
    """
    return measure_specs(specs, device=device, batch=batch, repeats=repeats, warmup=warmup,
                         threads=threads, chunk=NETWORK_CHUNK, burst=_burst(repeats), progress=progress,
                         timer=timer, clock=clock, keep_memory=keep_memory,
                         desc=f"timing networks ({resolve_device(device).type})")


# -- machine description ---------------------------------------------------------------------------

def machine_info(device: torch.device, threads: int) -> dict:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "torch": torch.__version__,
        "threads": int(threads),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
    }
    if device.type == "cuda":
        info.update(cuda_info(device))
    return info


def _describe(device: torch.device, info: dict) -> tuple[str, str, str]:
    """(device description, device_class, runtime)."""
    if device.type == "cuda":
        desc, runtime = describe_cuda(info)
        return desc, "gpu", runtime
    desc = f"{info['cpu_model']} ({info['logical_cpus']} logical CPUs), {info['platform']}"
    runtime = f"PyTorch {info['torch']} eager fp32 on CPU{' (oneDNN)' if info['mkldnn'] else ''}, {info['threads']} thread(s)"
    if info.get("keep_freed_memory"):
        runtime += ", glibc malloc keeping freed memory (M_MMAP/M_TRIM_THRESHOLD 1 GiB)"
    return desc, "cpu", runtime


# -- a whole profiling run ----------------------------------------------------------------------

def op_order(pairs: list, seed: int) -> tuple[list[int], list[int]]:
    """(order of the op and block samples, indices of the network samples): ops and blocks
    sorted by the bytes they touch and cut into chunks of 16, each chunk shuffled (seeded), so
    a small op is timed among small ops (a small network's working set stays in cache)."""
    nets = [i for i, (sp, _) in enumerate(pairs) if granularity(sp) == "network"]
    parts = [i for i in range(len(pairs)) if i not in set(nets)]
    size = {i: _footprint(*pairs[i]) for i in parts}
    parts.sort(key=lambda i: (size[i], i))
    rng = random.Random(seed)
    order: list[int] = []
    for k in range(0, len(parts), 16):
        block = parts[k:k + 16]
        rng.shuffle(block)
        order += block
    return order, nets


def _measure_rows(pairs: list, dev: torch.device, *, repeats: int, warmup: int, threads: int, min_repeat_ms: float,
                  progress, timer, clock: str, keep_memory: bool, seed: int) -> list[dict]:
    """Per pair (input order): the harness's row. Ops and blocks are sorted by the bytes they
    touch and cut into chunks of 16, each chunk shuffled (seeded): a small op is timed among
    small ops (a small network's working set stays in cache), a large one among large ones.
    Networks are timed back to back in turns, as measure_networks times them."""
    order, nets = op_order(pairs, seed)
    common = dict(device=dev, repeats=repeats, warmup=warmup, threads=threads, min_repeat_ms=min_repeat_ms,
                  progress=progress, timer=timer, clock=clock, keep_memory=keep_memory)
    rows = measure_specs([pairs[i] for i in order], chunk=16, desc=f"profiling {dev.type} ops", **common)
    if nets:
        rows += measure_specs([pairs[i] for i in nets], chunk=NETWORK_CHUNK, burst=_burst(repeats),
                              desc=f"profiling {dev.type} networks", **common)
        order += nets
    by_pos = dict(zip(order, rows))
    return [by_pos[i] for i in range(len(pairs))]


def _sample(r: dict) -> dict:
    return {"spec": r["spec"], "input_shape": r["input_shape"], "granularity": granularity(r["spec"]),
            "family": family_of(r["spec"]), "latency_ms": round(r["median_ms"], 6),
            "stats": {"median_ms": round(r["median_ms"], 6), "p10_ms": round(r["p10_ms"], 6),
                      "p90_ms": round(r["p90_ms"], 6), "repeats": int(r["repeats"]),
                      "calls_per_repeat": int(r["number"]),
                      **({"wall_median_ms": round(r["wall_median_ms"], 6)} if "wall_median_ms" in r else {})}}


def _noise(rows: list[dict]) -> dict:
    noise = np.array([r["noise"] for r in rows], dtype=float)
    wall = np.array([r.get("wall_noise", np.nan) for r in rows], dtype=float)
    return {"median": _r(np.nanmedian(noise)), "p90": _r(np.nanpercentile(noise, 90)),
            "definition": "(p90 - p10) / median of the repeats, per sample",
            **({"wall_clock_median": _r(np.nanmedian(wall)), "wall_clock_p90": _r(np.nanpercentile(wall, 90))}
               if np.isfinite(wall).any() else {})}


def _method(n: int, threads: int, warmup: int, repeats: int, min_repeat_ms: float, timer_name: str) -> str:
    return (f"costlab micro-benchmark harness: {n} samples (ops, blocks, networks) built from zoo "
            f"specs with random weights, eval mode, torch.inference_mode, randn input; torch.set_num_threads"
            f"({threads}); {warmup} warm-up calls; "
            + ("each repeat one call (the call before it: another spec), " if min_repeat_ms <= 0 else
               f"each repeat back-to-back calls lasting >= {min_repeat_ms:g} ms, ")
            + "timer overhead subtracted; "
            + f"{repeats} repeats (>= 100 ms specs: {max(5, repeats // 2)}); ops and blocks interleaved call by "
            f"call in chunks of 16 of similar size (input written just before each call), networks back to "
            f"back, 4 taking turns; timer {timer_name}; latency_ms = median per-call time")


_TIMERS = {"thread": "time.thread_time (CPU time of the timing thread; excludes time spent waiting for a core)",
           "wall": "time.perf_counter (wall clock)",
           "cuda_events": "torch.cuda.Event pairs after torch.cuda.synchronize (end-to-end GPU timeline)"}


def measure_profile(device: str | torch.device = "cpu", *, name: str = "cpu-local",
                    threads: int = 1, batches: Sequence[int] = (1,), grid: str = "default",
                    networks: bool = True, repeats: int = 21, warmup: int = 3,
                    min_repeat_ms: float | None = None, command: str | None = None,
                    progress: bool | Any = True, timer=None, items=None, seed: int = 0,
                    clock: str = "auto", keep_memory: bool = True) -> dict:
    """Measure a profile's samples on the local device; returns an *unfitted* profile dict
    (schema ``costlab.profile/1``; fit it with :func:`costlab.calibrate.fit.fit_profile`, or
    on CUDA with :func:`costlab.calibrate.gpu_profile.fit_gpu_profile`).

    On CUDA (no ``timer`` given) every sample gets its eager, host-dispatch and CUDA-graph
    times (:mod:`costlab.calibrate.measure_cuda`). ``items`` overrides the grid with explicit
    (spec, input_shape) pairs.
    """
    dev = resolve_device(device)
    if min_repeat_ms is None:
        min_repeat_ms = CUDA_MIN_REPEAT_MS if dev.type == "cuda" else 0.0
    pairs = list(items) if items is not None else default_grid(batches=batches, grid=grid, networks=networks)
    t0 = time.perf_counter()
    if dev.type == "cuda" and timer is None:
        samples = measure_cuda_samples([(s, _shape(shp)) for s, shp in pairs], dev, repeats=repeats,
                                       warmup=warmup, progress=progress)
        info = machine_info(dev, torch.get_num_threads())
        info["clock"], info["keep_freed_memory"] = "cuda_events+wall", False
        method, noise = cuda_method(len(samples), repeats, warmup), cuda_noise(samples)
    else:
        rows = _measure_rows(pairs, dev, repeats=repeats, warmup=warmup, threads=threads, min_repeat_ms=min_repeat_ms,
                             progress=progress, timer=timer, clock=clock, keep_memory=keep_memory, seed=seed)
        samples = [_sample(r) for r in rows]
        info = machine_info(dev, rows[0]["threads"] if rows else threads)
        info["clock"] = rows[0]["clock"] if rows else resolve_clock(dev, threads, clock)
        info["keep_freed_memory"] = bool(rows[0]["keep_freed_memory"]) if rows else False
        tname = getattr(timer, "name", type(timer).__name__) if timer is not None else _TIMERS[info["clock"]]
        method, noise = _method(len(samples), info["threads"], warmup, repeats, min_repeat_ms, tname), _noise(rows)
    desc, dclass, runtime = _describe(dev, info)
    return {
        "schema": "costlab.profile/1", "name": name, "device": desc, "device_class": dclass, "runtime": runtime,
        "threads": int(info["threads"]), "batch": int(batches[0]) if batches else 1, "dtype": "float32", "fusion": [],
        "provenance": {
            "source": f"measured on this machine ({info['cpu_model'] if dev.type == 'cpu' else info.get('gpu')})",
            "measured_by": "costlab profile", "date": _dt.date.today().isoformat(), "method": method,
            "command": command or f"costlab profile --target {dev.type}", "machine": info,
            "wall_s": round(time.perf_counter() - t0, 1), "noise": noise,
            # the row weight of the whole-network samples, chosen among these by the profile's own
            # leave-one-network-out (calibrate.fit._choose_network_weight): its op samples are timed
            # outside a network (issue 23: at weight 1 a profile here under-predicted every
            # held-out ShuffleNet by 10-18%)
            **({"fit_options": {"network_weights": [1, 5, 20]}} if dev.type == "cpu" else {}),
        },
        "samples": samples,
    }


def _r(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else round(float(x), 4)
