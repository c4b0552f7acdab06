"""ShuffleNet V2's practical guidelines G1-G4 as a linter with measured costs.

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
from typing import Any, Mapping

import pandas as pd

from . import ops
from .ir import Graph, Node
from .errors import GuidelineError  # noqa: F401

GUIDELINES = ("G1", "G2", "G3", "G4")
TITLES = {
    "G1": "equal channel width minimizes memory access cost (MAC)",
    "G2": "excessive group convolution increases MAC",
    "G3": "network fragmentation reduces degree of parallelism",
    "G4": "element-wise operations are non-negligible",
}

#: Documented defaults; every key can be overridden (``check(thresholds={...})``,
#: CLI ``--threshold KEY=VALUE``).
DEFAULT_THRESHOLDS: dict[str, float] = {
    # A guideline is violated when its violations sum to at least this share of the model's
    # cost (MAC bytes, or latency). See reports/guidelines.md for the range of each value over
    # which the paper's verdicts hold.
    "G1": 0.01,     # 1 % of the model's cost is MAC above the G1 bound: pure waste, the bound is
                    # reachable at the same FLOPs with equal widths
    "G2": 0.01,     # 1 % is the MAC increase of group convs over g = 1 at the same FLOPs
    "G3": 0.25,     # a quarter of the model's cost runs in blocks of more than `branches` branches
    "G4": 0.667,    # element-wise ops (incl. depthwise convs) cost two thirds, i.e. twice as much
                    # as all the other ops together
    # findings
    "min_share": 0.001,   # findings below this share are counted in the summary but not listed
    "medium": 0.01,       # a finding's severity is medium from 1 % of the model's cost
    "high": 0.05,         # and high from 5 %
    "branches": 2,        # G3: parallel branches a block may have (a ShuffleNet V2 unit has 2)
}
THRESHOLD_HELP: dict[str, str] = {
    "G1": "share of model cost above which G1 counts as violated",
    "G2": "share of model cost above which G2 counts as violated",
    "G3": "share of model cost above which G3 counts as violated",
    "G4": "share of model cost above which G4 counts as violated",
    "min_share": "findings below this share are not listed (still in the summary)",
    "medium": "finding severity 'medium' from this share",
    "high": "finding severity 'high' from this share",
    "branches": "G3: parallel branches a block may have",
}

FINDING_KEYS = ("guideline", "where", "value", "bound", "excess", "share", "severity", "advice")

# op kinds (costlab.ops) that G4 counts as element-wise
_ACTIVATIONS = {"relu", "sigmoid", "silu", "gelu", "tanh", "hardswish", "hardsigmoid", "leaky_relu",
                "elu", "mish", "softplus", "threshold", "clamp", "clamp_min", "clamp_max", "hardtanh",
                "prelu", "_prelu_kernel", "selu", "celu", "log_sigmoid_forward"}
_BINARY = {"add", "sub", "mul", "div", "rsub", "maximum", "minimum"}
_NORMS = {"batch_norm", "layer_norm", "group_norm", "rms_norm"}
_MOVES = {"cat", "copy"}
ELEMENTWISE_KINDS = frozenset(_ACTIVATIONS | _BINARY | _NORMS | _MOVES)
# op kinds that are G3 "fragments": individual convolution / pooling operations
FRAGMENT_KINDS = frozenset({"conv", "linear", "matmul", "pool", "adaptive_pool"})

_G4_ADVICE = {
    "activation": "fuse it into the preceding conv, or apply it to fewer channels "
                  "(ShuffleNet V2 keeps activations on one branch only)",
    "bias add": "fold the bias into the preceding conv/linear",
    "add": "fuse the add, or replace residual adds by concat of a channel split (ShuffleNet V2 unit)",
    "mul": "fuse the scaling into the neighbouring conv",
    "norm": "fold batch norm into the preceding conv for inference",
    "cat": "merge concat, channel shuffle and channel split into one op (ShuffleNet V2 unit)",
    "copy": "avoid materialised copies: let the shuffle be a view consumed by the next op, "
            "or merge it with the concat (ShuffleNet V2 unit)",
    "dwconv": "use fewer depthwise convs on wide features (ShuffleNet V2: one per unit, on half "
              "the channels), or fuse them with the following 1x1 conv",
}




@dataclass
class GuidelineResult:
    """Findings of one model. ``findings`` are worst first (largest share)."""

    model: str
    findings: list[dict[str, Any]]
    summary: dict[str, dict[str, Any]]
    cost: str                                   # 'mac_bytes' or 'latency_ms'
    thresholds: dict[str, float]
    stats: dict[str, Any] = field(default_factory=dict)
    layer_tags: dict[str, list[str]] = field(default_factory=dict)   # layer name -> ['G1', ...]
    unlisted: dict[str, int] = field(default_factory=dict)           # per guideline, under min_share

    def violated(self, guidelines=GUIDELINES) -> list[str]:
        """The guidelines among ``guidelines`` that this model violates."""
        return [g for g in guidelines if self.summary[g]["violated"]]

    def verdict(self) -> str:
        v = self.violated()
        return "violates " + ", ".join(v) if v else "no guideline violated"

    def to_dict(self, model: str | None = None) -> dict[str, Any]:
        """``{"model", "findings": [...], "summary": {"G1": {"violated", "share", "count", ...}}}``."""
        return {
            "model": model if model is not None else self.model,
            "findings": [{k: f[k] for k in FINDING_KEYS} for f in self.findings],
            "summary": {g: dict(self.summary[g]) for g in GUIDELINES},
        }


# -- thresholds ------------------------------------------------------------------------------

def parse_thresholds(items: Mapping[str, Any] | list[str] | tuple[str, ...] | None) -> dict[str, float]:
    """Defaults updated by ``items``: a mapping or ``['G1=0.1', 'high=0.1', ...]``.

    Shares are fractions in [0, 1] (``5%`` is accepted); ``branches`` an integer >= 1."""
    out = dict(DEFAULT_THRESHOLDS)
    if not items:
        return out
    pairs: list[tuple[str, Any]] = []
    if isinstance(items, Mapping):
        pairs = list(items.items())
    else:
        for it in items:
            for part in str(it).split(","):
                part = part.strip()
                if not part:
                    continue
                key, sep, val = part.partition("=")
                if not sep:
                    raise GuidelineError(f"bad threshold '{part}': write KEY=VALUE, e.g. G1=0.1 "
                                         f"(keys: {', '.join(DEFAULT_THRESHOLDS)})")
                pairs.append((key.strip(), val.strip()))
    canon = {k.lower(): k for k in DEFAULT_THRESHOLDS}
    for key, val in pairs:
        k = canon.get(str(key).lower())
        if k is None:
            import difflib

            close = difflib.get_close_matches(str(key), list(DEFAULT_THRESHOLDS), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise GuidelineError(f"unknown threshold '{key}'{hint} (keys: {', '.join(DEFAULT_THRESHOLDS)})")
        try:
            if isinstance(val, str) and val.endswith("%"):
                num = float(val[:-1]) / 100.0
            else:
                num = float(val)
        except (TypeError, ValueError):
            raise GuidelineError(f"threshold {k} must be a number, got {val!r}") from None
        if k == "branches":
            if num < 1 or num != int(num):
                raise GuidelineError(f"threshold branches must be a whole number >= 1, got {val!r}")
            num = int(num)
        elif not 0.0 <= num <= 1.0 or math.isnan(num):
            raise GuidelineError(f"threshold {k} is a share of the model's cost in [0, 1] "
                                 f"(e.g. {k}=0.05 or {k}=5%), got {val!r}")
        out[k] = num
    if out["medium"] > out["high"]:
        raise GuidelineError(f"threshold medium ({out['medium']}) must not exceed high ({out['high']})")
    return out


def severity(share: float, thresholds: Mapping[str, float]) -> str:
    if share >= thresholds["high"]:
        return "high"
    if share >= thresholds["medium"]:
        return "medium"
    return "low"


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


def _free(node: Node) -> bool:
    return ops.is_free(node)


class _Flow:
    """Data-flow helpers over a graph: view-resolved roots, consumers, module membership."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.nodes = graph.nodes
        self.free = [_free(n) for n in graph.nodes]
        self.consumers = graph.consumers()
        self._root: dict[int, tuple] = {}

    def root_of_node(self, nid: int) -> tuple:
        """The materialised tensor a node's output aliases: ('node', id) or ('input', i)."""
        hit = self._root.get(nid)
        if hit is not None:
            return hit
        chain = []
        cur: tuple = ("node", nid)
        while cur[0] == "node" and self.free[cur[1]]:
            chain.append(cur[1])
            n = self.nodes[cur[1]]
            nxt = next(((s.kind, s.ref) for s in n.sources if s.kind in ("node", "input")), None)
            if nxt is None:
                break
            if nxt[0] == "node" and nxt[1] in self._root:
                cur = self._root[nxt[1]]
                break
            cur = nxt
        for c in chain:
            self._root[c] = cur
        self._root[nid] = cur
        return cur

    def source_root(self, s) -> tuple | None:
        if s.kind == "node":
            return self.root_of_node(s.ref)
        if s.kind == "input":
            return ("input", s.ref)
        return None


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
        if n.kind in FRAGMENT_KINDS and not flow.free[nid]:
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

