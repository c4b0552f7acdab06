"""The walk that turns a parsed ``.tflite`` subgraph into costlab's :class:`~costlab.ir.Graph`
(conventions: :mod:`costlab.frontends.tflite`).

* **Layout**: a 4-d tensor read or written by a spatial op (:data:`~.tflite_ops.SPATIAL`: conv,
  pool, resize ...) is an NHWC image, and so is every 4-d operand of an element-wise op
  (:data:`~.tflite_ops.LAYOUT_KEEPING`) that touches one (to a fixed point). Those tensors are
  shown as NCHW; conv weights as OIHW (OHWI in the file), depthwise weights as (C*M)x1xHxW (1xHxWx(C*M)),
  transposed-conv weights as torch's IxOxHxW. Other tensors keep the file's order.
* **Transposes**: as for ONNX (:mod:`costlab.frontends.onnx_views`), a ``TRANSPOSE`` is torch's
  ``permute``, a free view, unless a reshape reading it cannot view the permuted strides (a
  channel shuffle), when it is a copy. The layout transposes litert-torch puts around a
  network's NHWC part are thus free, as they are absent from the PyTorch trace.
* **Constants**: an op whose data inputs are all constants (``DEQUANTIZE`` of float16 or int8
  weights) is folded: its result is a constant made of the same parameters.
* **Quantized tensors** keep their integer dtype, so an int8 conv reads and writes int8 bytes
  (and its int32 bias 4 bytes per element) and is listed as an int8 layer; ``QUANTIZE`` /
  ``DEQUANTIZE`` of activations are kernels of their own (``quantize``, one element op per
  output), as a TFLite runtime runs them.
"""
from __future__ import annotations

from .. import ops
from ..errors import InputError
from ..ir import Graph, Node, Source, TensorMeta
from .onnx_views import transpose_is_view
from .tflite_ops import (ACTIVATIONS, LAYOUT_KEEPING, NON_DATA_INPUTS, PREFIX, REDUCE_WINDOW_BODIES, RESHAPES,
                         SPATIAL, register_all)

