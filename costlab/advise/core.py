"""``advise(model, device)``: what to change in a network, and how much faster it gets.

For every G1-G4 finding (:mod:`costlab.guidelines`) and each of the most expensive layers on
the device, the advisor *applies* concrete rewrites and *re-predicts* the result:

* a graph rewrite (:mod:`costlab.advise.rewrites`) returns a new traced graph, which goes
  through the counts pass (:func:`costlab.counts.count_graph`) and the latency pass
  (:func:`costlab.latency.predict.predict`) exactly as a traced model does;
* a knob rewrite (:mod:`costlab.advise.knobs`, zoo models) builds the new zoo spec and
  analyzes it with the device (:func:`costlab.api.analyze`).

No gain is estimated by a rule of thumb: every ``latency_ms_after`` is the predictor's total
for the rewritten network. Suggestions are ranked by predicted ms saved; the ones that save
nothing on this device (e.g. BN folding where the runtime fuses conv+BN already) are kept
apart in ``not_faster``, and rewrites that do not fit the graph in ``not_applicable``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch.nn as nn

from ..api import count, with_guidelines, with_latency
from ..counts import count_graph
from ..errors import CostlabError, UsageError
from ..ir import Graph
from ..latency.predict import predict
from ..latency.profile import load_profile
from ..spec import Resolved, canonical_name, resolve
from .candidates import COSTS, Candidate, from_findings, from_knobs, from_layers, model_wide
from .graphedit import NotApplicable
from .knobs import KnobRewrite
from .rewrites import Applied

SCHEMA = "costlab.advice/1"
#: how many of the most expensive layers (by predicted ms) get their own rewrites
EXPENSIVE_LAYERS = 5

#: JSON keys of one suggestion, in order (stable; documented in :data:`KEY_HELP`)
SUGGESTION_KEYS = ("rank", "guideline", "where", "what", "method", "rewrite", "source", "finding_share",
                   "spec", "input_shape", "latency_ms_before", "latency_ms_after", "latency_ms_saved",
                   "latency_saved_pct", "macs_before", "macs_after", "macs_change_pct", "params_before",
                   "params_after", "params_change_pct", "cost")
KEY_HELP = {
    "rank": "1 = largest predicted saving",
    "guideline": "G1-G4 (ShuffleNet V2): the guideline the rewrite follows",
    "where": "the layer(s) or block the rewrite changes ('whole model' for a knob)",
    "what": "the rewrite in words, with its widths / groups / counts",
    "method": "'graph' (the traced IR rewritten) or 'knob' (the zoo model rebuilt with other knobs)",
    "rewrite": ("regroup | equalize | merge_parallel | fold_bn | fuse_act | remove_act | remove_shortcut | "
                "add_to_concat | knob"),
    "source": "'finding' (a guideline finding), 'layer' (one of the most expensive layers), 'model' "
              "(every op of one element-wise kind, tried with or without a finding) or 'knob'",
    "finding_share": "the finding's share of the model's predicted latency (null for layers and knobs)",
    "spec": "knob rewrites: the new model spec to analyze (null for graph rewrites)",
    "input_shape": "knob rewrites: the input the new spec runs on (null for graph rewrites)",
    "latency_ms_before": "predicted ms of the whole model on the device, as it is",
    "latency_ms_after": "predicted ms of the whole rewritten model (counts + latency passes re-run)",
    "latency_ms_saved": "before - after (positive = faster)",
    "latency_saved_pct": "latency_ms_saved as a percentage of latency_ms_before",
    "macs_before": "multiply-accumulates of the model", "macs_after": "... of the rewritten model",
    "macs_change_pct": "(after - before) / before x 100: the accuracy proxy (capacity spent or saved)",
    "params_before": "parameters of the model", "params_after": "... of the rewritten model",
    "params_change_pct": "(after - before) / before x 100",
    "cost": "what the rewrite costs besides latency (retraining, accuracy)",
}


@dataclass
class Suggestion:
    guideline: str
    where: str
    what: str
    method: str
    rewrite: str
    source: str
    finding_share: float | None
    latency_ms_before: float
    latency_ms_after: float
    macs_before: int
    macs_after: int
    params_before: int
    params_after: int
    cost: str
    spec: str | None = None
    input_shape: list[int] | None = None
    graph: Graph | None = field(default=None, repr=False)   # graph rewrites: the rewritten IR
    skipped: list = field(default_factory=list, repr=False)  # (where, reason): places the rewrite left out

    @property
    def latency_ms_saved(self) -> float:
        return round(self.latency_ms_before - self.latency_ms_after, 6)

    def to_dict(self, rank: int | None = None) -> dict[str, Any]:
        def pct(a, b):
            return round(100.0 * (a - b) / b, 4) if b else 0.0
        d = {"rank": rank, "guideline": self.guideline, "where": self.where, "what": self.what,
             "method": self.method, "rewrite": self.rewrite, "source": self.source,
             "finding_share": self.finding_share, "spec": self.spec, "input_shape": self.input_shape,
             "latency_ms_before": self.latency_ms_before, "latency_ms_after": self.latency_ms_after,
             "latency_ms_saved": self.latency_ms_saved,
             "latency_saved_pct": round(100.0 * self.latency_ms_saved / self.latency_ms_before, 4)
             if self.latency_ms_before else 0.0,
             "macs_before": self.macs_before, "macs_after": self.macs_after,
             "macs_change_pct": pct(self.macs_after, self.macs_before),
             "params_before": self.params_before, "params_after": self.params_after,
             "params_change_pct": pct(self.params_after, self.params_before), "cost": self.cost}
        return {k: d[k] for k in SUGGESTION_KEYS}


@dataclass
class Advice:
    """The advisor's result as plain data (``to_dict()`` is the JSON)."""

    model: str
    device: str
    input_shape: list[list[int]]
    dtype: str
    latency_ms: float
    macs: int
    params: int
    top: int
    suggestions: list[Suggestion]          # saves time, best first, at most ``top``
    not_faster: list[Suggestion]           # applied and re-predicted, saves nothing here
    not_applicable: list[dict[str, Any]]   # rewrites that did not fit, with the reason
    considered: int
    profile: dict[str, Any] = field(default_factory=dict)
    more: int = 0                          # faster rewrites beyond ``top``
    warnings: list[str] = field(default_factory=list)   # for stderr as warnings: unsupported ops
    notes: list[str] = field(default_factory=list)      # for stderr as notes: the passes' notes (batch, trace), as analyze
    input_dtypes: list[str] = field(default_factory=list)   # per input: 'int64' for token ids

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA, "model": self.model, "device": self.device, "profile": self.profile,
            "input_shape": self.input_shape[0] if len(self.input_shape) == 1 else self.input_shape,
            "dtype": self.dtype, "input_dtypes": self.input_dtypes,
            "baseline": {"latency_ms": self.latency_ms, "macs": self.macs, "params": self.params},
            "top": self.top, "considered": self.considered, "more_faster": self.more,
            "suggestions": [s.to_dict(i + 1) for i, s in enumerate(self.suggestions)],
            "not_faster": [s.to_dict() for s in self.not_faster],
            "not_applicable": list(self.not_applicable),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "conventions": {
                "method": "every 'after' is the rewritten network re-counted and re-predicted on the device "
                          "profile (graph rewrites: counts + latency passes on the new IR; knob rewrites: the new "
                          "spec traced and analyzed); no gain is estimated by a rule of thumb",
                "equal_flops": "G1/G2 rewrites re-solve a width so the model's MACs stay about equal "
                               "(ShuffleNet V2 Tables 1-2); macs_change_pct shows how close",
                "keys": KEY_HELP,
            },
        }


