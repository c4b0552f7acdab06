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
from ..ir import Graph, Node, Source, TensorMeta


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


# -- residual units -----------------------------------------------------------------------------

def ancestors(g: Graph, start: int, stop: int) -> set[int]:
    """Node ids reachable backwards from ``start`` down to id ``stop``."""
    seen, todo = set(), [start]
    while todo:
        i = todo.pop()
        if i in seen or i < stop:
            continue
        seen.add(i)
        todo += g.nodes[i].producers
    return seen


def shortcut_side(g: Graph, n: Node) -> int | None:
    """Index of the identity (shortcut) operand of a residual add, or None."""
    if n.kind != "add" or len(n.sources) != 2 or any(s.kind not in ("node", "input") for s in n.sources):
        return None
    a, b = n.sources
    if n.inputs[0].shape != n.inputs[1].shape:
        return None
    if a.kind == "input" or (b.kind == "node" and a.kind == "node" and a.ref < b.ref):
        first, other = 0, 1
    else:
        first, other = 1, 0
    s_first, s_other = n.sources[first], n.sources[other]
    if s_other.kind != "node":
        return None
    anc = ancestors(g, s_other.ref, s_first.ref if s_first.kind == "node" else 0)
    reach = (s_first.kind == "input" and any(s.kind == "input" and s.ref == s_first.ref
                                             for i in anc for s in g.nodes[i].sources)) \
        or (s_first.kind == "node" and s_first.ref in anc)
    convs = any(ops.is_conv(g.nodes[i].kind) for i in anc)
    return first if reach and convs else None


def residual_branch(g: Graph, add: Node, consumers: dict[int, list[int]]) -> tuple[int, set[int]]:
    """(index of the shortcut operand, ids of the branch's nodes) of a residual add x + f(x) whose
    branch f reads only x (and parameters) and whose inner results only f reads; else
    :class:`NotApplicable` with the reason."""
    where = f"add at {add.module or '(root)'}"
    side = shortcut_side(g, add)
    if side is None:
        raise NotApplicable(f"{where}: not an identity shortcut x + f(x) around convs (equal shapes)")
    sx, sf = add.sources[side], add.sources[1 - side]
    shape = add.outputs[0].shape
    if len(shape) < 3 or shape[1] % 2:
        raise NotApplicable(f"{where}: {shape} has no channel axis that splits in halves")
    branch = ancestors(g, sf.ref, sx.ref if sx.kind == "node" else 0) - ({sx.ref} if sx.kind == "node" else set())
    outs = {s.ref for s in g.outputs if s.kind == "node"}
    for i in sorted(branch):
        n = g.nodes[i]
        if any(s.kind in ("node", "input") and s != sx and not (s.kind == "node" and s.ref in branch)
               for s in n.sources):
            raise NotApplicable(f"{where}: the branch reads a tensor other than the unit's input ({n.module})")
        readers = set(consumers[i]) - branch - ({add.id} if i == sf.ref else set())
        if readers or i in outs:
            raise NotApplicable(f"{where}: a result inside the branch is read outside it ({n.module})")
    return side, branch


# -- new nodes: what a traced channel split, concat and channel shuffle record ------------------

def new_node(nid: int, op: str, like: Node, inputs: list[TensorMeta], sources: list[Source],
             outputs: list[TensorMeta], args: dict, is_view: bool = False) -> Node:
    """A node the tracer would record for ``op`` (no parameters), in ``like``'s module."""
    return Node(id=nid, op=op, kind=ops.kind_of(op), module=like.module, module_type=like.module_type,
                inputs=inputs, sources=sources, outputs=outputs, args=args, is_view=is_view)


def channel_split(nid: int, x: TensorMeta, src: Source, like: Node) -> Node:
    """``x.chunk(2, dim=1)`` as traced: one ``aten.split.Tensor`` view with two halves."""
    half = list(x.shape)
    half[1] //= 2
    h = TensorMeta(tuple(half), x.dtype)
    return new_node(nid, "aten.split.Tensor", like, [x], [src], [h, h], {"split_size": half[1], "dim": 1},
                    is_view=True)


def concat_shuffle(nid: int, parts: list[tuple[Source, TensorMeta]], like: Node, groups: int = 2) -> list[Node]:
    """``channel_shuffle(torch.cat(parts, 1), groups)`` as traced (ids ``nid``, ``nid + 1`` ...):
    ``aten.cat``, then view (b, g, c/g, ...), transpose(1, 2), ``aten.clone`` (the copy that
    ``contiguous`` makes) and view back; the last node is the result."""
    first = parts[0][1]
    c = sum(t.shape[1] for _, t in parts)
    out = TensorMeta((first.shape[0], c) + tuple(first.shape[2:]), first.dtype)
    rest = tuple(out.shape[2:])
    a = TensorMeta((out.shape[0], groups, c // groups) + rest, out.dtype)
    b = TensorMeta((out.shape[0], c // groups, groups) + rest, out.dtype)
    return [
        new_node(nid, "aten.cat.default", like, [t for _, t in parts], [s for s, _ in parts], [out], {"dim": 1}),
        new_node(nid + 1, "aten.view.default", like, [out], [Source("node", nid)], [a],
                 {"size": list(a.shape)}, is_view=True),
        new_node(nid + 2, "aten.transpose.int", like, [a], [Source("node", nid + 1)], [b],
                 {"dim0": 1, "dim1": 2}, is_view=True),
        new_node(nid + 3, "aten.clone.default", like, [b], [Source("node", nid + 2)], [b],
                 {"memory_format": "contiguous_format"}),
        new_node(nid + 4, "aten.view.default", like, [b], [Source("node", nid + 3)], [out],
                 {"size": list(out.shape)}, is_view=True),
    ]


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
