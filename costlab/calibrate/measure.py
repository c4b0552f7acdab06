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
* **ops and blocks** (``costlab profile``) are timed in chunks of 16, in rounds: each
  round times every spec of the chunk once, so on CPU every timed call follows a call of
  a *different* op, as an op follows other ops in a network, and a burst of load from
  another process spreads over the chunk instead of biasing one spec. Chunks are cut
  from the samples sorted by the bytes they touch, so a small op is timed among small
  ops (a small network stays in cache), a large one among large ones; the input is
  written (untimed) just before each call, as the op before it in a network would have
  written it. Checked here on
  the leaf modules of MobileNet v2 x0.75, ShuffleNet v1 g=8, ResNet-34 and SqueezeNet
  1.0: such per-op times summed to within 4% of the network's time; the same ops timed
  in tight loops summed to 52-88% of it, cache-flushed single calls to 110-170%;
* **networks** are timed back to back, as a user's benchmark loop does, four at a time
  taking turns (one untimed forward, then a third of the repeats), so a burst of load
  lands on several networks' repeats, not on all of one network's;
* CPU clock, one thread (default): ``time.thread_time``, the CPU time of the timing
  thread. With ``torch.set_num_threads(1)`` every op runs in that thread, so on an idle
  machine it equals the wall clock; on a shared machine it leaves out the time the thread
  waited for a core (here the wall-clock spread of a network was 30-60% of its median,
  the thread clock's 4-9%). The wall clock is read too and kept (``wall_median_ms``).
  More threads, or ``clock='wall'``: ``time.perf_counter``;
* CUDA: a repeat is back-to-back calls lasting >= 5 ms (launches overlap kernels as in a
  network's forward), timed by a pair of ``torch.cuda.Event(enable_timing=True)`` after a
  ``torch.cuda.synchronize()`` (nothing earlier is counted), waiting on the end event
  (everything launched is counted: kernel time *and* the gaps where the GPU waits for the
  CPU, i.e. end-to-end eager latency).

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
from ..errors import MeasureError  # noqa: F401

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
                f"--device {device}: CUDA is not available here (torch {torch.__version__}, "
                f"built {'with CUDA ' + torch.version.cuda if torch.version.cuda else 'without CUDA'}); "
                "use --device cpu")
        idx = dev.index if dev.index is not None else torch.cuda.current_device()
        if idx >= torch.cuda.device_count():
            raise MeasureError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
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

    With glibc's defaults a network's forward frees activations in a pattern that trims
    the heap, so the next forward page-faults its activations in again: on this project's
    machine MobileNet v2 x0.75 took 2,600 page faults and 6 ms of system time per 21 ms
    forward, which a single op timed in a loop never sees. Raising ``M_MMAP_THRESHOLD`` and
    ``M_TRIM_THRESHOLD`` (what PyTorch's CPU performance guide gets from jemalloc/tcmalloc)
    removes them, for ops and networks alike. Afterwards both are set back to glibc's
    documented defaults (128 KiB; glibc's dynamic threshold adjustment stays off).
    Yields whether the setting was applied (glibc only; a no-op elsewhere).
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


def _progress(progress, total: int, desc: str):
    if progress is False or progress is None:
        return None
    if progress is not True:
        return progress
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rep", leave=False, dynamic_ncols=True)


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


def default_input_shape(spec: str, batch: int = 1, resolution: int | None = None) -> tuple[int, ...]:
    from ..zoo.registry import parse_spec

    entry, _ = parse_spec(spec)
    return (batch,) + tuple(entry.default_input_shape(resolution)[1:])


def _footprint(spec: str, input_shape) -> int:
    """Bytes a sample touches (its memory access cost: inputs, weights, outputs)."""
    from ..api import analyze

    try:
        return int(analyze(spec, input_shape=[_shape(input_shape)]).totals.get("mac_bytes", 0))
    except Exception:  # noqa: BLE001 - ordering only; a bad spec fails loudly when built
        return 0


def _family(spec: str) -> str:
    from ..zoo.registry import parse_spec

    return parse_spec(spec)[0].family


def _granularity(spec: str) -> str:
    from ..zoo.micro import granularity_of

    return granularity_of(spec)


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

    Each network is timed as a user's benchmark loop does, forwards back to back, each
    timed; to spread a burst of load from other processes, four networks at a time take
    turns: three turns each, a turn = one untimed forward + a third of the repeats.
    ``specs``: spec strings (the model's default input at ``batch``) or
    ``(spec, input_shape)`` pairs. ``threads``: ``torch.set_num_threads`` during the
    measurement (use the profile's ``threads``); ``None`` leaves torch's setting.
    Returns per spec: spec, input_shape, median_ms, p10_ms, p90_ms,
    noise = (p90 - p10) / median, repeats, number, device, threads, clock (see
    :func:`measure_specs`; use the clock the profile records in provenance.machine.clock,
    'auto' gives the same as ``costlab profile``'s default).
    """
    return measure_specs(specs, device=device, batch=batch, repeats=repeats, warmup=warmup,
                         threads=threads, chunk=NETWORK_CHUNK, burst=_burst(repeats), progress=progress,
                         timer=timer, clock=clock, keep_memory=keep_memory,
                         desc=f"timing networks ({resolve_device(device).type})")


# -- the default grid ----------------------------------------------------------------------------
#
# Stage points of the zoo (side, channels): MobileNet v1/v2, ShuffleNet v1/v2, ResNet,
# SqueezeNet, GoogLeNet/Inception, VGG, AlexNet, CSPNet, Xception. Each op class gets shapes
# from the stages where the zoo uses it, including G1 (c1 != c2) and G2 (groups) variants.

def _conv(side, cin, cout, k=1, stride=1, groups=1, kw=0, bias=0):
    knobs = f"cin={cin},cout={cout},k={k},stride={stride},groups={groups}"
    if kw:
        knobs += f",kw={kw}"
    if bias:
        knobs += ",bias=1"
    return (f"micro_conv:{knobs}", (cin, side, side))


def _op(name, side, c, **knobs):
    extra = "".join(f",{k}={v}" for k, v in knobs.items())
    return (f"micro_{name}:c={c}{extra}", (c, side, side))


def _grid_ops(small: bool) -> list[tuple[str, tuple[int, ...]]]:
    g: list = []
    # pointwise 1x1 (MobileNet, ShuffleNet v2, ResNet bottlenecks, SqueezeNet, Inception)
    g += [_conv(112, 32, 64), _conv(56, 64, 64), _conv(56, 64, 128), _conv(56, 128, 128),
          _conv(28, 128, 256), _conv(28, 256, 256), _conv(14, 256, 512), _conv(14, 512, 512),
          _conv(7, 512, 1024), _conv(7, 1024, 1024),
          _conv(56, 24, 144), _conv(56, 144, 24), _conv(28, 32, 192), _conv(28, 192, 32),
          _conv(14, 64, 384), _conv(14, 384, 64), _conv(14, 96, 576), _conv(7, 160, 960),
          _conv(7, 960, 160), _conv(7, 320, 1280),
          _conv(56, 64, 256), _conv(56, 256, 64), _conv(28, 512, 128), _conv(14, 1024, 256),
          _conv(7, 512, 2048), _conv(7, 2048, 512), _conv(56, 256, 512, stride=2),
          _conv(28, 116, 116), _conv(14, 232, 232), _conv(7, 464, 1024),
          _conv(56, 128, 16), _conv(56, 16, 64), _conv(28, 256, 32), _conv(13, 64, 256),
          _conv(7, 512, 1000, bias=1),
          # thin layers of the x0.25 / x0.5 width variants
          _conv(112, 8, 16), _conv(112, 16, 8), _conv(56, 16, 32), _conv(56, 8, 48), _conv(56, 48, 8),
          _conv(56, 32, 32), _conv(28, 16, 96), _conv(28, 64, 64), _conv(28, 24, 24), _conv(14, 128, 128),
          _conv(14, 48, 48), _conv(7, 256, 256), _conv(7, 96, 96), _conv(7, 192, 1024)]
    # dense k x k
    g += [_conv(224, 3, 32, 3, 2), _conv(224, 3, 24, 3, 2), _conv(224, 3, 64, 7, 2),
          _conv(224, 3, 64, 11, 4), _conv(56, 64, 64, 3), _conv(28, 128, 128, 3),
          _conv(14, 256, 256, 3), _conv(7, 512, 512, 3), _conv(56, 128, 128, 3, 2),
          _conv(112, 64, 64, 3), _conv(56, 256, 256, 3), _conv(28, 512, 512, 3),
          _conv(28, 96, 128, 3), _conv(28, 16, 32, 5), _conv(14, 32, 64, 5), _conv(27, 64, 192, 5),
          _conv(17, 128, 128, 1, kw=7), _conv(17, 192, 192, 7, kw=1), _conv(56, 16, 64, 3),
          _conv(147, 32, 64, 3)]
    # depthwise 3x3
    g += [_conv(112, 32, 32, 3, 1, 32), _conv(112, 96, 96, 3, 2, 96), _conv(112, 64, 64, 3, 2, 64),
          _conv(56, 144, 144, 3, 1, 144), _conv(56, 128, 128, 3, 1, 128), _conv(56, 144, 144, 3, 2, 144),
          _conv(28, 192, 192, 3, 1, 192), _conv(28, 256, 256, 3, 1, 256), _conv(28, 116, 116, 3, 2, 116),
          _conv(14, 384, 384, 3, 1, 384), _conv(14, 512, 512, 3, 1, 512), _conv(14, 576, 576, 3, 2, 576),
          _conv(7, 960, 960, 3, 1, 960), _conv(7, 1024, 1024, 3, 1, 1024), _conv(19, 728, 728, 3, 1, 728),
          _conv(28, 58, 58, 3, 1, 58), _conv(14, 116, 116, 3, 1, 116),
          _conv(112, 8, 8, 3, 1, 8), _conv(112, 16, 16, 3, 2, 16), _conv(56, 32, 32, 3, 1, 32),
          _conv(56, 48, 48, 3, 2, 48), _conv(28, 64, 64, 3, 1, 64), _conv(14, 128, 128, 3, 1, 128),
          _conv(14, 24, 24, 3, 1, 24), _conv(7, 256, 256, 3, 1, 256), _conv(7, 96, 96, 3, 1, 96)]
    # group convs (ShuffleNet v1 g=3/8 1x1, ResNeXt g=32 3x3, AlexNet g=2)
    g += [_conv(28, 240, 60, 1, 1, 3), _conv(28, 60, 240, 1, 1, 3), _conv(14, 480, 120, 1, 1, 3),
          _conv(14, 120, 480, 1, 1, 3), _conv(7, 960, 240, 1, 1, 3), _conv(28, 384, 96, 1, 1, 8),
          _conv(14, 768, 192, 1, 1, 8), _conv(64, 128, 128, 3, 1, 32), _conv(32, 256, 256, 3, 1, 32),
          _conv(16, 512, 512, 3, 1, 32), _conv(13, 384, 384, 3, 1, 2), _conv(27, 96, 256, 5, 1, 2),
          _conv(28, 120, 30, 1, 1, 3), _conv(28, 30, 120, 1, 1, 3), _conv(14, 240, 60, 1, 1, 3),
          _conv(7, 480, 120, 1, 1, 3)]
    # linear (classifiers; VGG / AlexNet / LeNet fully connected layers)
    g += [("micro_linear:cin=1024,cout=1000", (1024, 1, 1)), ("micro_linear:cin=1280,cout=1000", (1280, 1, 1)),
          ("micro_linear:cin=2048,cout=1000", (2048, 1, 1)), ("micro_linear:cin=1024,cout=1000,bias=0", (1024, 1, 1)),
          ("micro_linear:cin=4096,cout=4096", (4096, 1, 1)), ("micro_linear:cin=25088,cout=4096", (25088, 1, 1)),
          ("micro_linear:cin=9216,cout=4096", (9216, 1, 1)), ("micro_linear:cin=4096,cout=1000", (4096, 1, 1)),
          ("micro_linear:cin=784,cout=300", (784, 1, 1))]
    # pooling
    g += [_op("pool", 112, 64, kind="max", k=3, stride=2, pad=1), _op("pool", 224, 64, kind="max", k=2, stride=2, pad=0),
          _op("pool", 28, 512, kind="max", k=2, stride=2, pad=0), _op("pool", 56, 192, kind="max", k=3, stride=2, pad=1),
          _op("pool", 56, 24, kind="avg", k=3, stride=2, pad=1), _op("pool", 35, 192, kind="avg", k=3, stride=1, pad=1),
          _op("pool", 7, 1024, kind="gap"), _op("pool", 7, 2048, kind="gap"), _op("pool", 7, 1280, kind="gap"),
          _op("pool", 7, 512, kind="adaptive", out=7)]
    # batch norm, activations, add (element-wise)
    for side, c in ((112, 32), (56, 64), (56, 144), (28, 192), (14, 384), (7, 960), (56, 256), (14, 1024),
                    (112, 8), (56, 24), (28, 48), (14, 96), (7, 256)):
        g.append(_op("bn", side, c))
    for side, c in ((112, 64), (56, 128), (28, 256), (14, 512), (7, 1024), (56, 256)):
        g.append(_op("act", side, c, act="relu"))
    for side, c in ((112, 32), (56, 144), (14, 576)):
        g.append(_op("act", side, c, act="relu6"))
    for side, c in ((64, 64), (32, 256)):
        g.append(_op("act", side, c, act="leaky", inplace=0))
    g.append(_op("act", 28, 240, act="relu", inplace=0))
    for side, c in ((112, 16), (56, 48), (28, 64), (7, 128)):
        g.append(_op("act", side, c, act="relu6"))
    for side, c in ((56, 48), (56, 512), (28, 64), (28, 1024), (14, 192), (7, 4096), (28, 32), (14, 128), (7, 480)):
        g.append(_op("add", side, c))
    # data movement: concat, channel shuffle; LRN
    g += [_op("cat", 56, 128, parts=2), _op("cat", 28, 232, parts=2), _op("cat", 14, 464, parts=2),
          _op("cat", 28, 256, parts=4), _op("cat", 7, 1024, parts=4),
          ("micro_cat:c=128,parts=2", (128, 28, 28))]
    # Channel split (torch.chunk) and the official ShuffleNet v2 shuffle+split
    # (micro_shuffle:style=even_odd) are views: costlab counts them free, a sample of them
    # alone has no features to calibrate, and their real cost (dispatch, the strided read by
    # the next conv) is inside the ShuffleNet v2 block samples below.
    g += [_op("shuffle", 28, 240, groups=3), _op("shuffle", 14, 480, groups=3), _op("shuffle", 28, 384, groups=8),
          _op("shuffle", 56, 116, groups=2), _op("shuffle", 14, 232, groups=2)]
    g += [_op("lrn", 56, 64), _op("lrn", 27, 96), _op("lrn", 56, 192)]
    if small:
        g = g[::6]
    return g


def _grid_blocks(small: bool) -> list[tuple[str, tuple[int, ...]]]:
    g = [("micro_block_dwsep:c=64,cout=128,stride=1", (64, 112, 112)),
         ("micro_block_dwsep:c=32,cout=64,stride=1", (32, 56, 56)),
         ("micro_block_mbv2:c=16,cout=16,stride=1,expand=6", (16, 28, 28)),
         ("micro_block_sv1:c=120,groups=3,stride=1", (120, 28, 28)),
         ("micro_block_sv2:c=48,stride=1", (48, 28, 28)),
         ("micro_block_dwsep:c=256,cout=256,stride=1", (256, 28, 28)),
         ("micro_block_dwsep:c=512,cout=512,stride=1", (512, 14, 14)),
         ("micro_block_mbv2:c=24,cout=24,stride=1,expand=6", (24, 56, 56)),
         ("micro_block_mbv2:c=32,cout=32,stride=1,expand=6", (32, 28, 28)),
         ("micro_block_mbv2:c=32,cout=64,stride=2,expand=6", (32, 28, 28)),
         ("micro_block_mbv2:c=96,cout=96,stride=1,expand=6", (96, 14, 14)),
         ("micro_block_sv1:c=240,groups=3,stride=1", (240, 28, 28)),
         ("micro_block_sv1:c=480,groups=3,stride=1", (480, 14, 14)),
         ("micro_block_sv2:c=116,stride=1", (116, 28, 28)),
         ("micro_block_sv2:c=232,stride=1", (232, 14, 14)),
         ("micro_block_sv2:c=116,cout=232,stride=2", (116, 28, 28)),
         ("micro_block_res:c=64,planes=64,stride=1,kind=basic", (64, 56, 56)),
         ("micro_block_res:c=128,planes=128,stride=1,kind=basic", (128, 28, 28)),
         ("micro_block_res:c=256,planes=64,stride=1,kind=bottleneck", (256, 56, 56)),
         ("micro_block_res:c=1024,planes=256,stride=1,kind=bottleneck", (1024, 14, 14))]
    return g[::5] if small else g


# Network-level samples of a measured profile: zoo variants that are *not* among the
# networks ``costlab validate --measure`` times (costlab.calibrate.validate.MEASURE_SPECS), so
# those stay held out of calibration.
NETWORK_SAMPLES = ("mobilenet_v1:width=0.75", "mobilenet_v2:width=0.75", "mobilenet_v2:width=1.4",
                   "shufflenet_v1:groups=8", "shufflenet_v1:groups=2", "shufflenet_v2:width=2.0",
                   "squeezenet1_0", "resnet34", "resnet50", "alexnet", "vgg11")


def default_grid(*, batches: Sequence[int] = (1,), grid: str = "default", networks: bool = True
                 ) -> list[tuple[str, tuple[int, ...]]]:
    """(spec, input_shape) pairs of a profiling run: ops, blocks and (optionally) a few
    networks, at each batch size. ``grid='small'`` keeps every 6th op / 5th block (tests)."""
    if grid not in ("default", "small"):
        raise MeasureError(f"unknown grid {grid!r}; use default or small")
    small = grid == "small"
    base = _grid_ops(small) + _grid_blocks(small)
    out = []
    for b in batches:
        out += [(s, (int(b),) + tuple(shp)) for s, shp in base]
        if networks:
            nets = NETWORK_SAMPLES[:1] if small else NETWORK_SAMPLES
            out += [(s, default_input_shape(s, int(b))) for s in nets]
    return out


# -- machine description ---------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_info(device: torch.device, threads: int) -> dict:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "torch": torch.__version__,
        "threads": int(threads),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
    }
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        info.update({
            "gpu": p.name, "gpu_sms": int(p.multi_processor_count),
            "gpu_memory_gib": round(p.total_memory / 2 ** 30, 1),
            "gpu_capability": f"{p.major}.{p.minor}", "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(), "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
            "cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
            "matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
        })
    return info


def _describe(device: torch.device, info: dict) -> tuple[str, str, str]:
    """(device description, device_class, runtime)."""
    if device.type == "cuda":
        desc = f"{info['gpu']} ({info['gpu_sms']} SMs, {info['gpu_memory_gib']} GiB), host {info['cpu_model']}"
        tf32 = "TF32 convs on" if info["cudnn_allow_tf32"] else "TF32 off"
        runtime = (f"PyTorch {info['torch']} eager fp32, CUDA {info['cuda']}, cuDNN {info['cudnn']} "
                   f"(benchmark={'on' if info['cudnn_benchmark'] else 'off'}, {tf32})")
        return desc, "gpu", runtime
    desc = f"{info['cpu_model']} ({info['logical_cpus']} logical CPUs), {info['platform']}"
    runtime = f"PyTorch {info['torch']} eager fp32 on CPU{' (oneDNN)' if info['mkldnn'] else ''}, {info['threads']} thread(s)"
    if info.get("keep_freed_memory"):
        runtime += ", glibc malloc keeping freed memory (M_MMAP/M_TRIM_THRESHOLD 1 GiB)"
    return desc, "cpu", runtime


# -- a whole profiling run ----------------------------------------------------------------------

def measure_profile(device: str | torch.device = "cpu", *, name: str = "cpu-local",
                    threads: int = 1, batches: Sequence[int] = (1,), grid: str = "default",
                    networks: bool = True, repeats: int = 21, warmup: int = 3,
                    min_repeat_ms: float | None = None, command: str | None = None,
                    progress: bool | Any = True, timer=None, items=None, seed: int = 0,
                    clock: str = "auto", keep_memory: bool = True) -> dict:
    """Measure a profile's samples on the local device; returns an *unfitted* profile dict
    (schema ``costlab.profile/1``; pass it to :func:`costlab.calibrate.fit.fit_profile`).

    ``items`` overrides the grid with explicit (spec, input_shape) pairs.
    """
    dev = resolve_device(device)
    if min_repeat_ms is None:
        min_repeat_ms = CUDA_MIN_REPEAT_MS if dev.type == "cuda" else 0.0
    pairs = list(items) if items is not None else default_grid(batches=batches, grid=grid, networks=networks)
    t0 = time.perf_counter()
    nets = [i for i, (sp, _) in enumerate(pairs) if _granularity(sp) == "network"]
    parts = [i for i in range(len(pairs)) if i not in set(nets)]
    # Ops and blocks: sorted by the bytes they touch and cut into chunks of 16, each chunk
    # shuffled (seeded): a small op is timed among small ops (a small network's working set
    # stays in cache), a large one among large ones.
    size = {i: _footprint(*pairs[i]) for i in parts}
    parts.sort(key=lambda i: (size[i], i))
    rng = random.Random(seed)
    order: list[int] = []
    for k in range(0, len(parts), 16):
        block = parts[k:k + 16]
        rng.shuffle(block)
        order += block
    rows = measure_specs([pairs[i] for i in order], device=dev, repeats=repeats, warmup=warmup,
                         threads=threads, min_repeat_ms=min_repeat_ms, chunk=16, progress=progress,
                         timer=timer, desc=f"profiling {dev.type} ops", clock=clock, keep_memory=keep_memory)
    if nets:
        # Networks: back to back in turns, as measure_networks times them.
        rows += measure_specs([pairs[i] for i in nets], device=dev, repeats=repeats, warmup=warmup,
                              threads=threads, min_repeat_ms=min_repeat_ms, chunk=NETWORK_CHUNK,
                              burst=_burst(repeats), progress=progress,
                              timer=timer, desc=f"profiling {dev.type} networks", clock=clock,
                              keep_memory=keep_memory)
        order += nets
    wall = time.perf_counter() - t0
    by_pos = {i: r for i, r in zip(order, rows)}
    samples = []
    for i in range(len(pairs)):
        r = by_pos[i]
        samples.append({
            "spec": r["spec"], "input_shape": r["input_shape"],
            "granularity": _granularity(r["spec"]), "family": _family(r["spec"]),
            "latency_ms": round(r["median_ms"], 6),
            "stats": {"median_ms": round(r["median_ms"], 6), "p10_ms": round(r["p10_ms"], 6),
                      "p90_ms": round(r["p90_ms"], 6), "repeats": int(r["repeats"]),
                      "calls_per_repeat": int(r["number"]),
                      **({"wall_median_ms": round(r["wall_median_ms"], 6)} if "wall_median_ms" in r else {})},
        })
    used_threads = rows[0]["threads"] if rows else threads
    used_clock = rows[0]["clock"] if rows else resolve_clock(dev, threads, clock)
    info = machine_info(dev, used_threads)
    info["clock"] = used_clock
    info["keep_freed_memory"] = bool(rows[0]["keep_freed_memory"]) if rows else False
    desc, dclass, runtime = _describe(dev, info)
    noise = np.array([r["noise"] for r in rows], dtype=float)
    wall_noise = np.array([r.get("wall_noise", np.nan) for r in rows], dtype=float)
    timer_name = getattr(timer, "name", type(timer).__name__) if timer is not None else {
        "thread": "time.thread_time (CPU time of the timing thread; excludes time spent waiting for a core)",
        "wall": "time.perf_counter (wall clock)",
        "cuda_events": "torch.cuda.Event pairs after torch.cuda.synchronize (end-to-end GPU timeline)"}[used_clock]
    method = (f"costlab micro-benchmark harness: {len(samples)} samples (ops, blocks, networks) built from zoo "
              f"specs with random weights, eval mode, torch.inference_mode, randn input; torch.set_num_threads"
              f"({used_threads}); {warmup} warm-up calls; "
              + ("each repeat one call (the call before it: another spec), " if min_repeat_ms <= 0 else
                 f"each repeat back-to-back calls lasting >= {min_repeat_ms:g} ms, ")
              + "timer overhead subtracted; "
              + f"{repeats} repeats (>= 100 ms specs: {max(5, repeats // 2)}); ops and blocks interleaved call by "
              f"call in chunks of 16 of similar size (input written just before each call), networks back to "
              f"back, 4 taking turns; timer {timer_name}; latency_ms = median per-call time")
    return {
        "schema": "costlab.profile/1",
        "name": name,
        "device": desc,
        "device_class": dclass,
        "runtime": runtime,
        "threads": int(used_threads),
        "batch": int(batches[0]) if batches else 1,
        "dtype": "float32",
        "fusion": [],
        "provenance": {
            "source": f"measured on this machine ({info['cpu_model'] if dev.type == 'cpu' else info.get('gpu')})",
            "measured_by": "costlab profile",
            "date": _dt.date.today().isoformat(),
            "method": method,
            "command": command or f"costlab profile --device {dev.type}",
            "machine": info,
            "wall_s": round(wall, 1),
            "noise": {"median": _r(np.nanmedian(noise)), "p90": _r(np.nanpercentile(noise, 90)),
                      "definition": "(p90 - p10) / median of the repeats, per sample",
                      **({"wall_clock_median": _r(np.nanmedian(wall_noise)),
                          "wall_clock_p90": _r(np.nanpercentile(wall_noise, 90))}
                         if np.isfinite(wall_noise).any() else {})},
        },
        "samples": samples,
    }


def _r(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else round(float(x), 4)