# -- evaluation ---------------------------------------------------------------------------------

_APPLIED: dict[tuple, Any] = {}       # (model key, candidate key) -> Applied | NotApplicable (zoo specs)
_TRACED: dict[tuple, Any] = {}        # (spec, input shape, dtype) -> counts Report of a knob rewrite
_CACHE_MAX = 512


def _remember(cache: dict, key, value):
    if key is not None:
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[key] = value
    return value


def _apply(cand: Candidate, model_key: tuple | None):
    key = (model_key, cand.key) if model_key is not None else None
    if key is not None and key in _APPLIED:
        res = _APPLIED[key]
    else:
        try:
            res = cand.make()
        except NotApplicable as exc:
            res = exc
        _remember(_APPLIED, key, res)
    if isinstance(res, NotApplicable):
        raise res
    return res


def _knob_report(entry, kr: KnobRewrite, shape: list[int], dtype: str, profile: dict):
    spec = canonical_name(entry, kr.knobs)
    shape = list(shape)
    if kr.channels is not None:
        shape[1] = kr.channels
    key = (spec, tuple(shape), dtype)
    rep = _TRACED.get(key)
    if rep is None:
        rep = _remember(_TRACED, key, count(spec, tuple(shape), dtype=dtype))
    return spec, shape, with_latency(rep, profile)


