"""Latency classes of traced ops, device fusion rules, and the predictor's features.

Every counted node of a :class:`~costlab.ir.Graph` falls in one **latency class**:

============== =====================================================================
class          ops
============== =====================================================================
conv_dense     k x k convolution, groups = 1 (and transposed convolution)
conv_pw        1 x 1 convolution, groups = 1 (pointwise)
conv_dw        depthwise convolution (groups = input channels)
conv_group     group convolution, 1 < groups < input channels (e.g. ShuffleNet v1's 1x1 GConv)
linear         fully connected layers, matmul / bmm
pool           max / average pooling, adaptive pooling, global mean
elementwise    batch/layer/group norm, activations, add / mul / ... (G4's element-wise ops)
data_movement  cat, contiguous copies (channel shuffle), padding, nearest upsampling, fill
other          softmax, reductions, bilinear upsampling, unsupported ops
============== =====================================================================

**Fusion rules** (a profile's ``fusion`` list) say which ops a runtime runs inside the
kernel of the op before them. A fused op adds nothing of its own (no MACs, no bytes, no
per-op cost): its work happens in registers of the kernel it joins. A rule applies only
where the first op's result is read by nothing else (else it must be written anyway).

============== =====================================================================
rule           meaning
============== =====================================================================
conv+bn        batch norm after a conv / linear is folded into its weights
conv+act       an activation after a conv / linear (or after its folded BN) is fused
conv+bn+act    both of the above (what ARM runtimes such as ncnn and TF-Lite do)
linear+act     an activation after a linear layer is fused
bn+act         a standalone batch norm and the activation after it run as one kernel
add+act        an activation after an element-wise add (ResNet's out += x; relu)
cat+copy       a copy (channel shuffle) reading a concat through views is one kernel
               (ShuffleNet v2's "Concat + Channel Shuffle + Channel Split" merged, Sec. 3)
============== =====================================================================

**Features** of a node: ``gmac`` (multiply-accumulates / 1e9), ``mb`` (memory access cost
in bytes / 1e6, ShuffleNet V2's MAC) and ``ops`` (1 per unfused op), each in its latency
class. A block or network is the sum over its nodes, so every sample granularity
calibrates the same parameters ``t = a*gmac + b*mb + c*ops`` per class.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops
from ..ir import Graph, Node

CLASSES = ("conv_dense", "conv_pw", "conv_dw", "conv_group", "linear", "pool", "pool_max", "global_pool",
           "elementwise", "data_movement", "other")
TERMS = ("gmac", "mb", "mpix", "ops")
FUSION_RULES = ("conv+bn", "conv+act", "conv+bn+act", "linear+act", "bn+act", "add+act", "cat+copy")

_CONV_CLASS = {"dense": "conv_dense", "transposed": "conv_dense", "pointwise": "conv_pw",
               "depthwise": "conv_dw", "group": "conv_group"}
_ACTS = {"relu", "hardtanh", "clamp", "clamp_min", "clamp_max", "leaky_relu", "hardswish",
         "hardsigmoid", "sigmoid", "silu", "gelu", "tanh", "elu", "mish", "threshold", "prelu",
         "_prelu_kernel", "softplus", "selu", "celu"}
_ELEMENTWISE = _ACTS | {"batch_norm", "layer_norm", "group_norm", "rms_norm", "add", "sub", "mul",
                        "div", "rsub", "maximum", "minimum", "where", "addcmul", "dropout", "exp",
                        "sqrt", "rsqrt", "neg", "abs", "pow", "reciprocal", "erf", "log",
                        "log_sigmoid_forward", "gt", "lt", "ge", "le", "eq", "ne",
                        "logical_and", "logical_or", "logical_not"}
_POOL = {"pool", "adaptive_pool", "mean"}
_MOVE = {"cat", "copy", "pad", "fill"}
_ADDS = {"add", "sub"}


def expand_rules(fusion) -> frozenset[str]:
    rules = set(fusion or ())
    bad = rules - set(FUSION_RULES)
    if bad:
        raise ValueError(f"unknown fusion rule(s) {', '.join(sorted(bad))}; known: {', '.join(FUSION_RULES)}")
    if "conv+bn+act" in rules:
        rules |= {"conv+bn", "conv+act"}
    return frozenset(rules)


def latency_class(node: Node) -> str:
    kind = ops.kind_of(node.op)
    if kind == "conv":
        return _CONV_CLASS.get(ops.conv_class(node) or "dense", "conv_dense")
    if kind in ("linear", "matmul"):
        return "linear"
    if kind in _POOL:
        # max and average window sweeps and global/adaptive pooling (reductions) are different
        # kernels with different per-element costs (max pooling ~8x average on a CPU)
        if kind != "pool":
            return "global_pool"
        return "pool_max" if "max_pool" in node.op else "pool"
    if kind in _ELEMENTWISE:
        return "elementwise"
    if kind in _MOVE:
        return "data_movement"
    if kind == "upsample":
        return "data_movement" if "nearest" in node.op else "other"
    return "other"


@dataclass
class NodeCost:
    """One counted node: its latency class, its own features, and the node whose kernel it
    joins under the profile's fusion rules (``fused_into``: ``None`` = its own kernel)."""

    node: int
    cls: str
    gmac: float
    mb: float
    mpix: float = 0.0
    fused_into: int | None = None


