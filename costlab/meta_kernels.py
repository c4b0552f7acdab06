"""Results of ops on meta tensors that the tracer makes itself instead of calling the op's meta
kernel: shape-preserving ops whose meta kernels are slow Python decompositions (same shape, dtype
and strides as the first input), and ``torch._grouped_mm`` (the experts of mixture-of-experts
models), whose meta kernel accepts bf16 only (torch 2.13) although the op runs float32 on CPU."""
from __future__ import annotations

import torch

# Shape-preserving ops whose meta kernels are slow Python decompositions: in meta mode
# their result is made directly (same shape, dtype and strides as the first input).
_UNARY_SAME = {
    "aten.relu.default", "aten.hardtanh.default", "aten.hardswish.default",
    "aten.hardsigmoid.default", "aten.sigmoid.default", "aten.silu.default",
    "aten.gelu.default", "aten.tanh.default", "aten.leaky_relu.default", "aten.elu.default",
    "aten.mish.default", "aten.clamp.default", "aten.clamp_min.default",
}
_UNARY_INPLACE = {f"{n.rsplit('.', 1)[0]}_.default" for n in _UNARY_SAME}
_BN_OPS = {"aten._native_batch_norm_legit_no_training.default", "aten.native_batch_norm.default"}
_BINARY = {"aten.add.Tensor", "aten.mul.Tensor", "aten.sub.Tensor", "aten.div.Tensor"}
_BINARY_INPLACE = {"aten.add_.Tensor", "aten.mul_.Tensor", "aten.sub_.Tensor", "aten.div_.Tensor"}


def _like(x: torch.Tensor) -> torch.Tensor:
    return x.new_empty(x.shape) if x.is_contiguous() else torch.empty_like(x)


def fast_meta(name: str, args, kwargs=None):
    """The result of ``name`` on meta tensors made here, or None (use the op's meta kernel):
    shape-preserving ops whose meta kernels are slow, and ``torch._grouped_mm``, whose meta kernel
    refuses what the op computes."""
    if name == "aten._grouped_mm.default":
        return _grouped_mm(args, kwargs or {})
    if kwargs:
        return None
    x = args[0] if args else None
    if not isinstance(x, torch.Tensor) or x.device.type != "meta":
        return None
    if name in _UNARY_SAME:
        return _like(x)
    if name in _UNARY_INPLACE:
        return x
    if name in _BN_OPS:
        empty = x.new_empty((0,))
        return (_like(x), empty, x.new_empty((0,)))
    if name in _BINARY or name in _BINARY_INPLACE:
        y = args[1] if len(args) > 1 else None
        if isinstance(y, torch.Tensor):
            if y.device.type != "meta" or y.dtype != x.dtype:
                return None
            shape = torch.broadcast_shapes(x.shape, y.shape)
        elif isinstance(y, (int, float)) and not isinstance(y, bool) and x.is_floating_point():
            shape = x.shape
        else:
            return None
        if name in _BINARY_INPLACE:
            return x if tuple(shape) == tuple(x.shape) else None
        return _like(x) if tuple(shape) == tuple(x.shape) else x.new_empty(shape)
    return None


_GROUPED_MM_ARGS = ("mat_a", "mat_b", "offs", "bias", "out_dtype")


def _grouped_mm(args, kwargs) -> torch.Tensor | None:
    """``torch._grouped_mm(mat_a, mat_b, offs=, bias=, out_dtype=)`` on meta: the output shape by
    torch's own rule (``torch._meta_registrations._create_grouped_mm_output_tensor``): 2D x 3D
    (tokens sorted by expert x a weight per expert) -> M x N, 3D x 3D -> G x M x N, 3D x 2D ->
    M x N, 2D x 2D -> G x M x N (G = the number of offsets). None where it is not meta."""
    a = dict(zip(_GROUPED_MM_ARGS, args), **kwargs)
    x, w, offs = a.get("mat_a"), a.get("mat_b"), a.get("offs")
    if not all(isinstance(t, torch.Tensor) and t.device.type == "meta" for t in (x, w)) \
            or x.dim() not in (2, 3) or w.dim() not in (2, 3):
        return None
    if x.dim() == 2 and w.dim() == 2:
        if offs is None:
            return None
        shape = (offs.shape[0], x.shape[0], w.shape[1])
    elif x.dim() == 2:
        shape = (x.shape[0], w.shape[-1])
    elif w.dim() == 2:
        shape = (x.shape[1], w.shape[1])
    else:
        shape = (x.shape[0], x.shape[1], w.shape[-1])
    return torch.empty(shape, dtype=a.get("out_dtype") or x.dtype, device="meta")
