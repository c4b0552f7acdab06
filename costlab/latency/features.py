"""Latency classes of traced ops, device fusion rules, and the predictor's features.

Every counted node of a :class:`~costlab.ir.Graph` falls in one **latency class**:

============== =====================================================================
class          ops
============== =====================================================================
conv_dense     k x k convolution, groups = 1 (and transposed convolution)
conv_pw        1 x 1 convolution, groups = 1 (pointwise)
conv_dw        depthwise convolution (groups = input channels), up to 25 kernel taps (5 x 5)
conv_dw_large  depthwise convolution of more than 25 taps (7 x 7): LiteRT's XNNPACK ran
               its 7x7 depthwise samples ~6x slower per MAC than its 5x5 ones here (issue 19);
               a profile none of whose fit samples has one prices it as ``conv_dw``
conv_dw_offblock
               depthwise convolution whose channels are not a multiple of the runtime's channel
               block (a ``block:N`` rule): ONNX Runtime 1.32 ran 3x3 depthwise convs of 58 and 62
               channels ~3x slower than those of 48-64 channels divisible by 4 here (ShuffleNet v2
               x1's 58-channel stage); only under a ``block:N`` rule, and a profile none of whose
               fit samples has one prices it as ``conv_dw``
conv_group     group convolution, 1 < groups < input channels (e.g. ShuffleNet v1's 1x1 GConv)
linear         fully connected layers, matmul / bmm, attention and recurrent kernels
pool           average pooling over windows
pool_channel   an average pool whose window runs across channels: local response norm's sum of
               squares (LiteRT 2.3 runs it as STABLEHLO_REDUCE_WINDOW, outside XNNPACK: its LRN
               samples took 1.6x what the profile predicted with the shared pool rates, issue
               19); a profile none of whose fit samples has one prices it as ``pool``
pool_max       max pooling over windows
global_pool    adaptive pooling, global mean
elementwise    batch/layer/group norm, activations, add / mul / ..., other element-wise math
fused_exp      an exponential-family activation fused into another kernel (OpenVINO runs a
               conv's SiLU as a post-op): its output elements, at a rate of its own, measured
               by conv + SiLU samples; a profile none of whose fit samples has one prices them
               at the element-wise work rate
data_movement  cat, contiguous copies (channel shuffle), gathers, padding, nearest upsampling, fill;
               the conversions between NCHW and a runtime's blocked layout that the runtime
               inserts between two ops (an ``nchwc:B/A`` rule, :mod:`costlab.latency.layout`:
               each a copy of the tensor, charged to the op whose input needed it)
other          softmax, reductions, bilinear upsampling, unsupported ops
============== =====================================================================

(the class of each op category is :data:`CLASS_OF_CATEGORY`; 'mac' splits by conv class)

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
conv+add       an element-wise add of the conv's result (a residual) runs inside the conv
               (OpenVINO's CPU plugin: a "sum" post-op); an activation after it fuses too
apart:KIND     a modifier: activation KIND (an op kind: silu, hardswish, ...) never joins a
               kernel, whatever the rules above say (ONNX Runtime runs SiLU as a QuickGelu
               kernel of its own; TFLite's fused_activation_function has no SiLU or hardswish)
pass:KIND      a modifier: activation KIND joins the kernel before it (no dispatch, no tensor of
               its own) but as a second pass over that kernel's output, not in its registers:
               ONNX Runtime's MLAS applies only ReLU inside its NCHWc conv kernels, any other
               fused activation (Clip = ReLU6, HardSigmoid, LeakyRelu) by ``MlasActivation`` over
               each finished output row (``onnxruntime/core/mlas/lib/snchwc.cpp``,
               ``ComputeKernelFlags`` / ``DoActivation``, microsoft/onnxruntime at d018c97). Its
               output elements are fused work, priced like a fused exponential's (``fused_exp``);
               found by timing probes (:mod:`costlab.runtimes.act_pass`), never assumed
block:N        not a fusion: a depthwise conv (up to 25 taps) whose channel count is not a
               multiple of N runs a slower kernel (class ``conv_dw_offblock``); found by timing
               probes (:func:`costlab.runtimes.fusion.discover`), never assumed
nchwc:B/A      not a fusion: the runtime runs a blocked layout of B channels (ONNX Runtime's NCHWc)
               for the ops that have such kernels, padding a conv's channels up to B when they
               are a multiple of A (its MACs counted padded:
               :func:`costlab.latency.layout.padded_work`), and converts tensors between layouts
               where needed (class ``data_movement``, :mod:`costlab.latency.layout`); read off
               the runtime's optimised graph of probe models, never assumed
============== =====================================================================

**Features** (:data:`TERMS`) of a node: ``gmac`` (multiply-accumulates / 1e9; for the
pooling classes, their element operations / 1e9; for an element-wise op of the exponential
family (:func:`costlab.ops.is_exponential`: sigmoid, SiLU, GELU, tanh, exp, ...), its output
elements / 1e9 (issue 19: ONNX Runtime's 49 SiLU kernels of EfficientNet-B0 took 2.04 ms, priced
0.42 ms as memory traffic alone; a profile without such samples keeps its shared ms/GMAC rate),
0 for the other element-wise ops), ``mb`` (memory access cost in bytes /
1e6, ShuffleNet V2's MAC), ``mpix`` (output positions, batch x spatial, / 1e6) and ``ops``
(1 per unfused op), each in its latency class. A block or network is the sum over its
nodes, so every sample granularity calibrates the same parameters
``t = a*gmac + b*mb + d*mpix + c*ops`` per class (a profile's form may leave terms out).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .. import ops
from ..ir import Graph, Node

CLASSES = ("conv_dense", "conv_pw", "conv_dw", "conv_dw_large", "conv_dw_offblock", "conv_group", "linear", "pool",
           "pool_channel", "pool_max", "global_pool", "elementwise", "fused_exp", "data_movement", "other")
TERMS = ("gmac", "mb", "mpix", "ops")
FUSION_RULES = ("conv+bn", "conv+act", "conv+bn+act", "linear+act", "bn+act", "add+act", "cat+copy", "conv+add")
APART = "apart:"           # 'apart:silu': SiLU never fuses
PASS = "pass:"             # 'pass:hardtanh': a fused ReLU6 is a second pass over the kernel's output
BLOCK = "block:"           # 'block:4': a depthwise conv of channels not divisible by 4 is conv_dw_offblock
NCHWC = "nchwc:"           # 'nchwc:16/4': ONNX Runtime's NCHWc layout
REORDER_CLASS = "data_movement"   # a layout conversion is a copy of its tensor
DW_LARGE_TAPS = 25         # a depthwise conv of more kernel taps is conv_dw_large
#: a class split off another after profiles were fitted -> the class its nodes were in before.
#: A stored predictor without the new class, and a fit none of whose training samples exercises
#: it, price its nodes with the old class's coefficients: exactly what they cost before the split.
SPLIT_FROM = {"conv_dw_large": "conv_dw", "conv_dw_offblock": "conv_dw", "fused_exp": "elementwise",
              "pool_channel": "pool"}
FUSED_EXP = "fused_exp"    # the class whose work column holds fused exponentials' elements

_CONV_CLASS = {"dense": "conv_dense", "transposed": "conv_dense", "pointwise": "conv_pw",
               "depthwise": "conv_dw", "group": "conv_group"}
# every op category of costlab.ops -> its latency class ('mac' splits by conv class / linear)
CLASS_OF_CATEGORY = {
    "mac": None, "norm": "elementwise", "activation": "elementwise", "binary": "elementwise",
    "pointwise": "elementwise", "pool_max": "pool_max", "pool_avg": "pool", "global_pool": "global_pool",
    "reduce": "other", "softmax": "other", "move": "data_movement", "layout": "data_movement",
    "resample": "other", "view": "other", "unsupported": "other",
}
_POOLS = ("pool", "pool_channel", "pool_max", "global_pool")


def expand_rules(fusion) -> frozenset[str]:
    rules = set(fusion or ())
    bad = {r for r in rules - set(FUSION_RULES) if not (re.fullmatch(f"({re.escape(APART)}|{re.escape(PASS)})"
                                                                     r"[a-z][a-z0-9_]*", r)
                                                        or re.fullmatch(re.escape(BLOCK) + r"[1-9][0-9]*", r)
                                                        or re.fullmatch(re.escape(NCHWC) + r"[1-9][0-9]*/[1-9][0-9]*", r))}
    if bad:
        raise ValueError(f"unknown fusion rule(s) {', '.join(sorted(bad))}; known: {', '.join(FUSION_RULES)}")
    if "conv+bn+act" in rules:
        rules |= {"conv+bn", "conv+act"}
    return frozenset(rules)


def channel_block(rules) -> int | None:
    """N of a ``block:N`` rule among ``rules`` (None: the runtime showed no channel block)."""
    got = [int(r[len(BLOCK):]) for r in rules if r.startswith(BLOCK)]
    return max(got) if got else None


def nchwc_layout(rules) -> tuple[int, int] | None:
    """(B, A) of an ``nchwc:B/A`` rule among ``rules`` (None: the runtime runs no blocked layout)."""
    got = [r[len(NCHWC):] for r in rules if r.startswith(NCHWC)]
    if not got:
        return None
    b, a = max(got).split("/")
    return int(b), int(a)


def _off_block(node: Node, cls: str, block: int | None) -> str:
    """``conv_dw_offblock`` for a depthwise conv (up to 25 taps) whose output channels are not a
    multiple of ``block``; ``cls`` otherwise."""
    if block is None or cls != "conv_dw" or not node.outputs or len(node.outputs[0].shape) < 2:
        return cls
    return "conv_dw_offblock" if node.outputs[0].shape[1] % block else cls


def latency_class(node: Node) -> str:
    """The latency class of a node, from its op category (:data:`CLASS_OF_CATEGORY`)."""
    cat = ops.category_of(node.op)
    if cat == "mac":
        if ops.kind_of(node.op) == "conv":
            cls = _CONV_CLASS.get(ops.conv_class(node) or "dense", "conv_dense")
            if cls == "conv_dw" and _taps(node) > DW_LARGE_TAPS:
                return "conv_dw_large"
            return cls
        return "linear"
    cls = CLASS_OF_CATEGORY[cat]
    if cls == "pool" and _channel_window(node):
        return "pool_channel"
    return cls


def _channel_window(node: Node) -> bool:
    """An average pool whose window runs across channels only (local response norm's sum of
    squares over neighbouring channels: ``avg_pool3d`` of kernel (k, 1, 1) on a (N, 1, C, H, W)
    view)."""
    k = node.args.get("kernel_size")
    return (isinstance(k, (list, tuple)) and len(k) == 3 and int(k[0]) > 1
            and all(int(x) == 1 for x in k[1:]))


def tie_split_classes(coef: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """``coef`` (flat, class-major per-(class, term) coefficients) with each class split off
    another (:data:`SPLIT_FROM`) that no row of ``raw`` (training features, same layout)
    exercises given the other's coefficients, not the shared or prior rates: its nodes then cost
    what they cost before the split (a profile without 7x7 depthwise samples prices them as
    depthwise). Its coefficients cannot change the fit: its columns are all zero."""
    nt = len(TERMS)
    coef = np.array(coef, float)
    for c, src in SPLIT_FROM.items():
        k, s = CLASSES.index(c), CLASSES.index(src)
        if not np.any(np.asarray(raw)[:, k * nt:(k + 1) * nt]):
            coef[k * nt:(k + 1) * nt] = coef[s * nt:(s + 1) * nt]
    return coef


#: a split class is fitted on its own only where this many training rows exercise it: one row
#: cannot separate the class's rates from that row's other errors, it takes the row's whole
#: residual as its per-kernel constant (arm-sd810's one GoogLeNet row gave local response norm's
#: channel window 1.87 ms per kernel)
MIN_SPLIT_ROWS = 2


def merge_thin_splits(raw: np.ndarray) -> np.ndarray:
    """``raw`` (training features, class-major) with each split class (:data:`SPLIT_FROM`) that
    fewer than :data:`MIN_SPLIT_ROWS` rows exercise folded into the class it left: fitted so, it
    costs what the old class costs (and :func:`tie_split_classes` then copies those rates)."""
    nt = len(TERMS)
    out = np.array(raw, float, copy=True)
    for c, src in SPLIT_FROM.items():
        k, s = CLASSES.index(c), CLASSES.index(src)
        cols = out[:, k * nt:(k + 1) * nt]
        if 0 < np.count_nonzero(cols.any(axis=1)) < MIN_SPLIT_ROWS:
            out[:, s * nt:(s + 1) * nt] += cols
            out[:, k * nt:(k + 1) * nt] = 0.0
    return out


def _taps(node: Node) -> int:
    """Kernel taps (k_h x k_w) of a conv node's weight."""
    w = node.inputs[1] if len(node.inputs) > 1 else None
    return int(np.prod(w.shape[2:])) if w is not None and len(w.shape) > 2 else 1


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
    reorder: str = ""          # a layout conversion charged to ``node``: 'in' / 'out' ('' = the node itself)


