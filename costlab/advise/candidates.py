"""Which rewrites to try: one or more per guideline finding, per expensive layer, per knob.

A :class:`Candidate` is a rewrite not yet applied: ``make()`` applies it (an
:class:`~costlab.advise.rewrites.Applied` graph, or a
:class:`~costlab.advise.knobs.KnobRewrite`), ``key`` identifies it so a layer that is also a
finding is tried once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .. import ops
from ..ir import Graph
from . import rewrites as rw
from .graphedit import NotApplicable
from .knobs import KnobRewrite, knob_rewrites

#: what each rewrite costs besides latency (the MACs / params change is reported beside it)
COSTS = {
    "regroup": "changes the network: fewer groups and a re-solved width at equal MACs; train again "
               "(the ShuffleNet v1 paper reports g > 1 more accurate than g = 1 at equal FLOPs)",
    "equalize": "changes the network: widths re-solved at equal MACs; train again",
    "merge_parallel": "none: the merged conv computes the same outputs (weights concatenated)",
    "fold_bn": "none: exact at inference (BN scale and shift folded into weights and bias)",
    "fuse_act": "none: the same function in fewer kernels (needs a runtime that fuses them)",
    "remove_act": "changes the function: train again, expect an accuracy loss (Table 4 measures speed only)",
    "remove_shortcut": "changes the function: train again; deep networks train worse without shortcuts",
    "add_to_concat": "changes the network: the branch sees half the channels (ShuffleNet V2 unit: split, concat, "
                     "shuffle instead of the add); train again; MACs change as shown unless re-solved",
}
_ACT_REWRITES = ("fuse_act", "remove_act")


@dataclass
class Candidate:
    guideline: str
    rewrite: str                 # a key of COSTS, or 'knob'
    key: tuple
    make: Callable[[], Any]      # -> rewrites.Applied | knobs.KnobRewrite
    source: str                  # 'finding', 'layer', 'model' (every op of a kind) or 'knob'
    origin: str                  # the finding's 'where', the layer's name, or the knob spec
    share: float | None = None   # the finding's share of the model's latency


def _g2_units(g: Graph, convs: list[int]) -> tuple[dict[tuple, list[int]], dict[int, tuple]]:
    """Group convs sharing the width that a regroup would re-solve: {class: convs}, {conv: class}."""
    units: dict[tuple, list[int]] = {}
    of: dict[int, tuple] = {}
    for c in convs:
        try:
            cls = rw.local_class(g, g.nodes[c], rw.groups_of(g.nodes[c]))
        except NotApplicable:
            cls = (c,)
        units.setdefault(cls, []).append(c)
        of[c] = cls
    return units, of


def _regroup_cands(g: Graph, unit: list[int], options, source: str, origin: str, share=None) -> list[Candidate]:
    out = []
    for g2 in options:
        if g2 >= min(rw.groups_of(g.nodes[c]) for c in unit):
            continue
        key = ("regroup", frozenset(unit), g2)
        out.append(Candidate("G2", "regroup", key, lambda u=tuple(unit), k=g2: rw.regroup(g, u, k),
                             source, origin, share))
    return out


def _g4_cands(g: Graph, label: str, nodes, source: str, origin: str, share=None) -> list[Candidate]:
    """G4 rewrites for an element-wise kind (a finding's label) or single nodes."""
    ids = frozenset(nodes) if nodes is not None else None
    out = []
    if label == "batch_norm":
        out.append(Candidate("G4", "fold_bn", ("fold_bn", ids), lambda: rw.fold_bn(g, nodes), source, origin, share))
    elif label == "add":
        out.append(Candidate("G4", "remove_shortcut", ("remove_shortcut", ids),
                             lambda: rw.remove_shortcut(g, nodes), source, origin, share))
        for eq in (False, True):
            out.append(Candidate("G4", "add_to_concat", ("add_to_concat", ids, eq),
                                 lambda e=eq: rw.add_to_concat(g, nodes, equal_macs=e), source, origin, share))
    elif label in _activation_labels(g):
        for name in _ACT_REWRITES:
            fn = getattr(rw, name)
            out.append(Candidate("G4", name, (name, ids, label), lambda f=fn: f(g, nodes, label), source, origin,
                                 share))
    return out


def _activation_labels(g: Graph) -> set[str]:
    return {ops.describe(n) for n in g.nodes if ops.is_activation(n.kind)}


def from_findings(g: Graph, findings: list[dict], node_of: dict[str, int]) -> tuple[list[Candidate], list[dict]]:
    """Candidates for the guideline findings, and the findings no rewrite covers."""
    out: list[Candidate] = []
    uncovered: list[dict] = []
    g2_convs = [node_of[f["where"]] for f in findings if f["guideline"] == "G2" and f["where"] in node_of]
    units, of = _g2_units(g, g2_convs)
    share_of = {f["where"]: f["share"] for f in findings}
    for cls, unit in units.items():
        names = [g.nodes[c].module for c in unit]
        out += _regroup_cands(g, unit, (2, 1), "finding", ", ".join(names),
                              max(share_of.get(n, 0.0) for n in _names(g, unit, node_of)))
    every = [n.id for n in g.nodes if rw.is_group_conv(n)]
    if g2_convs and len(every) > 1:
        top = max(rw.groups_of(g.nodes[c]) for c in every)
        out += _regroup_cands(g, every, sorted({top // 2, 2, 1}, reverse=True), "finding",
                              f"all {len(every)} group convs", sum(share_of.get(n, 0.0)
                                                                   for n in _names(g, every, node_of)))
    for f in findings:
        gl, where = f["guideline"], f["where"]
        before = len(out)
        if gl == "G1" and where in node_of and rw.is_pointwise_unequal(g.nodes[node_of[where]]):
            nid = node_of[where]
            out.append(Candidate("G1", "equalize", ("equalize", nid), lambda i=nid: rw.equalize(g, i),
                                 "finding", where, f["share"]))
        elif gl == "G3":
            path = where.split(" (")[0]
            ids = None if path == "(model)" else [n.id for n in g.nodes
                                                  if n.module == path or n.module.startswith(path + ".")]
            out.append(Candidate("G3", "merge_parallel", ("merge_parallel", frozenset(ids) if ids else None),
                                 lambda i=ids: rw.merge_parallel(g, i), "finding", where, f["share"]))
        elif gl == "G4":
            out += _g4_cands(g, where.rsplit(" x", 1)[0], None, "finding", where, f["share"])
        if len(out) == before and gl != "G2":
            uncovered.append(f)
    if any(f["guideline"] == "G3" for f in findings) and len(rw.sibling_groups(g, None)) > 1:
        out.append(Candidate("G3", "merge_parallel", ("merge_parallel", None), lambda: rw.merge_parallel(g),
                             "finding", "every block with parallel convs",
                             sum(f["share"] for f in findings if f["guideline"] == "G3")))
    return out, uncovered


def _names(g: Graph, ids, node_of: dict[str, int]) -> list[str]:
    want = set(ids)
    return [name for name, i in node_of.items() if i in want]


def from_layers(g: Graph, layers: list[tuple[str, int]]) -> list[Candidate]:
    """Candidates for the most expensive layers ``(name, node id)``."""
    out: list[Candidate] = []
    siblings = {c: grp for grp in rw.sibling_groups(g, None) for c in grp}
    for name, nid in layers:
        n = g.nodes[nid]
        cat = ops.category_of(n.op)
        if rw.is_group_conv(n):
            units, _ = _g2_units(g, [nid])
            out += _regroup_cands(g, next(iter(units.values())), (2, 1), "layer", name)
        if rw.is_pointwise_unequal(n):
            out.append(Candidate("G1", "equalize", ("equalize", nid), lambda i=nid: rw.equalize(g, i), "layer", name))
        if nid in siblings:
            ids = siblings[nid]
            out.append(Candidate("G3", "merge_parallel", ("merge_parallel", frozenset(ids)),
                                 lambda i=ids: rw.merge_parallel(g, i), "layer", name))
        if n.kind in ("batch_norm", "add") or cat == "activation":
            label = n.kind if n.kind in ("batch_norm", "add") else ops.describe(n)
            out += _g4_cands(g, label, [nid], "layer", name)
    return out


def model_wide(g: Graph) -> list[Candidate]:
    """G4 rewrites of every batch norm, activation kind and residual add in the model, tried even
    where no finding lists them (a device that fuses them shows why: they save nothing there)."""
    labels = {"batch_norm"} if any(n.kind == "batch_norm" for n in g.nodes) else set()
    labels |= {"add"} if any(n.kind == "add" for n in g.nodes) else set()
    labels |= _activation_labels(g)
    return [c for lb in sorted(labels) for c in _g4_cands(g, lb, None, "model", f"every {lb}")]


def from_knobs(entry_name: str | None, knobs: dict[str, Any]) -> list[Candidate]:
    if entry_name is None:
        return []
    out = []
    for kr in knob_rewrites(entry_name, knobs):
        key = ("knob", tuple(sorted(kr.knobs.items())))
        out.append(Candidate(kr.guideline, "knob", key, lambda k=kr: k, "knob", entry_name))
    return out


__all__ = ["COSTS", "Candidate", "KnobRewrite", "from_findings", "from_knobs", "from_layers", "model_wide"]
