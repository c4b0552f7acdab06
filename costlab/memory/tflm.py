"""Truth from a runtime: the arena TensorFlow Lite Micro allocates for a model, against the
arena costlab plans.

:func:`to_tflite` writes an int8 ``.tflite`` flatbuffer of a traced graph as a converter would
emit it (NHWC; batch norm folded and ReLU / ReLU6 fused into the conv, linear or add before them,
the buffers of :func:`~costlab.memory.lifetimes.build` under the ``converted`` rules), with
placeholder weights: an arena depends on shapes, not values. It covers convs (dense and
depthwise), linear, add, channel concat, max / average pooling, global mean and reshape; anything
else raises :class:`NotConvertible`. :func:`tflm_arena` loads it in TFLite Micro's Python
interpreter (the ``tflite-micro`` package, ``pip install costlab[tflm]``) and returns its
allocation record: ``head`` (the non-persistent arena: activations and kernel scratch, planned by
its ``GreedyMemoryPlanner``) and ``tail`` (persistent: tensor structs, quantization data, kernel
buffers such as per-channel multipliers).
"""
from __future__ import annotations

import os
import re
import tempfile

import numpy as np

from .. import ops
from ..errors import InputError
from ..ir import Graph
from .lifetimes import build, value_key

_ACT = {"relu": "RELU", "relu6": "RELU6"}


class NotConvertible(InputError):
    """An op this exporter does not write (the comparison skips the model)."""


def available() -> bool:
    try:
        import tflite_micro  # noqa: F401
    except ImportError:
        return False
    return True


def _nhwc(shape) -> tuple:
    s = tuple(int(d) for d in shape)
    return (s[0], s[2], s[3], s[1]) if len(s) == 4 else s


class _Writer:
    def __init__(self, graph: Graph):
        from tflite_micro.tensorflow.lite.micro.compression import model_editor as me
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as tfl

        self.me, self.tfl, self.g = me, tfl, graph
        self.lt = build(graph, "int8", "converted")
        self.free = ops.free_mask(graph)
        self.roots = graph.roots(self.free)
        self.tensors: list = []
        self.operators: list = []
        self.of_buffer: dict[int, object] = {}      # costlab buffer -> its tflite tensor
        self.op_of: dict[int, object] = {}           # costlab buffer -> the op writing it (for fusing)
        self.reshaped: dict[tuple, object] = {}

    def act(self, shape, name):
        t = self.me.Tensor(shape=_nhwc(shape), dtype=self.tfl.TensorType.INT8, name=name,
                           quantization=self.me.Quantization(0.05, 0))
        self.tensors.append(t)
        return t

    def const(self, array: np.ndarray, name: str, dtype, scales=None, axis=None):
        q = self.me.Quantization(scales if scales is not None else 0.01, [0] * len(scales) if scales else 0, axis=axis)
        t = self.me.Tensor(shape=array.shape, dtype=dtype, data=array, name=name, quantization=q)
        self.tensors.append(t)
        return t

    def op(self, code: str, inputs, outputs, options=None, opt_type: str | None = None):
        o = self.me.Operator(opcode=getattr(self.tfl.BuiltinOperator, code), inputs=inputs, outputs=outputs)
        if options is not None:
            o._fb.builtinOptionsType = getattr(self.tfl.BuiltinOptions, opt_type)
            o._fb.builtinOptions = options
        self.operators.append(o)
        return o

    def source(self, n, k: int):
        """The tflite tensor of input ``k`` of node ``n`` (a RESHAPE when it reads a view of another shape)."""
        key = value_key(n.sources[k], self.roots, self.free)
        if key not in self.lt.buffer_of:
            raise NotConvertible(f"{n.module or '(root)'}: an input that is not an activation")
        b = self.lt.buffer_of[key]
        t = self.of_buffer[b]
        want = _nhwc(n.inputs[k].shape)
        if tuple(t.shape) == want:
            return t
        if (b, want) not in self.reshaped:
            j = len(self.reshaped)
            out = self.act(n.inputs[k].shape, f"reshape{j}")
            shape = self.const(np.array(want, dtype=np.int32), f"shape{j}", self.tfl.TensorType.INT32)
            self.op("RESHAPE", [t, shape], [out])
            self.reshaped[(b, want)] = out
        return self.reshaped[(b, want)]