def _g4_group(node: Node, kind: str) -> tuple[str, str] | None:
    """(label, advice key) of an element-wise node, or None."""
    if kind == "conv":
        return ("dwconv", "dwconv") if ops.conv_class(node) == "depthwise" else None
    if kind not in ELEMENTWISE_KINDS:
        return None
    if kind in _ACTIVATIONS:
        return ops.describe(node), "activation"
    if kind in ("add", "sub") and any(s.kind == "param" for s in node.sources):
        return "bias add", "bias add"
    if kind in _BINARY:
        return kind, ("add" if kind in ("add", "sub") else "mul")
    if kind in _NORMS:
        return kind, "norm"
    return kind, kind


def _num(x: float) -> float | int:
    """An int when the value is integral (JSON stays readable), else the float."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 2 ** 53:
        return int(x)
    return x


def check(report, *, thresholds: Mapping[str, Any] | None = None) -> GuidelineResult:
    """Run the G1-G4 findings pass over ``report`` (a :class:`~costlab.report.Report` with its
    per-op layers and IR). ``thresholds`` overrides :data:`DEFAULT_THRESHOLDS`."""
    th = parse_thresholds(thresholds)
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
    fb = ops.dtype_bytes(report.dtype)

    row_of: dict[int, dict[str, Any]] = {}
    for rec in layers[["name", "node", "mac_bytes", "flops", "elem_ops", "macs"]
                      + (["latency_ms"] if cost_col == "latency_ms" else [])].to_dict("records"):
        row_of[int(rec["node"])] = rec
    total_bytes = float(layers["mac_bytes"].sum()) if not layers.empty else 0.0
    if cost_col == "latency_ms":
        total_cost = float(report.totals.get("latency_ms") or layers["latency_ms"].sum())
    else:
        total_cost = total_bytes
    total_work = float(layers["flops"].sum() + layers["elem_ops"].sum()) if not layers.empty else 0.0
    total_macs = float(layers["macs"].sum()) if not layers.empty else 0.0

    def cost(nid: int) -> float:
        r = row_of.get(nid)
        return float(r[cost_col]) if r is not None else 0.0

    def share_of(c: float) -> float:
        return c / total_cost if total_cost > 0 else 0.0

    def name(nid: int) -> str:
        r = row_of.get(nid)
        return r["name"] if r is not None else f"node {nid}"

    batch = int(graph.inputs[0].shape[0]) if graph.inputs and graph.inputs[0].shape else 1
    raw: dict[str, list[dict[str, Any]]] = {g: [] for g in GUIDELINES}

    # G1 and G2: per conv / linear
    for n in graph.nodes:
        if n.id not in row_of:
            continue
        kind = n.kind
        if kind == "conv":
            cls = ops.conv_class(n)
            if cls in (None, "depthwise", "transposed"):
                continue
            P, c1, c2, g, k = _conv_dims(n)
            if k == 1 and c1 != c2:
                raw["G1"].append(_g1(n.id, name(n.id), P, c1, c2, g, fb, cost(n.id), share_of))
            if cls == "group" and 1 < g < c1:
                raw["G2"].append(_g2(n.id, name(n.id), P, c1, c2, g, k, fb, cost(n.id), share_of))
        elif kind in ("linear", "matmul"):
            dims = _linear_dims(n, batch)
            if dims is not None and dims[1] != dims[2]:
                P, c1, c2 = dims
                raw["G1"].append(_g1(n.id, name(n.id), P, c1, c2, 1, fb, cost(n.id), share_of,
                                     what="linear"))
    if cost_col == "mac_bytes":
        for g in ("G1", "G2"):
            for f in raw[g]:
                f["share"] = share_of(f["excess"])

    # G3: blocks
    flow = _Flow(graph)
    graph_outputs = {s.ref for s in graph.outputs if s.kind == "node"}
    members = _modules_of(graph)
    blocks: dict[str, _Block] = {}
    for path, ids in members.items():
        b = _block_stats(flow, path, ids, graph_outputs)
        if b is not None and b.fragments > 0:
            blocks[path] = b
    # the whole model is a block too when its forward does the branching itself
    all_ids = [n.id for n in graph.nodes]
    root = _block_stats(flow, "", all_ids, graph_outputs) if all_ids else None
    if root is not None:
        root.path, root.module_type = "(model)", graph.module_types.get("", "model")
    allowed = int(th["branches"])
    g3_nodes: set[int] = set()
    for path, b in list(blocks.items()) + ([("", root)] if root is not None else []):
        if b.branches <= allowed:
            continue
        prefix = path + "." if path else ""
        inner = max((c.branches for p, c in blocks.items() if p.startswith(prefix) and p != path),
                    default=0)
        if inner >= b.branches:
            continue      # the branching is explained by a sub-module: report that one
        block_cost = sum(cost(i) for i in b.nodes)
        block_macs = sum(int(row_of[i]["macs"]) for i in b.nodes if i in row_of)
        g3_nodes.update(b.nodes)
        mmac_per_op = block_macs / b.ops / 1e6 if b.ops else 0.0
        raw["G3"].append({
            "guideline": "G3", "where": f"{b.path} ({b.module_type})",
            "value": b.branches, "bound": allowed, "excess": b.branches - allowed,
            "share": share_of(block_cost),
            "advice": (f"{b.branches} parallel branches; {b.fragments} convs/pools on a chain of "
                       f"{b.chain}, {b.ops} ops, {mmac_per_op:.3g} MMAC per op: merge branches into "
                       f"fewer, wider ops (at most {allowed} branches, as a ShuffleNet V2 unit)"),
            "_nodes": b.nodes,
        })
    ops_n, chain = _longest_chain(flow)

    # G4: element-wise ops, one finding per kind
    groups: dict[str, dict[str, Any]] = {}
    for n in graph.nodes:
        if n.id not in row_of:
            continue
        key = _g4_group(n, n.kind)
        if key is None:
            continue
        label, adv = key
        gr = groups.setdefault(label, {"advice": adv, "nodes": [], "bytes": 0.0, "cost": 0.0,
                                       "work": 0.0, "macs": 0.0})
        r = row_of[n.id]
        gr["nodes"].append(n.id)
        gr["bytes"] += float(r["mac_bytes"])
        gr["cost"] += cost(n.id)
        gr["work"] += float(r["flops"]) + float(r["elem_ops"])
        gr["macs"] += float(r["macs"])
    for label, gr in groups.items():
        bytes_share = gr["bytes"] / total_bytes if total_bytes else 0.0
        work_share = gr["work"] / total_work if total_work else 0.0
        bound = work_share * total_bytes
        worst = max(gr["nodes"], key=cost)
        n_ops = len(gr["nodes"])
        raw["G4"].append({
            "guideline": "G4", "where": f"{label} x{n_ops}",
            "value": _num(gr["bytes"]), "bound": bound, "excess": gr["bytes"] - bound,
            "share": share_of(gr["cost"]),
            "advice": (f"{n_ops} {label} op{'s' if n_ops != 1 else ''}: {bytes_share:.1%} of MAC bytes for "
                       f"{work_share:.2%} of the arithmetic (largest: {name(worst)}); "
                       + _G4_ADVICE[gr["advice"]]),
            "_nodes": gr["nodes"],
        })

    # summary
    summary: dict[str, dict[str, Any]] = {}
    for g in GUIDELINES:
        if g == "G3":
            s = share_of(sum(cost(i) for i in g3_nodes))
        else:
            s = sum(f["share"] for f in raw[g])
        summary[g] = {"violated": bool(raw[g]) and s >= th[g] and s > 0, "share": s, "count": len(raw[g])}
    summary["G1"]["excess_bytes"] = _num(float(sum(f["excess"] for f in raw["G1"])))
    summary["G2"]["excess_bytes"] = _num(float(sum(f["excess"] for f in raw["G2"])))
    g4_bytes = sum(gr["bytes"] for gr in groups.values())
    g4_work = sum(gr["work"] for gr in groups.values())
    g4_macs = sum(gr["macs"] for gr in groups.values())
    summary["G3"].update({"ops": ops_n, "longest_chain": chain,
                          "parallelism": ops_n / chain if chain else 0.0,
                          "max_branches": max([b.branches for b in blocks.values()]
                                              + ([root.branches] if root else []), default=0)})
    summary["G4"].update({"bytes_share": g4_bytes / total_bytes if total_bytes else 0.0,
                          "ops_share": g4_work / total_work if total_work else 0.0,
                          "macs_share": g4_macs / total_macs if total_macs else 0.0})

    # listed findings, worst first
    findings: list[dict[str, Any]] = []
    unlisted: dict[str, int] = {g: 0 for g in GUIDELINES}
    tags: dict[str, set[str]] = defaultdict(set)
    for g in GUIDELINES:
        for f in raw[g]:
            if f["share"] < th["min_share"] or f["share"] <= 0:
                unlisted[g] += 1
                continue
            for nid in f["_nodes"]:
                if nid in row_of:
                    tags[row_of[nid]["name"]].add(g)
            f["severity"] = severity(f["share"], th)
            findings.append({k: (_num(float(f[k])) if k in ("value", "bound", "excess") else f[k])
                             for k in FINDING_KEYS})
    findings.sort(key=lambda f: (-f["share"], f["guideline"], f["where"]))
    stats = {"cost": cost_col, "total_cost": total_cost, "total_mac_bytes": total_bytes,
             "ops": ops_n, "longest_chain": chain, "blocks": len(blocks)}
    return GuidelineResult(
        model=report.model, findings=findings, summary=summary, cost=cost_col, thresholds=th,
        stats=stats, layer_tags={k: sorted(v) for k, v in tags.items()}, unlisted=unlisted,
    )


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


def layer_findings(report, result: GuidelineResult, depth: int | None = None) -> pd.Series:
    """A short findings label per layer ("G1,G4", "" when none), aligned with
    ``report.layers`` (or, with ``depth``, with ``report.rollup(depth)``: the union over
    each group). ``series.set_axis(report.layers["name"])`` gives it by layer name."""
    layers = report.layers
    tags = result.layer_tags
    vals = [",".join(tags.get(nm, [])) for nm in layers["name"]]
    col = pd.Series(vals, index=layers.index, name="findings", dtype=object)
    if depth is None:
        return col
    return rollup_findings(report, depth, col)


def rollup_findings(report, depth: int, labels: pd.Series | None = None) -> pd.Series:
    """Per-op findings labels (``labels``, default ``report.layers['findings']``) merged per
    module path cut to ``depth`` components, aligned with ``report.rollup(depth)``."""
    layers = report.layers
    if labels is None:
        labels = layers["findings"] if "findings" in layers.columns else pd.Series("", index=layers.index)
    by_group: dict[str, set[str]] = defaultdict(set)
    for lab, module in zip(labels, layers["module"]):
        if not module:
            key = "(root)"
        else:
            parts = module.split(".")
            key = ".".join(parts[:depth]) if depth > 0 else "(model)"
        by_group[key].update(x for x in str(lab).split(",") if x)
    rolled = report.rollup(depth)
    vals = [",".join(sorted(by_group.get(nm, set()))) for nm in rolled["name"]]
    return pd.Series(vals, index=rolled.index, name="findings", dtype=object)


def summary_line(result: GuidelineResult) -> str:
    """One line for the analyze table: verdict and the share of each guideline."""
    cost = _cost_name(result.cost)
    parts = [f"{g} {100 * result.summary[g]['share']:.2f}%{'*' if result.summary[g]['violated'] else ''}"
             for g in GUIDELINES]
    return (f"guidelines  {result.verdict()}: " + ", ".join(parts)
            + f" of {cost} (* = violated; costlab guidelines MODEL lists the findings)")


# -- library entry points -----------------------------------------------------------------------

def check_model(model_or_spec, input_shape=None, *, resolution: int | None = None, dtype: str = "float32",
                batch: int = 1, thresholds: Mapping[str, Any] | None = None, name: str | None = None):
    """Analyze a model (zoo spec, user spec or ``nn.Module``) and check it: ``(report, result)``."""
    from .api import analyze

    th = parse_thresholds(thresholds)
    report = analyze(model_or_spec, input_shape, resolution=resolution, dtype=dtype, batch=batch, name=name)
    return report, check(report, thresholds=th)


def load(result: GuidelineResult) -> float:
    """Sum over G1-G4 of share / threshold: how close the model is to its limits (1 = one
    guideline exactly at its threshold). Used to rank models of equal violation count."""
    return sum(result.summary[g]["share"] / result.thresholds[g] if result.thresholds[g] > 0 else 0.0
               for g in GUIDELINES)


def ranking(results: list[GuidelineResult]) -> list[GuidelineResult]:
    """Cleanest first: fewest violated guidelines, then the lowest :func:`load`."""
    return sorted(results, key=lambda r: (len(r.violated()), load(r)))


# -- presentation -------------------------------------------------------------------------------

def _pct(x: float) -> str:
    return f"{100.0 * x:.2f}%"


def _cost_name(cost: str) -> str:
    return "latency" if cost == "latency_ms" else "MAC bytes"


def _human(v: Any) -> str:
    from .render import human

    return human(v)


UNITS_NOTE = ("G1/G2: value and bound are MAC in elements (ShuffleNet V2 Sec. 2; bound = G1 lower bound / "
              "MAC of a g=1 conv with the same FLOPs), excess in bytes; G3: parallel branches of a block vs "
              "the allowed number, excess = extra branches; G4: MAC bytes of the op kind vs the bytes its "
              "arithmetic share would carry, excess in bytes. share = the violation's share of the "
              "model's {cost}; severity from share (high >= {high}, medium >= {medium}).")


def findings_frame(result: GuidelineResult) -> pd.DataFrame:
    """The listed findings as a DataFrame: guideline, severity, where, value, bound, ratio,
    excess, share, advice."""
    rows = []
    for f in result.findings:
        ratio = f["value"] / f["bound"] if f["bound"] else float("nan")
        rows.append({"guideline": f["guideline"], "severity": f["severity"], "where": f["where"],
                     "value": f["value"], "bound": f["bound"], "ratio": ratio, "excess": f["excess"],
                     "share": f["share"], "advice": f["advice"]})
    return pd.DataFrame(rows, columns=["guideline", "severity", "where", "value", "bound", "ratio",
                                       "excess", "share", "advice"])


def _measured(result: GuidelineResult, g: str) -> str:
    s = result.summary[g]
    if g in ("G1", "G2"):
        what = "MAC above the G1 bound" if g == "G1" else "MAC increase of group convs over g=1"
        return f"{what}: {_human(s['excess_bytes'])}B"
    if g == "G3":
        return (f"{s['ops']} ops, longest chain {s['longest_chain']} (parallelism "
                f"{s['parallelism']:.2f}); most branches in a block: {s['max_branches']}")
    return (f"element-wise ops incl. depthwise: {_pct(s['bytes_share'])} of MAC bytes for "
            f"{_pct(s['ops_share'])} of the arithmetic ({_pct(s['macs_share'])} of MACs)")


def summary_frame(results: list[GuidelineResult]) -> pd.DataFrame:
    """One row per model: the share, violation flag and count of each guideline, the load and
    the verdict."""
    rows = []
    for r in results:
        row: dict[str, Any] = {"model": r.model, "cost": r.cost}
        for g in GUIDELINES:
            row[g] = r.summary[g]["share"]
            row[f"{g}_violated"] = r.summary[g]["violated"]
            row[f"{g}_count"] = r.summary[g]["count"]
        row["load"] = load(r)
        row["verdict"] = r.verdict()
        rows.append(row)
    return pd.DataFrame(rows)


def _findings_table(result: GuidelineResult, markdown: bool) -> str:
    from .render import markdown_table, text_table

    df = findings_frame(result)
    if df.empty:
        return "no findings"
    units = {"G1": (" el", "B"), "G2": (" el", "B"), "G3": ("", ""), "G4": ("B", "B")}
    for col, pos in (("value", 0), ("bound", 0), ("excess", 1)):
        df[col] = [_human(v) + units[g][pos] for v, g in zip(df[col], df["guideline"])]
    fm = {"share": _pct, "ratio": lambda v: "-" if v != v else f"{v:.3f}"}
    cols = list(df.columns)
    right = {"value", "bound", "ratio", "excess", "share"}
    if markdown:
        return markdown_table(df, cols, fm, right=right)
    return text_table(df, cols, right, fm)


def _summary_table(result: GuidelineResult, markdown: bool) -> str:
    from .render import markdown_table, text_table

    rows = [{"guideline": g, "violated": "YES" if result.summary[g]["violated"] else "no",
             "share": _pct(result.summary[g]["share"]), "threshold": _pct(result.thresholds[g]),
             "count": result.summary[g]["count"], "measured": _measured(result, g), "rule": TITLES[g]}
            for g in GUIDELINES]
    df = pd.DataFrame(rows)
    cols = list(df.columns)
    if markdown:
        return markdown_table(df, cols, right={"share", "threshold", "count"})
    return text_table(df, cols, {"share", "threshold", "count"})


def _header(result: GuidelineResult, report=None) -> list[str]:
    cost = _cost_name(result.cost)
    total = (f"{result.stats['total_cost']:.3f} ms" if result.cost == "latency_ms"
             else f"{_human(result.stats['total_cost'])}B")
    inp = ""
    if report is not None:
        from .render import shape_str

        inp = f"   input {shape_str(report.input_shape)} {report.dtype}"
    return [f"model     {result.model}{inp}",
            f"cost      {cost} (total {total})",
            f"verdict   {result.verdict()}"]


def _unlisted_note(result: GuidelineResult) -> str:
    n = sum(result.unlisted.values())
    if not n:
        return ""
    per = ", ".join(f"{g} {k}" for g, k in result.unlisted.items() if k)
    return (f"{n} more violation(s) below min_share {_pct(result.thresholds['min_share'])} not listed "
            f"({per}); they count in the summary")


def render(result: GuidelineResult, fmt: str, report=None) -> str:
    """One model's findings as ``table``, ``markdown``, ``csv`` or ``json``."""
    import json

    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2)
    if fmt == "csv":
        from .render import to_csv

        df = findings_frame(result)
        df.insert(0, "model", result.model)
        return to_csv(df)
    note = UNITS_NOTE.format(cost=_cost_name(result.cost), high=_pct(result.thresholds["high"]),
                             medium=_pct(result.thresholds["medium"]))
    unl = _unlisted_note(result)
    if fmt == "markdown":
        parts = [f"## Guidelines: {result.model}", "", "```", *_header(result, report), "```", "",
                 _summary_table(result, True), "", "Findings, worst first:", "",
                 _findings_table(result, True), ""]
        if unl:
            parts += [unl, ""]
        parts += [note, ""]
        return "\n".join(parts)
    if fmt == "table":
        parts = [*_header(result, report), "", _summary_table(result, False), "",
                 "findings, worst first:", _findings_table(result, False)]
        if unl:
            parts += ["", unl]
        parts += ["", note]
        return "\n".join(parts) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def _comparison_frame(results: list[GuidelineResult]) -> pd.DataFrame:
    rows = []
    for r in results:
        row = {"model": r.model}
        for g in GUIDELINES:
            row[g] = r.summary[g]["share"]
        row["violated"] = ",".join(r.violated()) or "-"
        row["load"] = load(r)
        row["verdict"] = r.verdict()
        rows.append(row)
    return pd.DataFrame(rows, columns=["model", *GUIDELINES, "violated", "load", "verdict"])


