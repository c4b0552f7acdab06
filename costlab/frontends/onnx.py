"""An ONNX file as costlab's IR: one :class:`~costlab.ir.Node` per ONNX node that computes or
moves data, op kinds from the one registry (:mod:`costlab.frontends.onnx_ops`).

* **Shapes** come from ONNX's own shape inference (``onnx.shape_inference.infer_shapes`` with
  data propagation), run on a weightless copy of the graph whose inputs carry the sizes given
  (``--input-shape``) for the file's symbolic dims. The file is read, never written.
* **Constants are not nodes**, as in the tracer (a factory op or a view of a parameter is no
  node there): ``Constant``, ``Shape`` / ``Size`` (metadata, like ``sym_size``) and every node
  whose inputs are all constants (the legacy exporter's ``Shape -> Gather -> Concat -> Reshape``
  chains, ``Identity`` of a deduplicated initializer, a ``Transpose`` of a weight) give a
  constant. A constant made from initializers keeps their names, so the node that reads it
  reads those parameters.
* **Params** are the initializers' elements, each distinct initializer once (the legacy
  exporter stores identical tensors once, behind ``Identity`` nodes: followed back to the one
  initializer). Initializers read only as shapes, axes, pads, bounds or quantisation
  parameters (:data:`~costlab.frontends.onnx_ops.NON_DATA_INPUTS`) are not parameters; neither
  are they tensors read by the op. A one-element constant that is not an initializer
  (``Mul(x, 0.5)``) and a rank-0 initializer (the dynamo exporter's ``alpha``) are scalar
  arguments, as a Python number is to torch: neither read as a tensor nor a parameter.
* **Module paths** come from node names: the legacy exporter's ``/features/features.3/conv/Conv``
  is module ``features.3.conv``; the dynamo exporter's ``pkg.torch.onnx.name_scopes``
  metadata, where present, wins.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..errors import InputError
from ..ir import Graph
from .onnx_build import Builder
from .onnx_wire import weightless_bytes
from .onnx_shapes import dims_of, dtype_name, first_line, onnx_module

# -- loading ------------------------------------------------------------------------------------

def _check_external_data(onnx, model, path: str) -> None:
    """Every tensor stored outside the file: its file exists and holds offset + length bytes."""
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data

    base = os.path.dirname(os.path.abspath(path))
    for t in model.graph.initializer:
        if not uses_external_data(t):
            continue
        info = ExternalDataInfo(t)
        where = os.path.join(base, info.location)
        if not os.path.isfile(where):
            raise InputError(f"{path}: initializer '{t.name}' is stored in external data file "
                             f"'{info.location}', which is missing; put it beside the model")
        need = (info.offset or 0) + (info.length or 0)
        if need and os.path.getsize(where) < need:
            raise InputError(f"{path}: external data file '{info.location}' is truncated "
                             f"({os.path.getsize(where):,} bytes, initializer '{t.name}' needs {need:,})")


def load(path: str) -> "OnnxModel":
    """Read an ONNX file (never writing it): one-line :class:`InputError` for a missing file, a
    file that is not an ONNX model, a truncated one, or missing external data."""
    onnx = onnx_module()
    if os.path.isdir(path):
        raise InputError(f"'{path}' is a folder; give the .onnx file")
    if not os.path.isfile(path):
        raise InputError(f"model file '{path}' does not exist")
    try:
        model = onnx.load_model_from_string(weightless_bytes(path))   # the weights are never read
    except Exception as exc:  # noqa: BLE001  (protobuf's DecodeError and friends)
        raise InputError(f"'{path}' is not a readable ONNX model (truncated or another format): "
                         f"{type(exc).__name__}: {first_line(exc)}") from None
    if not model.graph.node or not model.opset_import:
        raise InputError(f"'{path}' is not an ONNX model (no graph nodes or no opset); "
                         "is it truncated or another format?")
    _check_external_data(onnx, model, path)
    consts = {t.name for t in model.graph.initializer} | {o for n in model.graph.node if n.op_type == "Constant"
                                                          for o in n.output}
    for n in model.graph.node:
        if n.op_type in ("Loop", "Scan") and n.domain in ("", "ai.onnx"):
            known = n.op_type == "Loop" and n.input and n.input[0] in consts
            raise InputError(f"{path}: node '{n.name or n.op_type}' is a {n.op_type}"
                             + (" (a constant trip count, but costlab does not count loop bodies)" if known
                                else " whose trip count is not known from the graph")
                             + "; costlab counts graphs without loops (export with the loop unrolled)")
    return OnnxModel(path, model)


# -- inputs -------------------------------------------------------------------------------------

@dataclass
class InputInfo:
    name: str
    dims: list            # int, or str (a symbolic dim) / None (unknown)
    dtype: str

    @property
    def symbolic(self) -> list:
        return [d for d in self.dims if not isinstance(d, int)]

    def shown(self) -> str:
        return "x".join(str(d) if isinstance(d, int) else (d or "?") for d in self.dims)


@dataclass
class OnnxModel:
    """A parsed ONNX file: its graph inputs and how to turn it into costlab's IR."""

    path: str
    proto: object = field(repr=False)
    format: str = "onnx"

    def __post_init__(self):
        onnx = onnx_module()
        inits = {t.name for t in self.proto.graph.initializer}
        self.inputs = [InputInfo(v.name, dims_of(v.type.tensor_type.shape), dtype_name(onnx, v.type.tensor_type.elem_type))
                       for v in self.proto.graph.input if v.name not in inits]

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def input_shapes(self, given, resolution: int | None, batch: int = 1) -> list[tuple[tuple[int, ...], str]]:
        """(dims, dtype) per input of the file: the ``given`` shapes (parsed ``--input-shape``) for
        its inputs in order, else the file's own static sizes, with ``resolution`` / ``batch``
        filling a symbolic H, W / batch dim of a 4-d input (with ``resolution``, a symbolic batch
        is ``batch`` even at its default 1)."""
        if given is not None:
            self._check_given(given)
            return [(tuple(int(d) for d in s), i.dtype) for s, i in zip(given, self.inputs)]
        if (resolution is not None or batch != 1) and not any(i.symbolic for i in self.inputs):
            raise InputError(f"{self.name} fixes its input size ({', '.join(i.shown() for i in self.inputs)}); "
                             "--resolution / --batch choose only symbolic dims, and it has none")
        out = []
        for i in self.inputs:
            dims = list(i.dims)
            if len(dims) == 4 and resolution is not None:
                hw = _spatial(dims)
                dims[hw] = [d if isinstance(d, int) else resolution for d in dims[hw]]
            # --resolution chose the input's size: a symbolic batch is --batch (default 1)
            if dims and (batch != 1 or (len(dims) == 4 and resolution is not None)) and not isinstance(dims[0], int):
                dims[0] = batch
            missing = [d for d in dims if not isinstance(d, int)]
            if missing:
                image = len(dims) == 4 and not all(isinstance(d, int) for d in dims[2:])
                raise InputError(f"{self.name}: input '{i.name}' has symbolic dims {', '.join(str(d) for d in missing)} "
                                 f"(shape {i.shown()}); pass --input-shape with every input's size, e.g. "
                                 f"{self._example()}" + (" (or --resolution 224 for H and W)"
                                                         if image and len(self.inputs) == 1 else ""))
            out.append((tuple(dims), i.dtype))
        return out

    def _example(self) -> str:
        """An ``--input-shape`` for every input: its fixed dims, 224 for a symbolic H, W of a 4-d
        input, 1 for any other symbolic dim."""
        def one(dims):
            hw = range(*_spatial(dims).indices(4)) if len(dims) == 4 else ()
            return "x".join(str(d) if isinstance(d, int) else "224" if k in hw else "1" for k, d in enumerate(dims))
        return ",".join(one(i.dims) for i in self.inputs)

    def _check_given(self, shapes) -> None:
        if len(shapes) != len(self.inputs):
            names = ", ".join(f"{i.name} ({i.shown()})" for i in self.inputs)
            raise InputError(f"{self.name} has {len(self.inputs)} input(s), {names}; --input-shape gave {len(shapes)}: "
                             f"give one shape per input, in this order, e.g. --input-shape {self._example()}")
        for s, i in zip(shapes, self.inputs):
            given_dt = getattr(s, "dtype", None)
            if given_dt and given_dt != i.dtype:
                raise InputError(f"{self.name}: input '{i.name}' is {i.dtype} in the file, --input-shape says {given_dt}; "
                                 f"drop ':{given_dt}' (a file's input dtypes are its own)")
            if len(s) != len(i.dims) and i.dims:
                raise InputError(f"{self.name}: input '{i.name}' has rank {len(i.dims)} ({i.shown()}), "
                                 f"--input-shape gave {'x'.join(map(str, s))}; give {len(i.dims)} dims, e.g. "
                                 f"{'x'.join(str(d) if isinstance(d, int) else '1' for d in i.dims)}")
            for k, (g, d) in enumerate(zip(s, i.dims)):
                if isinstance(d, int) and d > 0 and g != d:
                    raise InputError(f"{self.name}: input '{i.name}' has a fixed size {d} in dim {k} ({i.shown()}), "
                                     f"--input-shape gave {g}; only its symbolic dims can be chosen")

    def graph(self, shapes) -> Graph:
        return Builder(self, shapes).build()


def _spatial(dims: list) -> slice:
    """Where H and W are in a 4-d input: NCHW (C fixed, H, W symbolic) unless the layout reads
    NHWC (dim 1 symbolic, the last dim a fixed channel count), as TFLite-style exports are."""
    if not isinstance(dims[1], int) and isinstance(dims[3], int):
        return slice(1, 3)
    return slice(2, 4)
