"""Op registry: what each aten op costs, as pure formulas over a node's shapes.

Every aten op the tracer can see is one of three things:

* **counted**: a registered formula gives its multiply-accumulates (``macs``) and its
  element operations (``elem_ops``); memory access cost is derived from its tensors;
* **free**: a view or metadata op that moves no data (``view``, ``transpose``,
  ``split``, eval-mode ``dropout`` ...): zero everything, by declaration;
* **unsupported**: no formula. It is never silently zero: the report lists it in its
  ``unsupported`` ledger with its count.

Counting semantics (also written into every report's ``conventions``):

* ``macs``: multiply-accumulates of conv / conv-transpose / linear / matmul / bmm only,
  i.e. the papers' "FLOPs" = "Mult-Adds". ``flops = 2 * macs``.
* ``elem_ops``: element operations of everything else, per output element unless
  stated: bias add 1, batch norm 2 (scale and shift once folded), layer/group norm 4,
  activation 1, add/sub/mul/div 1, max/avg pool one per window element, adaptive pool
  and mean one per input element, softmax 3 (exp, sum, divide), bilinear upsample 4,
  nearest upsample, cat, copies and padding 0 (pure data movement, seen in MAC).
* ``mac_bytes``: memory access cost as in ShuffleNet V2 Sec. 2: elements read (each
  distinct tensor input, weights included) + elements written (the op's result), times
  the element size of the chosen dtype for floating tensors (the tensor's own size for
  integer tensors). Views cost nothing. Pooling indices are not counted.
* ``activations``: elements of the op's result (0 for views).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .ir import Node, TensorMeta

Formula = Callable[[Node], tuple[int, int]]  # node -> (macs, elem_ops)


# What kind of work an op does. Downstream passes read the category, never op names:
# latency classes (costlab.latency.features.CLASS_OF_CATEGORY) and guideline groups
# (costlab.guidelines.check) map every category below; a test walks the registry.
CATEGORIES = {
    "mac": "multiply-accumulate ops: conv, conv-transpose, linear, matmul, bmm",
    "norm": "batch / layer / group / RMS normalisation",
    "activation": "element-wise non-linearities (ReLU, ReLU6, sigmoid, GELU ...)",
    "binary": "element-wise arithmetic of two tensors (add, sub, mul, div, max, min)",
    "pointwise": "other element-wise math: exp, sqrt, comparisons, where, addcmul, training dropout",
    "pool_max": "max pooling over windows",
    "pool_avg": "average pooling over windows",
    "global_pool": "adaptive pooling and global mean (a reduction of the spatial positions)",
    "reduce": "other reductions: sum, amax, var ...",
    "softmax": "softmax / log-softmax",
    "move": "data movement that G4 counts: concat, stack, contiguous copies (channel shuffle)",
    "layout": "other data movement: padding, fill, nearest upsampling",
    "resample": "interpolating upsampling (bilinear, bicubic)",
    "view": "free: views, splits, slices, eval-mode dropout (move no data)",
}


@dataclass(frozen=True)
class OpSpec:
    kind: str
    formula: Formula | None  # None = free (view / metadata)
    category: str = "view"


_SPECS: dict[str, OpSpec] = {}


def register(names: str | list[str], kind: str, formula: Formula | None = None, *, category: str):
    """Register ``formula`` for aten packets (``'aten.relu'``) or overloads
    (``'aten.add.Tensor'``) with its ``category`` (:data:`CATEGORIES`). ``formula=None``
    declares the op free. An op name is registered once."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown op category {category!r}; known: {', '.join(CATEGORIES)}")
    if (formula is None) != (category == "view"):
        raise ValueError(f"{names}: free ops (formula None) and only they have category 'view'")
    for n in [names] if isinstance(names, str) else names:
        if n in _SPECS:
            raise ValueError(f"op {n!r} registered twice")
        _SPECS[n] = OpSpec(kind, formula, category)


def registered() -> dict[str, OpSpec]:
    """Every registered op name -> its spec (a copy)."""
    return dict(_SPECS)


def spec_of(op: str) -> OpSpec | None:
    """The spec for an overload name like ``'aten.add.Tensor'`` (overload first, then packet)."""
    s = _SPECS.get(op)
    if s is None:
        s = _SPECS.get(op.rsplit(".", 1)[0])
    return s