register_all()
_NHWC_TO_NCHW = (0, 3, 1, 2)
_CLAMPS = {"RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0), "RELU_0_TO_1": (0.0, 1.0)}


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _location(scope: str) -> tuple[str, dict[str, str]]:
    path: list[str] = []
    types: dict[str, str] = {}
    for part in scope.split("/")[1:]:
        last = part.rsplit(".", 1)[-1]
        bare = last.lstrip("_")                # a private class (_LRN_body): its own leading '_'
        cls, sep, attr = bare.partition("_")
        cls = last[:len(last) - len(bare)] + cls
        if not sep or not attr:
            break
        path.append(attr)
        types[".".join(path)] = cls
    return ".".join(path), types


# the torch modules that run a MAC op (a fused conv / fully-connected is named after them)
_WEIGHT_MODULE_WORDS = ("Conv", "Linear")


def module_of(name: str, mac: bool = False) -> tuple[str, dict[str, str]]:
    """(module path, {path: class}) of a litert-torch tensor name: its last ';'-separated location
    with a scope, ``root.Class/pkg.Class_attr/...``, one ``Class_attr`` per module level (a class
    name's leading underscores are its own: ``pkg._Block_body`` is module ``body`` of ``_Block``).
    A fused op's result names every module it ran (``...Linear_fc1;;...ReLU_relu1;``, or the conv
    last after its BN and ReLU): for a MAC op (``mac``) the last location whose module is a conv
    or linear layer, as the trace names the op after the module that ran it."""
    scoped = [s for s in name.split(";") if "/" in s]
    if not scoped:
        return "", {}
    chosen = scoped[-1]
    if mac:
        for scope in reversed(scoped):
            _, types = _location(scope)
            leaf = types.get(max(types, key=len), "") if types else ""
            if any(w in leaf for w in _WEIGHT_MODULE_WORDS):
                chosen = scope
                break
    return _location(chosen)


class Builder:
    def __init__(self, model):
        self.model = model
        self.t = model.tensors
        self.readers: dict[int, list] = {}
        for op in model.ops:
            for x in op.inputs:
                self.readers.setdefault(x, []).append(op)
        self.nhwc = self._layout()
        self.src: dict[int, Source] = {}
        self.const: dict[int, tuple[int, ...]] = {}    # constant tensor -> the buffers it is made of
        self.seen_buffers: set[int] = set()
        self.buffer_numel: dict[int, int] = {}
        self.nodes: list[Node] = []
        self.module_types: dict[str, str] = {}

    # -- layout ---------------------------------------------------------------------------------
    def _data(self, op) -> list[int]:
        skip = NON_DATA_INPUTS.get(op.code, frozenset())
        return [x for k, x in enumerate(op.inputs) if x >= 0 and k not in skip]

    def _layout(self) -> set[int]:
        rank4 = {i for i, t in enumerate(self.t) if len(t.shape) == 4}
        nhwc: set[int] = set()
        for op in self.model.ops:
            if op.code in SPATIAL:
                ins = self._data(op)
                if op.code in ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV"):
                    ins = [self._activation_input(op)]
                nhwc.update(x for x in ins + op.outputs if x in rank4)
        changed = True
        while changed:
            changed = False
            for op in self.model.ops:
                if op.code not in LAYOUT_KEEPING:
                    continue
                ts = [x for x in self._data(op) + op.outputs if x in rank4]
                if any(x in nhwc for x in ts) and not all(x in nhwc for x in ts):
                    nhwc.update(ts)
                    changed = True
        return nhwc

    def _activation_input(self, op) -> int:
        return op.inputs[2] if op.code == "TRANSPOSE_CONV" else op.inputs[0]

    def meta(self, i: int) -> TensorMeta:
        t = self.t[i]
        shape = tuple(t.shape[p] for p in _NHWC_TO_NCHW) if i in self.nhwc else t.shape
        return TensorMeta(shape, t.dtype)

    def _weight_meta(self, op, i: int) -> TensorMeta:
        """A conv's weight in torch's layout."""
        t = self.t[i]
        if len(t.shape) != 4:
            return TensorMeta(t.shape, t.dtype)
        o, h, w, c = t.shape
        if op.code == "DEPTHWISE_CONV_2D":
            return TensorMeta((c, 1, h, w), t.dtype)
        if op.code == "TRANSPOSE_CONV":
            return TensorMeta((c, o, h, w), t.dtype)
        return TensorMeta((o, c, h, w), t.dtype)

    # -- the walk -------------------------------------------------------------------------------
    def build(self) -> Graph:
        for k, i in enumerate(self.model.input_ids):
            self.src[i] = Source("input", k)
        for i, t in enumerate(self.t):
            if t.constant and i not in self.src:
                self.const[i] = (t.buffer,)
                self.buffer_numel.setdefault(t.buffer, _numel(t.shape))
        for op in self.model.ops:
            self.visit(op)
        outputs = [self.src[i] for i in self.model.output_ids if i in self.src]
        used = sum(n.new_params for n in self.nodes)
        return Graph(nodes=self.nodes, inputs=[self.meta(i) for i in self.model.input_ids], outputs=outputs,
                     params_total=used, buffers_total=0, params_unused=0, mode="tflite",
                     module_types={"": "model", **self.module_types})

    def visit(self, op) -> None:
        data = self._data(op)
        for x in data:
            if x not in self.const and x not in self.src:
                raise InputError(f"{self.model.name}: a {op.code} op reads tensor {x} ('{self.t[x].name}'), which no "
                                 "op, input or constant defines (are the operators in execution order?)")
        if data and all(x in self.const for x in data):
            made = tuple(dict.fromkeys(b for x in data for b in self.const[x]))
            for o in op.outputs:
                self.const[o] = made
            return
        self._node(op)

    def _inputs(self, op) -> tuple[list[TensorMeta], list[Source], int]:
        order = self._data(op)
        weighted = op.code in ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV")
        if op.code == "TRANSPOSE_CONV":         # (output_shape, weights, input[, bias]) -> torch's (input, weight, bias)
            order = [op.inputs[2], op.inputs[1]] + [x for x in op.inputs[3:] if x >= 0]
        mac = ops.category_of(PREFIX + op.code) == "mac"
        metas, sources, new = [], [], 0
        for k, x in enumerate(order):
            meta = self._weight_meta(op, x) if weighted and k == 1 else self.meta(x)
            if x in self.const:
                bufs = self.const[x]
                if not mac and meta.numel <= 1:
                    continue                     # a scalar argument (a Python number to torch)
                for b in bufs:
                    if b not in self.seen_buffers:
                        self.seen_buffers.add(b)
                        new += self.buffer_numel[b]
                source = Source("param", self.t[x].name or f"tensor{x}") if bufs else Source("const", None)
            else:
                source = self.src[x]
            metas.append(meta)
            sources.append(source)
        return metas, sources, new

    def _node(self, op) -> None:
        inputs, sources, new = self._inputs(op)
        name = self.op_name(op)
        spec = ops.spec_of(name)
        module = self._module(op)
        node = Node(id=len(self.nodes), op=name, kind=ops.kind_of(name), module=module,
                    module_type=self.module_types.get(module, "scope"), inputs=inputs, sources=sources,
                    outputs=[self.meta(o) for o in op.outputs], args=self.args(op, inputs),
                    is_view=spec is not None and spec.formula is None, new_params=new)
        self.nodes.append(node)
        for k, o in enumerate(op.outputs):
            self.src[o] = Source("node", node.id, k)

    def _module(self, op) -> str:
        candidates = [self.t[o].name for o in op.outputs] + [self.t[x].name for x in self._data(op) if x in self.const]
        mac = ops.category_of(PREFIX + op.code) == "mac"
        for name in candidates:
            path, types = module_of(name, mac)
            if path:
                for p, cls in types.items():
                    self.module_types.setdefault(p, cls)
                return path
        return ""

    # -- names and arguments --------------------------------------------------------------------
    def op_name(self, op) -> str:
        if op.code == "TRANSPOSE" and self._transpose_is_view(op):
            return PREFIX + "TRANSPOSE.view"
        if op.code == "GATHER" and len(op.inputs) > 1 and self.t[op.inputs[1]].constant \
                and self.t[op.inputs[1]].shape == ():
            return PREFIX + "GATHER.select"     # x[:, 0]: torch's select, a view
        if op.code == "STABLEHLO_REDUCE_WINDOW":
            body = op.options.get("body", [])
            if len(body) == 1 and body[0] in REDUCE_WINDOW_BODIES:
                return f"{PREFIX}{op.code}.{REDUCE_WINDOW_BODIES[body[0]]}"
        return PREFIX + op.code

    def _transpose_is_view(self, op) -> bool:
        perm = self.t[op.inputs[1]].value if len(op.inputs) > 1 else None
        if perm is None:
            return False
        shapes = [self.t[r.outputs[0]].shape for r in self.readers.get(op.outputs[0], [])
                  if r.code in RESHAPES and r.outputs]
        return transpose_is_view(list(self.t[op.inputs[0]].shape), [int(p) for p in perm.reshape(-1)], shapes)

    def args(self, op, inputs) -> dict:
        o = op.options
        a: dict = {"tflite_op": op.code}
        act = ACTIVATIONS.get(int(o.get("fused_activation_function", 0) or 0))
        if act:
            a["fused_activation"] = act
        if op.code in ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV"):
            x, w = inputs[0], inputs[1]
            c_in = x.shape[1] if len(x.shape) == 4 else 1
            groups = c_in if op.code == "DEPTHWISE_CONV_2D" else \
                max(c_in // max(w.shape[1], 1), 1) if op.code == "CONV_2D" else 1
            stride = [int(o.get("stride_h", 1) or 1), int(o.get("stride_w", 1) or 1)]
            dilation = [int(o.get("dilation_h", 1) or 1), int(o.get("dilation_w", 1) or 1)]
            a.update(groups=groups, stride=stride, dilation=dilation, transposed=op.code == "TRANSPOSE_CONV",
                     padding=self._padding(o, x, inputs[1], stride, dilation))
        elif op.code in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            a.update(kernel_size=[int(o.get("filter_h", 1)), int(o.get("filter_w", 1))],
                     stride=[int(o.get("stride_h", 1) or 1), int(o.get("stride_w", 1) or 1)])
        elif op.code == "STABLEHLO_REDUCE_WINDOW":
            a.update(self._reduce_window(o))
        elif op.code in _CLAMPS:
            a["min_val"], a["max_val"] = _CLAMPS[op.code]
        elif op.code == "BATCH_MATMUL":
            a.update(adj_x=bool(o.get("adj_x")), adj_y=bool(o.get("adj_y")))
        elif op.code in ("SOFTMAX", "LOG_SOFTMAX"):
            a["dim"] = -1
        return a

    @staticmethod
    def _reduce_window(o) -> dict:
        """A reduce-window as torch's pool arguments: over the dims after batch and channel when
        its window spans neither (LRN's window over channels of an (N, 1, C, H, W) view is
        ``avg_pool3d``'s kernel (size, 1, 1), as in the trace), else over every dim."""
        win, strides = o.get("window_dimensions", []), o.get("window_strides", [])
        pads = o.get("window_padding", [])
        skip = 2 if len(win) > 2 and win[:2] == [1, 1] and strides[:2] in ([], [1, 1]) else 0
        return {"kernel_size": win[skip:], "stride": strides[skip:] or [1] * len(win[skip:]),
                "padding": pads[2 * skip::2], "dilation": o.get("window_dilations", [])[skip:]}

    @staticmethod
    def _padding(o, x: TensorMeta, w: TensorMeta, stride, dilation) -> list[int]:
        """SAME: the top / left padding TFLite computes; VALID: 0."""
        if int(o.get("padding", 1)) != 0 or len(x.shape) != 4:     # Padding.SAME = 0
            return [0, 0]
        out = []
        for size, k, s, d in zip(x.shape[2:], w.shape[2:], stride, dilation):
            want = -(-size // s)
            total = max((want - 1) * s + (k - 1) * d + 1 - size, 0)
            out.append(total // 2)
        return out
