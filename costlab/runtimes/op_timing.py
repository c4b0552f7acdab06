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

That choice, made on a profile's 8-11 network samples, did not hold from one profile to the next
on this VM: measured again a few minutes apart, the same runtime's profiles kept different
timings, and a fold that drops one family's networks often kept another than the full profile.
Profiles measured since 2026-12-07 therefore choose nothing (``rule = "mean"``): the predictor
is the mean of the coefficients fitted under every timing and every network weight
(``provenance.fit_options``; :func:`costlab.calibrate.fit.fit_profile`), and an op sample's
``latency_ms`` is its geometric-mean timing, the middle one. Over the ten stored
profile-and-validation rounds of 2026-12-06/07 (ORT, OpenVINO, LiteRT), the mean
leave-family-out MAPE went from 12.4% (choose) to 10.4% (mean) and the worst round from 20.0% to
14.8% (``benchmarks/refit_lofo.py --combine mean``); that comparison was made on the same
validations, so the first profiles measured under the rule are its clean test (README). A
profile that recorded a chosen timing keeps its rule when refitted.
"""
from __future__ import annotations

import numpy as np

from ..calibrate.timings import CENTRE, MODES, two_timings, combine, corrected, variants  # noqa: F401  (re-exported)

RULES = ("mean", "choose")


def candidates(samples: list[dict], two) -> dict[str, list[dict]]:
    """Per timing of :data:`MODES` the samples, op and block samples with ``two`` (their
    :func:`two_timings`) combined under it."""
    return {m: [s if t is None else {**s, "latency_ms": round(combine(t[0], t[1], m), 6)} for s, t in zip(samples, two)]
            for m in MODES}


def pick(doc: dict, samples: list[dict], rule: str = "mean") -> tuple[list[dict], dict | None]:
    """``samples`` with every op and block sample's ``latency_ms`` from its timings, and the
    record; samples without a burst timing (``stats.burst_median_ms``) as they are (None: no
    sample has both timings). ``rule`` "mean": the geometric-mean timing (the fit averages over
    all timings: :func:`variants`); "choose": the timing :func:`choose` keeps. Either way the
    record lists how well each timing's op samples alone predict the network samples."""
    if rule not in RULES:
        raise ValueError(f"unknown op-timing rule {rule!r}: one of {', '.join(RULES)}")
    two = two_timings(samples)
    if not any(two):
        return samples, None
    cands = candidates(samples, two)
    mode, record = choose(doc, cands)
    if rule == "mean":
        record = {**record, "chosen": "mean", "latency_ms": CENTRE,
                  "rule": ("no timing chosen: the predictor is the mean of the fits under every timing (and every "
                           "network weight of fit_options); each op sample's latency_ms is its " + CENTRE
                           + " timing. candidates: how well each timing's op and block samples alone predict the "
                           "profile's network samples (information only). interleaved: call by call among 16 "
                           "models; burst: all timed calls of a model in a row; geomean: per sample the geometric "
                           "mean of the two")}
        mode = CENTRE
    return cands[mode], record


def is_mean(doc: dict) -> bool:
    """Whether a profile document's op timing follows the "mean" rule (nothing chosen)."""
    return ((doc.get("provenance") or {}).get("op_timing") or {}).get("chosen") == "mean"


def retime(doc: dict) -> dict:
    """A profile document with its op timing chosen again on its own samples: a validation fold
    that drops a family's network samples calls it, so the held-out networks never judge. A
    profile under the "mean" rule chooses nothing: returned as it is."""
    if not ((doc.get("provenance") or {}).get("op_timing")) or is_mean(doc):
        return doc
    samples, record = pick(doc, doc["samples"], rule="choose")
    return {**doc, "samples": samples, "provenance": {**doc["provenance"], "op_timing": record}}


def as_mean(doc: dict) -> dict:
    """A runtime profile document measured under the "choose" rule, refitted under "mean" (its op
    samples' latency_ms their geometric-mean timing; provenance.fit_options.combine "mean"). A
    document without burst timings: only the network weights are averaged."""
    samples, record = pick(doc, doc["samples"], rule="mean")
    prov = dict(doc.get("provenance") or {})
    opts = {**(prov.get("fit_options") or {}), "combine": "mean"}
    if record is not None:
        opts["op_timings"] = list(MODES)
        prov["op_timing"] = record
    prov["fit_options"] = opts
    return {**doc, "samples": samples, "provenance": prov}


def as_choose(doc: dict) -> dict:
    """A "mean"-rule runtime profile document refitted as the older rule would have: the op timing
    chosen again from the samples' two medians (:func:`retime`) and the network weight by
    leave-one-network-out (for comparisons on the same measurements: ``benchmarks/refit_lofo.py``)."""
    prov = dict(doc.get("provenance") or {})
    prov["fit_options"] = {k: v for k, v in (prov.get("fit_options") or {}).items() if k not in ("combine", "op_timings")}
    if prov.get("op_timing"):
        prov["op_timing"] = {**prov["op_timing"], "chosen": "interleaved"}
    return retime({**doc, "provenance": prov})


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