def _tensor_bytes_all(node: Node, fb: int) -> int:
    return sum(ops.tensor_bytes(t, fb) for t in list(node.inputs) + list(node.outputs[:1]))


def _head(kind: str, cat: str) -> str:
    """What a kernel is, for the fusion rules: conv, linear, add, batch_norm, cat or other."""
    if cat == "mac":
        return "conv" if kind == "conv" else "linear"
    return "add" if ops.arith_family(kind) == "add" else kind


def _fuses(kind: str, cat: str, head: str, head_has_act: bool, rules: frozenset[str]) -> bool:
    """Does an op (``kind``/``cat``) join the kernel of ``head`` under ``rules``?"""
    if cat == "binary" and ops.arith_family(kind) == "add" and "conv+add" in rules:
        return head == "conv" and not head_has_act
    if kind == "batch_norm":
        return "conv+bn" in rules and head in ("conv", "linear") and not head_has_act
    if cat == "activation" and not head_has_act:
        if APART + kind in rules:
            return False
        return ((head == "conv" and "conv+act" in rules)
                or (head == "linear" and ("linear+act" in rules or "conv+act" in rules))
                or (head == "batch_norm" and "bn+act" in rules)
                or (head == "add" and "add+act" in rules))
    return kind == "copy" and "cat+copy" in rules and head == "cat"


