"""Measuring latency through a runtime: one model (``costlab bench``) or many (profiles,
validation), with costlab's harness (:mod:`costlab.calibrate.measure`).

Every runtime is timed the same way: the session is loaded with ``threads`` threads, one
fixed random input, ``warmup`` untimed calls, then ``runs`` timed calls; median, p10, p90.
At one thread the clock is the timing thread's CPU time (``time.thread_time``): ONNX Runtime
(``intra_op_num_threads = 1``), OpenVINO (``INFERENCE_NUM_THREADS = 1``, synchronous infer),
LiteRT/XNNPACK (``num_threads = 1``) and torch (``set_num_threads(1)``) all compute in the
calling thread, so on an idle machine it equals the wall clock (both are kept: ``wall_*``),
and on a shared one it leaves out the time spent waiting for a core. More threads: the wall
clock. Many models are timed in turns (:func:`measure_many`), so a burst of load from another
process is spread over several models instead of landing on one.
"""
from __future__ import annotations

import contextlib
import platform
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..errors import InputError, MeasureError
from . import artifact, build_model, get_runtime
from .base import Artifact, ConversionError, Runtime


def _timer(threads: int, clock: str):
    from ..calibrate.measure import CpuTimer

    if clock == "auto":
        clock = "thread" if threads == 1 else "wall"
    if clock == "thread" and threads != 1:
        raise MeasureError(f"clock 'thread' needs --threads 1 (got {threads}): worker threads' time would be "
                           "missed; use the wall clock")
    return CpuTimer(clock)


def machine(rt: Runtime, threads: int) -> dict:
    from ..latency.machine import cpu_model

    import os

    return {"cpu_model": cpu_model(), "logical_cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "runtime": rt.name, "runtime_title": rt.title,
            "versions": rt.versions(), "threads": int(threads)}


