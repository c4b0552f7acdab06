"""Rewrites of zoo models through their papers' knobs (the model is rebuilt and re-traced).

``knob_rewrites(entry_name, knobs)`` lists, for a zoo model with the given knob values, the
knob changes that follow a ShuffleNet V2 guideline (Ma et al. 2018, Sec. 2, Tables 1-4):

* ``shufflenet_v1``: fewer groups g (G2; the ShuffleNet v1 paper's Table 1 widths keep the
  complexity about equal for every g).
* ``sv2bench_g1``: c1:c2 -> 1:1 with c = sqrt(c1*c2) (G1, Table 1: equal FLOPs).
* ``sv2bench_g2``: fewer groups with c scaled by sqrt(g'/g) (G2, Table 2: equal FLOPs).
* ``sv2bench_g3``: parallel or series fragments -> one (G3, Table 3: equal FLOPs).
* ``sv2bench_g4``: ReLU and/or shortcut removed (G4, Table 4).

A benchmark network's input is its own feature map, so a rewrite that changes its width says
so in ``channels`` (the new input has that many channels).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

_RETRAIN = "a different network of the same family: train it again"


@dataclass(frozen=True)
class KnobRewrite:
    guideline: str
    what: str
    knobs: dict[str, Any]               # every knob of the new model
    channels: int | None = None         # new input channels (benchmark networks), None = unchanged
    cost: str = _RETRAIN


_RULES: dict[str, Callable[[dict], list[KnobRewrite]]] = {}


def _rule(name: str):
    def deco(fn):
        _RULES[name] = fn
        return fn
    return deco


def knob_rewrites(entry_name: str, knobs: dict[str, Any]) -> list[KnobRewrite]:
    """The guideline rewrites a zoo model's knobs allow (empty when it has none)."""
    fn = _RULES.get(entry_name)
    return fn(dict(knobs)) if fn is not None else []


def _multiple(x: float, m: int) -> int:
    return max(m, int(round(x / m)) * m)


@_rule("shufflenet_v1")
def _shufflenet_v1(k: dict) -> list[KnobRewrite]:
    g = int(k["groups"])
    out = []
    for g2 in sorted({g // 2, 2, 1}, reverse=True):
        if g2 < g and g2 in (1, 2, 3, 4, 8):
            out.append(KnobRewrite("G2", f"groups {g} -> {g2} (ShuffleNet v1 Table 1 widths: about equal FLOPs)",
                                   {**k, "groups": g2}))
    return out


@_rule("sv2bench_g1")
def _g1(k: dict) -> list[KnobRewrite]:
    c1, r = int(k["c1"]), int(k["ratio"])
    if r == 1:
        return []
    c = int(round(c1 * math.sqrt(r)))
    return [KnobRewrite("G1", f"c1:c2 = 1:{r} ({c1}->{c1 * r}) -> 1:1 ({c}->{c}) at equal FLOPs (Table 1)",
                        {**k, "c1": c, "ratio": 1}, channels=c)]


@_rule("sv2bench_g2")
def _g2(k: dict) -> list[KnobRewrite]:
    c, g = int(k["c"]), int(k["groups"])
    out = []
    for g2 in sorted({g // 2, 2, 1}, reverse=True):
        if 1 <= g2 < g:
            c2 = _multiple(c * math.sqrt(g2 / g), g2)
            out.append(KnobRewrite("G2", f"groups {g} -> {g2}, channels {c} -> {c2} at equal FLOPs (Table 2)",
                                   {**k, "c": c2, "groups": g2}, channels=c2))
    return out


@_rule("sv2bench_g3")
def _g3(k: dict) -> list[KnobRewrite]:
    n, arr, c = int(k["fragments"]), k["arrangement"], int(k["c"])
    if n == 1:
        return []
    out = [KnobRewrite("G3", f"{n} {arr} fragments -> 1 fragment at equal FLOPs (Table 3)",
                       {**k, "fragments": 1, "arrangement": "series"}, channels=c,
                       cost="same FLOPs and width; one conv per block instead of "
                            f"{n} (the {arr} convs' weights concatenated)")]
    if arr == "parallel":
        w = int(round(c / math.sqrt(n)))
        out.append(KnobRewrite("G3", f"{n} parallel fragments -> {n} in series ({w} channels) at equal FLOPs "
                                     "(Table 3)", {**k, "arrangement": "series"}, channels=w))
    return out


@_rule("sv2bench_g4")
def _g4(k: dict) -> list[KnobRewrite]:
    out = []
    for relu, short in ((0, int(k["shortcut"])), (int(k["relu"]), 0), (0, 0)):
        if (relu, short) == (int(k["relu"]), int(k["shortcut"])):
            continue
        gone = [w for w, old, new in (("ReLU", k["relu"], relu), ("shortcut", k["shortcut"], short)) if old and not new]
        if not gone or any(r.knobs == {**k, "relu": relu, "shortcut": short} for r in out):
            continue
        out.append(KnobRewrite("G4", f"{' and '.join(gone)} removed (Table 4)", {**k, "relu": relu, "shortcut": short},
                               cost="changes the function: train again; Table 4 measures speed only"))
    return out
