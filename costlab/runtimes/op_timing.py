"""How a runtime profile's op and block samples are timed: chosen per profile, by how well the
ops alone predict the profile's own network samples.

An op timed alone is not the op inside a network, and which way it errs depends on the runtime.
Timed call by call among 15 other models (``interleaved``), its weights and input are out of
cache at every call and the runtime switches models; timed in one ``burst`` of consecutive
calls, both stay warm. Inside a network the input was just written by the kernel before it
while the weights are cold: in between. Measured on one 2-core AMD EPYC (2026-12-07), OpenVINO
2026.4: a 960-channel 7x7 depthwise conv's kernel took 0.019 ms alone in a burst (per-op
counters), 0.023-0.026 ms inside MobileNet V2, while its interleaved sample, corrected for the
layout edges, gave 0.046 ms; ONNX Runtime 1.32 erred the other way (its burst-timed ops predict
its networks 20% low). So every op and block sample is timed both ways, and :func:`choose` keeps
the timing (interleaved, burst, or their geometric mean per sample) whose op and block samples,
fitted alone, best predict the profile's own network samples, which are timed as networks in
either case. Nothing a validation holds out enters the choice.
"""
from __future__ import annotations

import math

import numpy as np

MODES = ("interleaved", "burst", "geomean")


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


def pick(doc: dict, samples: list[dict]) -> tuple[list[dict], dict | None]:
    """``samples`` with every op and block sample's ``latency_ms`` from the timing :func:`choose`
    keeps, and its record; samples without a burst timing (``stats.burst_median_ms``) as they are.
    (None: no sample has both timings.)"""
    two = []
    for s in samples:
        st = s.get("stats") or {}
        if s["granularity"] != "network" and st.get("burst_median_ms") is not None:
            sh, call = st.get("edge_share"), st.get("call_overhead_ms")
            two.append((corrected(st["median_ms"], sh, call), corrected(st["burst_median_ms"], sh, call)))
        else:
            two.append(None)
    if not any(two):
        return samples, None
    cands = {m: [s if t is None else {**s, "latency_ms": round(combine(t[0], t[1], m), 6)} for s, t in zip(samples, two)]
             for m in MODES}
    mode, record = choose(doc, cands)
    return cands[mode], record


def retime(doc: dict) -> dict:
    """A profile document with its op timing chosen again on its own samples: a validation fold
    that drops a family's network samples calls it, so the held-out networks never judge."""
    if not ((doc.get("provenance") or {}).get("op_timing")):
        return doc
    samples, record = pick(doc, doc["samples"])
    return {**doc, "samples": samples, "provenance": {**doc["provenance"], "op_timing": record}}


def choose(doc: dict, candidates: dict[str, list[dict]]) -> tuple[str, dict]:
    """The timing whose op and block samples, fitted alone (the profile's own form), predict the
    network samples best (MAPE). ``doc``: the profile document (fusion, dtype); ``candidates``:
    mode -> its samples (the same network samples in each). Returns (mode, the selection record);
    with fewer than 2 network samples the interleaved timing, as before this choice existed."""
    from dataclasses import replace

    from ..calibrate import fit as F

    first = next(iter(candidates.values()))      # the candidates differ only in their op latencies
    nets = [i for i, s in enumerate(first) if s["granularity"] == "network" and s.get("role", "fit") == "fit"]
    data = F.profile_data({**doc, "samples": first}) if len(nets) >= 2 else None
    table = []
    for mode, samples in candidates.items():
        entry = {"mode": mode, "network_mape": None, "network_signed_pct": None}
        if data is not None:
            d = replace(data, samples=samples, y=np.array([float(s["latency_ms"]) for s in samples]))
            ops = np.array([i for i, s in enumerate(samples) if s["granularity"] != "network" and d.fit_mask[i]])
            e = (d.raw[nets] @ F.fit_on(d, ops).coef - d.y[nets]) / d.y[nets]
            entry.update(network_mape=round(float(100 * np.abs(e).mean()), 2),
                         network_signed_pct=round(float(100 * e.mean()), 2))
        table.append(entry)
    scored = [t for t in table if t["network_mape"] is not None]
    best = min(scored, key=lambda t: t["network_mape"])["mode"] if scored else MODES[0]
    return best, {
        "chosen": best, "candidates": table,
        "rule": ("the op/block timing whose op and block samples, fitted alone, best predict the profile's own "
                 "network samples (MAPE); interleaved: call by call among 16 models; burst: all timed calls of a "
                 "model in a row; geomean: per sample the geometric mean of the two"),
    }