def _evaluate(cand: Candidate, base, resolved: Resolved, profile: dict, model_key) -> Suggestion:
    res = _apply(cand, model_key)
    t = base.totals
    common = dict(guideline=cand.guideline, source=cand.source,
                  finding_share=cand.share if cand.source == "finding" else None,
                  latency_ms_before=float(t["latency_ms"]), macs_before=int(t["macs"]),
                  params_before=int(t["params"]))
    if isinstance(res, Applied):
        rep = predict(count_graph(res.graph, base.model, base.dtype), profile)
        return Suggestion(where=res.where, what=res.what, method="graph", rewrite=cand.rewrite,
                          latency_ms_after=float(rep.totals["latency_ms"]), macs_after=int(rep.totals["macs"]),
                          params_after=int(rep.totals["params"]), cost=COSTS[cand.rewrite], graph=res.graph,
                          skipped=list(res.details.get("skipped", ())), **common)
    spec, shape, rep = _knob_report(resolved.entry, res, base.input_shape[0], base.dtype, profile)
    return Suggestion(where="whole model", what=res.what, method="knob", rewrite="knob",
                      latency_ms_after=float(rep.totals["latency_ms"]), macs_after=int(rep.totals["macs"]),
                      params_after=int(rep.totals["params"]), cost=res.cost, spec=spec, input_shape=shape,
                      **common)


def _expensive(report, n: int) -> list[tuple[str, int]]:
    df = report.layers
    df = df[df["latency_ms"] > 0].sort_values("latency_ms", ascending=False, kind="stable")
    return [(str(r["name"]), int(r["node"])) for _, r in df.head(n).iterrows()]


def _candidates(report, result, resolved: Resolved) -> tuple[list[Candidate], list[dict]]:
    g = report.graph
    node_of = {str(nm): int(i) for nm, i in zip(report.layers["name"], report.layers["node"])}
    cands, uncovered = from_findings(g, result.findings, node_of)
    cands += from_layers(g, _expensive(report, EXPENSIVE_LAYERS))
    cands += model_wide(g)
    cands += from_knobs(resolved.entry.name if resolved.entry is not None else None, resolved.knobs)
    seen, out = set(), []
    for c in cands:
        if c.key not in seen:
            seen.add(c.key)
            out.append(c)
    skipped = [{"guideline": f["guideline"], "where": f["where"], "rewrite": None,
                "reason": "no rewrite implemented for this kind of finding; its advice: " + f["advice"]}
               for f in uncovered]
    return out, skipped


def _signature(s: Suggestion) -> tuple:
    if s.graph is None:
        return ("knob", s.spec, tuple(s.input_shape or ()))
    return (s.rewrite,) + tuple((n.op, n.outputs[0].shape if n.outputs else (), n.args.get("groups"))
                                for n in s.graph.nodes)


