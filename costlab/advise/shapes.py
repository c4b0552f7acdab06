"""Shape re-inference after a conv's width or groups change (:func:`resize`), with ties
closed, and :func:`solve` for the width that keeps the model's MACs equal.

:func:`infer` walks the nodes in execution order and rebuilds every tensor shape from the
new widths: a conv's weight ``(c_out, c_in/g, k, k)`` and output, a depthwise conv following
its input's width, batch norm parameters, linear weights, concat, views (transpose / permute
by their dims, reshapes by which output axis spans the changed input axis), slices and
splits. Where two tensors of different widths meet (a residual add), the *tie* is closed
(:func:`resize`): the convs whose output width reaches the unchanged side (back through
per-channel ops, depthwise convs, adds and concats: :func:`producers`) change by the same
amount, and the walk repeats until no tie is left.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable, Sequence

from .. import ops
from ..ir import Graph, Node, Source, TensorMeta
from .graphedit import NotApplicable, copy_node, graph_macs


# -- shape re-inference ----------------------------------------------------------------------

def _prod(xs) -> int:
    p = 1
    for x in xs:
        p *= int(x)
    return p


def _meta(t: TensorMeta, shape) -> TensorMeta:
    shape = tuple(int(d) for d in shape)
    return t if shape == t.shape else TensorMeta(shape, t.dtype)


def _scale(size: int, old: int, new: int, what: str) -> int:
    v = size * new
    if v % old:
        raise NotApplicable(f"{what}: {size} x {new}/{old} channels is not a whole number")
    return v // old


def _follow(old_in: tuple, new_in: tuple, old_out: tuple, what: str) -> tuple:
    """``old_out`` with every changed input axis carried over (same rank, axis kept)."""
    if old_in == new_in:
        return old_out
    if len(old_in) != len(old_out):
        raise NotApplicable(f"cannot carry a width change through {what}")
    out = list(old_out)
    for i, (a, b) in enumerate(zip(old_in, new_in)):
        if a != b:
            if old_out[i] != a:
                raise NotApplicable(f"cannot carry a width change through {what} (axis {i} is reduced)")
            out[i] = b
    return tuple(out)


def _reshape(old_in: tuple, new_in: tuple, old_out: tuple, what: str) -> tuple:
    """A reshape's new output: the output axis whose span (in row-major prefix products)
    contains the changed input axis scales with it; an input axis split over several output
    axes scales the largest of them."""
    changed = [i for i, (a, b) in enumerate(zip(old_in, new_in)) if a != b]
    if not changed:
        return old_out
    if len(changed) > 1 or len(old_in) != len(new_in):
        raise NotApplicable(f"cannot carry a width change through {what}")
    a = changed[0]
    lo, hi = _prod(old_in[:a]), _prod(old_in[:a + 1])
    spans, p = [], 1
    for d in old_out:
        spans.append((p, p * d))
        p *= d
    out = list(old_out)
    for b, (s, e) in enumerate(spans):
        if old_out[b] > 1 and s <= lo and hi <= e:
            out[b] = _scale(old_out[b], old_in[a], new_in[a], what)
            return tuple(out)
    inside = [b for b, (s, e) in enumerate(spans) if old_out[b] > 1 and lo <= s and e <= hi]
    for b in sorted(inside, key=lambda b: (-old_out[b], -b)):
        try:
            out[b] = _scale(old_out[b], old_in[a], new_in[a], what)
            return tuple(out)
        except NotApplicable:
            continue
    raise NotApplicable(f"cannot carry a width change through {what}")


def _dim(n: Node, rank: int, default: int = 0) -> int:
    d = int(n.args.get("dim", default))
    return d + rank if d < 0 else d


class _Tie:
    """Two tensors of different widths meet at a node (a residual add, a concat): ``target``
    is the changed width; ``others`` are ``(source, axis, size)`` of the inputs to widen."""

    def __init__(self, node: int, target: int, others: list[tuple[Source, int, int]]):
        self.node, self.target, self.others = node, target, others


def _is_depthwise(n: Node) -> bool:
    x, w = n.inputs[0], n.inputs[1]
    c_in = x.shape[1] if len(x.shape) == len(w.shape) else x.shape[0]
    g = int(n.args.get("groups", 1) or 1)
    return g > 1 and g == c_in


def _conv(n: Node, ins: list[TensorMeta], c_out_new: int | None, g_new: int | None):
    x_old, w = n.inputs[0], n.inputs[1]
    x = ins[0]
    ca = 1 if len(x_old.shape) == len(w.shape) else 0
    if n.args.get("transposed", False):
        raise NotApplicable(f"transposed conv at {n.module or '(root)'}: widths not re-inferred")
    if x.shape[:ca] + x.shape[ca + 1:] != x_old.shape[:ca] + x_old.shape[ca + 1:]:
        raise NotApplicable(f"conv at {n.module or '(root)'}: only its channels may change")
    c_in_old, c_in = x_old.shape[ca], x.shape[ca]
    g_old = int(n.args.get("groups", 1) or 1)
    dw = _is_depthwise(n)
    g = g_new if g_new is not None else (c_in if dw else g_old)
    c_out = c_out_new if c_out_new is not None else (
        _scale(w.shape[0], c_in_old, c_in, f"depthwise conv at {n.module}") if dw else w.shape[0])
    if c_in % g or c_out % g or c_out <= 0:
        raise NotApplicable(f"conv at {n.module or '(root)'}: {c_in} -> {c_out} channels do not split "
                            f"into {g} groups")
    new_ins = [x, _meta(w, (c_out, c_in // g) + tuple(w.shape[2:]))]
    for t in ins[2:]:
        new_ins.append(_meta(t, (c_out,)) if len(t.shape) == 1 else t)
    out = list(n.outputs[0].shape)
    out[ca] = c_out
    args = dict(n.args)
    args["groups"] = g
    return new_ins, [_meta(n.outputs[0], out)] + list(n.outputs[1:]), args


def _linear(n: Node, ins: list[TensorMeta]):
    """addmm(bias, a, w^T), mm(a, w^T) or linear(x, w, b) with a parameter weight."""
    new = list(ins)
    if n.op.startswith(("aten.addmm", "aten.mm")):
        i = 2 if n.op.startswith("aten.addmm") else 1
        a = new[i - 1]
        if n.sources[i].kind != "param":
            raise NotApplicable(f"matmul at {n.module or '(root)'} with a computed weight")
        new[i] = _meta(n.inputs[i], (a.shape[-1], n.inputs[i].shape[1]))
    elif n.op.startswith("aten.linear"):
        new[1] = _meta(n.inputs[1], (n.inputs[1].shape[0], new[0].shape[-1]))
    else:
        raise NotApplicable(f"{n.op} at {n.module or '(root)'}: widths not re-inferred")
    return new, list(n.outputs), dict(n.args)


def _per_channel(n: Node, ins: list[TensorMeta]):
    """Norms and other ops whose first input's shape the result keeps; 1-D parameters of the
    old channel width follow the new one."""
    x_old, x = n.inputs[0], ins[0]
    changed = [i for i, (a, b) in enumerate(zip(x_old.shape, x.shape)) if a != b]
    old_c = x_old.shape[changed[0]] if changed else None
    new_c = x.shape[changed[0]] if changed else None
    new_ins = [x]
    for s, t_old, t in zip(n.sources[1:], n.inputs[1:], ins[1:]):
        if s.kind != "node" and old_c is not None and t_old.shape == (old_c,):
            t = _meta(t_old, (new_c,))
        new_ins.append(t)
    outs = []
    for o in n.outputs:
        if len(o.shape) == len(x_old.shape):
            outs.append(_meta(o, _follow(x_old.shape, x.shape, o.shape, f"{n.kind} at {n.module}")))
        elif old_c is not None and o.shape == (old_c,):
            outs.append(_meta(o, (new_c,)))
        else:
            outs.append(o)
    return new_ins, outs, dict(n.args)


def _binary(n: Node, ins: list[TensorMeta]):
    """Broadcast the inputs; a parameter broadcast along a changed axis follows it; two
    different widths on one axis make a :class:`_Tie`."""
    old_out = n.outputs[0].shape
    rank = len(old_out)
    pad = [(1,) * (rank - len(t.shape)) + tuple(t.shape) for t in ins]
    old_pad = [(1,) * (rank - len(t.shape)) + tuple(t.shape) for t in n.inputs]
    out, tie = list(old_out), None
    node_idx = [j for j, s in enumerate(n.sources) if s.kind in ("node", "input")]
    for i in range(rank):
        # an axis that was broadcast (size 1) stays broadcast; one that was not may not become so
        sizes = {pad[j][i] for j in node_idx if old_pad[j][i] != 1}
        if len(sizes) == 1:
            out[i] = sizes.pop()
        elif len(sizes) > 1:
            target = out[i] = _one_new_width(n, n.kind, sizes, old_out[i])
            others = [(n.sources[j], i - (rank - len(ins[j].shape)), pad[j][i]) for j in node_idx
                      if old_pad[j][i] != 1 and pad[j][i] != target]
            tie = _Tie(n.id, target, others)
    new_ins = list(ins)
    for j, (s, t) in enumerate(zip(n.sources, n.inputs)):
        if s.kind in ("node", "input"):
            continue
        off = rank - len(t.shape)
        shp = list(t.shape)
        for i in range(off, rank):
            if shp[i - off] == old_out[i] != 1 and out[i] != old_out[i]:
                shp[i - off] = out[i]
        new_ins[j] = _meta(t, shp)
    outs = [_meta(n.outputs[0], out)] + list(n.outputs[1:])
    return new_ins, outs, dict(n.args), tie


def _one_new_width(n: Node, what: str, sizes: set, old: int) -> int:
    """The one new size the inputs of a joining op (add, cat ...) agree on along an axis whose
    sizes now differ; refused when they changed to more than one new size."""
    changed = sizes - {old}
    if len(changed) != 1:
        raise NotApplicable(f"{what} at {n.module or '(root)'} joins tensors of different new widths")
    return changed.pop()


def _cat(n: Node, ins: list[TensorMeta]):
    rank = len(ins[0].shape)
    d = _dim(n, rank)
    out, tie = list(ins[0].shape), None
    out[d] = sum(t.shape[d] for t in ins)
    old_out = n.outputs[0].shape
    for i in range(rank):
        if i == d:
            continue
        sizes = {t.shape[i] for t in ins}
        if len(sizes) > 1:
            target = out[i] = _one_new_width(n, "cat", sizes, old_out[i])
            tie = _Tie(n.id, target, [(s, i, t.shape[i]) for s, t in zip(n.sources, ins) if t.shape[i] != target])
    return list(ins), [_meta(n.outputs[0], out)] + list(n.outputs[1:]), dict(n.args), tie


_SPLITS = ("split", "split_with_sizes", "chunk", "tensor_split", "unsafe_split", "unsafe_split_with_sizes")


def _norm_dim(d: int, rank: int) -> int:
    return int(d) + rank if int(d) < 0 else int(d)


def _view(n: Node, ins: list[TensorMeta]):
    """Views, slices and splits: their outputs from the new input shape."""
    old, new = n.inputs[0].shape, ins[0].shape
    if old == new:
        return list(ins), list(n.outputs), dict(n.args)
    kind = n.op.split(".")[1]
    what = f"{kind} at {n.module or '(root)'}"
    args, r = dict(n.args), len(old)
    if kind in ("transpose", "transpose_", "t", "t_", "swapaxes"):
        d0, d1 = (_norm_dim(args.get("dim0", 0), r), _norm_dim(args.get("dim1", 1), r)) if r > 1 else (0, 0)
        s = list(new)
        s[d0], s[d1] = s[d1], s[d0]
        outs = [s]
    elif kind == "permute":
        outs = [[new[_norm_dim(d, r)] for d in args["dims"]]]
    elif kind in ("slice", "narrow", "select"):
        d = _norm_dim(args.get("dim", 0), r)
        if old[d] != new[d]:
            raise NotApplicable(f"{what} cuts the axis whose width changes")
        s = list(new)
        if kind == "select":
            del s[d]
        else:
            s[d] = n.outputs[0].shape[d]
        outs = [s]
    elif kind in _SPLITS or kind == "unbind":
        d = _norm_dim(args.get("dim", 0), r)
        outs = []
        for o in n.outputs:
            s = list(new)
            if kind == "unbind":
                if old[d] != new[d]:
                    raise NotApplicable(f"{what} unbinds the axis whose width changes")
                del s[d]
            else:
                s[d] = o.shape[d] if old[d] == new[d] else _scale(o.shape[d], old[d], new[d], what)
            outs.append(s)
        if old[d] != new[d]:
            for key in ("split_size", "split_sizes", "sections"):
                if key in args:
                    v = args[key]
                    args[key] = ([_scale(x, old[d], new[d], what) for x in v] if isinstance(v, (list, tuple))
                                 else _scale(v, old[d], new[d], what))
    elif kind == "expand":
        outs = [_follow(old, new, n.outputs[0].shape, what)]
    else:                       # view, reshape, flatten, squeeze, unsqueeze, alias, dropout ...
        outs = [_reshape(old, new, n.outputs[0].shape, what)]
    outs_m = [_meta(o, s) for o, s in zip(n.outputs, outs)] + list(n.outputs[len(outs):])
    if "size" in args and len(outs_m) == 1:
        args["size"] = list(outs_m[0].shape)
    return list(ins), outs_m, args


def _reduce(n: Node, ins: list[TensorMeta]):
    """A reduction over ``dim`` (mean, sum, amax ...): the kept axes follow the input."""
    old, new = n.inputs[0].shape, ins[0].shape
    out_old = n.outputs[0].shape
    if len(out_old) == len(old):
        return _per_channel(n, ins)
    dims = n.args.get("dim")
    if dims is None:
        return list(ins), list(n.outputs), dict(n.args)
    dims = {_norm_dim(d, len(old)) for d in (dims if isinstance(dims, (list, tuple)) else [dims])}
    if any(old[i] != new[i] for i in dims):
        raise NotApplicable(f"{n.kind} at {n.module or '(root)'} reduces the axis whose width changes")
    s = [new[i] for i in range(len(old)) if i not in dims]
    return list(ins), [_meta(n.outputs[0], s)] + list(n.outputs[1:]), dict(n.args)


def _node_rule(n: Node, ins: list[TensorMeta], c_out: int | None, groups: int | None):
    """(inputs, outputs, args, tie) of ``n`` given its new tensor inputs."""
    cat = ops.category_of(n.op)
    if ops.is_conv(n.kind):
        return _conv(n, ins, c_out, groups) + (None,)
    if c_out is not None or groups is not None:
        raise NotApplicable(f"only a conv's width or groups can be set ({n.op} at {n.module})")
    if cat == "mac":
        return _linear(n, ins) + (None,)
    if n.kind == "cat":
        return _cat(n, ins)
    if cat == "binary":
        return _binary(n, ins)
    if ops.is_free(n):
        return _view(n, ins) + (None,)
    if cat in ("reduce", "global_pool"):
        return _reduce(n, ins) + (None,)
    return _per_channel(n, ins) + (None,)


def _param_delta(n: Node, new_ins: list[TensorMeta]) -> tuple[int, int]:
    """Change of the parameter / buffer elements this node introduces (it first reads them)."""
    dp = db = 0
    for s, a, b in zip(n.sources, n.inputs, new_ins):
        if s.kind == "param" and n.new_params >= a.numel:
            dp += b.numel - a.numel
        elif s.kind == "buffer" and n.new_buffers >= a.numel:
            db += b.numel - a.numel
    return dp, db


def infer(g: Graph, out_channels: dict[int, int], groups: dict[int, int] | None = None
          ) -> tuple[Graph, list[_Tie]]:
    """Re-infer every shape of ``g`` with conv ``out_channels`` / ``groups`` set; the ties
    found on the way (the walk goes on with the changed width)."""
    groups = groups or {}
    new_out: dict[int, list[TensorMeta]] = {}
    nodes: list[Node] = []
    ties: list[_Tie] = []
    for n in g.nodes:
        ins = [new_out[s.ref][s.index] if s.kind == "node" and s.index < len(new_out[s.ref]) else t
               for s, t in zip(n.sources, n.inputs)]
        if n.id not in out_channels and n.id not in groups and all(a.shape == b.shape
                                                                    for a, b in zip(ins, n.inputs)):
            nodes.append(copy_node(n))
            new_out[n.id] = n.outputs
            continue
        new_ins, outs, args, tie = _node_rule(n, ins, out_channels.get(n.id), groups.get(n.id))
        if tie is not None:
            ties.append(tie)
        dp, db = _param_delta(n, new_ins)
        nodes.append(copy_node(n, inputs=new_ins, outputs=outs, args=args,
                               new_params=n.new_params + dp, new_buffers=n.new_buffers + db))
        new_out[n.id] = outs
    dp = sum(n.new_params for n in nodes) - sum(n.new_params for n in g.nodes)
    db = sum(n.new_buffers for n in nodes) - sum(n.new_buffers for n in g.nodes)
    return replace(g, nodes=nodes, inputs=list(g.inputs), outputs=list(g.outputs), params_total=g.params_total + dp,
                   buffers_total=g.buffers_total + db, module_types=dict(g.module_types)), ties


def _view_axis_back(n: Node, axis: int, index: int) -> int:
    """The input axis of view ``n`` that output axis ``axis`` carries (else NotApplicable)."""
    old, out = n.inputs[0].shape, n.outputs[index].shape
    kind = n.op.split(".")[1]
    r = len(old)
    if kind in ("transpose", "transpose_", "t", "t_", "swapaxes"):
        d0, d1 = (_norm_dim(n.args.get("dim0", 0), r), _norm_dim(n.args.get("dim1", 1), r)) if r > 1 else (0, 0)
        return d1 if axis == d0 else d0 if axis == d1 else axis
    if kind == "permute":
        return _norm_dim(n.args["dims"][axis], r)
    if kind in ("slice", "narrow") or kind in _SPLITS:
        if _norm_dim(n.args.get("dim", 0), r) == axis:
            raise NotApplicable(f"{kind} at {n.module or '(root)'} cuts the tied axis")
        return axis
    lo, hi = _prod(out[:axis]), _prod(out[:axis + 1])
    p, inside = 1, []
    for a, d in enumerate(old):
        s, e = p, p * d
        p = e
        if d > 1 and s <= lo and hi <= e:
            return a
        if d > 1 and lo <= s and e <= hi:
            inside.append(a)
    if inside:       # the output axis merges several input axes: the widest one carries the width
        return max(inside, key=lambda a: (old[a], a))
    raise NotApplicable(f"{kind} at {n.module or '(root)'}: cannot follow the tied axis back")


def producers(g: Graph, src: Source, axis: int) -> list[int]:
    """The convs whose output width sets axis ``axis`` of tensor ``src``: back through
    per-channel ops, depthwise convs, views, adds (both sides) and concats (the last input
    that has such a conv)."""
    if src.kind != "node":
        raise NotApplicable(f"the width is fixed by the model's {src.kind} {src.ref}")
    n = g.nodes[src.ref]
    cat = ops.category_of(n.op)
    where = n.module or "(root)"
    if ops.is_conv(n.kind):
        ca = 1 if len(n.inputs[0].shape) == len(n.inputs[1].shape) else 0
        if axis != ca:
            raise NotApplicable(f"conv at {where}: the tied axis is not its channels")
        return producers(g, n.sources[0], ca) if _is_depthwise(n) else [n.id]
    if n.kind == "cat":
        if _dim(n, len(n.outputs[0].shape)) != axis:
            return [p for s in n.sources for p in producers(g, s, axis)]
        for s in reversed(n.sources):
            try:
                return producers(g, s, axis)
            except NotApplicable:
                continue
        raise NotApplicable(f"cat at {where}: no input width can change")
    if cat == "binary":
        rank = len(n.outputs[0].shape)
        out = []
        for s, t in zip(n.sources, n.inputs):
            a = axis - (rank - len(t.shape))
            if s.kind in ("node", "input") and a >= 0 and t.shape[a] == n.outputs[0].shape[axis]:
                out += producers(g, s, a)
        return out
    if ops.is_free(n):
        return producers(g, n.sources[0], _view_axis_back(n, axis, src.index))
    x, o = n.inputs[0].shape, n.outputs[src.index].shape
    if cat != "mac" and len(x) == len(o) and x[axis] == o[axis]:
        return producers(g, n.sources[0], axis)
    raise NotApplicable(f"{n.kind} at {where}: cannot follow the tied width back")


def _conv_width(n: Node) -> int:
    return n.outputs[0].shape[1 if len(n.inputs[0].shape) == len(n.inputs[1].shape) else 0]


def resize(g: Graph, out_channels: dict[int, int], groups: dict[int, int] | None = None,
           rounds: int = 24) -> Graph:
    """``g`` with the convs ``out_channels`` (node id -> output channels) and ``groups``
    (node id -> groups) changed, every shape re-inferred, and ties closed (see the module
    docstring). Raises :class:`NotApplicable` when the widths cannot be reconciled."""
    oc = dict(out_channels)
    pinned = dict(out_channels)
    for _ in range(rounds):
        g2, ties = infer(g, oc, groups)
        if not ties:
            _check_outputs(g, g2)
            return g2
        demand: dict[int, int] = {}
        for tie in ties:
            for src, axis, size in tie.others:
                for p in producers(g2, src, axis):
                    want = _conv_width(g2.nodes[p]) + tie.target - size
                    if demand.setdefault(p, want) != want or (p in pinned and pinned[p] != want):
                        raise NotApplicable(f"widths tied at {g.nodes[tie.node].module or '(root)'} "
                                            "cannot be reconciled")
        if all(oc.get(p) == w for p, w in demand.items()):
            raise NotApplicable("widths tied by residual adds cannot be reconciled")
        oc.update(demand)
    raise NotApplicable("widths tied by residual adds did not settle")


def _check_outputs(g: Graph, g2: Graph) -> None:
    """The tensors the model returns keep their shapes (its callers depend on them)."""
    for s in g.outputs:
        if s.kind == "node" and g.nodes[s.ref].outputs[s.index].shape != g2.nodes[s.ref].outputs[s.index].shape:
            raise NotApplicable("the rewrite would change the shape of the model's output")


def changed_convs(before: Graph, after: Graph) -> dict[int, tuple[int, int]]:
    """conv node id -> (old, new) output width, for the convs whose width changed (same node ids)."""
    out = {}
    for a, b in zip(before.nodes, after.nodes):
        if ops.is_conv(a.kind) and _conv_width(a) != _conv_width(b):
            out[a.id] = (_conv_width(a), _conv_width(b))
    return out


def solve(build: Callable[[int], Graph], target: int, candidates: Sequence[int], tol: float = 0.05
          ) -> tuple[int, Graph]:
    """The candidate value whose graph's MACs are closest to ``target``, by bisection (MACs grow
    with the value; the values that build form a tail of the list, up to a few unbuildable ones
    such as widths a group count does not divide). Raises :class:`NotApplicable` when no
    buildable value comes within ``tol`` of ``target``."""
    cand = list(candidates)
    built: dict[int, Graph | None] = {}

    def at(i: int) -> Graph | None:
        if i not in built:
            try:
                built[i] = build(cand[i])
            except NotApplicable:
                built[i] = None
        return built[i]

    def near(i: int, lo: int, hi: int) -> int | None:
        """A buildable index close to ``i`` within [lo, hi]."""
        for d in range(0, 9):
            for j in (i + d, i - d):
                if lo <= j <= hi and at(j) is not None:
                    return j
        return None

    last = near(len(cand) - 1, 0, len(cand) - 1)
    if last is None:
        raise NotApplicable("no width gives a valid network")
    lo, hi = 0, last
    while hi - lo > 1:                       # first buildable index
        mid = (lo + hi) // 2
        j = near(mid, mid, hi - 1)
        lo, hi = (lo, j) if j is not None and j == mid else (mid, hi)
    first = 0 if at(0) is not None else hi
    lo, hi = first, last
    while hi - lo > 1:                       # MACs bisection over [first, last]
        mid = near((lo + hi) // 2, lo + 1, hi - 1)
        if mid is None:
            break
        lo, hi = (mid, hi) if graph_macs(at(mid)) < target else (lo, mid)
    err, i = min((abs(graph_macs(at(i)) - target), i) for i in (lo, hi))
    if err > tol * target:
        raise NotApplicable(f"no width keeps the model's MACs within {tol:.0%} "
                            f"(closest {100 * (graph_macs(at(i)) - target) / target:+.1f}%)")
    return cand[i], at(i)


def lcm(*xs: int) -> int:
    out = 1
    for x in xs:
        out = out * int(x) // math.gcd(out, int(x))
    return out