def kind_of(op: str) -> str:
    s = spec_of(op)
    return s.kind if s is not None else "unsupported"


def category_of(op: str) -> str:
    """The op's category (:data:`CATEGORIES`), or ``'unsupported'`` when it has no formula."""
    s = spec_of(op)
    return s.category if s is not None else "unsupported"


def _out(n: Node) -> TensorMeta:
    return n.outputs[0]


def _prod(xs) -> int:
    p = 1
    for x in xs:
        p *= int(x)
    return p


# -- conv / linear ------------------------------------------------------------------------

def _conv(n: Node) -> tuple[int, int]:
    x, w = n.inputs[0], n.inputs[1]
    out = _out(n)
    batch = x.shape[0] if len(x.shape) == len(w.shape) else 1
    if n.args.get("transposed", False):
        # every input element is multiplied into a (c_out/g) x k window
        macs = batch * _prod(x.shape[-(len(w.shape) - 2):]) * w.numel
    else:
        macs = batch * _prod(out.shape[-(len(w.shape) - 2):]) * w.numel
    has_bias = len(n.inputs) >= 3
    return macs, out.numel if has_bias else 0


def _addmm(n: Node) -> tuple[int, int]:
    _, a, b = n.inputs[:3]
    return a.shape[0] * a.shape[1] * b.shape[1], _out(n).numel


def _mm(n: Node) -> tuple[int, int]:
    a, b = n.inputs[:2]
    return a.shape[0] * a.shape[1] * b.shape[1], 0


def _bmm(n: Node) -> tuple[int, int]:
    a, b = n.inputs[:2]
    return a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2], 0


def _baddbmm(n: Node) -> tuple[int, int]:
    _, a, b = n.inputs[:3]
    return a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2], _out(n).numel


