"""TFLite builtin operators in costlab's one op registry (:mod:`costlab.ops`).

As for ONNX (:mod:`costlab.frontends.onnx_ops`), a TFLite op whose cost formula is an existing
kind's is a new *name* of that kind (``tflite.CONV_2D`` and ``tflite.DEPTHWISE_CONV_2D`` are
``conv`` with ``aten.convolution``'s formula, ``tflite.RELU6`` a ``hardtanh`` printed ``relu6``),
an op with a formula of its own a new kind. Names are ``tflite.<BUILTIN_NAME>``; a custom op is
``tflite.custom:<code>``, unsupported like every name without a formula.

The frontend gives each node torch's layouts (:mod:`costlab.frontends.tflite_build`), so the
aten formulas apply unchanged. A **fused activation** (``fused_activation_function`` of a
conv, fully-connected, add, mul, pool or concat) is one element op per output element of the op
that carries it, with no tensor of its own (it is applied to the result in registers).

:data:`NON_DATA_INPUTS`: the input positions that are shapes, axes, paddings, permutations or
bounds (constant int tensors in TFLite, arguments to torch), never tensors read nor parameters
(from the TFLite builtin ops' kernels, tensorflow/lite/kernels/*.cc).
"""
from __future__ import annotations

from .. import ops
from ..ir import Node

PREFIX = "tflite."

_SAME_AS = [
    (["RELU"], "aten.relu"), (["RELU6", "RELU_N1_TO_1", "RELU_0_TO_1"], "aten.hardtanh"),
    (["LOGISTIC"], "aten.sigmoid"), (["TANH"], "aten.tanh"), (["HARD_SWISH"], "aten.hardswish"),
    (["LEAKY_RELU"], "aten.leaky_relu"), (["PRELU"], "aten.prelu"), (["ELU"], "aten.elu"), (["GELU"], "aten.gelu"),
    (["SUB", "SQUARED_DIFFERENCE"], "aten.sub"), (["DIV", "FLOOR_DIV"], "aten.div"),
    (["MAXIMUM"], "aten.maximum"), (["MINIMUM"], "aten.minimum"),
    (["EXP"], "aten.exp"), (["SQRT"], "aten.sqrt"), (["RSQRT"], "aten.rsqrt"), (["NEG"], "aten.neg"),
    (["ABS"], "aten.abs"), (["POW"], "aten.pow"), (["LOG"], "aten.log"), (["SQUARE"], "aten.square"),
    (["SIN"], "aten.sin"), (["COS"], "aten.cos"), (["FLOOR"], "aten.floor"), (["CEIL"], "aten.ceil"),
    (["ROUND"], "aten.round"), (["SIGN"], "aten.sign"), (["SELECT", "SELECT_V2"], "aten.where"),
    (["EQUAL"], "aten.eq"), (["NOT_EQUAL"], "aten.ne"), (["GREATER"], "aten.gt"), (["LESS"], "aten.lt"),
    (["GREATER_EQUAL"], "aten.ge"), (["LESS_EQUAL"], "aten.le"), (["LOGICAL_NOT"], "aten.logical_not"),
    (["LOGICAL_AND"], "aten.logical_and"), (["LOGICAL_OR"], "aten.logical_or"), (["CAST"], "aten._to_copy"),
    (["SOFTMAX", "LOG_SOFTMAX"], "aten._softmax"),
    (["MEAN"], "aten.mean"), (["SUM"], "aten.sum"), (["REDUCE_MAX"], "aten.amax"), (["REDUCE_MIN"], "aten.amin"),
    (["REDUCE_PROD"], "aten.prod"), (["ARG_MAX"], "aten.argmax"), (["ARG_MIN"], "aten.argmin"),
    (["CUMSUM"], "aten.cumsum"), (["TOPK_V2"], "aten.topk"),
    (["TRANSPOSE"], "aten.clone"), (["TRANSPOSE.view"], "aten.permute"),
    (["PAD", "PADV2", "MIRROR_PAD"], "aten.constant_pad_nd"),
    (["RESIZE_NEAREST_NEIGHBOR"], "aten.upsample_nearest2d"), (["RESIZE_BILINEAR"], "aten.upsample_bilinear2d"),
    (["DEPTH_TO_SPACE", "SPACE_TO_DEPTH"], "aten.pixel_shuffle"),
    (["TILE", "BROADCAST_TO"], "aten.repeat"),
    (["GATHER", "GATHER_ND", "EMBEDDING_LOOKUP"], "aten.index_select"),
    (["SCATTER_ND"], "aten.scatter"),
    (["PACK"], "aten.stack"),
    (["L2_NORMALIZATION"], "aten.linalg_vector_norm"),
    # a StableHLO reduce-window whose body is one add / max / min: a window sum is avg_pool's
    # formula (one op per window element per output; the divide by the window is a MUL of its
    # own in the file), a window max or min max_pool's; the frontend names the overload by body
    (["STABLEHLO_REDUCE_WINDOW.add"], "aten.avg_pool3d"),
    (["STABLEHLO_REDUCE_WINDOW.max", "STABLEHLO_REDUCE_WINDOW.min"], "aten.max_pool3d_with_indices"),
    # free: views, as their aten counterparts (a runtime copies a slice; torch views it, and
    # costlab counts a file as its PyTorch model, as for ONNX)
    (["RESHAPE", "SQUEEZE", "EXPAND_DIMS"], "aten.view"),
    (["SPLIT", "SPLIT_V", "UNPACK"], "aten.split"), (["SLICE", "STRIDED_SLICE", "GATHER.select"], "aten.slice"),
]

