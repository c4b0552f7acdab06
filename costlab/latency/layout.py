"""Layout conversions a blocked-layout runtime inserts between its ops (the ``nchwc:B/A`` rule).

ONNX Runtime's CPU provider rewrites a graph into its NCHWc layout (channels in blocks of B =
``MlasNchwcGetBlockSize()``) for the ops it has NCHWc kernels for, and inserts a ``ReorderInput``
(NCHW -> NCHWc) or ``ReorderOutput`` (NCHWc -> NCHW) wherever a tensor crosses between those and
any other op (``onnxruntime/core/optimizer/nchwc_transformer.cc``, ``NchwcTransformerImpl``:
``TransformConv``, ``TransformPool``, ``TransformBinary``, ``TransformConcat``,
``TransformActivation``, ``Finalize``; microsoft/onnxruntime at 0ef8ce5). Each conversion reads
and writes the whole tensor: ShuffleNet v2 x0.5 ran 49 of them (with its Squeezes), 0.22-0.36 ms
of a 1.31-1.51 ms median over four runs of ``costlab bench shufflenet_v2:width=0.5 --runtime ort
--runs 21`` (ONNX Runtime 1.32, 1 thread, its profiler's per-kernel times; README, round 12) here
(its channel shuffles and splits are
Reshape / Transpose / Split, which have no NCHWc kernel); every squeeze-excite block of MobileNet
v3 pays two full-tensor conversions around its broadcast Mul (Mul runs in NCHWc only when both
inputs have the same shape).

:func:`reorders` replays that rewrite on costlab's traced graph. ORT 1.32 goes beyond that
source in one respect, read off its optimised graphs (``optimized_model_filepath``) and
measured, not assumed (:mod:`costlab.runtimes.layout_probe`): it pads a dense or depthwise conv's
channels up to the block when they are a multiple of A (4 on this AVX-512 EPYC, block 16):

* a conv runs blocked when its channels allow: groups = 1 with fewer input channels than B (it
  reads the NCHW input directly) or a multiple of A; depthwise with channels a multiple of A;
  other groups with channels per group a multiple of B (transposed, 1-d and 3-d convs do not);
* a max / average pool over windows runs blocked when its channels are a multiple of B;
* a global pool (``adaptive_avg_pool2d(x, 1)``; a ``mean`` is ReduceMean, NCHW), an add, a mul
  (inputs of equal shape), a channel concat (every part a multiple of B), a ReLU / sigmoid /
  tanh / SiLU or a batch norm runs blocked when every input is a blocked tensor read directly
  (not through a reshape, split or transpose, which ONNX exports as ops);
* an op fused into a kernel (the profile's fusion rules) keeps its kernel's layout, except a
  residual add whose other input is not blocked (ORT fuses the sum only between two NCHWc
  tensors) and an activation other than those above after a fused sum;
* ``x + 0`` / ``x * 1`` (a ``sum()`` starting at 0) is no op once exported; every other op runs
  in NCHW.

A blocked conv or pool reading an NCHW tensor costs one ``ReorderInput`` of it (shared by every
such reader); a blocked tensor read by an NCHW op, or returned, one ``ReorderOutput`` (shared).
Each is a :class:`Reorder`: the tensor's bytes read and written, its positions, and the node
whose need caused it (the first reader; the producer for a returned tensor), which carries its
cost in per-layer tables. Checked against ORT 1.32's optimised graphs of the 22 validation
networks, the 11 network samples and torchvision's mnasnet1_0, mobilenet_v3_large,
efficientnet_b0 and regnet_x_400mf: the same number of ReorderInput and ReorderOutput nodes in
every one (``tests/runtimes``: a few of them, for real).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import ops
from ..ir import Graph, Node


# activations that keep the blocked layout when they run on their own: TransformActivation's
# Relu / Sigmoid / Tanh, and SiLU (ORT 1.32 runs it as a QuickGelu kernel on NCHWc tensors, seen in
# EfficientNet-B0's optimised graph); LeakyRelu runs in NCHW (CSPResNet-50's optimised graph)
_ACTS = frozenset({"relu", "sigmoid", "tanh", "silu"})
_SAME_SHAPE_VIEWS = frozenset({"aten.alias", "aten.detach", "aten.lift_fresh", "aten.view_as", "aten.dropout",
                               "aten.feature_dropout", "aten.alpha_dropout"})


@dataclass(frozen=True)
class Reorder:
    """One layout conversion: ``direction`` 'in' (NCHW -> blocked) or 'out' (blocked -> NCHW)
    of the tensor written by node ``tensor`` (-1 - i: graph input i), charged to node ``node``."""

    node: int
    tensor: int
    direction: str
    mb: float          # bytes read and written / 1e6
    mpix: float        # N x spatial positions / 1e6


def _channels(t) -> int | None:
    return int(t.shape[1]) if t is not None and len(t.shape) == 4 else None


def _conv_dims(n: Node) -> tuple[int, int, int]:
    """(output channels, input channels per group, groups) of a conv node."""
    w = n.inputs[1].shape
    return int(w[0]), int(w[1]), int(n.args.get("groups", 1) or 1)


def _depthwise(cout: int, cin_g: int, groups: int) -> bool:
    return groups > 1 and cin_g == 1 and cout == groups


def _conv_blocked(n: Node, block: int, align: int) -> tuple[bool, bool]:
    """(does the conv run blocked, does it read a blocked input). ONNX Runtime 1.32 pads a
    dense or depthwise conv's channels up to the block when they are a multiple of ``align``
    (4 here: a 72-channel depthwise conv runs as an 80-channel NCHWc conv, a 58-channel one in
    NCHW); a dense conv of fewer input channels than the block reads the NCHW input directly;
    a group conv that is not depthwise needs channels per group that are multiples of the
    block (240 channels in 3 groups: blocked; 120 in 3: not)."""
    if n.args.get("transposed", False) or len(n.inputs) < 2 or len(n.inputs[1].shape) != 4 \
            or len(n.inputs[0].shape) != 4:
        return False, False
    cout, cin_g, groups = _conv_dims(n)
    if groups > 1:
        if _depthwise(cout, cin_g, groups):
            return cout % align == 0, True
        return (cin_g % block == 0 and (cout // groups) % block == 0), True
    if cin_g < block:
        return True, False                       # reads the NCHW input directly
    return cin_g % align == 0, True


def _up(c: int, block: int) -> int:
    return -(-c // block) * block


def padded_work(n: Node, block: int, align: int) -> float:
    """How many times its own MACs a conv computes in ONNX Runtime's NCHWc layout: a blocked
    conv's channels are padded up to the block (a 24-channel 1x1 conv of 144 inputs computes 32
    output channels; one of 24 inputs reads 32), except the input channels of a conv that reads
    the NCHW input directly; 1.0 for any other node."""
    if ops.kind_of(n.op) != "conv":
        return 1.0
    runs, reads_blocked = _conv_blocked(n, block, align)
    if not runs:
        return 1.0
    cout, cin_g, groups = _conv_dims(n)
    if _depthwise(cout, cin_g, groups):
        return _up(cout, block) / cout
    f = _up(cout // groups, block) / (cout // groups)
    return f * (_up(cin_g, block) / cin_g if reads_blocked else 1.0)


def _transparent(n: Node) -> bool:
    """A free node ONNX exports as no op (an alias, detach, dropout in eval)."""
    base = n.op.rsplit(".", 1)[0] if n.op.count(".") > 1 else n.op
    return n.op in _SAME_SHAPE_VIEWS or base in _SAME_SHAPE_VIEWS


def _global_pool_mean(n: Node) -> bool:
    """A mean over the last two dims, kept: what ``adaptive_avg_pool2d(x, 1)`` traces to, exported
    as GlobalAveragePool (an NCHWc kernel); any other mean is exported as ReduceMean, which runs
    in NCHW (``x.mean((2, 3))`` too: the two cannot be told apart by their aten op)."""
    return list(n.args.get("dim") or []) == [-1, -2] and bool(n.args.get("keepdim"))


def _identity_arith(n: Node, kind: str, srcs) -> bool:
    """x + 0, x - 0, x * 1, x / 1 of one tensor (``sum()`` starts at 0): no op once exported."""
    if len(srcs) != 1 or len(n.inputs) != 1:
        return False
    other = n.args.get("other")
    return (kind in ("add", "sub") and other == 0) or (kind in ("mul", "div") and other == 1)


def _decide(n: Node, ins: list, in_blocked: list, block: int, align: int):
    """(runs blocked, reads a blocked input, the inputs that matter, whether each is blocked) of
    an unfused node, by ORT's NCHWc rules (module docstring)."""
    kind = ops.kind_of(n.op)
    runs_blocked, wants_blocked_input = False, False
    if kind == "conv":
        runs_blocked, wants_blocked_input = _conv_blocked(n, block, align)
        ins = ins[:1]
        in_blocked = in_blocked[:1]
    elif kind in ("max_pool", "avg_pool"):
        c = _channels(n.inputs[0]) if n.inputs else None
        runs_blocked = wants_blocked_input = (c is not None and c % block == 0 and len(n.inputs[0].shape) == 4)
        ins, in_blocked = ins[:1], in_blocked[:1]
    elif kind == "adaptive_pool" or (kind == "mean" and _global_pool_mean(n)):
        out = n.outputs[0] if n.outputs else None
        c = _channels(n.inputs[0]) if n.inputs else None
        runs_blocked = (bool(in_blocked[:1]) and in_blocked[0] and c is not None and c % block == 0
                        and out is not None and tuple(out.shape[2:]) == (1, 1))
    elif kind in ("add", "mul"):
        tensors = [t for _, t in ins]
        runs_blocked = (len(ins) == len(n.inputs) >= 2 and all(in_blocked)
                        and all(tuple(t.shape) == tuple(tensors[0].shape) for t in tensors))
    elif kind == "cat":
        dim = n.args.get("dim", 0)
        chans = [_channels(t) for _, t in ins]
        runs_blocked = bool(dim in (1, -3) and ins and all(in_blocked)
                        and all(c is not None and c % block == 0 for c in chans))
    elif kind in _ACTS or kind in ("batch_norm", "upsample_nearest"):
        runs_blocked = bool(in_blocked[:1]) and in_blocked[0]
        ins, in_blocked = ins[:1], in_blocked[:1]
    if kind not in ("conv", "max_pool", "avg_pool"):
        wants_blocked_input = runs_blocked      # blocked only when its inputs already are
    return runs_blocked, wants_blocked_input, ins, in_blocked


