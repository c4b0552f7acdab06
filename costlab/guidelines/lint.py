"""The G1-G4 check: a pass over a Report (ShuffleNet V2's guidelines with measured costs).

Ma, Zhang, Zheng & Sun 2018, "ShuffleNet V2: Practical Guidelines for Efficient CNN
Architecture Design", arXiv:1807.11164, Sec. 2. The pass reads a
:class:`~costlab.report.Report` (its per-op ``layers`` and the traced IR in
``report.graph``); it never re-traces the model.

What is measured (``value`` / ``bound`` / ``excess`` of a finding)
-------------------------------------------------------------------
``P`` is the number of output positions of the op, batch included (``N*h*w``; the
paper's ``hw``), ``c1``/``c2`` its input/output channels, ``g`` its groups, ``k`` its
kernel area. MAC is in *elements* (the paper's unit), ``excess`` in *bytes* of the
report's dtype.

* **G1** (equal channel width minimises MAC): every 1x1 conv that is not depthwise, and
  every linear layer applied over feature-map positions (rows > batch), with
  ``c1 != c2``. ``value = P(c1+c2) + c1*c2/g`` (the paper's MAC), ``bound =
  2*sqrt(g*P*B) + B/P`` with ``B = P*c1*c2/g`` its FLOPs(=MACs): the paper's lower bound,
  applied to each of the ``g`` groups (so g = 1 is exactly the paper's formula and the
  group effect is left to G2). ``excess = (value - bound) * bytes`` =
  ``P*(sqrt(c1) - sqrt(c2))**2`` elements. Strided 1x1 convs use the output positions for
  the input term too (the conv reads only those).
* **G2** (excessive group convolution increases MAC): every group conv with
  ``1 < g < c1`` (depthwise convs belong to G4). ``value = P(c1+c2) + k*c1*c2/g``;
  ``bound`` = the MAC of a g = 1 conv with the same FLOPs, input and positions (the
  paper's ``MAC = hw*c1 + B*g/c1 + B/(hw)`` at g = 1, i.e. output width ``c2/g``):
  ``P*c1 + P*c2/g + k*c1*c2/g``; ``excess = (value - bound) * bytes`` =
  ``P*c2*(1 - 1/g)`` elements.
* **G3** (network fragmentation reduces parallelism): a *block* is a module whose ops
  (with its sub-modules') read one tensor from outside and deliver one tensor outside,
  following the IR's data-flow edges through views. Its *fragments* are its convs,
  linears, matmuls and poolings (the paper's "individual convolution or pooling
  operations"); its *parallel branches* are the most fragments at one dependency level
  (an as-soon-as-possible schedule): 4 for an Inception module, 2 for a ResNet unit with
  a projection shortcut or a fire module, 1 for a plain chain. A block with more than
  ``thresholds['branches']`` branches (default 2, the two-branch ShuffleNet V2 unit) is a
  finding, reported at the innermost module that explains its branching.
  ``value`` = branches, ``bound`` = the allowed branches, ``excess`` = the difference.
  Series fragmentation (many small ops in a chain) is measured, not flagged: the summary
  gives the model's number of ops and its longest dependency chain (ops / chain = the
  parallelism available), and each G3 finding its MMAC per op; every small network has
  many small ops, so no absolute threshold on them separates good designs from bad.
* **G4** (element-wise operations are not negligible): activations, add/sub/mul/div
  (``bias add`` when one side is a parameter), batch/layer/group norm, concat and copies
  (a channel shuffle's ``contiguous``), and depthwise convs "as the paper counts them".
  One finding per kind. ``value`` = the kind's MAC bytes, ``bound`` = the bytes it would
  get in proportion to its arithmetic (its share of the model's ``flops + elem_ops``
  times the model's MAC bytes), ``excess = value - bound``.

``share`` and severity
----------------------
``share`` is the violation's share of the model's cost. The cost is MAC bytes, or
latency when the report has a ``latency_ms`` column (a device profile):

* G1, G2: the avoidable part of the op: ``excess_bytes / total MAC bytes``; with
  latency, ``(value - bound) / value * op latency / total latency``.
* G3: the block's cost (sum over its ops) over the model's.
* G4: the kind's cost over the model's.

The summary of each guideline adds what the whole model measures: G1/G2
``excess_bytes``; G3 ``ops``, ``longest_chain``, ``parallelism``, ``max_branches``; G4
``bytes_share`` (MAC bytes), ``ops_share`` (flops + elem_ops) and ``macs_share`` (MACs:
the depthwise convs) of the element-wise ops.

A finding's severity comes from its share (never from the pattern alone):
``high`` >= ``thresholds['high']`` (5 %), ``medium`` >= ``thresholds['medium']`` (1 %),
else ``low``; findings below ``thresholds['min_share']`` (0.1 %) are not listed but
still counted in the summary. A guideline is *violated* by the model when the summed
share of all its violations reaches ``thresholds[G]`` (see :data:`DEFAULT_THRESHOLDS`).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import pandas as pd

from .. import ops
from ..errors import GuidelineError
from ..ir import Graph, Node
from ..report import Column
from .result import FINDING_KEYS, GUIDELINES, GuidelineResult, parse_thresholds, severity

# every op category (costlab.ops.CATEGORIES) -> the guideline that counts its ops: G4 the
# element-wise ones (depthwise convs join them), G3 the "fragments" (individual convolution /
# pooling operations), None neither. A new category must be added here (a test checks it).
GROUP_OF_CATEGORY: dict[str, str | None] = {
    "mac": "G3", "pool_max": "G3", "pool_avg": "G3", "global_pool": "G3",
    "activation": "G4", "binary": "G4", "norm": "G4", "move": "G4",
    "pointwise": None, "reduce": None, "softmax": None, "layout": None, "resample": None, "view": None,
    "unsupported": None,
}
ELEMENTWISE_CATEGORIES = frozenset(c for c, g in GROUP_OF_CATEGORY.items() if g == "G4")
FRAGMENT_CATEGORIES = frozenset(c for c, g in GROUP_OF_CATEGORY.items() if g == "G3")
FINDINGS = Column("findings", fmt="text", combine="union", help="guidelines this op violates (G1-G4)")

_G4_ADVICE = {
    "activation": "fuse it into the preceding conv, or apply it to fewer channels "
                  "(ShuffleNet V2 keeps activations on one branch only)",
    "bias add": "fold the bias into the preceding conv/linear",
    "add": "fuse the add, or replace residual adds by concat of a channel split (ShuffleNet V2 unit)",
    "mul": "fuse the scaling into the neighbouring conv",
    "norm": "fold batch norm into the preceding conv for inference",
    "cat": "merge concat, channel shuffle and channel split into one op (ShuffleNet V2 unit)",
    "gather": "gather fewer rows, or fuse the lookup with the op that reads it",
    "copy": "avoid materialised copies: let the shuffle be a view consumed by the next op, "
            "or merge it with the concat (ShuffleNet V2 unit)",
    "dwconv": "use fewer depthwise convs on wide features (ShuffleNet V2: one per unit, on half "
              "the channels), or fuse them with the following 1x1 conv",
}


# -- graph helpers ---------------------------------------------------------------------------

def _positions(node: Node) -> int:
    """Output positions of a conv, batch included (the paper's hw)."""
    out = node.outputs[0]
    x, w = node.inputs[0], node.inputs[1]
    spatial = len(w.shape) - 2
    p = 1
    for d in out.shape[-spatial:] if spatial > 0 else ():
        p *= int(d)
    if len(x.shape) == len(w.shape):
        p *= int(out.shape[0])
    return p


def _conv_dims(node: Node) -> tuple[int, int, int, int, int]:
    """(positions P, c1, c2, groups, kernel area) of a conv node."""
    x, w = node.inputs[0], node.inputs[1]
    out = node.outputs[0]
    batched = len(x.shape) == len(w.shape)
    c1 = int(x.shape[1] if batched else x.shape[0])
    c2 = int(out.shape[1] if batched else out.shape[0])
    k = 1
    for d in w.shape[2:]:
        k *= int(d)
    return _positions(node), c1, c2, int(node.args.get("groups", 1) or 1), k


def _linear_dims(node: Node, batch: int) -> tuple[int, int, int] | None:
    """(rows P, c1, c2) of a linear/mm whose weight is a parameter, applied over positions."""
    kind = ops.kind_of(node.op)
    if kind == "linear":          # addmm(bias, a, b)
        if len(node.inputs) < 3:
            return None
        a, b, src_b = node.inputs[1], node.inputs[2], node.sources[2]
    elif kind == "matmul" and node.op.startswith("aten.mm"):
        a, b, src_b = node.inputs[0], node.inputs[1], node.sources[1]
    else:
        return None
    if src_b.kind != "param" or len(a.shape) != 2 or len(b.shape) != 2:
        return None
    rows = int(a.shape[0])
    if rows <= batch:             # a classifier on pooled vectors: no feature-map positions
        return None
    return rows, int(a.shape[1]), int(b.shape[1])


class _Flow:
    """Data-flow view of a graph: free nodes, view-resolved roots (on the IR), consumers."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.nodes = graph.nodes
        self.free = ops.free_mask(graph)
        self.roots = graph.roots(self.free)
        self.consumers = graph.consumers()

    def root_of_node(self, nid: int) -> tuple:
        return self.roots[nid]

    def source_root(self, s) -> tuple | None:
        return self.graph.source_root(s, self.roots)


def _modules_of(graph: Graph) -> dict[str, list[int]]:
    """module path -> ids of the nodes it (or a sub-module) issued, in execution order."""
    members: dict[str, list[int]] = defaultdict(list)
    for n in graph.nodes:
        if not n.module:
            continue
        parts = n.module.split(".")
        for i in range(1, len(parts) + 1):
            members[".".join(parts[:i])].append(n.id)
    return members


@dataclass
class _Block:
    path: str
    module_type: str
    nodes: list[int]
    fragments: int
    branches: int
    chain: int
    ops: int


def _block_stats(flow: _Flow, path: str, ids: list[int], graph_outputs: set) -> _Block | None:
    """Branch structure of a module, or None when it is not a one-in one-out block."""
    inside = set(ids)
    ext_in: set = set()
    ext_out: set = set()
    for nid in ids:
        n = flow.nodes[nid]
        for s in n.sources:
            if s.kind == "node" and s.ref in inside:
                continue
            r = flow.source_root(s)
            if r is not None:
                ext_in.add(r)
        if any(c not in inside for c in flow.consumers[nid]) or nid in graph_outputs:
            ext_out.add(flow.root_of_node(nid))
    if len(ext_in) != 1 or len(ext_out) != 1:
        return None
    level: dict[int, int] = {}
    per_level: dict[int, int] = defaultdict(int)
    fragments = ops_count = 0
    for nid in ids:
        n = flow.nodes[nid]
        lv = max((level[p] for p in n.producers if p in level), default=0)
        if not flow.free[nid]:
            ops_count += 1
        if ops.category_of(n.op) in FRAGMENT_CATEGORIES and not flow.free[nid]:
            lv += 1
            fragments += 1
            per_level[lv] += 1
        level[nid] = lv
    return _Block(path, flow.graph.module_types.get(path, flow.nodes[ids[0]].module_type), ids,
                  fragments, max(per_level.values(), default=0), max(level.values(), default=0),
                  ops_count)


def _longest_chain(flow: _Flow) -> tuple[int, int]:
    """(ops, longest dependency chain in ops) over the non-free nodes of the whole graph."""
    depth: dict[int, int] = {}
    for n in flow.nodes:
        d = max((depth[p] for p in n.producers if p in depth), default=0)
        depth[n.id] = d + (0 if flow.free[n.id] else 1)
    ops_n = sum(1 for f in flow.free if not f)
    return ops_n, max(depth.values(), default=0)


# -- the pass -----------------------------------------------------------------------------------

def _g4_group(node: Node) -> tuple[str, str] | None:
    """(label, advice key) of an element-wise node, or None."""
    kind, cat = node.kind, ops.category_of(node.op)
    if ops.is_conv(kind):
        return ("dwconv", "dwconv") if ops.conv_class(node) == "depthwise" else None
    if cat not in ELEMENTWISE_CATEGORIES:
        return None
    if cat == "activation":
        return ops.describe(node), "activation"
    family = ops.arith_family(kind)
    if family == "add" and any(s.kind == "param" for s in node.sources):
        return "bias add", "bias add"
    if family is not None:
        return kind, ("add" if family == "add" else "mul")
    if cat == "norm":
        return kind, "norm"
    return kind, kind


def _num(x: float) -> float | int:
    """An int when the value is integral (JSON stays readable), else the float."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 2 ** 53:
        return int(x)
    return x


@dataclass
class _Ctx:
    """The report's per-node costs the findings are measured in."""

    row_of: dict[int, dict[str, Any]]
    cost_col: str                    # 'mac_bytes' or 'latency_ms'
    total_cost: float
    total_bytes: float
    total_work: float                # flops + elem_ops
    total_macs: float
    fb: int                          # bytes per element
    batch: int
    clocks: dict[int, tuple[float, float]] = field(default_factory=dict)   # GPU profiles: (host, device) ms
    cost: Callable[[int], float] = field(init=False)

    def __post_init__(self):
        self.cost = lambda nid: float(self.row_of[nid][self.cost_col]) if nid in self.row_of else 0.0

    def share_of(self, c: float) -> float:
        return c / self.total_cost if self.total_cost > 0 else 0.0

    def gpu_note(self, nodes) -> str:
        """On a GPU host/device profile: whose clock the ops cost, e.g. ``on the GPU: 52 ops
        dispatched, 0.70 ms host vs 0.13 ms device: launch-bound, ...``; '' elsewhere."""
        if not self.clocks:
            return ""
        ids = [i for i in nodes if i in self.clocks]
        host = sum(self.clocks[i][0] for i in ids)
        dev = sum(self.clocks[i][1] for i in ids)
        if host <= 0 and dev <= 0:
            return ""
        head = f". On the GPU: {len(ids)} ops dispatched, {host:.3g} ms host vs {dev:.3g} ms device: "
        if host > dev:
            return head + ("launch-bound, so the cost is the op count: fewer ops (fusion, torch.compile) or a "
                           "CUDA graph remove most of it")
        return head + "device-bound: fewer bytes or MACs, not fewer launches, make it faster"

    def name(self, nid: int) -> str:
        r = self.row_of.get(nid)
        return r["name"] if r is not None else f"node {nid}"


def _context(report) -> _Ctx:
    graph: Graph | None = getattr(report, "graph", None)
    layers: pd.DataFrame = report.layers
    if graph is None:
        raise GuidelineError("the report has no traced graph (report.graph); analyze the model with "
                             "costlab.analyze() and check that report")
    if "node" not in layers.columns:
        raise GuidelineError("the report's layers are rolled up; check the per-op report (depth=None)")
    cost_col = "latency_ms" if "latency_ms" in layers.columns else "mac_bytes"
    if cost_col == "latency_ms" and layers["latency_ms"].isna().any():
        missing = layers.loc[layers["latency_ms"].isna(), "name"].tolist()
        raise GuidelineError(f"latency_ms is missing for {len(missing)} layer(s) (first: {missing[0]}); "
                             "predict every layer's latency, or drop the column to use MAC bytes")
    cols = ["name", "node", "mac_bytes", "flops", "elem_ops", "macs"] + (["latency_ms"] if cost_col == "latency_ms" else [])
    row_of = {int(rec["node"]): rec for rec in layers[cols].to_dict("records")}
    total_bytes = float(layers["mac_bytes"].sum()) if not layers.empty else 0.0
    total_cost = (float(report.totals.get("latency_ms") or layers["latency_ms"].sum())
                  if cost_col == "latency_ms" else total_bytes)
    clocks = ({int(n): (float(h), float(d)) for n, h, d in zip(layers["node"], layers["host_ms"], layers["device_ms"])}
              if cost_col == "latency_ms" and {"host_ms", "device_ms"} <= set(layers.columns) else {})
    return _Ctx(row_of=row_of, cost_col=cost_col, total_cost=total_cost, total_bytes=total_bytes, clocks=clocks,
                total_work=float(layers["flops"].sum() + layers["elem_ops"].sum()) if not layers.empty else 0.0,
                total_macs=float(layers["macs"].sum()) if not layers.empty else 0.0,
                fb=ops.dtype_bytes(report.dtype),
                batch=int(graph.inputs[0].shape[0]) if graph.inputs and graph.inputs[0].shape else 1)


def _g1_g2(graph: Graph, ctx: _Ctx) -> tuple[list[dict], list[dict]]:
    """G1 (1x1 convs / linears with c1 != c2) and G2 (group convs) findings, unfiltered."""
    g1: list[dict] = []
    g2: list[dict] = []
    for n in graph.nodes:
        if n.id not in ctx.row_of:
            continue
        if ops.is_conv(n.kind):
            cls = ops.conv_class(n)
            if cls in (None, "depthwise", "transposed"):
                continue
            P, c1, c2, g, k = _conv_dims(n)
            if k == 1 and c1 != c2:
                g1.append(_g1(n.id, ctx.name(n.id), P, c1, c2, g, ctx.fb, ctx.cost(n.id), ctx.share_of))
            if cls == "group" and 1 < g < c1:
                g2.append(_g2(n.id, ctx.name(n.id), P, c1, c2, g, k, ctx.fb, ctx.cost(n.id), ctx.share_of))
        elif ops.is_gemm(n.kind):
            dims = _linear_dims(n, ctx.batch)
            if dims is not None and dims[1] != dims[2]:
                P, c1, c2 = dims
                g1.append(_g1(n.id, ctx.name(n.id), P, c1, c2, 1, ctx.fb, ctx.cost(n.id), ctx.share_of,
                              what="linear"))
    if ctx.cost_col == "mac_bytes":
        for f in g1 + g2:
            f["share"] = ctx.share_of(f["excess"])
    return g1, g2


@dataclass
class _G3:
    findings: list[dict]
    nodes: set[int]
    blocks: dict[str, _Block]
    root: _Block | None
    ops: int
    chain: int


def _g3(graph: Graph, ctx: _Ctx, allowed: int) -> _G3:
    """G3: blocks with more parallel branches than ``allowed``, at the innermost module that
    explains the branching."""
    flow = _Flow(graph)
    graph_outputs = {s.ref for s in graph.outputs if s.kind == "node"}
    blocks: dict[str, _Block] = {}
    for path, ids in _modules_of(graph).items():
        b = _block_stats(flow, path, ids, graph_outputs)
        if b is not None and b.fragments > 0:
            blocks[path] = b
    # the whole model is a block too when its forward does the branching itself
    all_ids = [n.id for n in graph.nodes]
    root = _block_stats(flow, "", all_ids, graph_outputs) if all_ids else None
    if root is not None:
        root.path, root.module_type = "(model)", graph.module_types.get("", "model")
    found: list[dict] = []
    nodes: set[int] = set()
    for path, b in list(blocks.items()) + ([("", root)] if root is not None else []):
        if b.branches <= allowed:
            continue
        prefix = path + "." if path else ""
        inner = max((c.branches for p, c in blocks.items() if p.startswith(prefix) and p != path), default=0)
        if inner >= b.branches:
            continue      # the branching is explained by a sub-module: report that one
        block_macs = sum(int(ctx.row_of[i]["macs"]) for i in b.nodes if i in ctx.row_of)
        nodes.update(b.nodes)
        mmac_per_op = block_macs / b.ops / 1e6 if b.ops else 0.0
        found.append({
            "guideline": "G3", "where": f"{b.path} ({b.module_type})",
            "value": b.branches, "bound": allowed, "excess": b.branches - allowed,
            "share": ctx.share_of(sum(ctx.cost(i) for i in b.nodes)),
            "advice": (f"{b.branches} parallel branches; {b.fragments} convs/pools on a chain of "
                       f"{b.chain}, {b.ops} ops, {mmac_per_op:.3g} MMAC per op: merge branches into "
                       f"fewer, wider ops (at most {allowed} branches, as a ShuffleNet V2 unit)"
                       + ctx.gpu_note(b.nodes)),
            "_nodes": b.nodes,
        })
    ops_n, chain = _longest_chain(flow)
    return _G3(found, nodes, blocks, root, ops_n, chain)


def _g4(graph: Graph, ctx: _Ctx) -> tuple[list[dict], dict[str, dict[str, Any]]]:
    """G4: element-wise ops (and depthwise convs), one finding per kind."""
    groups: dict[str, dict[str, Any]] = {}
    for n in graph.nodes:
        key = _g4_group(n) if n.id in ctx.row_of else None
        if key is None:
            continue
        label, adv = key
        gr = groups.setdefault(label, {"advice": adv, "nodes": [], "bytes": 0.0, "cost": 0.0,
                                       "work": 0.0, "macs": 0.0})
        r = ctx.row_of[n.id]
        gr["nodes"].append(n.id)
        gr["bytes"] += float(r["mac_bytes"])
        gr["cost"] += ctx.cost(n.id)
        gr["work"] += float(r["flops"]) + float(r["elem_ops"])
        gr["macs"] += float(r["macs"])
    found = []
    for label, gr in groups.items():
        bytes_share = gr["bytes"] / ctx.total_bytes if ctx.total_bytes else 0.0
        work_share = gr["work"] / ctx.total_work if ctx.total_work else 0.0
        bound = work_share * ctx.total_bytes
        worst = max(gr["nodes"], key=ctx.cost)
        n_ops = len(gr["nodes"])
        found.append({
            "guideline": "G4", "where": f"{label} x{n_ops}",
            "value": _num(gr["bytes"]), "bound": bound, "excess": gr["bytes"] - bound,
            "share": ctx.share_of(gr["cost"]),
            "advice": (f"{n_ops} {label} op{'s' if n_ops != 1 else ''}: {bytes_share:.1%} of MAC bytes for "
                       f"{work_share:.2%} of the arithmetic (largest: {ctx.name(worst)}); "
                       + _G4_ADVICE.get(gr["advice"], _G4_ADVICE["copy"]) + ctx.gpu_note(gr["nodes"])),
            "_nodes": gr["nodes"],
        })
    return found, groups


def _summarize(raw: dict[str, list[dict]], g3: _G3, groups: dict, ctx: _Ctx, th: dict) -> dict[str, dict]:
    summary: dict[str, dict[str, Any]] = {}
    for g in GUIDELINES:
        s = ctx.share_of(sum(ctx.cost(i) for i in g3.nodes)) if g == "G3" else sum(f["share"] for f in raw[g])
        summary[g] = {"violated": bool(raw[g]) and s >= th[g] and s > 0, "share": s, "count": len(raw[g])}
    summary["G1"]["excess_bytes"] = _num(float(sum(f["excess"] for f in raw["G1"])))
    summary["G2"]["excess_bytes"] = _num(float(sum(f["excess"] for f in raw["G2"])))
    g4_bytes = sum(gr["bytes"] for gr in groups.values())
    g4_work = sum(gr["work"] for gr in groups.values())
    g4_macs = sum(gr["macs"] for gr in groups.values())
    summary["G3"].update({"ops": g3.ops, "longest_chain": g3.chain,
                          "parallelism": g3.ops / g3.chain if g3.chain else 0.0,
                          "max_branches": max([b.branches for b in g3.blocks.values()]
                                              + ([g3.root.branches] if g3.root else []), default=0)})
    summary["G4"].update({"bytes_share": g4_bytes / ctx.total_bytes if ctx.total_bytes else 0.0,
                          "ops_share": g4_work / ctx.total_work if ctx.total_work else 0.0,
                          "macs_share": g4_macs / ctx.total_macs if ctx.total_macs else 0.0})
    return summary


def _listed(raw: dict[str, list[dict]], ctx: _Ctx, th: dict):
    """(findings worst first, unlisted counts per guideline, layer name -> guideline tags)."""
    findings: list[dict[str, Any]] = []
    unlisted: dict[str, int] = {g: 0 for g in GUIDELINES}
    tags: dict[str, set[str]] = defaultdict(set)
    for g in GUIDELINES:
        for f in raw[g]:
            if f["share"] < th["min_share"] or f["share"] <= 0:
                unlisted[g] += 1
                continue
            for nid in f["_nodes"]:
                if nid in ctx.row_of:
                    tags[ctx.row_of[nid]["name"]].add(g)
            f["severity"] = severity(f["share"], th)
            findings.append({k: (_num(float(f[k])) if k in ("value", "bound", "excess") else f[k])
                             for k in FINDING_KEYS})
    findings.sort(key=lambda f: (-f["share"], f["guideline"], f["where"]))
    return findings, unlisted, {k: sorted(v) for k, v in tags.items()}


def check(report, *, thresholds: Mapping[str, Any] | None = None) -> GuidelineResult:
    """Run the G1-G4 findings pass over ``report`` (a :class:`~costlab.report.Report` with its
    per-op layers and IR). ``thresholds`` overrides :data:`DEFAULT_THRESHOLDS`."""
    th = parse_thresholds(thresholds)
    ctx = _context(report)
    graph = report.graph
    raw: dict[str, list[dict[str, Any]]] = {}
    raw["G1"], raw["G2"] = _g1_g2(graph, ctx)
    g3 = _g3(graph, ctx, int(th["branches"]))
    raw["G3"] = g3.findings
    raw["G4"], groups = _g4(graph, ctx)
    summary = _summarize(raw, g3, groups, ctx, th)
    findings, unlisted, tags = _listed(raw, ctx, th)
    stats = {"cost": ctx.cost_col, "total_cost": ctx.total_cost, "total_mac_bytes": ctx.total_bytes,
             "ops": g3.ops, "longest_chain": g3.chain, "blocks": len(g3.blocks)}
    return GuidelineResult(model=report.model, findings=findings, summary=summary, cost=ctx.cost_col,
                           thresholds=th, stats=stats, layer_tags=tags, unlisted=unlisted)


def _g1(nid, where, P, c1, c2, g, fb, op_cost, share_of, what="conv") -> dict[str, Any]:
    B = P * c1 * c2 / g
    value = P * (c1 + c2) + c1 * c2 / g
    bound = 2.0 * math.sqrt(g * P * B) + B / P
    excess_el = max(value - bound, 0.0)
    ratio = value / bound if bound else float("inf")
    eq = max(1, round(math.sqrt(c1 * c2)))
    kind = "1x1 conv" if what == "conv" else "linear"
    return {
        "guideline": "G1", "where": where, "value": value, "bound": bound, "excess": excess_el * fb,
        "share": share_of(excess_el / value * op_cost if value else 0.0),
        "advice": (f"{kind} {c1}->{c2}{f' (g={g})' if g > 1 else ''}: MAC {ratio:.3f}x the G1 bound; "
                   f"equal widths (about {eq} in and out) give the same FLOPs at the bound"),
        "_nodes": [nid],
    }


def _g2(nid, where, P, c1, c2, g, k, fb, op_cost, share_of) -> dict[str, Any]:
    weights = k * c1 * c2 / g
    value = P * (c1 + c2) + weights
    bound = P * c1 + P * c2 / g + weights
    excess_el = value - bound
    return {
        "guideline": "G2", "where": where, "value": value, "bound": bound, "excess": excess_el * fb,
        "share": share_of(excess_el / value * op_cost if value else 0.0),
        "advice": (f"g={g} group conv {c1}->{c2}: MAC {value / bound:.3f}x that of a g=1 conv with the "
                   f"same FLOPs ({c1}->{c2 // g if c2 % g == 0 else round(c2 / g, 1)}); use fewer groups "
                   "and spend the FLOPs on width"),
        "_nodes": [nid],
    }


def layer_findings(report, result: GuidelineResult) -> list[str]:
    """A short findings label per layer of ``report.layers`` ("G1,G4", "" when none)."""
    return [",".join(result.layer_tags.get(nm, [])) for nm in report.layers["name"]]