# ops that carry fused_activation_function in their options (a formula plus the activation)
_FUSED = [
    (["CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV"], "aten.convolution"),
    (["FULLY_CONNECTED"], "aten.linear"),
    (["ADD"], "aten.add"), (["MUL"], "aten.mul"),
    (["AVERAGE_POOL_2D"], "aten.avg_pool2d"), (["MAX_POOL_2D"], "aten.max_pool2d"),
    (["CONCATENATION"], "aten.cat"),
]

ACTIVATIONS = {1: "relu", 2: "relu_n1_to_1", 3: "relu6", 4: "tanh", 5: "sign_bit", 6: "sigmoid"}  # ActivationFunctionType


def _with_activation(formula):
    def f(n: Node) -> tuple[int, int]:
        macs, elem = formula(n)
        act = n.outputs[0].numel if n.args.get("fused_activation") and n.outputs else 0
        return macs, elem + act
    f.__doc__ = "the op's formula, plus one element op per output for a fused activation"
    return f


def _batch_matmul(n: Node) -> tuple[int, int]:
    """out = A' B' per batch (A' = A^T with adj_x): one MAC per output element per contracted K."""
    a = n.inputs[0]
    k = a.shape[-2] if n.args.get("adj_x") else a.shape[-1]
    return n.outputs[0].numel * int(k), 0


def register_all() -> None:
    """Register every TFLite op name (once; importing this module does it)."""
    if ops.spec_of(PREFIX + "CONV_2D") is not None:
        return
    for names, aten in _SAME_AS:
        ops.register_alias([PREFIX + x for x in names], aten)
    for names, aten in _FUSED:
        ops.register_alias([PREFIX + x for x in names], aten, _with_activation(ops.spec_of(aten).formula))
    ops.register(PREFIX + "BATCH_MATMUL", "matmul", _batch_matmul, category="mac")
    # QUANTIZE / DEQUANTIZE of an activation: a kernel of its own in TFLite (one element op per output)
    ops.register([PREFIX + "QUANTIZE", PREFIX + "DEQUANTIZE"], "quantize", lambda n: (0, n.outputs[0].numel),
                 category="pointwise")


register_all()

NON_DATA_INPUTS: dict[str, frozenset[int]] = {k: frozenset(v) for k, v in {
    "RESHAPE": {1}, "TRANSPOSE": {1}, "PAD": {1}, "PADV2": {1, 2}, "MIRROR_PAD": {1},
    "MEAN": {1}, "SUM": {1}, "REDUCE_MAX": {1}, "REDUCE_MIN": {1}, "REDUCE_PROD": {1}, "REDUCE_ANY": {1},
    "ARG_MAX": {1}, "ARG_MIN": {1}, "CUMSUM": {1}, "TOPK_V2": {1},
    "STRIDED_SLICE": {1, 2, 3}, "SLICE": {1, 2}, "SPLIT": {0}, "SPLIT_V": {1, 2},
    "GATHER": {1}, "GATHER_ND": {1}, "EXPAND_DIMS": {1}, "TILE": {1}, "BROADCAST_TO": {1},
    "RESIZE_BILINEAR": {1}, "RESIZE_NEAREST_NEIGHBOR": {1}, "TRANSPOSE_CONV": {0},
    "STABLEHLO_REDUCE_WINDOW": {1},       # the init value (a scalar: 0 for a sum, -inf for a max)
    "SPACE_TO_BATCH_ND": {1, 2}, "BATCH_TO_SPACE_ND": {1, 2}, "SCATTER_ND": {0, 2}, "FILL": {0}, "RANGE": {0, 1, 2},
}.items()}

# a reduce-window body's single op -> the overload name's suffix (another body: unsupported)
REDUCE_WINDOW_BODIES = {"ADD": "add", "STABLEHLO_ADD": "add", "MAXIMUM": "max", "STABLEHLO_MAXIMUM": "max",
                        "MINIMUM": "min", "STABLEHLO_MINIMUM": "min"}

# ops whose 4-d tensors are NHWC images, and the element-wise ops that keep their operands' layout
SPATIAL = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "AVERAGE_POOL_2D", "MAX_POOL_2D",
                     "L2_POOL_2D", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH"})
LAYOUT_KEEPING = frozenset({
    "ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "RELU", "RELU6", "RELU_N1_TO_1",
    "RELU_0_TO_1", "LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "PRELU", "ELU", "GELU", "QUANTIZE", "DEQUANTIZE",
    "ABS", "NEG", "EXP", "SQRT", "RSQRT", "SQUARE", "POW", "CAST", "PAD", "PADV2", "MIRROR_PAD", "CONCATENATION",
    "SELECT", "SELECT_V2"})
# ops whose result is a view of their first input's data (views follow their input's layout)
RESHAPES = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS"})
# ops with a subgraph body: costlab counts graphs without control flow
CONTROL_FLOW = frozenset({"WHILE", "IF", "CALL", "CALL_ONCE", "STABLEHLO_WHILE", "STABLEHLO_CASE"})