def _tensor_bytes_all(node: Node, fb: int) -> int:
    tot = 0
    for t in list(node.inputs) + list(node.outputs[:1]):
        tot += ops._tensor_bytes(t, fb)
    return tot


def node_costs(graph: Graph, dtype: str, fusion) -> list[NodeCost]:
    """Per counted node: class, GMACs, MB of memory access, and fusion owner."""
    rules = expand_rules(fusion)
    fb = ops.dtype_bytes(dtype)
    nodes = graph.nodes
    free = [ops.is_free(n) for n in nodes]

    def real(src_id: int) -> int:
        """Follow views back to the node that materialised the data."""
        seen = 0
        while free[src_id] and nodes[src_id].sources and nodes[src_id].sources[0].kind == "node" and seen < 64:
            src_id = nodes[src_id].sources[0].ref
            seen += 1
        return src_id

    # real consumers: counted nodes that read a node's data directly or through views
    readers: dict[int, set[int]] = {}
    out_used = set()
    for o in graph.outputs:
        if o.kind == "node":
            out_used.add(real(o.ref))
    for n in nodes:
        if free[n.id]:
            continue
        for s in n.sources:
            if s.kind == "node":
                readers.setdefault(real(s.ref), set()).add(n.id)

    def sole_reader(p: int, n: int) -> bool:
        return readers.get(p, set()) == {n} and p not in out_used

    costs: list[NodeCost] = []
    owner: dict[int, int] = {}
    has_act: set[int] = set()
    head_kind: dict[int, str] = {}
    for n in nodes:
        if free[n.id]:
            continue
        c = ops.count(n, fb)
        if c is None:
            macs, mb = 0, _tensor_bytes_all(n, fb)
        else:
            macs, mb = c["macs"], c["mac_bytes"]
        kind = ops.kind_of(n.op)
        cls = latency_class(n)
        fused = None
        src = n.sources[0] if n.sources else None
        if src is not None and src.kind == "node" and rules:
            p = real(src.ref)
            h = owner.get(p, p)
            hk = head_kind.get(h)
            if sole_reader(p, n.id):
                if kind == "batch_norm" and "conv+bn" in rules and hk in ("conv", "linear") and h not in has_act \
                        and p == h:
                    fused = h
                elif kind in _ACTS and h not in has_act:
                    if hk == "conv" and "conv+act" in rules:
                        fused = h
                    elif hk == "linear" and ("linear+act" in rules or "conv+act" in rules):
                        fused = h
                    elif hk == "batch_norm" and "bn+act" in rules:
                        fused = h
                    elif hk == "add" and "add+act" in rules:
                        fused = h
                elif kind == "copy" and "cat+copy" in rules and hk == "cat":
                    fused = h
        if fused is not None:
            owner[n.id] = fused
            if kind in _ACTS:
                has_act.add(fused)
            costs.append(NodeCost(n.id, cls, 0.0, 0.0, 0.0, fused))
            continue
        owner[n.id] = n.id
        head_kind[n.id] = ("conv" if kind == "conv" else "linear" if kind in ("linear", "matmul")
                           else "add" if kind in _ADDS else kind)
        out = n.outputs[0] if n.outputs else None
        pix = 0.0
        if out is not None and len(out.shape) >= 3:
            pix = out.numel / out.shape[1] / 1e6      # N x spatial positions of the result
        elif out is not None and len(out.shape) == 2:
            pix = out.shape[0] / 1e6
        # pooling has no MACs: its work term is its element operations (window elements, or
        # input elements of a global pool); max pooling on this CPU costs several ns per
        # window element, measured by costlab profile
        work = c["elem_ops"] if (cls in ("pool", "pool_max", "global_pool") and c is not None) else macs
        costs.append(NodeCost(n.id, cls, work / 1e9, mb / 1e6, pix, None))
    return costs


def feature_matrix(costs: list[NodeCost]) -> np.ndarray:
    """Per-class feature sums, shape (len(CLASSES), len(TERMS)): gmac, mb, mpix, ops."""
    f = np.zeros((len(CLASSES), len(TERMS)))
    idx = {c: i for i, c in enumerate(CLASSES)}
    for nc in costs:
        if nc.fused_into is not None:
            continue
        i = idx[nc.cls]
        f[i, 0] += nc.gmac
        f[i, 1] += nc.mb
        f[i, 2] += nc.mpix
        f[i, 3] += 1.0
    return f
