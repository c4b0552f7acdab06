"""The latency pass's summary lines (presentation: reads the report's ``latency`` section data
and its ``latency_ms`` total; imports no pass)."""
from __future__ import annotations

from typing import Any, Mapping


def bound_line(bound: Mapping[str, Any], runtime: str) -> str:
    """A GPU host/device prediction's bound line, worded for the runtime shown: under
    ``cudagraph`` the host's dispatch is gone, so it says what eager would be and what the
    graph saves. ``bound``: the section's ``latency.bound`` (``text``, ``eager_ms``,
    ``cudagraph_ms``)."""
    both = f"(eager {bound['eager_ms']:.3f} ms, CUDA graph {bound['cudagraph_ms']:.3f} ms)"
    if runtime == "cudagraph":
        gain = bound["eager_ms"] / bound["cudagraph_ms"] if bound["cudagraph_ms"] > 0 else float("nan")
        return (f"bound       device (CUDA graph: one launch, no per-op dispatch); in eager it would be "
                f"{bound['text']} {both}, {gain:.2f}x the graph's time")
    return f"bound       {bound['text']} {both}"


def latency_lines(data: Mapping[str, Any], total_ms: float) -> list[str]:
    """The summary lines after a report's totals: the predicted total on its profile (and, on
    a GPU host/device profile, its runtime and which clock bounds it). ``data``: the
    section's JSON keys (``latency``: profile, runtime, bound ...)."""
    info = data["latency"]
    bound = info.get("bound")
    if bound is None:
        return [f"latency     {total_ms:.3f} ms ({info['profile']})"]
    return [f"latency     {total_ms:.3f} ms ({info['profile']}, {info['runtime']})",
            bound_line(bound, info["runtime"])]
