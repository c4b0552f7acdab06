"""The two timings of a runtime profile's op and block samples, as plain arithmetic: the
per-call cost and edge conversions taken out of a measured median (:func:`corrected`), a timing
from the interleaved and burst medians (:func:`combine`), and per timing the samples' latency
vector the "mean" rule's fit averages over (:func:`variants`). What the timings are and which
rule uses them: :mod:`costlab.runtimes.op_timing`."""
from __future__ import annotations

import math

import numpy as np

MODES = ("interleaved", "burst", "geomean")
CENTRE = "geomean"      # an op sample's latency_ms under the "mean" rule


def corrected(median_ms: float, share: float | None, call_ms: float | None) -> float:
    """An op or block sample's latency from a measured median: the runtime's per-call cost and the
    share of its kernel time spent in layout conversions at the graph's edges taken out,
    ``(median - call) x (1 - share)``, at least 5% of the median; ``share`` None (no per-op
    times): the median as measured. (See :func:`costlab.runtimes.profile._sample_of`.)"""
    if share is None:
        return float(median_ms)
    return max((median_ms - (call_ms or 0.0)) * (1.0 - share), 0.05 * median_ms)


def combine(interleaved_ms: float, burst_ms: float, mode: str) -> float:
    """A sample's latency under ``mode`` from its two (corrected) timings."""
    if mode == "interleaved":
        return interleaved_ms
    if mode == "burst":
        return burst_ms
    if mode == "geomean":
        return math.sqrt(interleaved_ms * burst_ms)
    raise ValueError(f"unknown op timing {mode!r}: one of {', '.join(MODES)}")


def two_timings(samples: list[dict]) -> list[tuple[float, float] | None]:
    """Per sample its (interleaved, burst) corrected timings, or None (a network, or an op sample
    timed one way only)."""
    two = []
    for s in samples:
        st = s.get("stats") or {}
        if s["granularity"] != "network" and st.get("burst_median_ms") is not None:
            sh, call = st.get("edge_share"), st.get("call_overhead_ms")
            two.append((corrected(st["median_ms"], sh, call), corrected(st["burst_median_ms"], sh, call)))
        else:
            two.append(None)
    return two


def variants(samples: list[dict], modes=MODES) -> list[np.ndarray]:
    """Per timing in ``modes`` the samples' latency vector (ms): op and block samples timed both
    ways under that timing, every other sample its ``latency_ms``."""
    two = two_timings(samples)
    base = [float(s["latency_ms"]) for s in samples]
    return [np.array([b if t is None else combine(t[0], t[1], m) for b, t in zip(base, two)]) for m in modes]
