"""Per-node results of the registry: bytes per dtype, free ops, a node's counts, conv
classes and the short labels tables print (conventions: :mod:`costlab.ops`)."""
from __future__ import annotations

import torch

from ..ir import Node
from .registry import kind_of, label_of, spec_of


# -- per-node results ----------------------------------------------------------------------

_ITEMSIZE = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8}


def dtype_bytes(name: str) -> int:
    if name not in _ITEMSIZE:
        raise ValueError(f"unknown dtype '{name}'; use float32, float16 or int8")
    return _ITEMSIZE[name]


def tensor_bytes(t: TensorMeta, float_bytes: int) -> int:
    dt = getattr(torch, t.dtype, None)
    if isinstance(dt, torch.dtype) and dt.is_complex:      # two floats per element
        return t.numel * 2 * float_bytes
    if isinstance(dt, torch.dtype) and dt.is_floating_point:
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
    if spec.reads is not None:
        read = spec.reads(node, float_bytes)
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
    return label_of(kind)