def _linear(n: Node) -> tuple[int, int]:
    x, w = n.inputs[0], n.inputs[1]
    macs = (x.numel // max(w.shape[-1], 1)) * w.numel
    return macs, _out(n).numel if len(n.inputs) >= 3 else 0


def _matmul(n: Node) -> tuple[int, int]:
    a = n.inputs[0]
    return _out(n).numel * a.shape[-1], 0


register(["aten.convolution", "aten._convolution", "aten.cudnn_convolution",
          "aten.mkldnn_convolution"], "conv", _conv, category="mac")
# composite ops, seen only when autograd's decomposition is skipped (inference_mode)
register(["aten.conv1d", "aten.conv2d", "aten.conv3d"], "conv", _conv, category="mac")
register("aten.linear", "linear", _linear, category="mac")
register("aten.matmul", "matmul", _matmul, category="mac")
register("aten.addmm", "linear", _addmm, category="mac")
register("aten.mm", "matmul", _mm, category="mac")
register("aten.bmm", "matmul", _bmm, category="mac")
register("aten.baddbmm", "matmul", _baddbmm, category="mac")


# -- normalisation, activations, element-wise -----------------------------------------------

def _per_out(k: int) -> Formula:
    return lambda n: (0, k * _out(n).numel)


register(["aten.native_batch_norm", "aten._native_batch_norm_legit_no_training",
          "aten._native_batch_norm_legit", "aten.cudnn_batch_norm",
          "aten.miopen_batch_norm", "aten._batch_norm_no_update"], "batch_norm", _per_out(2), category="norm")
register(["aten.native_layer_norm", "aten.layer_norm"], "layer_norm", _per_out(4), category="norm")
register(["aten.native_group_norm", "aten.group_norm"], "group_norm", _per_out(4), category="norm")
register(["aten.batch_norm", "aten.instance_norm"], "batch_norm", _per_out(2), category="norm")
register(["aten.rms_norm", "aten._fused_rms_norm"], "rms_norm", _per_out(3), category="norm")

for _name in ["relu", "sigmoid", "silu", "gelu", "tanh", "hardswish", "hardsigmoid",
              "leaky_relu", "elu", "mish", "softplus", "threshold", "clamp", "clamp_min",
              "clamp_max", "hardtanh", "prelu", "_prelu_kernel", "selu", "celu", "log_sigmoid_forward"]:
    register([f"aten.{_name}", f"aten.{_name}_"], _name.strip("_"), _per_out(1), category="activation")
for _name in ["exp", "sqrt", "rsqrt", "neg", "abs", "pow", "reciprocal", "erf", "log"]:
    register([f"aten.{_name}", f"aten.{_name}_"], _name, _per_out(1), category="pointwise")
for _name in ["add", "sub", "mul", "div", "rsub", "maximum", "minimum"]:
    register([f"aten.{_name}", f"aten.{_name}_"], _name, _per_out(1), category="binary")
for _name in ["where", "gt", "lt", "ge", "le", "eq", "ne", "logical_and", "logical_or", "logical_not"]:
    register([f"aten.{_name}", f"aten.{_name}_"], _name, _per_out(1), category="pointwise")
register(["aten.addcmul", "aten.addcmul_", "aten.addcdiv", "aten.addcdiv_"], "addcmul", _per_out(2),
         category="pointwise")
register(["aten._softmax", "aten._log_softmax", "aten._safe_softmax"], "softmax", _per_out(3), category="softmax")
register(["aten.native_dropout"], "dropout", _per_out(1), category="pointwise")   # training mode only
register(["aten.dropout", "aten.feature_dropout", "aten.alpha_dropout"], "dropout", None, category="view")


# -- pooling and reductions ----------------------------------------------------------------

def _window_pool(n: Node) -> tuple[int, int]:
    k = n.args.get("kernel_size", [1])
    k = list(k) if isinstance(k, (list, tuple)) else [k]
    spatial = len(_out(n).shape) - 2
    if len(k) == 1 and spatial > 1:
        k = k * spatial
    return 0, _out(n).numel * _prod(k)


def _input_reduce(n: Node) -> tuple[int, int]:
    return 0, n.inputs[0].numel


register(["aten.max_pool2d_with_indices", "aten.max_pool2d", "aten.max_pool1d",
          "aten.max_pool3d_with_indices", "aten.max_pool1d_with_indices",
          "aten.mkldnn_max_pool2d"], "pool", _window_pool, category="pool_max")
register(["aten.avg_pool1d", "aten.avg_pool2d", "aten.avg_pool3d"], "pool", _window_pool, category="pool_avg")
register(["aten._adaptive_avg_pool2d", "aten._adaptive_avg_pool3d", "aten.adaptive_max_pool2d",
          "aten.adaptive_max_pool1d", "aten._adaptive_avg_pool1d", "aten.adaptive_avg_pool1d"],
         "adaptive_pool", _input_reduce, category="global_pool")
register("aten.mean", "mean", _input_reduce, category="global_pool")
for _name in ["sum", "amax", "amin", "var_mean", "var", "std"]:
    register(f"aten.{_name}", _name, _input_reduce, category="reduce")


# -- data movement -------------------------------------------------------------------------

_zero: Formula = lambda n: (0, 0)  # noqa: E731  (counted in MAC bytes, no arithmetic)

register(["aten.cat", "aten.stack"], "cat", _zero, category="move")
register(["aten.clone", "aten._to_copy", "aten.copy", "aten.copy_", "aten.contiguous"], "copy", _zero,
         category="move")
register(["aten.constant_pad_nd", "aten.reflection_pad2d", "aten.replication_pad2d"], "pad", _zero,
         category="layout")
register(["aten.upsample_nearest1d", "aten.upsample_nearest2d", "aten.upsample_nearest3d",
          "aten._upsample_nearest_exact2d"], "upsample", _zero, category="layout")
register(["aten.upsample_bilinear2d", "aten._upsample_bilinear2d_aa", "aten.upsample_bicubic2d",
          "aten.upsample_linear1d", "aten.upsample_trilinear3d"], "upsample", _per_out(4), category="resample")
register(["aten.fill_", "aten.zero_", "aten.fill"], "fill", _zero, category="layout")

# -- free: views and metadata ----------------------------------------------------------------
register(["aten.view", "aten._unsafe_view", "aten.reshape", "aten.t", "aten.transpose",
          "aten.permute", "aten.expand", "aten.squeeze", "aten.unsqueeze", "aten.flatten",
          "aten.alias", "aten.detach", "aten.as_strided", "aten.unfold", "aten.view_as",
          "aten.lift_fresh", "aten.numpy_T", "aten.movedim", "aten.diagonal",
          "aten._reshape_alias", "aten.squeeze_", "aten.unsqueeze_", "aten.t_",
          "aten.transpose_"], "view", None, category="view")
register(["aten.split", "aten.split_with_sizes", "aten.chunk", "aten.unbind",
          "aten.tensor_split", "aten.unsafe_split", "aten.unsafe_split_with_sizes"], "split", None,
         category="view")
register(["aten.slice", "aten.narrow", "aten.select"], "slice", None, category="view")


# -- per-node results ----------------------------------------------------------------------

_ITEMSIZE = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8}


