"""Graph-level rewrites of a traced model, one per ShuffleNet V2 guideline (Ma et al. 2018,
arXiv:1807.11164, Sec. 2, Tables 1-4). Each takes a :class:`~costlab.ir.Graph` and returns
an :class:`Applied` (the new graph and the rewrite in words); the input graph is never
changed. A rewrite that does not fit the graph raises
:class:`~costlab.advise.graphedit.NotApplicable`.

* :func:`regroup` (G2, Table 2): group convs g -> g' with the width between them re-solved so
  the model's MACs stay equal (a channel shuffle between convs that become g' = 1 goes too).
* :func:`equalize` (G1, Table 1): a 1x1 conv c1 -> c2 becomes w -> w, its input and output
  widths (and everything tied to them) set to one width w that keeps the model's MACs equal
  (w is about sqrt(c1*c2) when the conv dominates, as in Table 1).
* :func:`merge_parallel` (G3, Table 3): parallel convs reading one tensor (and their identical
  BN / activation chains) become one wider conv; a concat of exactly their outputs goes.
* G4 (Table 4): :func:`fold_bn` (BN folded into the conv before it: a bias),
  :func:`fuse_act` (an activation right after a conv joins its kernel), :func:`remove_act`
  ("ReLU removed"), :func:`remove_shortcut` ("short-cut removed"), :func:`add_to_concat` (a
  residual x + f(x) becomes a ShuffleNet V2 unit: channel split, f on half, concat, shuffle).

MACs, parameters, MAC bytes and latency of the result come from the counts and latency
passes run on the new graph, never from a rule of thumb.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from .. import ops
from ..ir import Graph, Node, Source, TensorMeta
from .graphedit import (NotApplicable, bypass, channel_split, concat_shuffle, copy_node, graph_macs, readers_of,
                        renumber, residual_branch, returned_nodes, shortcut_side)
from .shapes import infer, lcm, producers, resize, solve


@dataclass
class Applied:
    """A rewritten graph and what was done: ``what`` in words, ``where`` (layer / block),
    ``nodes`` (ids in the original graph the rewrite targets)."""

    graph: Graph
    what: str
    where: str
    nodes: tuple[int, ...] = ()
    details: dict = field(default_factory=dict)


def _where(g: Graph, ids: Iterable[int]) -> str:
    """The modules of ``ids`` in execution order: all of them when few, else first ... last."""
    mods = list(dict.fromkeys(g.nodes[i].module or "(root)" for i in sorted(ids)))
    if len(mods) <= 2:
        return ", ".join(mods)
    return f"{mods[0]} ... {mods[-1]} ({len(mods)} modules)"


def _ca(n: Node) -> int:
    return 1 if len(n.inputs[0].shape) == len(n.inputs[1].shape) else 0


def _width(n: Node) -> int:
    return n.outputs[0].shape[_ca(n)]


def _c_in(n: Node) -> int:
    return n.inputs[0].shape[_ca(n)]


def groups_of(n: Node) -> int:
    return int(n.args.get("groups", 1) or 1)


def is_group_conv(n: Node) -> bool:
    return ops.is_conv(n.kind) and ops.conv_class(n) == "group" and 1 < groups_of(n) < _c_in(n)


def is_pointwise_unequal(n: Node) -> bool:
    """A 1x1 conv (not depthwise) with c1 != c2: what G1 flags."""
    if not ops.is_conv(n.kind) or ops.conv_class(n) not in ("pointwise", "group"):
        return False
    return all(int(k) == 1 for k in n.inputs[1].shape[2:]) and _c_in(n) != _width(n)


# -- width classes -----------------------------------------------------------------------------

def _class_seeds(g: Graph, conv: Node, side: str) -> tuple[int, ...]:
    """Convs that set the width on ``side`` ('out' or 'in') of ``conv``."""
    if side == "out":
        return (conv.id,)
    return tuple(sorted(set(producers(g, conv.sources[0], _ca(conv)))))


def _extent(g: Graph, seeds: tuple[int, ...], step: int) -> int:
    """How many convs change width when ``seeds`` widen by ``step`` (ties closed)."""
    try:
        g2 = resize(g, {p: _width(g.nodes[p]) + step for p in seeds})
    except NotApplicable:
        return 10 ** 9
    return sum(1 for a, b in zip(g.nodes, g2.nodes) if ops.is_conv(a.kind) and _width(a) != _width(b))


def local_class(g: Graph, conv: Node, step: int = 8) -> tuple[int, ...]:
    """The width beside ``conv`` that changes the fewest convs: its output's or its input's."""
    options = []
    for side in ("out", "in"):
        try:
            seeds = _class_seeds(g, conv, side)
        except NotApplicable:
            continue
        options.append((_extent(g, seeds, step), side != "out", seeds))
    if not options or min(options)[0] >= 10 ** 9:
        raise NotApplicable(f"conv at {conv.module}: neither its input nor its output width can change")
    return min(options)[2]


def _candidates(center: int, step: int) -> list[int]:
    hi = max(4 * center, 4 * step)
    return list(range(step, hi + step, step))


# -- G2: fewer groups at equal MACs -------------------------------------------------------------

def _shuffles_before(g: Graph, convs: set[int]) -> list[int]:
    """Channel shuffles (view, transpose, copy, view back) whose result reaches one of ``convs``
    through per-channel ops and depthwise convs: the node ids of each whole shuffle."""
    consumers = g.consumers()
    out: list[int] = []
    for c in g.nodes:
        if c.kind != "copy" or not c.sources or c.sources[0].kind != "node":
            continue
        v2 = g.nodes[c.sources[0].ref]
        v1 = g.nodes[v2.sources[0].ref] if v2.is_view and v2.sources[0].kind == "node" else None
        after = consumers[c.id]
        if v1 is None or not v1.is_view or len(after) != 1 or not g.nodes[after[0]].is_view:
            continue
        v3 = g.nodes[after[0]]
        if v3.outputs[0].shape != v1.inputs[0].shape or len(v1.outputs[0].shape) <= len(v1.inputs[0].shape):
            continue
        cur = v3.id
        while True:
            nxt = consumers[cur]
            if len(nxt) != 1:
                break
            n = g.nodes[nxt[0]]
            cur = n.id
            if ops.is_conv(n.kind) and ops.conv_class(n) != "depthwise":
                if n.id in convs:
                    out += [v1.id, v2.id, c.id, v3.id]
                break
            if ops.is_conv(n.kind) or ops.is_norm(n.kind) or ops.is_activation(n.kind) or n.is_view:
                continue
            break
    return out


def _reshuffle(g: Graph, shuffle: list[int], groups: int) -> Graph:
    """The channel shuffles ``shuffle`` (4 node ids each) redone with ``groups`` groups."""
    nodes = {n.id: n for n in g.nodes}
    for k in range(0, len(shuffle), 4):
        v1, v2, c, v3 = (g.nodes[i] for i in shuffle[k:k + 4])
        x = v1.inputs[0].shape
        ch = x[1]
        if ch % groups:
            raise NotApplicable(f"channel shuffle at {v1.module}: {ch} channels in {groups} groups")
        a = (x[0], groups, ch // groups) + tuple(x[2:])
        b = (x[0], ch // groups, groups) + tuple(x[2:])
        dt = v1.outputs[0].dtype
        nodes[v1.id] = copy_node(v1, outputs=[TensorMeta(a, dt)], args={**v1.args, "size": list(a)})
        nodes[v2.id] = copy_node(v2, inputs=[TensorMeta(a, dt)], outputs=[TensorMeta(b, dt)],
                                 args={"dim0": 1, "dim1": 2})
        nodes[c.id] = copy_node(c, inputs=[TensorMeta(b, dt)], outputs=[TensorMeta(b, dt)])
        nodes[v3.id] = copy_node(v3, inputs=[TensorMeta(b, dt)])
    return renumber(g, [nodes[n.id] for n in g.nodes])


def _step(g: Graph, convs: set[int], seeds: set[int], groups: int) -> int:
    """Width granularity: the new groups, and the groups of other group convs next to the seeds."""
    out = groups
    for n in g.nodes:
        if n.id in convs or not is_group_conv(n):
            continue
        try:
            near = n.id in seeds or bool(seeds & set(producers(g, n.sources[0], _ca(n))))
        except NotApplicable:
            near = False
        if near:
            out = lcm(out, groups_of(n))
    return out


def regroup(g: Graph, convs: Iterable[int], groups: int) -> Applied:
    """Group convs ``convs`` -> ``groups`` groups; the width between them (:func:`local_class`
    of each) re-solved so the model's MACs stay what they were (ShuffleNet V2 Table 2). A channel
    shuffle feeding them is redone with ``groups`` groups, or removed at ``groups`` = 1."""
    convs = sorted(set(convs))
    nodes = [g.nodes[i] for i in convs]
    if not nodes or any(not is_group_conv(n) for n in nodes):
        raise NotApplicable("regroup: not all targets are group convs")
    if any(groups >= groups_of(n) or _c_in(n) % groups or _width(n) % groups for n in nodes):
        raise NotApplicable(f"regroup: {groups} groups is not fewer than the convs' groups or does not divide them")
    old_g = sorted({groups_of(n) for n in nodes})
    shuffles = _shuffles_before(g, set(convs))
    base = bypass(g, shuffles) if groups == 1 else _reshuffle(g, shuffles, groups)
    ids = _map_ids(g, base, convs)
    classes = sorted({local_class(base, base.nodes[i], lcm(groups, *old_g)) for i in ids})
    seeds = sorted({s for cl in classes for s in cl})
    step = _step(base, set(ids), set(seeds), groups)
    gr = {i: groups for i in ids}
    olds = {p: _width(base.nodes[p]) for p in seeds}
    scale_pts = [k / 128 for k in range(8, 128 * 8 + 1)]

    def build(k: int):
        oc = {p: max(step, int(round(olds[p] * scale_pts[k] / step)) * step) for p in seeds}
        return resize(base, oc, gr)

    _, g2 = solve(build, graph_macs(g), range(len(scale_pts)))
    widths = sorted({(olds[p], _width(g2.nodes[p])) for p in seeds})
    shown = ", ".join(f"{a}->{b}" for a, b in widths[:3]) + (" ..." if len(widths) > 3 else "")
    what = (f"group conv g={'/'.join(map(str, old_g))} -> g={groups} ({len(convs)} conv{'s' * (len(convs) > 1)}"
            f"{', channel shuffle removed' if groups == 1 and shuffles else ''}); width between them "
            f"{shown} to keep MACs equal")
    return Applied(g2, what, _where(g, convs), tuple(convs), {"groups": groups, "widths": widths})


def _map_ids(old: Graph, new: Graph, ids: Iterable[int]) -> list[int]:
    """Ids in ``new`` of the nodes ``ids`` of ``old`` (same op and module, in order)."""
    if old is new:
        return list(ids)
    key = {}
    for n in new.nodes:
        key.setdefault((n.op, n.module, tuple(n.inputs[1].shape) if len(n.inputs) > 1 else ()), []).append(n.id)
    out = []
    for i in ids:
        n = old.nodes[i]
        k = (n.op, n.module, tuple(n.inputs[1].shape) if len(n.inputs) > 1 else ())
        if not key.get(k):
            raise NotApplicable("regroup: a target conv was lost")
        out.append(key[k].pop(0))
    return out


# -- G1: equal widths at equal MACs --------------------------------------------------------------

def equalize(g: Graph, conv_id: int) -> Applied:
    """1x1 conv c1 -> c2 becomes w -> w (ShuffleNet V2 Table 1): both widths, and the widths
    tied to them, set to the w that keeps the model's MACs equal."""
    n = g.nodes[conv_id]
    if not is_pointwise_unequal(n):
        raise NotApplicable("equalize: not a 1x1 conv with unequal widths")
    c1, c2, grp = _c_in(n), _width(n), groups_of(n)
    seeds_in = _class_seeds(g, n, "in")
    if conv_id in seeds_in:
        raise NotApplicable("equalize: the conv's input and output widths are one")
    target = graph_macs(g)

    def build(w: int):
        oc = {p: _width(g.nodes[p]) + w - c1 for p in seeds_in}    # the input width becomes w
        oc[conv_id] = w
        return resize(g, oc)

    w, g2 = solve(build, target, _candidates(int(round((c1 * c2) ** 0.5)), grp))
    moved = sum(1 for a, b in zip(g.nodes, g2.nodes) if ops.is_conv(a.kind) and _width(a) != _width(b))
    if w == c1 or w == c2 or not moved:
        raise NotApplicable(f"equalize: no equal width keeps the model's MACs ({c1}->{c2} stays best)")
    what = (f"1x1 conv {c1}->{c2} -> {w}->{w} (equal widths at equal model MACs; "
            f"{moved} conv{'s' * (moved != 1)} change width)")
    return Applied(g2, what, g.nodes[conv_id].module or "(root)", (conv_id,), {"c1": c1, "c2": c2, "w": w})


