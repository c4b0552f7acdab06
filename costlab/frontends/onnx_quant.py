"""Quantized ONNX: QDQ graphs counted as the int8 kernels a runtime runs.

A QDQ graph (the form ONNX Runtime's quantizer and most exporters write) keeps float ops and
marks their int8 tensors with ``QuantizeLinear`` / ``DequantizeLinear`` pairs; a runtime fuses
``DQ -> op -> Q`` into one int8 kernel (ONNX Runtime's QDQ transformer: a ``Conv`` between DQs
and a Q becomes a ``QLinearConv``). costlab counts it that way:

* a ``QuantizeLinear`` / ``DequantizeLinear`` on an activation is no op of its own: its result
  is its input, typed as the int8 tensor the runtime keeps (an op after a DQ reads int8, an op
  before a Q writes int8);
* a ``DequantizeLinear`` of an initializer is a constant: the op reading it reads the int8
  (or int32 bias) initializer, whose elements are the parameters;
* scales and zero points are quantisation parameters, not tensors read and not parameters.

The explicit integer ops (``QLinearConv``, ``QLinearMatMul``, ``ConvInteger``,
``MatMulInteger``) read their int8 tensors directly. MAC bytes use each tensor's own element
size for integer tensors (:func:`costlab.ops.tensor_bytes`), so int8 layers cost 1 byte per
element whatever ``--dtype`` says for float tensors.
"""
from __future__ import annotations

from .. import ops
from ..ir import TensorMeta

INT8 = ("int8", "uint8")
_Q, _DQ = "QuantizeLinear", "DequantizeLinear"


class QdqPlan:
    def __init__(self, nodes, inits: dict):
        self.consumers: dict[str, list] = {}
        self.producer = {o: n for n in nodes for o in n.output if o}
        for n in nodes:
            for x in n.input:
                if x:
                    self.consumers.setdefault(x, []).append(n)
        self.quantized_consts: dict[str, str] = {}   # DQ output of an initializer -> the stored dtype
        for n in nodes:
            if n.op_type == _DQ and n.input and n.input[0] in inits:
                self.quantized_consts[n.output[0]] = _elem(inits[n.input[0]].data_type)
        self.zero_point_types = {name: _elem(t.data_type) for name, t in inits.items() if t.data_type in (2, 3)}

    def runs_int8(self, n) -> bool:
        """An op the runtime fuses with its Qs: every reader of every output is a QuantizeLinear."""
        if n.op_type in (_Q, _DQ):
            return False
        outs = [o for o in n.output if o]
        return bool(outs) and all(self.consumers.get(o) and all(r.op_type == _Q for r in self.consumers[o])
                                  for o in outs)

    def is_free(self, n) -> bool:
        """A Q after an op that runs in int8, or a DQ before ops that all run in int8: folded into
        them (a Q of a graph input or a DQ before a float op is a kernel of its own)."""
        if n.domain not in ("", "ai.onnx", "com.microsoft") or n.op_type not in (_Q, _DQ):
            return False
        if n.op_type == _Q:
            p = self.producer.get(n.input[0])
            return p is not None and self.runs_int8(p)
        readers = self.consumers.get(n.output[0], [])
        return bool(readers) and all(self.runs_int8(r) for r in readers)

    @staticmethod
    def typed(src: TensorMeta, out: TensorMeta) -> TensorMeta:
        """The result of a folded Q/DQ: the output's shape in the integer dtype of whichever
        side is integer (a DQ passes the int8 tensor on, a Q is the int8 tensor)."""
        dt = out.dtype if out.dtype in INT8 else src.dtype
        return TensorMeta(out.shape, dt)

    def output_meta(self, n, name: str, meta: TensorMeta) -> TensorMeta:
        """An op that runs in int8 writes the int8 tensor (its Q folded into it)."""
        if self.runs_int8(n):
            return TensorMeta(meta.shape, _q_dtype(self.consumers[name][0], self))
        return meta

    def weight_meta(self, name: str, meta: TensorMeta) -> TensorMeta:
        dt = self.quantized_consts.get(name)
        return TensorMeta(meta.shape, dt) if dt else meta


def _elem(data_type: int) -> str:
    return {2: "uint8", 3: "int8", 6: "int32", 4: "uint16", 5: "int16"}.get(int(data_type), "float32")


def _q_dtype(q, plan: QdqPlan) -> str:
    """QuantizeLinear's output type: its zero point's (uint8 when absent, per the spec)."""
    zp = q.input[2] if len(q.input) > 2 and q.input[2] else None
    for a in q.attribute:
        if a.name == "output_dtype" and a.i:
            return _elem(a.i)
    if zp is not None and zp in plan.zero_point_types:
        return plan.zero_point_types[zp]
    return "uint8"


def is_int8(node) -> bool:
    """A MAC op computing on int8 operands."""
    return bool(node.inputs) and node.inputs[0].dtype in INT8


def int8_layers(graph) -> list[str]:
    """Module paths (or op names) of the MAC layers that run in int8."""
    out = []
    for n in graph.nodes:
        if ops.category_of(n.op) == "mac" and is_int8(n):
            out.append(n.module or n.op)
    return out
