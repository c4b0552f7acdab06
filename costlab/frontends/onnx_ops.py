"""ONNX operators in costlab's one op registry (:mod:`costlab.ops`).

An ONNX op whose cost formula is an existing kind's is registered as a new *name* of that kind
(``onnx.Conv`` is a ``conv`` with ``aten.convolution``'s formula, ``onnx.Relu`` a ``relu``);
an op with a formula of its own is a new kind (``onnx.Gemm``: transA / transB; ``onnx.LRN``;
the integer and QLinear ops). Names are ``onnx.<OpType>``; where one ONNX op has two costs
by its attributes, the frontend names an overload (``onnx.Resize.nearest`` vs
``onnx.Resize.linear``, ``onnx.Gather.select`` for a scalar index = a free select), which
:func:`costlab.ops.spec_of` finds before the packet name.

What each op reads as *data* (its other inputs are shapes, axes, pads, bounds or quantisation
parameters: attributes in all but name, passed to formulas as ``args``, never tensors read and
never parameters) is :data:`NON_DATA_INPUTS`, from the input lists of the ONNX operator spec
(onnx/docs/Operators.md, opsets 11-24).
"""
from __future__ import annotations

from .. import ops
from ..ir import Node

PREFIX = "onnx."

# (ONNX op types, the aten op whose kind, formula and category they share)
_SAME_AS = [
    (["Conv", "ConvTranspose"], "aten.convolution"),
    (["MatMul"], "aten.matmul"),
    (["Einsum"], "aten.einsum"),
    (["BatchNormalization", "InstanceNormalization"], "aten.native_batch_norm"),
    (["LayerNormalization"], "aten.native_layer_norm"),
    (["GroupNormalization"], "aten.native_group_norm"),
    (["RMSNormalization"], "aten.rms_norm"),
    (["Relu"], "aten.relu"), (["Sigmoid"], "aten.sigmoid"), (["Tanh"], "aten.tanh"),
    (["LeakyRelu"], "aten.leaky_relu"), (["Elu"], "aten.elu"), (["Selu"], "aten.selu"), (["Celu"], "aten.celu"),
    (["HardSigmoid"], "aten.hardsigmoid"), (["HardSwish"], "aten.hardswish"), (["Softplus"], "aten.softplus"),
    (["Gelu"], "aten.gelu"), (["Mish"], "aten.mish"), (["PRelu"], "aten.prelu"), (["Clip"], "aten.hardtanh"),
    (["ThresholdedRelu"], "aten.threshold"), (["Swish"], "aten.silu"), (["Shrink"], "aten.hardshrink"),
    (["Add"], "aten.add"), (["Sub"], "aten.sub"), (["Mul"], "aten.mul"), (["Div"], "aten.div"),
    (["Max"], "aten.maximum"), (["Min"], "aten.minimum"),
    (["Exp"], "aten.exp"), (["Sqrt"], "aten.sqrt"), (["Neg"], "aten.neg"), (["Abs"], "aten.abs"),
    (["Pow"], "aten.pow"), (["Reciprocal"], "aten.reciprocal"), (["Erf"], "aten.erf"), (["Log"], "aten.log"),
    (["Where"], "aten.where"), (["Equal"], "aten.eq"), (["Greater"], "aten.gt"), (["Less"], "aten.lt"),
    (["GreaterOrEqual"], "aten.ge"), (["LessOrEqual"], "aten.le"), (["Not"], "aten.logical_not"),
    (["And"], "aten.logical_and"), (["Or"], "aten.logical_or"), (["Xor"], "aten.logical_xor"),
    (["Sin"], "aten.sin"), (["Cos"], "aten.cos"), (["Tan"], "aten.tan"), (["Atan"], "aten.atan"),
    (["Floor"], "aten.floor"), (["Ceil"], "aten.ceil"), (["Round"], "aten.round"), (["Sign"], "aten.sign"),
    (["IsNaN"], "aten.isnan"), (["IsInf"], "aten.isinf"), (["Mod"], "aten.remainder"),
    (["BitwiseAnd"], "aten.bitwise_and"), (["BitwiseOr"], "aten.bitwise_or"), (["BitwiseNot"], "aten.bitwise_not"),
    (["Softmax", "LogSoftmax"], "aten._softmax"),
    (["MaxPool"], "aten.max_pool2d"), (["AveragePool"], "aten.avg_pool2d"),
    (["GlobalAveragePool"], "aten._adaptive_avg_pool2d"), (["GlobalMaxPool"], "aten.adaptive_max_pool2d"),
    (["ReduceMean"], "aten.mean"), (["ReduceSum"], "aten.sum"), (["ReduceMax"], "aten.amax"),
    (["ReduceMin"], "aten.amin"), (["ReduceProd"], "aten.prod"), (["ArgMax"], "aten.argmax"),
    (["ArgMin"], "aten.argmin"), (["CumSum"], "aten.cumsum"), (["ReduceL2"], "aten.linalg_vector_norm"),
    (["ReduceLogSumExp"], "aten.logsumexp"), (["TopK"], "aten.topk"),
    (["Concat"], "aten.cat"),
    # a Transpose is torch's permute: a view, unless a reshape after it cannot view the permuted
    # strides and must copy (a channel shuffle's transpose().contiguous()); the frontend decides
    # (costlab.frontends.onnx_views) and names the free one Transpose.view
    (["Transpose", "Cast"], "aten.clone"),
    (["Transpose.view"], "aten.permute"),
    (["Tile", "Expand"], "aten.repeat"),
    (["DepthToSpace", "SpaceToDepth"], "aten.pixel_shuffle"),
    (["Pad"], "aten.constant_pad_nd"),
    (["Resize.nearest", "Upsample.nearest"], "aten.upsample_nearest2d"),
    (["Resize.linear", "Resize.cubic", "Upsample.linear"], "aten.upsample_bilinear2d"),
    (["Gather", "GatherND"], "aten.index_select"), (["GatherElements"], "aten.gather"),
    (["ScatterND", "ScatterElements"], "aten.scatter"),
    (["Trilu"], "aten.tril"),
    # free: views and metadata, as their aten counterparts
    (["Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"], "aten.view"),
    (["Split"], "aten.split"), (["Slice", "Gather.select"], "aten.slice"),
]