# -- G4: fold, fuse or drop element-wise ops -----------------------------------------------------

def _head(g: Graph, n: Node, readers: dict[int, list[int]], returned: set[int]) -> Node | None:
    """The node whose result ``n`` alone reads (through views), or None."""
    s = n.sources[0] if n.sources else None
    while s is not None and s.kind == "node" and ops.is_free(g.nodes[s.ref]):
        s = g.nodes[s.ref].sources[0] if g.nodes[s.ref].sources else None
    if s is None or s.kind != "node":
        return None
    h = g.nodes[s.ref]
    if readers.get(h.id) != [n.id] or h.id in returned:
        return None
    return h


def _select(g: Graph, nodes: Iterable[int] | None, pred) -> list[int]:
    pool = g.nodes if nodes is None else [g.nodes[i] for i in nodes]
    return [n.id for n in pool if pred(n)]


def fold_bn(g: Graph, nodes: Iterable[int] | None = None) -> Applied:
    """Batch norms right after a conv / linear folded into it (Table 4 / inference practice): the
    BN goes, the conv gains a bias if it had none."""
    readers, returned = readers_of(g), returned_nodes(g)
    heads: dict[int, int] = {}
    for i in _select(g, nodes, lambda n: n.kind == "batch_norm"):
        h = _head(g, g.nodes[i], readers, returned)
        if h is not None and ops.is_weight_layer(h.kind):
            heads[i] = h.id
    if not heads:
        raise NotApplicable("no batch norm directly after a conv or linear layer")
    biased = {}
    for bn, h in heads.items():
        hn = g.nodes[h]
        if ops.is_conv(hn.kind) and len(hn.inputs) < 3:
            c = _width(hn)
            biased[h] = copy_node(hn, inputs=hn.inputs + [TensorMeta((c,), hn.inputs[1].dtype)],
                                  sources=hn.sources + [Source("param", f"{g.nodes[bn].module}.folded_bias")],
                                  new_params=hn.new_params + c)
    g1 = renumber(g, [biased.get(n.id, n) for n in g.nodes]) if biased else g
    g2 = bypass(g1, heads)
    what = (f"fold {len(heads)} batch norm{'s' * (len(heads) > 1)} into the "
            f"{_layer_word(g.nodes[h].kind for h in heads.values())} before "
            f"{'each' if len(heads) > 1 else 'it'} (scale into the weights, shift into a bias)")
    return Applied(g2, what, _where(g, heads), tuple(sorted(heads)))