def _own_cost(n: Node, c: dict | None, cls: str, fb: int, kind: str = "") -> NodeCost:
    """A node that runs its own kernel: its work (MACs; pooling: element ops; an exponential-family
    element-wise op: its output elements), bytes and positions."""
    macs, mb = (0, _tensor_bytes_all(n, fb)) if c is None else (c["macs"], c["mac_bytes"])
    out = n.outputs[0] if n.outputs else None
    pix = 0.0
    if out is not None and len(out.shape) >= 3:
        pix = out.numel / out.shape[1] / 1e6      # N x spatial positions of the result
    elif out is not None and len(out.shape) == 2:
        pix = out.shape[0] / 1e6
    # pooling has no MACs: its work term is its element operations (window elements, or input
    # elements of a global pool)
    work = c["elem_ops"] if (cls in _POOLS and c is not None) else macs
    if cls == "elementwise" and ops.is_exponential(kind) and out is not None:
        work = out.numel
    return NodeCost(n.id, cls, work / 1e9, mb / 1e6, pix, None)


def node_costs(graph: Graph, dtype: str, fusion) -> list[NodeCost]:
    """Per counted node: class, GMACs, MB of memory access, and fusion owner."""
    rules = expand_rules(fusion)
    block = channel_block(rules)
    fb = ops.dtype_bytes(dtype)
    free = ops.free_mask(graph)
    roots = graph.roots(free)
    readers = graph.readers(free, roots)
    returned = graph.output_roots(roots)
    costs: list[NodeCost] = []
    owner: dict[int, int] = {}
    has_act: set[int] = set()
    head_kind: dict[int, str] = {}
    for n in graph.nodes:
        if free[n.id]:
            continue
        kind, cat, cls = ops.kind_of(n.op), ops.category_of(n.op), _off_block(n, latency_class(n), block)
        fused = None
        # an op joins the kernel its first input comes from; a residual add (conv+add) either
        # input's: runtimes fuse x + conv(x) as readily as conv(x) + x
        srcs = n.sources if (cat == "binary" and "conv+add" in rules) else n.sources[:1]
        for src in (srcs if rules else ()):
            if src.kind != "node":
                continue
            r = roots[src.ref]
            if r[0] == "node" and readers.get(r) == {n.id} and r not in returned:
                h = owner.get(r[1], r[1])
                if _fuses(kind, cat, head_kind.get(h, ""), h in has_act, rules) \
                        and (kind != "batch_norm" or h == r[1]):
                    fused = h
                    break
        if fused is not None:
            owner[n.id] = fused
            if cat == "activation":
                has_act.add(fused)
            # fused, it moves no bytes and dispatches nothing, but an exponential is still
            # evaluated per element inside the kernel it joins, and a 'pass:KIND' activation runs
            # over the kernel's output after it: that work stays (see fused_work)
            out = n.outputs[0] if n.outputs else None
            work = out.numel / 1e9 if (cls == "elementwise" and out is not None
                                       and (ops.is_exponential(kind) or PASS + kind in rules)) else 0.0
            costs.append(NodeCost(n.id, cls, work, 0.0, 0.0, fused))
            continue
        owner[n.id] = n.id
        head_kind[n.id] = _head(kind, cat)
        costs.append(_own_cost(n, ops.count(n, fb), cls, fb, kind))
    lay = nchwc_layout(rules)
    if lay is not None:
        from .layout import padded_work, reorders

        for nc in costs:          # a blocked conv computes its channels padded up to the block
            if nc.fused_into is None:
                nc.gmac *= padded_work(graph.nodes[nc.node], lay[0], lay[1])
        costs += [NodeCost(r.node, REORDER_CLASS, 0.0, r.mb, r.mpix, None, r.direction)
                  for r in reorders(graph, costs, lay[0], lay[1], fb)]
    return costs