def render_comparison(results: list[GuidelineResult], fmt: str, cleanest: bool = True) -> str:
    """One row per model, one column per guideline (share of cost in violations; ``*`` = violated)."""
    import json

    from .render import markdown_table, text_table, to_csv

    if fmt == "json":
        return json.dumps({"models": [r.to_dict() for r in results]}, indent=2)
    if fmt == "csv":
        return to_csv(summary_frame(results))
    df = _comparison_frame(results)
    marks = {}
    for g in GUIDELINES:
        marks[g] = [r.summary[g]["violated"] for r in results]
    shown = df.copy()
    for g in GUIDELINES:
        shown[g] = [(f"**{_pct(v)}**" if fmt == "markdown" else f"{_pct(v)}*") if m else _pct(v)
                    for v, m in zip(df[g], marks[g])]
    shown["load"] = [f"{v:.2f}" for v in df["load"]]
    best = ranking(results)[0].model if results else ""
    cost = ", ".join(sorted({_cost_name(r.cost) for r in results}))
    th = results[0].thresholds if results else DEFAULT_THRESHOLDS
    legend = (f"share of each model's {cost} in violations of each guideline; "
              + ("bold" if fmt == "markdown" else "*")
              + " = violated (share >= threshold: " + ", ".join(f"{g} {_pct(th[g])}" for g in GUIDELINES)
              + "); load = sum of share/threshold")
    cols = ["model", *GUIDELINES, "violated", "load", "verdict"]
    right = {*GUIDELINES, "load"}
    if fmt == "markdown":
        return "\n".join([markdown_table(shown, cols, right=right), "", legend, ""]
                         + ([f"Cleanest: **{best}** (fewest violated guidelines, then lowest load).", ""]
                            if cleanest else []))
    if fmt == "table":
        return "\n".join([text_table(shown, cols, right), "", legend]
                         + ([f"cleanest: {best} (fewest violated guidelines, then lowest load)"]
                            if cleanest else [])) + "\n"
    raise ValueError(f"unknown format {fmt!r}")