def _dedupe(done: list[Suggestion]) -> list[Suggestion]:
    """One suggestion per distinct rewritten network; the places that led to it are joined."""
    first: dict[tuple, Suggestion] = {}
    places: dict[tuple, list[str]] = {}
    for s in done:
        sig = _signature(s)
        if sig in first:
            if s.where not in places[sig]:
                places[sig].append(s.where)
            continue
        first[sig], places[sig] = s, [s.where]
    for sig, s in first.items():
        p = places[sig]
        s.where = ", ".join(p) if len(p) <= 3 else ", ".join(p[:2]) + f" (+{len(p) - 2} more giving the same network)"
    return list(first.values())


def _model_key(resolved: Resolved, report) -> tuple | None:
    """Zoo models are deterministic per spec and input: their rewrites are cached."""
    if resolved.entry is None:
        return None
    return (resolved.name, tuple(tuple(s) for s in report.input_shape), report.dtype)


def advise(model_or_spec: str | nn.Module | Resolved, device: str | dict, *, top: int = 10,
           input_shape: Sequence | str | None = None, resolution: int | None = None, dtype: str = "float32",
           batch: int = 1, thresholds: Mapping[str, Any] | None = None, name: str | None = None) -> Advice:
    """Concrete rewrites of ``model_or_spec`` (a zoo spec, a user spec or an ``nn.Module``) with
    their predicted effect on ``device`` (``'arm'``, ``'gpu'``, ``'cpu'``, a profile name, path or
    dict), best first, at most ``top``. Input as in :func:`costlab.api.analyze`."""
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise UsageError(f"top must be a whole number >= 1, got {top!r} (e.g. --top 10)")
    profile = load_profile(device)
    if isinstance(model_or_spec, Resolved):
        resolved = model_or_spec
    elif isinstance(model_or_spec, nn.Module):
        resolved = Resolved(name or type(model_or_spec).__name__, model_or_spec, None, {})
    else:
        resolved = resolve(model_or_spec)
    report = with_latency(count(resolved, input_shape, resolution=resolution, dtype=dtype, batch=batch,
                                name=name), profile)
    report, result = with_guidelines(report, thresholds)
    cands, skipped = _candidates(report, result, resolved)
    key = _model_key(resolved, report)
    done: list[Suggestion] = []
    for c in cands:
        try:
            done.append(_evaluate(c, report, resolved, profile, key))
            skipped += [{"guideline": c.guideline, "where": w, "rewrite": c.rewrite, "reason": r}
                        for w, r in done[-1].skipped]
        except (NotApplicable, CostlabError) as exc:
            skipped.append({"guideline": c.guideline, "where": c.origin, "rewrite": c.rewrite,
                            "reason": str(exc).splitlines()[0] if str(exc) else type(exc).__name__})
    skipped = list({(d["rewrite"], d["where"], d["reason"]): d for d in skipped}.values())
    done = _dedupe(done)
    done.sort(key=lambda s: (-s.latency_ms_saved, s.guideline, s.where, s.what))
    faster = [s for s in done if s.latency_ms_saved > 0]
    return Advice(model=report.model, device=profile.name, input_shape=report.input_shape, dtype=report.dtype,
                  input_dtypes=report.input_dtypes,
                  latency_ms=float(report.totals["latency_ms"]), macs=int(report.totals["macs"]),
                  params=int(report.totals["params"]), top=top, suggestions=faster[:top],
                  not_faster=[s for s in done if s.latency_ms_saved <= 0], not_applicable=skipped,
                  considered=len(cands), more=max(0, len(faster) - top),
                  profile={"name": profile.name, "device": profile.device,
                           "runtime": profile.runtime, "fusion": list(profile.fusion)},
                  warnings=_warnings(report), notes=[n for sec in report.sections.values() for n in sec.notes])


def _warnings(report) -> list[str]:
    out = []
    if report.unsupported:
        out.append("unsupported ops counted as 0 (before and after every rewrite): "
                   + ", ".join(f"{u['op']} x{u['count']}" for u in report.unsupported))
    return out