def fused_work(costs: list[NodeCost]) -> dict[int, float]:
    """Per kernel (owner node id): the G elements of the exponential-family activations fused
    into it (OpenVINO runs a conv's SiLU inside the conv: no bytes, no dispatch, but its exp),
    priced at the ``fused_exp`` class's work rate (tied to the element-wise one where no sample
    measures it); 0 where none."""
    out: dict[int, float] = {}
    for nc in costs:
        if nc.fused_into is not None and nc.gmac:
            out[nc.fused_into] = out.get(nc.fused_into, 0.0) + nc.gmac
    return out


def own_kernels(costs: list[NodeCost]) -> tuple[list[NodeCost], np.ndarray]:
    """The entries of ``costs`` that run a kernel of their own (not fused), and per each the G
    elements of exponentials fused into it (:func:`fused_work`; none for a layout conversion
    charged to a node, which shares the node's id)."""
    own = [nc for nc in costs if nc.fused_into is None]
    fw = fused_work(costs)
    return own, np.array([0.0 if nc.reorder else fw.get(nc.node, 0.0) for nc in own], dtype=float)


def feature_matrix(costs: list[NodeCost]) -> np.ndarray:
    """Per-class feature sums, shape (len(CLASSES), len(TERMS)): gmac, mb, mpix, ops (a fused
    exponential's elements in the ``fused_exp`` work column, :func:`fused_work`)."""
    f = np.zeros((len(CLASSES), len(TERMS)))
    idx = {c: i for i, c in enumerate(CLASSES)}
    for nc in costs:
        if nc.fused_into is not None:
            f[idx[FUSED_EXP], 0] += nc.gmac    # 0 but for a fused exponential
            continue
        i = idx[nc.cls]
        f[i, 0] += nc.gmac
        f[i, 1] += nc.mb
        f[i, 2] += nc.mpix
        f[i, 3] += 1.0
    return f
