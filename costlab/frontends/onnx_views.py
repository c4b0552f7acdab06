"""When an ONNX ``Transpose`` is a view, as torch's ``permute`` is.

torch permutes by strides (no data moves); a later ``reshape`` copies only when the new shape
cannot be expressed with strides of the permuted tensor (ATen's ``computeStride``,
aten/src/ATen/TensorUtils.cpp, ported below). costlab counts a traced permute as a free view and
a reshape's copy as a copy, so a Transpose in an ONNX file counts the same way: free, unless one
of the reshapes reading it (Reshape, Flatten, Squeeze, Unsqueeze) cannot view it, in which case
the Transpose is the copy (its input read, its result written). Ops that read it directly read
the strided view, as they do in torch. (An ONNX runtime copies every Transpose; the convention
keeps a file's report equal to its PyTorch model's.)
"""
from __future__ import annotations

RESHAPES = frozenset({"Reshape", "Flatten", "Squeeze", "Unsqueeze"})


def contiguous_strides(shape) -> list[int]:
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= max(int(d), 1)
    return out[::-1]


def compute_stride(oldshape, oldstride, newshape) -> list[int] | None:
    """Strides that view a tensor of ``oldshape`` / ``oldstride`` as ``newshape``, or None when
    no such strides exist (the reshape must copy). ATen's ``computeStride``."""
    if not oldshape:
        return [1] * len(newshape)
    numel = 1
    for d in oldshape:
        numel *= d
    if numel == 0:
        return contiguous_strides(newshape)
    newstride = [0] * len(newshape)
    view_d = len(newshape) - 1
    chunk_base_stride = oldstride[-1]
    tensor_numel = view_numel = 1
    for tensor_d in range(len(oldshape) - 1, -1, -1):
        tensor_numel *= oldshape[tensor_d]
        if tensor_d == 0 or (oldshape[tensor_d - 1] != 1
                             and oldstride[tensor_d - 1] != tensor_numel * chunk_base_stride):
            while view_d >= 0 and (view_numel < tensor_numel or newshape[view_d] == 1):
                newstride[view_d] = view_numel * chunk_base_stride
                view_numel *= newshape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if tensor_d > 0:
                chunk_base_stride = oldstride[tensor_d - 1]
                tensor_numel = view_numel = 1
    return newstride if view_d == -1 else None


def transpose_is_view(in_shape, perm, reader_shapes) -> bool:
    """A Transpose of a contiguous ``in_shape`` by ``perm`` whose reshape readers produce
    ``reader_shapes``: a view when every one of them can view the permuted strides."""
    perm = list(perm) if perm else list(range(len(in_shape)))[::-1]
    strides = contiguous_strides(in_shape)
    shape = [in_shape[p] for p in perm]
    pstrides = [strides[p] for p in perm]
    return all(compute_stride(shape, pstrides, list(s)) is not None for s in reader_shapes)