def _layer_word(kinds) -> str:
    """What the fused-into layers are, in a suggestion's words: 'conv', 'linear layer' or both."""
    words = sorted({"conv" if ops.is_conv(k) else "linear layer" for k in kinds})
    return " or ".join(words) if words else "conv"


def _acts(g: Graph, nodes, label: str | None) -> list[int]:
    return _select(g, nodes, lambda n: ops.is_activation(n.kind)
                   and (label is None or ops.describe(n) == label))


def fuse_act(g: Graph, nodes: Iterable[int] | None = None, label: str | None = None) -> Applied:
    """Activations right after a conv / linear (or after a BN that follows one) run inside that
    kernel (Table 4's fused ReLU): the separate op goes."""
    readers, returned = readers_of(g), returned_nodes(g)
    fused, kinds = [], []
    for i in _acts(g, nodes, label):
        h = _head(g, g.nodes[i], readers, returned)
        if h is not None and h.kind == "batch_norm":
            h2 = _head(g, h, readers, returned)
            h = h2 if h2 is not None and ops.is_weight_layer(h2.kind) else None
        if h is not None and ops.is_weight_layer(h.kind):
            fused.append(i)
            kinds.append(h.kind)
    if not fused:
        raise NotApplicable("no activation directly after a conv or linear layer")
    kind = label or "activation"     # an MLP's ReLU goes into its linear layer, not a conv (was: always 'conv')
    what = f"fuse {len(fused)} {kind} op{'s' * (len(fused) > 1)} into the {_layer_word(kinds)} kernel before it"
    return Applied(bypass(g, fused), what, _where(g, fused), tuple(fused))