def _gemm(n: Node) -> tuple[int, int]:
    """Y = alpha A' B' + beta C (A' = A^T with transA, B' = B^T with transB): M K N MACs; the
    bias C is one add per output element, as torch's ``addmm``."""
    a, b = n.inputs[0], n.inputs[1]
    m, k = (a.shape[1], a.shape[0]) if n.args.get("transA") else (a.shape[0], a.shape[1])
    cols = b.shape[0] if n.args.get("transB") else b.shape[1]
    return m * k * cols, n.outputs[0].numel if len(n.inputs) >= 3 else 0


def _lrn(n: Node) -> tuple[int, int]:
    """Local response normalisation, as torch's ``LocalResponseNorm`` computes it: square (1), sum
    over ``size`` channels (size), scale by alpha (1), add k (1), power beta (1), divide (1)."""
    return 0, (int(n.args.get("size", 1)) + 5) * n.outputs[0].numel


def _weight_conv(n: Node) -> tuple[int, int]:
    return ops.spec_of("aten.convolution").formula(n)


def _rnn(n: Node) -> tuple[int, int]:
    """ONNX RNN / GRU / LSTM: X (T, B, I) or (B, T, I), W (dirs, G*H, I), R (dirs, G*H, H): aten's
    formula for one direction of one layer (``mkldnn_rnn_layer``), once per direction."""
    from dataclasses import replace

    from ..ir import TensorMeta

    x, w, r = n.inputs[:3]
    dirs = int(w.shape[0]) if len(w.shape) == 3 else 1
    hidden = int(n.args.get("hidden_size") or r.shape[-1])
    one = replace(n, inputs=[x, TensorMeta(tuple(w.shape[-2:]), w.dtype), TensorMeta(tuple(r.shape[-2:]), r.dtype)],
                  args={**n.args, "hidden_size": hidden})
    macs, elem = ops.spec_of("aten.mkldnn_rnn_layer").formula(one)
    return dirs * macs, dirs * elem


def register_all() -> None:
    """Register every ONNX op name (once; importing this module does it)."""
    if ops.spec_of(PREFIX + "Conv") is not None:
        return
    for names, aten in _SAME_AS:
        ops.register_alias([PREFIX + x for x in names], aten)
    ops.register(PREFIX + "Gemm", "linear", _gemm, category="mac")
    ops.register(PREFIX + "LRN", "lrn", _lrn, category="norm")
    ops.register([PREFIX + "LSTM", PREFIX + "GRU", PREFIX + "RNN"], "rnn", _rnn, category="mac")
    # integer / QLinear ops: the same MACs on int8 operands (their bytes come from the int8 tensors)
    ops.register([PREFIX + "QLinearConv", PREFIX + "ConvInteger"], "conv", _weight_conv, category="mac")
    ops.register([PREFIX + "QLinearMatMul", PREFIX + "MatMulInteger"], "matmul",
                 ops.spec_of("aten.matmul").formula, category="mac")
    ops.register([PREFIX + "QuantizeLinear", PREFIX + "DequantizeLinear"], "quantize",
                 lambda n: (0, n.outputs[0].numel), category="pointwise")
    # ONNX Runtime's quantize_dynamic puts one before every int8 op: the input's min and max (2 per
    # element), then QuantizeLinear with the scale and zero point they give (1 per element)
    ops.register(PREFIX + "DynamicQuantizeLinear", "quantize", lambda n: (0, 3 * n.outputs[0].numel),
                 category="pointwise")


register_all()

# input positions that are not data (shapes, axes, pads, bounds, scales, quantisation parameters)
NON_DATA_INPUTS: dict[str, frozenset[int]] = {k: frozenset(v) for k, v in {
    "Reshape": {1}, "Slice": {1, 2, 3, 4}, "Resize": {1, 2, 3}, "Upsample": {1}, "Pad": {1, 2, 3},
    "Split": {1}, "Squeeze": {1}, "Unsqueeze": {1}, "Tile": {1}, "Expand": {1}, "Clip": {1, 2},
    "TopK": {1}, "ConstantOfShape": {0}, "Range": {0, 1, 2}, "OneHot": {1, 2}, "CumSum": {1},
    "Dropout": {1, 2}, "Trilu": {1}, "LSTM": {4}, "GRU": {4}, "RNN": {4},     # sequence_lens
    "ReduceMean": {1}, "ReduceSum": {1}, "ReduceMax": {1}, "ReduceMin": {1}, "ReduceProd": {1},
    "ReduceL2": {1}, "ReduceLogSumExp": {1},
    "QuantizeLinear": {1, 2}, "DequantizeLinear": {1, 2},
    "QLinearConv": {1, 2, 4, 5, 6, 7}, "QLinearMatMul": {1, 2, 4, 5, 6, 7},
    "ConvInteger": {2, 3}, "MatMulInteger": {2, 3},
}.items()}

# ops with a control-flow body: their cost depends on a trip count or branch not in the graph
CONTROL_FLOW = frozenset({"Loop", "If", "Scan", "SequenceMap"})
# metadata ops: their result is known from shapes alone (a constant, as torch's sym_size)
METADATA = frozenset({"Shape", "Size"})