def dtype_bytes(name: str) -> int:
    if name not in _ITEMSIZE:
        raise ValueError(f"unknown dtype '{name}'; use float32, float16 or int8")
    return _ITEMSIZE[name]


def tensor_bytes(t: TensorMeta, float_bytes: int) -> int:
    dt = getattr(torch, t.dtype, None)
    if isinstance(dt, torch.dtype) and (dt.is_floating_point or dt.is_complex):
        return t.numel * float_bytes
    size = torch.empty((), dtype=dt).element_size() if isinstance(dt, torch.dtype) else 4
    return t.numel * size


def is_free(node: Node) -> bool:
    spec = spec_of(node.op)
    return node.is_view or (spec is not None and spec.formula is None)


def free_mask(graph) -> list[bool]:
    """Per node of ``graph``: True where the op moves no data (a view or a free op)."""
    return [is_free(n) for n in graph.nodes]


def count(node: Node, float_bytes: int = 4) -> dict[str, int] | None:
    """Counts for one node, or ``None`` when the op has no formula (unsupported)."""
    if is_free(node):
        return {"macs": 0, "elem_ops": 0, "mac_bytes": 0, "activations": 0}
    spec = spec_of(node.op)
    if spec is None:
        return None
    macs, elem = spec.formula(node)
    seen: set = set()
    read = 0
    for s, t in zip(node.sources, node.inputs):
        key = (s.kind, s.ref, s.index) if s.kind != "const" else None
        if key is not None and key in seen:
            continue
        if key is not None:
            seen.add(key)
        read += tensor_bytes(t, float_bytes)
    out = node.outputs[0] if node.outputs else None
    written = tensor_bytes(out, float_bytes) if out is not None else 0
    return {
        "macs": int(macs),
        "elem_ops": int(elem),
        "mac_bytes": int(read + written),
        "activations": int(out.numel) if out is not None else 0,
    }


def conv_class(node: Node) -> str | None:
    """'pointwise', 'depthwise', 'group', 'dense' or 'transposed' for a conv node."""
    if kind_of(node.op) != "conv":
        return None
    if node.args.get("transposed", False):
        return "transposed"
    x, w = node.inputs[0], node.inputs[1]
    groups = int(node.args.get("groups", 1))
    c_in = x.shape[1] if len(x.shape) == len(w.shape) else x.shape[0]
    if groups > 1 and groups == c_in:
        return "depthwise"
    if groups > 1:
        return "group"
    if all(k == 1 for k in w.shape[2:]):
        return "pointwise"
    return "dense"


def describe(node: Node) -> str:
    """Short op label for tables: conv3x3, dwconv3x3, gconv1x1/g3, conv1x1, relu6, linear ..."""
    kind = kind_of(node.op)
    if kind == "conv":
        w = node.inputs[1]
        k = "x".join(str(d) for d in w.shape[2:])
        stride = node.args.get("stride", [1])
        s = f"/s{max(stride)}" if stride and max(stride) > 1 else ""
        cls = conv_class(node)
        if cls == "depthwise":
            return f"dwconv{k}{s}"
        if cls == "group":
            return f"gconv{k}/g{node.args.get('groups')}{s}"
        if cls == "transposed":
            return f"convT{k}{s}"
        return f"conv{k}{s}"
    if kind == "hardtanh" and node.args.get("min_val", -1.0) == 0.0 and node.args.get("max_val", 1.0) == 6.0:
        return "relu6"
    if kind == "unsupported":
        return node.op
    return kind
