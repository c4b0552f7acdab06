"""Edits of a traced :class:`~costlab.ir.Graph` for the advisor: copy, remove and rewire,
and renumber.

Every function returns a new graph and never mutates its input (nodes are copied; the
frozen :class:`~costlab.ir.TensorMeta` / :class:`~costlab.ir.Source` records are shared).
A rewrite that cannot be applied raises :class:`NotApplicable` with the reason.

Shape re-inference after a width change lives in :mod:`costlab.advise.shapes`.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from .. import ops
from ..ir import Graph, Node, Source


class NotApplicable(Exception):
    """The rewrite does not apply to this graph; the message says why."""


# -- copying, removing, inserting ------------------------------------------------------------

def copy_node(n: Node, **changes) -> Node:
    """A copy of ``n`` with its lists and args copied (then ``changes`` applied)."""
    c = replace(n, inputs=list(n.inputs), sources=list(n.sources), outputs=list(n.outputs), args=dict(n.args))
    return replace(c, **changes) if changes else c


def copy_graph(g: Graph) -> Graph:
    return replace(g, nodes=[copy_node(n) for n in g.nodes], inputs=list(g.inputs), outputs=list(g.outputs),
                   module_types=dict(g.module_types))


def renumber(g: Graph, nodes: list[Node], outputs: list[Source] | None = None) -> Graph:
    """A graph of ``nodes`` (execution order; ids unique but arbitrary, sources refer to those
    ids) with ids renumbered to positions, as :class:`~costlab.ir.Graph` requires."""
    pos = {n.id: i for i, n in enumerate(nodes)}
    if len(pos) != len(nodes):
        raise ValueError("node ids must be unique")

    def fix(s: Source) -> Source:
        if s.kind != "node":
            return s
        if s.ref not in pos:
            raise NotApplicable(f"a node reads node {s.ref}, which the rewrite removed")
        return Source("node", pos[s.ref], s.index)

    out = []
    for i, n in enumerate(nodes):
        out.append(copy_node(n, id=i, sources=[fix(s) for s in n.sources]))
    for i, n in enumerate(out):
        if any(s.kind == "node" and s.ref >= i for s in n.sources):
            raise NotApplicable(f"node {n.op} at {n.module or '(root)'} would read a later node")
    params = sum(n.new_params for n in out) - sum(n.new_params for n in g.nodes)
    return replace(g, nodes=out, outputs=[fix(s) for s in (outputs if outputs is not None else g.outputs)],
                   params_total=g.params_total + params, inputs=list(g.inputs), module_types=dict(g.module_types))


def bypass(g: Graph, ids: Iterable[int], keep: dict[int, int] | None = None) -> Graph:
    """Remove the nodes ``ids``; whoever read a removed node reads its input instead (input
    ``keep[id]``, default its first tensor input), followed through chains of removed nodes."""
    ids = set(ids)
    keep = keep or {}
    repl: dict[int, Source] = {}
    for n in g.nodes:                      # execution order: a removed input is resolved already
        if n.id not in ids:
            continue
        node_srcs = [s for s in n.sources if s.kind in ("node", "input")]
        if not node_srcs:
            raise NotApplicable(f"{n.op} at {n.module or '(root)'} has no tensor input to pass on")
        s = n.sources[keep[n.id]] if n.id in keep else node_srcs[0]
        repl[n.id] = repl.get(s.ref, s) if s.kind == "node" else s

    def fix(s: Source) -> Source:
        return repl[s.ref] if s.kind == "node" and s.ref in repl else s

    nodes = [copy_node(n, sources=[fix(s) for s in n.sources]) for n in g.nodes if n.id not in ids]
    return renumber(g, nodes, [fix(s) for s in g.outputs])


def graph_macs(g: Graph) -> int:
    """Multiply-accumulates of the graph (the counts pass's ``macs`` total, without a Report)."""
    total = 0
    for n in g.nodes:
        if ops.category_of(n.op) == "mac" and not ops.is_free(n):
            c = ops.count(n)
            total += c["macs"] if c else 0
    return total


def graph_params(g: Graph) -> int:
    return sum(n.new_params for n in g.nodes)


def readers_of(g: Graph) -> dict[int, list[int]]:
    """node id -> ids of the non-free nodes that read its result, directly or through views."""
    free = ops.free_mask(g)
    roots = g.roots(free)
    rd = g.readers(free, roots)
    return {n.id: sorted(rd.get(("node", n.id), ())) for n in g.nodes}


def returned_nodes(g: Graph) -> set[int]:
    free = ops.free_mask(g)
    return {r[1] for r in g.output_roots(g.roots(free)) if r[0] == "node"}