class _Replay:
    """The NCHWc rewrite of one graph, node by node (state: which tensors are blocked, which
    conversions exist)."""

    def __init__(self, graph: Graph, costs, block: int, align: int, float_bytes: int):
        self.graph, self.block, self.align, self.fb = graph, block, align, float_bytes
        self.free = ops.free_mask(graph)
        self.roots = graph.roots(self.free)
        self.fused_into = {nc.node: nc.fused_into for nc in costs if nc.fused_into is not None}
        self.blocked: dict[int, bool] = {}       # node id -> its output runs blocked
        self.direct: dict[int, tuple] = {}       # transparent free node id -> the tensor it passes on
        self.summed: set[int] = set()            # kernels a residual add was fused into
        self.out_done: set[int] = set()
        self.in_done: set[tuple] = set()
        self.result: list[Reorder] = []

    def tensor_of(self, src) -> tuple:
        """('node', id, direct?) or ('input', i, direct?) of a source, through transparent views."""
        if src.kind == "input":
            return ("input", src.ref, True)
        if src.kind != "node":
            return ("const", None, True)
        if self.free[src.ref]:
            d = self.direct.get(src.ref)
            if d is not None:
                return d
            r = self.roots[src.ref]            # the tensor the view reads, through a reshape / split
            return (r[0], r[1], False)
        return ("node", src.ref, True)

    def is_blocked(self, k: str, ref, d: bool = True) -> bool:
        return k == "node" and d and self.blocked.get(ref, False)

    def _size(self, t) -> tuple[float, float]:
        b = ops.tensor_bytes(t, self.fb)
        pix = t.numel / t.shape[1] if len(t.shape) >= 3 and t.shape[1] else t.numel
        return 2 * b / 1e6, pix / 1e6

    def out(self, tid: int, t, charge: int) -> None:
        if tid not in self.out_done:
            self.out_done.add(tid)
            self.result.append(Reorder(charge, tid, "out", *self._size(t)))

    def into(self, key: tuple, t, charge: int) -> None:
        if key not in self.in_done:
            self.in_done.add(key)
            tid = key[1] if key[0] == "node" else -1 - int(key[1])
            self.result.append(Reorder(charge, tid, "in", *self._size(t)))

    def fused(self, n: Node, srcs) -> None:
        """A node fused into a kernel: the kernel's layout, unless ORT cannot fuse it in NCHWc."""
        owner = self.fused_into[n.id]
        ins = [(self.tensor_of(s), t) for s, t in srcs]
        mine = next((i for i, ((k, ref, _), _t) in enumerate(ins)
                     if k == "node" and self.fused_into.get(ref, ref) == owner), 0)
        # the layout of the kernel's result so far (an unfused add before it may have made it NCHW)
        k0, ref0, _ = ins[mine][0] if ins else ("const", None, True)
        self.blocked[n.id] = self.is_blocked(k0, ref0)
        if ops.category_of(n.op) == "binary":
            self.summed.add(owner)
        elif (self.blocked[n.id] and owner in self.summed and ops.category_of(n.op) == "activation"
              and ops.kind_of(n.op) not in _ACTS):
            # after a conv's fused sum, only TransformActivation's activations join the NCHWc
            # conv: another (CSPNet's LeakyRelu) runs in NCHW on the converted result
            self.blocked[n.id] = False
            self.out(ref0, ins[mine][1], n.id)
            return
        others = [x for i, x in enumerate(ins) if i != mine]     # a fused residual add's other input
        if self.blocked[n.id] and any(not self.is_blocked(k, ref, d) for (k, ref, d), _ in others):
            # ORT fuses the add into an NCHWc conv only when both inputs are blocked: else the
            # add runs in NCHW and the conv's result is converted back
            self.blocked[n.id] = False
            if k0 == "node":
                self.out(ref0, ins[mine][1], n.id)
        for (k, ref, d), t in others:
            if k == "node" and self.blocked.get(ref) and not (d and self.blocked[n.id]):
                self.out(ref, t, n.id)

    def own(self, n: Node, srcs) -> None:
        """A node that runs its own kernel: blocked or not, and the conversions its inputs need."""
        if _identity_arith(n, ops.kind_of(n.op), srcs):
            k, ref, d = self.tensor_of(srcs[0][0])
            self.blocked[n.id] = self.is_blocked(k, ref, d)
            if k == "node" and self.blocked.get(ref) and not self.blocked[n.id]:
                self.out(ref, srcs[0][1], n.id)
            return
        ins = [(self.tensor_of(s), t) for s, t in srcs]
        in_blocked = [self.is_blocked(k, ref, d) for (k, ref, d), _ in ins]
        runs, wants, ins, in_blocked = _decide(n, ins, in_blocked, self.block, self.align)
        self.blocked[n.id] = runs
        for ((k, ref, d), t), b in zip(ins, in_blocked):
            if k == "const" or (runs and wants and b):
                continue                          # a constant, or the blocked tensor read as it is
            if runs and wants:
                if k == "node" and self.blocked.get(ref):
                    # a blocked tensor read through a reshape: back to NCHW, then in again
                    self.out(ref, t, n.id)
                self.into((k, ref, d), t, n.id)
            elif k == "node" and self.blocked.get(ref):
                outs = self.graph.nodes[ref].outputs
                self.out(ref, outs[0] if outs else t, n.id)

    def run(self) -> list[Reorder]:
        for n in self.graph.nodes:
            srcs = [(s, t) for s, t in zip(n.sources, n.inputs) if s.kind in ("node", "input")]
            if self.free[n.id]:
                if _transparent(n) and srcs:
                    self.direct[n.id] = self.tensor_of(srcs[0][0])
            elif n.id in self.fused_into:
                self.fused(n, srcs)
            else:
                self.own(n, srcs)
        for o in self.graph.outputs:            # a blocked result is converted back to NCHW
            k, ref, _ = self.tensor_of(o) if o.kind in ("node", "input") else ("const", None, True)
            if k == "node" and self.blocked.get(ref) and self.graph.nodes[ref].outputs:
                self.out(ref, self.graph.nodes[ref].outputs[0], ref)
        return self.result


def reorders(graph: Graph, costs, block: int, align: int = 1, float_bytes: int = 4) -> list[Reorder]:
    """The layout conversions of ``graph`` under an ``nchwc:block/align`` rule; ``costs``: its
    :func:`~costlab.latency.features.node_costs` without them (fusion owners)."""
    return _Replay(graph, costs, block, align, float_bytes).run()