def remove_act(g: Graph, nodes: Iterable[int] | None = None, label: str | None = None) -> Applied:
    """Activations removed (ShuffleNet V2 Table 4, "ReLU removed")."""
    ids = _acts(g, nodes, label)
    if not ids:
        raise NotApplicable("no activation to remove")
    kind = label or "activation"
    what = f"remove {len(ids)} {kind} op{'s' * (len(ids) > 1)} (Table 4: ReLU removed)"
    return Applied(bypass(g, ids), what, _where(g, ids), tuple(ids))


def remove_shortcut(g: Graph, nodes: Iterable[int] | None = None) -> Applied:
    """Residual adds removed: the block returns its main branch (Table 4, "short-cut removed")."""
    keep = {}
    for i in _select(g, nodes, lambda n: n.kind == "add"):
        side = shortcut_side(g, g.nodes[i])
        if side is not None:
            keep[i] = 1 - side
    if not keep:
        raise NotApplicable("no residual add (an identity shortcut around convs)")
    what = f"remove {len(keep)} residual shortcut add{'s' * (len(keep) > 1)} (Table 4: short-cut removed)"
    return Applied(bypass(g, keep, keep), what, _where(g, keep), tuple(sorted(keep)))


def _concat_units(g: Graph, units: list[tuple[int, int, set[int]]], scale: float = 1.0, step: int = 8) -> Graph:
    """``g`` with each residual unit ``(add id, shortcut side, branch ids)`` made a ShuffleNet V2
    unit: split x in halves, the branch on the second half (its input and output widths c/2, its
    shapes re-inferred), concat with the first half, channel shuffle; the add goes. ``scale`` != 1
    widens the branch's inner convs (multiples of ``step``)."""
    nid, before, tails, remap, entry = 10 ** 9, {}, {}, {}, {}
    for add_id, side, branch in units:
        add = g.nodes[add_id]
        sx, sf = add.sources[side], add.sources[1 - side]
        split = channel_split(nid, add.inputs[side], sx, add)
        half = split.outputs[1]
        before[min(branch)] = split
        entry.update({b: (sx, Source("node", nid, 1)) for b in branch})
        tails[add_id] = concat_shuffle(nid + 1, [(Source("node", nid, 0), half), (sf, half)], add)
        remap[add_id] = Source("node", tails[add_id][-1].id)
        nid += 6
    fix = lambda s: remap.get(s.ref, s) if s.kind == "node" else s  # noqa: E731
    out: list[Node] = []
    for n in g.nodes:
        if n.id in before:
            out.append(copy_node(before[n.id], sources=[fix(s) for s in before[n.id].sources]))
        if n.id in tails:
            out += [copy_node(m, sources=[fix(s) for s in m.sources]) for m in tails[n.id]]
            continue
        sx, half = entry.get(n.id, (None, None))
        out.append(copy_node(n, sources=[half if s == sx else fix(s) for s in n.sources]))
    pos = {n.id: k for k, n in enumerate(out)}
    g1 = renumber(g, out, [fix(s) for s in g.outputs])
    oc = {}
    for add_id, side, branch in units:
        c = g.nodes[add_id].outputs[0].shape[1]
        try:
            ends = [p for p in producers(g, g.nodes[add_id].sources[1 - side], 1) if p in branch]
        except NotApplicable:
            ends = []
        if any(_width(g.nodes[p]) != c for p in ends):
            raise NotApplicable(f"add at {g.nodes[add_id].module}: the branch's output width is not one conv's")
        oc.update({pos[p]: c // 2 for p in ends})
        if scale != 1.0:
            inner = [b for b in branch if ops.is_conv(g.nodes[b].kind) and b not in ends
                     and ops.conv_class(g.nodes[b]) != "depthwise"]
            oc.update({pos[b]: max(step, int(round(_width(g.nodes[b]) * scale / step)) * step) for b in inner})
    g2, ties = infer(g1, oc)
    inside = {pos[b] for _, _, branch in units for b in branch}
    if ties or any(a.outputs != b.outputs for a, b in zip(g1.nodes, g2.nodes) if a.id not in inside):
        raise NotApplicable("the branch's widths cannot be halved within the unit (shape re-inference)")
    return g2


def add_to_concat(g: Graph, nodes: Iterable[int] | None = None, equal_macs: bool = False) -> Applied:
    """Residual adds x + f(x) -> ShuffleNet V2 units (Ma et al. 2018, Sec. 3, Fig. 3c; G4: no
    element-wise add): channel split, the branch f on c/2 channels in and out, concat with the
    untouched half, channel shuffle. The branch's inner widths are kept (its MACs shrink), or with
    ``equal_macs`` its inner convs widened so the model's MACs stay equal. Adds that do not fit (no
    identity shortcut, a branch that is not a chain the re-inference follows) go to
    ``details['skipped']`` as ``(where, reason)``."""
    consumers = g.consumers()
    units: list[tuple[int, int, set[int]]] = []
    skipped: list[tuple[str, str]] = []
    taken: set[int] = set()
    for i in _select(g, nodes, lambda n: n.kind == "add"):
        add = g.nodes[i]
        try:
            side, branch = residual_branch(g, add, consumers)
            if taken & (branch | {i}):
                raise NotApplicable(f"add at {add.module}: its branch overlaps another unit's")
            _concat_units(g, [(i, side, branch)])
        except NotApplicable as exc:
            skipped.append((add.module or "(root)", str(exc)))
            continue
        units.append((i, side, branch))
        taken |= branch | {i}
    if not units:
        raise NotApplicable(skipped[0][1] if skipped else "no residual add")
    m0, scale = graph_macs(g), 1.0
    if equal_macs:
        step = lcm(8, *(groups_of(g.nodes[b]) for _, _, br in units for b in br if ops.is_conv(g.nodes[b].kind)
                        and ops.conv_class(g.nodes[b]) != "depthwise"))
        scale, g2 = solve(lambda k: _concat_units(g, units, k, step), m0, [k / 16 for k in range(16, 16 * 6 + 1)])
    else:
        g2 = _concat_units(g, units)
    widths = sorted({g.nodes[i].outputs[0].shape[1] for i, _, _ in units})
    shown = ", ".join(f"{c}->{c // 2}" for c in widths[:3]) + (" ..." if len(widths) > 3 else "")
    inner = f"inner widths x{scale:g} to keep MACs equal" if equal_macs else "inner widths kept"
    what = (f"x + f(x) -> channel split, f on half, concat, channel shuffle (ShuffleNet V2 unit; "
            f"{len(units)} add{'s' * (len(units) > 1)} removed); branch in/out width {shown}, {inner}: "
            f"MACs {100 * (graph_macs(g2) - m0) / m0:+.1f}%")
    ids = [i for i, _, _ in units]
    return Applied(g2, what, _where(g, ids), tuple(ids), {"skipped": skipped, "widths": widths, "scale": scale})


# -- G3: parallel convs merged into one ------------------------------------------------------------

def sibling_groups(g: Graph, nodes: Iterable[int] | None) -> list[list[int]]:
    """Convs (groups = 1) that read the same tensor with the same kernel, stride and padding."""
    allowed = None if nodes is None else set(nodes)
    groups: dict[tuple, list[int]] = {}
    for n in g.nodes:
        if not ops.is_conv(n.kind) or groups_of(n) != 1 or n.args.get("transposed", False) or not n.sources:
            continue
        if allowed is not None and n.id not in allowed:
            continue
        a = n.args
        key = (n.sources[0], tuple(n.inputs[0].shape), tuple(n.inputs[1].shape[1:]), str(a.get("stride")),
               str(a.get("padding")), str(a.get("dilation")), len(n.inputs) >= 3)
        groups.setdefault(key, []).append(n.id)
    return [v for v in groups.values() if len(v) > 1]


def _chain(g: Graph, conv: int, consumers: dict[int, list[int]]) -> list[int]:
    """``conv`` and the per-channel ops (norm, activation) that alone read it, one after another."""
    chain = [conv]
    while True:
        nxt = consumers[chain[-1]]
        if len(nxt) != 1:
            return chain
        n = g.nodes[nxt[0]]
        if not (ops.is_norm(n.kind) or ops.is_activation(n.kind)) or n.sources[0] != Source("node", chain[-1], 0):
            return chain
        chain.append(n.id)


def _common(g: Graph, chains: list[list[int]]) -> int:
    length = min(len(c) for c in chains)
    for j in range(1, length):
        ref = g.nodes[chains[0][j]]
        if any(g.nodes[c[j]].op != ref.op or g.nodes[c[j]].args != ref.args for c in chains):
            return j
    return length


def _merged(g: Graph, chains: list[list[int]], j: int, nid: int, src: Source) -> Node:
    """Position ``j`` of the branch chains as one node over the summed channels."""
    parts = [g.nodes[c[j]] for c in chains]
    first = parts[0]
    total = sum(_width(g.nodes[c[0]]) for c in chains)
    out = list(first.outputs[0].shape)
    out[1] = total
    ins = [TensorMeta(tuple(out), first.inputs[0].dtype) if j else first.inputs[0]]
    for t in first.inputs[1:]:
        shp = list(t.shape)
        if shp:
            shp[0] = total          # conv weight / bias, norm scale / shift / statistics
        ins.append(TensorMeta(tuple(shp), t.dtype))
    return copy_node(first, id=nid, inputs=ins, sources=[src] + list(first.sources[1:]),
                     outputs=[TensorMeta(tuple(out), first.outputs[0].dtype)] + list(first.outputs[1:]),
                     new_params=sum(p.new_params for p in parts), new_buffers=sum(p.new_buffers for p in parts))


def _slice(g: Graph, end: Node, nid: int, src: Source, start: int, width: int) -> Node:
    out = list(end.outputs[0].shape)
    total_shape = list(out)
    out[1] = width
    return Node(id=nid, op="aten.slice.Tensor", kind="slice", module=end.module, module_type=end.module_type,
                inputs=[TensorMeta(tuple(total_shape), end.outputs[0].dtype)], sources=[src],
                outputs=[TensorMeta(tuple(out), end.outputs[0].dtype)],
                args={"dim": 1, "start": start, "end": start + width, "step": 1}, is_view=True)


def merge_parallel(g: Graph, nodes: Iterable[int] | None = None) -> Applied:
    """Parallel convs reading one tensor -> one conv of their summed width (ShuffleNet V2 Table 3:
    fewer fragments at equal FLOPs); their identical BN / activation chains merge too, and a concat
    of exactly their outputs, in order, goes (the merged result is that concat)."""
    sib = sibling_groups(g, nodes)
    if not sib:
        raise NotApplicable("no parallel convs reading the same tensor")
    consumers = g.consumers()
    emit: dict[int, list[Node]] = {}
    drop: set[int] = set()
    remap: dict[int, Source] = {}
    nid = 10 ** 9
    for group in sib:
        chains = [_chain(g, c, consumers) for c in group]
        length = _common(g, chains)
        chains = [c[:length] for c in chains]
        new, src = [], g.nodes[chains[0][0]].sources[0]
        for j in range(length):
            new.append(_merged(g, chains, j, nid, src))
            src, nid = Source("node", nid), nid + 1
        ends = [c[-1] for c in chains]
        cats = {tuple(consumers[e]) for e in ends}
        k = g.nodes[next(iter(cats))[0]] if len(cats) == 1 and len(next(iter(cats))) == 1 else None
        if k is not None and k.kind == "cat" and k.sources == [Source("node", e) for e in ends] \
                and _dim(k) == 1:
            drop.add(k.id)
            remap[k.id] = src
        else:
            start = 0
            for c, e in zip(chains, ends):
                w = _width(g.nodes[c[0]])
                new.append(_slice(g, g.nodes[e], nid, src, start, w))
                remap[e] = Source("node", nid)
                start, nid = start + w, nid + 1
        emit[chains[0][0]] = new
        drop.update(i for c in chains for i in c)
    out: list[Node] = []
    fix = lambda s: remap.get(s.ref, s) if s.kind == "node" else s  # noqa: E731
    for n in g.nodes:
        out += [copy_node(m, sources=[fix(s) for s in m.sources]) for m in emit.get(n.id, [])]
        if n.id not in drop:
            out.append(copy_node(n, sources=[fix(s) for s in n.sources]))
    g2 = renumber(g, out, [fix(s) for s in g.outputs])
    merged = [c for grp in sib for c in grp]
    what = (f"merge {len(merged)} parallel convs into {len(sib)} wider conv{'s' * (len(sib) > 1)} "
            f"(equal FLOPs, {len(merged) - len(sib)} fewer fragments)")
    return Applied(g2, what, _where(g, merged), tuple(merged))


def _dim(n: Node) -> int:
    d = int(n.args.get("dim", 0))
    return d + len(n.outputs[0].shape) if d < 0 else d
