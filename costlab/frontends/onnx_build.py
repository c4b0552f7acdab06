"""The walk that turns a parsed ONNX graph into costlab's :class:`~costlab.ir.Graph` (see
:mod:`costlab.frontends.onnx` for the conventions: constants, params, scalars, module paths)."""
from __future__ import annotations

from .. import ops
from ..errors import InputError
from ..ir import Graph, Node, Source, TensorMeta
from .onnx_ops import CONTROL_FLOW, METADATA, NON_DATA_INPUTS, PREFIX
from .onnx_quant import QdqPlan
from .onnx_fold import resolve
from .onnx_shapes import SCOPE, dtype_name, module_of, module_types, onnx_module
from .onnx_views import RESHAPES, transpose_is_view

_SMALL = 64   # constants of at most this many elements keep their values (bounds, k, axes)


def _numel(dims) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


class Builder:
    """One pass over the nodes, in the file's (topological) order."""

    def __init__(self, model, shapes):
        self.onnx = onnx_module()
        self.model = model
        self.proto = model.proto
        self.shapes = [tuple(int(d) for d in s) for s in shapes]
        self.order, self.types = resolve(self.onnx, self.proto, model.inputs, self.shapes)
        self.inits = {t.name: t for t in self.proto.graph.initializer}
        self.src: dict[str, Source] = {}             # data-flow values
        self.meta: dict[str, TensorMeta] = {}
        self.const: dict[str, tuple[str, ...]] = {}   # constant value -> the initializers it is made of
        self.values: dict[str, object] = {}           # small constants' values (numpy)
        self.nodes: list[Node] = []
        self.seen: set[str] = set()
        self.data_params: set[str] = set()
        self.shape_params: set[str] = set()
        self.qdq = QdqPlan(self.order, self.inits)
        self.module_types: dict[str, str] = {}

    # -- tensors --------------------------------------------------------------------------------
    def tensor(self, name: str, node=None) -> TensorMeta:
        if name in self.meta:
            return self.meta[name]
        dims, elem = self.types.get(name, (None, 0))
        where = f" (output of node '{node.name or node.op_type}', op {node.op_type})" if node is not None else ""
        if dims is None:
            raise InputError(f"{self.model.name}: ONNX shape inference gives no shape for '{name}'{where}; "
                             "an op unknown to ONNX (a custom domain) or a graph without value_info there")
        if any(not isinstance(d, int) for d in dims):
            raise InputError(f"{self.model.name}: '{name}'{where} has a data-dependent or unknown size "
                             f"{'x'.join(str(d) for d in dims)} at the input given; costlab needs static shapes")
        meta = TensorMeta(tuple(int(d) for d in dims), dtype_name(self.onnx, elem))
        self.meta[name] = meta
        return meta

    def value(self, name: str):
        """A small constant's value (numpy), or None."""
        if name in self.values:
            return self.values[name]
        t = self.inits.get(name)
        if t is not None and _numel(t.dims) <= _SMALL and not self.onnx.external_data_helper.uses_external_data(t):
            v = self.values[name] = self.onnx.numpy_helper.to_array(t)
            return v
        return None

    # -- the walk -------------------------------------------------------------------------------
    def build(self) -> Graph:
        for i, (info, s) in enumerate(zip(self.model.inputs, self.shapes)):
            self.src[info.name] = Source("input", i)
            self.meta[info.name] = TensorMeta(s, info.dtype)
        for name, t in self.inits.items():
            # a rank-0 initializer is a scalar argument (the dynamo exporter stores alpha, k and beta
            # of x * alpha + k this way; torch passes them as Python numbers), not a parameter
            self.const[name] = (name,) if len(t.dims) else ()
        for n in self.order:
            self.visit(n)
        self._check_sizes()
        outputs = [self.src[o.name] for o in self.proto.graph.output if o.name in self.src]
        shape_only = self.shape_params - self.data_params
        total = sum(_numel(t.dims) for name, t in self.inits.items() if name not in shape_only and len(t.dims))
        used = sum(n.new_params for n in self.nodes)
        return Graph(nodes=self.nodes, inputs=[self.meta[i.name] for i in self.model.inputs], outputs=outputs,
                     params_total=total, buffers_total=0, params_unused=total - used, mode="onnx",
                     module_types={"": "model", **self.module_types})

    def _check_sizes(self) -> None:
        """Refuse a tensor whose bytes a 64-bit size cannot hold (torch's trace refuses it too)."""
        for name, m in self.meta.items():
            if m.numel > 2 ** 63 // 16:
                raise InputError(f"{self.model.name}: tensor '{name}' ({'x'.join(map(str, m.shape))}) has {m.numel:,} "
                                 "elements, more than 64-bit sizes hold; check --input-shape / --resolution")

    def visit(self, n) -> None:
        outs = [o for o in n.output if o]
        if n.op_type in CONTROL_FLOW and n.domain in ("", "ai.onnx"):
            raise InputError(f"{self.model.name}: node '{n.name or n.op_type}' is a {n.op_type} whose "
                             f"{'branch' if n.op_type == 'If' else 'trip count'} depends on data; costlab counts "
                             "graphs without control flow (export with the loop unrolled or the branch fixed)")
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
            self._constant(n, outs)
            return
        present = [x for x in n.input if x]
        for x in present:
            if x not in self.const and x not in self.src:
                raise InputError(f"{self.model.name}: node '{n.name or n.op_type}' reads '{x}', which no node, "
                                 "input or initializer defines (is the graph in topological order?)")
        if (n.op_type in METADATA and n.domain in ("", "ai.onnx")) or all(x in self.const for x in present):
            carried = () if n.op_type in METADATA else self._carried(n)
            for o in outs:
                self.const[o] = carried
            if n.op_type == "Identity" and present and present[0] in self.values:
                self.values[outs[0]] = self.values[present[0]]
            return
        if self.qdq.is_free(n):
            self._alias(n, outs)
            return
        self._node(n, outs)

    def _carried(self, n) -> tuple[str, ...]:
        """The initializers a constant node's result is made of (its data inputs'); those it reads
        as shapes / axes / quantisation parameters are marked as such."""
        non_data = NON_DATA_INPUTS.get(n.op_type, frozenset())
        out: dict[str, None] = {}
        for k, x in enumerate(n.input):
            if not x:
                continue
            if k in non_data:
                self.shape_params.update(self.const[x])
            else:
                out.update(dict.fromkeys(self.const[x]))
        return tuple(out)

    def _constant(self, n, outs) -> None:
        for a in n.attribute:
            if a.name == "value":
                arr = self.onnx.numpy_helper.to_array(a.t)
                self.meta[outs[0]] = TensorMeta(tuple(int(d) for d in arr.shape), arr.dtype.name)
                if arr.size <= _SMALL:
                    self.values[outs[0]] = arr
            elif a.name in ("value_float", "value_int"):
                self.values[outs[0]] = self.onnx.helper.get_attribute_value(a)
        self.const[outs[0]] = ()

    def _alias(self, n, outs) -> None:
        """A QuantizeLinear / DequantizeLinear folded into its neighbour: its result is its input
        (typed as the int8 tensor the runtime keeps)."""
        src = n.input[0]
        for o in outs:
            self.src[o] = self.src[src]
            self.meta[o] = self.qdq.typed(self.tensor(src), self.tensor(o, n))

    def _inputs(self, n) -> tuple[list[TensorMeta], list[Source], int]:
        non_data = NON_DATA_INPUTS.get(n.op_type, frozenset())
        metas, sources, new = [], [], 0
        for k, x in enumerate(n.input):
            if not x:
                continue
            if x in self.const:
                params = self.const[x]
                if k in non_data:
                    self.shape_params.update(params)
                    continue
                meta = self.qdq.weight_meta(x, self.tensor(x))
                if not params and meta.numel <= 1:
                    continue                     # a scalar argument (a Python number to torch)
                for p in params:
                    self.data_params.add(p)
                    if p not in self.seen:
                        self.seen.add(p)
                        new += _numel(self.inits[p].dims)
                source = Source("param", params[0]) if params else Source("const", None)
            elif k in non_data:
                continue
            else:
                meta, source = self.tensor(x), self.src[x]
            metas.append(meta)
            sources.append(source)
        return metas, sources, new

    def _node(self, n, outs) -> None:
        inputs, sources, new = self._inputs(n)
        outputs = [self.qdq.output_meta(n, o, self.tensor(o, n)) for o in outs]
        op = self.op_name(n)
        spec = ops.spec_of(op)
        module = module_of(n)
        for path, cls in module_types(n).items():
            self.module_types.setdefault(path, cls)
        if module:
            self.module_types.setdefault(module, SCOPE)
        node = Node(id=len(self.nodes), op=op, kind=ops.kind_of(op), module=module,
                    module_type=self.module_types.get(module, SCOPE),
                    inputs=inputs, sources=sources, outputs=outputs, args=self.args(n),
                    is_view=spec is not None and spec.formula is None, new_params=new)
        self.nodes.append(node)
        for i, o in enumerate(outs):
            self.src[o] = Source("node", node.id, i)
            self.meta[o] = outputs[i]

    # -- names and arguments --------------------------------------------------------------------
    def op_name(self, n) -> str:
        if n.domain not in ("", "ai.onnx"):
            return f"{PREFIX}{n.domain.replace('.', '_')}:{n.op_type}"
        t = n.op_type
        if t in ("Resize", "Upsample"):
            mode = next((_text(self.onnx.helper.get_attribute_value(a)) for a in n.attribute if a.name == "mode"),
                        "nearest")
            return f"{PREFIX}{t}.{'nearest' if mode == 'nearest' else 'linear' if 'linear' in mode else 'cubic'}"
        if t == "Gather" and len(n.input) > 1 and n.input[1] in self.const and not self.const[n.input[1]] \
                and self.tensor(n.input[1]).shape == ():
            return f"{PREFIX}Gather.select"     # x[:, 0]: torch's select, a view
        if t == "Transpose" and self._transpose_is_view(n):
            return f"{PREFIX}Transpose.view"
        return PREFIX + t

    def _transpose_is_view(self, n) -> bool:
        readers = self.qdq.consumers.get(n.output[0], [])
        shapes = [self.tensor(r.output[0], r).shape for r in readers if r.op_type in RESHAPES and r.output]
        perm = next((list(a.ints) for a in n.attribute if a.name == "perm"), None)
        return transpose_is_view(list(self.tensor(n.input[0]).shape), perm, shapes)

    def _scalar(self, n, k: int):
        if len(n.input) > k and n.input[k]:
            v = self.value(n.input[k])
            if v is not None and getattr(v, "size", 1) == 1:
                return float(v.reshape(-1)[0]) if hasattr(v, "reshape") else float(v)
        return None

    def args(self, n) -> dict:
        a = {x.name: _text(self.onnx.helper.get_attribute_value(x)) for x in n.attribute
             if x.type not in (5, 10, 11, 12, 13)}       # no tensors / graphs
        a["onnx_node"] = n.name                           # the file's node name (crosscheck joins on it)
        t = n.op_type
        if t in ("Conv", "ConvTranspose", "QLinearConv", "ConvInteger"):
            a.update(groups=int(a.get("group", 1)), stride=list(a.get("strides", [1])),
                     transposed=t == "ConvTranspose", padding=list(a.get("pads", [0])),
                     dilation=list(a.get("dilations", [1])))
        elif t in ("MaxPool", "AveragePool"):
            a.update(kernel_size=list(a.get("kernel_shape", [1])), stride=list(a.get("strides", [1])))
        elif t in ("Softmax", "LogSoftmax", "TopK", "ArgMax", "ArgMin"):
            a["dim"] = int(a.get("axis", -1))
            if t == "TopK":
                a["k"] = int(self._scalar(n, 1) or a.get("k", 1))
        elif t == "Clip":
            lo, hi = self._scalar(n, 1), self._scalar(n, 2)
            a.update(min_val=lo if lo is not None else a.get("min"), max_val=hi if hi is not None else a.get("max"))
        elif t == "CumSum":
            axis = self._scalar(n, 1)
            a["dim"] = int(axis) if axis is not None else 0
        return a
