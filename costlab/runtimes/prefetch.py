"""Convert many models for a runtime in worker processes before any of them is timed.

A runtime profile times ~250 samples, each converted first (cached by content hash,
:mod:`costlab.runtimes.cache`). Conversion is the slow part (litert-torch: 2-70 s a model, ~7 s
on average here, so ~30 min for the grid one at a time) and needs no quiet machine, so the
samples not yet in the cache are converted by ``jobs`` spawned worker processes at once; the
timing that follows finds every artifact in the cache and runs alone in this process. A sample
a worker cannot convert is left to the caller (:func:`costlab.runtimes.bench.measure_many`
converts it again and skips or raises it, with its one-line reason).
"""
from __future__ import annotations

from typing import Iterable, Sequence

from ..errors import CostlabError
from . import build_model, cache_identity, get_runtime
from .base import Runtime


def _cached(rt: Runtime, spec: str, shape, dtype: str) -> bool:
    from . import cache

    name, model, example, ident = build_model(spec, shape)
    key = cache.key_of(cache_identity(rt, ident, example.shape, dtype))
    return cache.lookup(rt.name, key, rt.suffix) is not None


def missing(items: Iterable[tuple[str, Sequence[int] | None]], rt: Runtime, dtype: str = "float32") -> list:
    """The (spec, input_shape) items whose artifact is not in the cache (specs that do not
    build are left to the caller, which says why)."""
    out = []
    for spec, shape in items:
        try:
            if not _cached(rt, spec, shape, dtype):
                out.append((spec, None if shape is None else tuple(int(d) for d in shape)))
        except CostlabError:
            continue
    return out


def _convert(runtime: str, spec: str, shape, dtype: str) -> str | None:
    """In a worker: convert one item into the cache; its one-line error, or None."""
    from . import artifact

    try:
        artifact(runtime, spec, shape, dtype=dtype)
    except CostlabError as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def prefetch(items: Iterable[tuple[str, Sequence[int] | None]], runtime: str | Runtime, *, jobs: int,
             dtype: str = "float32", progress: bool = False) -> dict:
    """Convert the items not yet cached in ``jobs`` spawned worker processes (``jobs`` <= 1, a
    runtime with no artifact (torch) or fewer than 2 to convert: nothing is done here).
    Returns ``{"converted": n, "failed": [(spec, reason)], "jobs": used}``."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    import multiprocessing

    from ..calibrate.measure import _progress

    rt = runtime if isinstance(runtime, Runtime) else get_runtime(runtime)
    rt.require()
    if jobs <= 1 or rt.suffix is None:
        return {"converted": 0, "failed": [], "jobs": 1}
    todo = missing(items, rt, dtype)
    if len(todo) < 2:
        return {"converted": 0, "failed": [], "jobs": 1}
    used = min(int(jobs), len(todo))
    bar = _progress(progress is True, len(todo), f"converting for {rt.name} ({used} processes)", unit="model")
    failed = []
    try:
        # spawn: a forked child of a process that loaded JAX / TensorFlow (litert) can deadlock
        with ProcessPoolExecutor(max_workers=used, mp_context=multiprocessing.get_context("spawn")) as ex:
            futs = {ex.submit(_convert, rt.name, spec, shape, dtype): spec for spec, shape in todo}
            for f in as_completed(futs):
                err = f.result()
                if err is not None:
                    failed.append((futs[f], err))
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return {"converted": len(todo) - len(failed), "failed": failed, "jobs": used}