def _padding(tfl, stride, hw_in, hw_out) -> int:
    """SAME when it gives the traced output size (TFLite pads only SAME or VALID)."""
    same = all(-(-int(i) // int(s)) == int(o) for i, s, o in zip(hw_in, stride, hw_out))
    return tfl.Padding.SAME if same else tfl.Padding.VALID


def _conv(w: _Writer, i: int, n):
    tfl = w.tfl
    x = w.source(n, 0)
    out = n.outputs[0]
    y = w.act(out.shape, f"t{i}")
    cls = ops.conv_class(n)
    cout, cin_g, kh, kw = (int(d) for d in n.inputs[1].shape)
    stride = [int(v) for v in n.args.get("stride", [1, 1])]
    dil = [int(v) for v in n.args.get("dilation", [1, 1])]
    bias = w.const(np.zeros(cout, np.int32), f"b{i}", tfl.TensorType.INT32, [0.0005] * cout, 0)
    pad = _padding(tfl, stride, n.inputs[0].shape[2:], out.shape[2:])
    if cls == "depthwise":
        wt = w.const(np.ones((1, kh, kw, cout), np.int8), f"w{i}", tfl.TensorType.INT8, [0.01] * cout, 3)
        o = tfl.DepthwiseConv2DOptionsT()
        o.depthMultiplier = cout // int(n.inputs[0].shape[1])
        code, typ = "DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions"
    elif cls in ("dense", "pointwise"):
        wt = w.const(np.ones((cout, kh, kw, cin_g), np.int8), f"w{i}", tfl.TensorType.INT8, [0.01] * cout, 0)
        o = tfl.Conv2DOptionsT()
        code, typ = "CONV_2D", "Conv2DOptions"
    else:
        raise NotConvertible(f"{n.module}: {ops.describe(n)} (group conv) is not written")
    o.padding, (o.strideH, o.strideW), (o.dilationHFactor, o.dilationWFactor) = pad, stride, dil
    return w.op(code, [x, wt, bias], [y], o, typ), y


def _linear(w: _Writer, i: int, n):
    tfl = w.tfl
    xi = 1 if n.op.startswith("aten.addmm") else 0
    wi = 2 if n.op.startswith("aten.addmm") else 1
    x = w.source(n, xi)
    wshape = n.inputs[wi].shape
    cout, cin = (int(wshape[1]), int(wshape[0])) if n.op.startswith("aten.addmm") else (int(wshape[0]), int(wshape[1]))
    y = w.act(n.outputs[0].shape, f"t{i}")
    wt = w.const(np.ones((cout, cin), np.int8), f"w{i}", tfl.TensorType.INT8)
    b = w.const(np.zeros(cout, np.int32), f"b{i}", tfl.TensorType.INT32, [0.0005], None)
    return w.op("FULLY_CONNECTED", [x, wt, b], [y], tfl.FullyConnectedOptionsT(), "FullyConnectedOptions"), y


def _pool(w: _Writer, i: int, n, code: str):
    tfl = w.tfl
    x = w.source(n, 0)
    y = w.act(n.outputs[0].shape, f"t{i}")
    k = n.args["kernel_size"]
    k = list(k) * (2 // len(k)) if isinstance(k, (list, tuple)) else [k, k]
    s = n.args.get("stride") or k
    s = list(s) * (2 // len(s))
    o = tfl.Pool2DOptionsT()
    o.filterHeight, o.filterWidth = int(k[0]), int(k[1])
    o.strideH, o.strideW = int(s[0]), int(s[1])
    o.padding = _padding(tfl, s, n.inputs[0].shape[2:], n.outputs[0].shape[2:])
    return w.op(code, [x], [y], o, "Pool2DOptions"), y


def _mean(w: _Writer, i: int, n):
    tfl = w.tfl
    x = w.source(n, 0)
    y = w.act(n.outputs[0].shape, f"t{i}")
    axes = w.const(np.array([1, 2], np.int32), f"axes{i}", tfl.TensorType.INT32)
    o = tfl.ReducerOptionsT()
    o.keepDims = len(n.outputs[0].shape) == 4
    return w.op("MEAN", [x, axes], [y], o, "ReducerOptions"), y


def _node_op(w: _Writer, i: int, n):
    kind, cat = ops.kind_of(n.op), ops.category_of(n.op)
    if kind == "conv":
        return _conv(w, i, n)
    if kind == "linear":
        return _linear(w, i, n)
    if kind == "add" and len(n.inputs) == 2:
        y = w.act(n.outputs[0].shape, f"t{i}")
        return w.op("ADD", [w.source(n, 0), w.source(n, 1)], [y], w.tfl.AddOptionsT(), "AddOptions"), y
    if kind == "cat" and int(n.args.get("dim", 0)) in (1, -3):
        y = w.act(n.outputs[0].shape, f"t{i}")
        o = w.tfl.ConcatenationOptionsT()
        o.axis = 3
        return w.op("CONCATENATION", [w.source(n, k) for k in range(len(n.inputs))], [y], o,
                    "ConcatenationOptions"), y
    if cat in ("pool_max", "pool_avg"):
        return _pool(w, i, n, "MAX_POOL_2D" if cat == "pool_max" else "AVERAGE_POOL_2D")
    if cat == "global_pool" and len(n.outputs[0].shape) in (2, 4) and int(np.prod(n.outputs[0].shape[2:] or [1])) == 1:
        return _mean(w, i, n)
    raise NotConvertible(f"{n.module or '(root)'}: {ops.describe(n)} is not written to .tflite")


def _fuse(w: _Writer, i: int, n) -> None:
    """A folded batch norm or a fused activation: mark the op that wrote its input."""
    b = w.lt.writes[i]
    if ops.category_of(n.op) == "norm":
        return
    label = ops.describe(n)
    producer = w.op_of.get(b)
    if label not in _ACT or producer is None or producer._fb.builtinOptions is None \
            or not hasattr(producer._fb.builtinOptions, "fusedActivationFunction"):
        raise NotConvertible(f"{n.module or '(root)'}: {label} cannot be fused into the op before it")
    if producer._fb.builtinOptions.fusedActivationFunction:
        raise NotConvertible(f"{n.module or '(root)'}: two activations in a row")
    producer._fb.builtinOptions.fusedActivationFunction = getattr(w.tfl.ActivationFunctionType, _ACT[label])


def to_tflite(graph: Graph) -> bytes:
    """An int8 ``.tflite`` flatbuffer of ``graph`` (see the module doc)."""
    w = _Writer(graph)
    inputs = []
    for b in w.lt.buffers:
        if b.key[0][0] == "input":
            t = w.act(graph.inputs[b.key[0][1]].shape, f"input{b.key[0][1]}")
            w.of_buffer[b.id] = t
            inputs.append(t)
    for i, nid in enumerate(w.lt.steps):
        n = graph.nodes[nid]
        if w.lt.creates[i] < 0 and w.lt.writes[i] >= 0:
            _fuse(w, i, n)
            continue
        op, y = _node_op(w, i, n)
        w.of_buffer[w.lt.creates[i]] = y
        w.op_of[w.lt.creates[i]] = op
    outs = [w.of_buffer[w.lt.buffers[b].id] for b in range(len(w.lt.buffers)) if w.lt.buffers[b].pinned]
    m = w.me.Model(description="costlab int8 export (placeholder weights)")
    m.buffers.append(w.me.Buffer(data=b""))
    m.add_subgraph(tensors=w.tensors, operators=w.operators, inputs=inputs, outputs=outs)
    return bytes(m.build())


_LINE = re.compile(r"'(.+?)' used (\d+) bytes")


def tflm_arena(model: bytes) -> dict[str, int]:
    """TFLite Micro's allocation record for ``model``: ``total``, ``head`` (non-persistent:
    activations and scratch), ``tail`` (persistent) and each recorded kind in bytes."""
    from tflite_micro.python.tflite_micro import runtime

    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            it = runtime.Interpreter.from_bytes(model, arena_size=max(64 << 20, len(model) * 4))
            it.print_allocations()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        log.seek(0)
        text = log.read().decode(errors="replace")
    out: dict[str, int] = {}
    for key in ("total", "head", "tail"):
        m = re.search(rf"Arena allocation {key} (\d+) bytes", text)
        if m is None:
            raise RuntimeError(f"TFLite Micro printed no arena {key}: {text[:200]}")
        out[key] = int(m.group(1))
    for name, used in _LINE.findall(text):
        out[name] = int(used)
    return out