def measure_many(items: Iterable, runtime: str | Runtime, *, threads: int = 1, runs: int = 21, warmup: int = 3,
                 dtype: str = "float32", clock: str = "auto", chunk: int = 4, burst: int | None = None,
                 progress: bool | Any = True, desc: str | None = None, on_artifact=None,
                 skipped: list | None = None) -> list[dict]:
    """Time ``items`` (spec strings, or (spec, input_shape) pairs) through ``runtime``.

    Converts every item first (cached), then times them in chunks of ``chunk`` taking turns
    (``burst`` repeats per turn; default a third of ``runs``). Returns per item: spec,
    input_shape, median_ms, p10_ms, p90_ms, noise, runs, wall_median_ms, convert_s, cached,
    sha256, clock. ``skipped``: a list to collect (spec, one-line reason) of items the runtime
    cannot convert (they are left out); None: the first such error is raised."""
    from ..calibrate.measure import Case, _progress, measurement_context, time_cases
    import torch

    rt = runtime if isinstance(runtime, Runtime) else get_runtime(runtime)
    rt.require()
    rt.check_dtype(dtype)
    pairs = []
    for it in items:
        spec, shape = (it, None) if isinstance(it, str) else (it[0], it[1])
        pairs.append((spec, None if shape is None else tuple(int(d) for d in shape)))
    built, arts = [], []
    # a bar of its own (on a terminal), never the caller's bar of timed repeats
    bar = _progress(progress is True, len(pairs), f"converting for {rt.name}", unit="model") \
        if rt.suffix and len(pairs) > 1 else None
    try:
        kept = []
        for spec, shape in pairs:
            try:
                b = build_model(spec, shape)
                a = artifact(rt, spec, shape, dtype=dtype, built=b)
            except ConversionError as exc:
                if skipped is None:
                    raise
                skipped.append((spec, str(exc)))
                if bar is not None:
                    bar.update(1)
                continue
            kept.append((spec, shape))
            if on_artifact is not None:
                on_artifact(spec, a)
            built.append(b)
            arts.append(a)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    pairs = kept
    timer = _timer(threads, clock)

    def maker(i):
        def make():
            b, a = built[i], arts[i]
            s = rt.load(a, threads, model=b[1], example=b[2])
            return s.run
        return make

    cases = [Case(f"{pairs[i][0]} {rt.name}", maker(i)) for i in range(len(pairs))]
    with measurement_context(torch.device("cpu"), threads, True):
        stats = time_cases(cases, timer=timer, warmup=warmup, repeats=runs, chunk=chunk,
                           burst=burst or max(1, -(-runs // 3)), progress=progress,
                           desc=desc or f"timing {rt.name}")
    rows = []
    for (spec, _), b, a, st in zip(pairs, built, arts, stats):
        rows.append({"spec": b[0], "input_shape": list(b[2].shape), "runtime": rt.name,
                     "median_ms": st["median_ms"], "p10_ms": st["p10_ms"], "p90_ms": st["p90_ms"],
                     "noise": st["noise"], "runs": int(st["repeats"]), "threads": int(threads),
                     "clock": timer.clock, "wall_median_ms": st.get("wall_median_ms"),
                     "convert_s": a.convert_s, "cached": a.cached, "sha256": a.sha256, "dtype": dtype,
                     "times_ms": list(st.get("times_ms", []))})
    return rows


def boundary_share(runtime: str | Runtime, art: Artifact, *, threads: int = 1, runs: int = 5) -> float | None:
    """The share of a converted model's kernel time spent in kernels that cover none of its
    exported nodes: the layout conversions a runtime puts at the graph's edges (ONNX Runtime's
    ReorderInput/ReorderOutput around NCHWc convolutions, OpenVINO's Reorder into its blocked
    layout). Inside a network the layout stays converted from op to op, so an op timed alone
    pays them and the same op inside a network does not. None when the runtime reports no
    per-op times. (Conversions inside the model, as a block sample's channel shuffle forces
    under ONNX Runtime, are kernels of no exported node too and count here.)"""
    rt = runtime if isinstance(runtime, Runtime) else get_runtime(runtime)
    ops = rt.load(art, threads, profile=True).op_times(runs)
    if not ops:
        return None
    total = sum(o.ms for o in ops)
    edge = sum(o.ms for o in ops if not o.covers)
    return edge / total if total > 0 else 0.0


def given_file(rt: Runtime, path: str, input_shape: tuple[int, ...], dtype: str) -> Artifact:
    """A converted model file to time as it is (``costlab bench --model-file``)."""
    from .cache import sha256_file

    p = Path(path)
    if rt.suffix is None or p.suffix.lower() != rt.suffix:
        want = f"a {rt.suffix} file" if rt.suffix else "no file (it runs the PyTorch model)"
        raise InputError(f"--model-file {path}: {rt.title} takes {want}; pick the runtime the file was exported for")
    if not p.is_file():
        raise InputError(f"--model-file {path}: no such file")
    return Artifact(runtime=rt.name, path=p, sha256=sha256_file(p), convert_s=0.0, cached=True, key="model-file",
                    input_shape=tuple(input_shape), dtype=dtype, meta={"model_file": str(p)})


@contextlib.contextmanager
def _file_errors(rt: Runtime, a: Artifact, model_file: str | None):
    """A user's converted file that the runtime cannot load or run: one line, not a traceback."""
    if model_file is None:
        yield
        return
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - a user's file: one line
        from .base import first_line

        raise InputError(f"--model-file {model_file}: {rt.title} cannot run it on a "
                         f"{'x'.join(map(str, a.input_shape))} input: {first_line(exc)} (MODEL and --input-shape "
                         "must be the ones it was exported for)") from None


def bench(spec, runtime: str, *, input_shape: Sequence[int] | None = None, threads: int = 1, runs: int = 50,
          warmup: int = 5, dtype: str = "float32", clock: str = "auto", op_profile: bool = True,
          progress: bool | Any = False, model_file: str | None = None) -> dict:
    """``costlab bench``: one model through one runtime, with per-op times where the runtime
    gives them. Returns the JSON document (keys ``median_ms``, ``p10_ms``, ``p90_ms``,
    ``runs``, ``runtime``, ``threads``, ...). ``model_file``: time that converted file (a model
    ``costlab export`` wrote) instead of converting ``spec``, which still names the model."""
    import torch

    from ..calibrate.measure import measurement_context, summarize

    rt = get_runtime(runtime)
    rt.require()
    rt.check_dtype(dtype)
    if runs < 1 or warmup < 0:
        raise MeasureError("--runs must be >= 1 and --warmup >= 0")
    b = build_model(spec, input_shape)
    a: Artifact = artifact(rt, spec, input_shape, dtype=dtype, built=b) if model_file is None else \
        given_file(rt, model_file, tuple(b[2].shape), dtype)
    timer = _timer(threads, clock)
    t_load = time.perf_counter()
    with measurement_context(torch.device("cpu"), threads, True), _file_errors(rt, a, model_file):
        s = rt.load(a, threads, model=b[1], example=b[2])
        load_s = time.perf_counter() - t_load
        first_t0 = time.perf_counter()
        s.run()
        first_ms = (time.perf_counter() - first_t0) * 1e3
        for _ in range(warmup):
            s.run()
        times, walls = [], []
        for _ in range(runs):
            times.append(timer(s.run, 1) * 1e3)
            walls.append(timer.last_wall * 1e3)
        ops = s.op_times(min(runs, 20)) if op_profile else None
    st, sw = summarize(times), summarize(walls)
    fed = getattr(s, "input_shape", None)
    doc = {"spec": b[0], "input_shape": list(b[2].shape), "runtime": rt.name, "runtime_title": rt.title,
           **({"runtime_input_shape": list(fed)} if fed is not None and tuple(fed) != tuple(b[2].shape) else {}),
           "runtime_version": rt.version(), "versions": rt.versions(), "dtype": dtype, "threads": int(threads),
           "median_ms": st["median_ms"], "p10_ms": st["p10_ms"], "p90_ms": st["p90_ms"], "min_ms": st["min_ms"],
           "runs": int(runs), "warmup": int(warmup), "clock": timer.name,
           "wall_median_ms": sw["median_ms"], "wall_p10_ms": sw["p10_ms"], "wall_p90_ms": sw["p90_ms"],
           "first_ms": first_ms, "load_s": load_s, "convert_s": a.convert_s, "cached": a.cached,
           "artifact": str(a.path) if a.path else None, "sha256": a.sha256,
           "cpu_model": machine(rt, threads)["cpu_model"], "times_ms": times,
           "per_op_source": rt.per_op or None}
    if a.meta.get("quantization"):
        doc["quantization"] = a.meta["quantization"]
    if model_file is not None:
        doc["model_file"] = str(model_file)
    if ops is not None:
        doc["ops"] = [{"name": o.name, "op_type": o.op_type, "ms": o.ms, "covers": list(o.covers),
                       "exec_type": o.exec_type} for o in ops]
    return doc
