"""A ``.tflite`` file as costlab's IR, by the route ONNX files take (:mod:`costlab.frontends.onnx`).

**Reader.** The flatbuffer is read with the generated classes of TFLite's own schema
(``tensorflow/compiler/mlir/lite/schema/schema.fbs``) as the ``tflite`` PyPI package ships them
(``pip install 'costlab[tflite]'``: pure Python, ~150 KB, needs only ``flatbuffers`` and numpy, so
CI and a laptop install it in a second); where it is absent and LiteRT is installed, the same
classes from ``ai_edge_litert.schema_py_generated`` (a 60 MB runtime wheel) are used. Nothing
else (no interpreter, no litert-torch) is imported.

* **Shapes** are the file's: every TFLite tensor carries its static shape, so the input size
  is the file's own (``--input-shape`` may restate it, not change it).
* **Layout**: 4-d tensors that images flow through (the inputs and outputs of convs, pools,
  resizes and the element-wise ops between them) are NHWC in the file and shown in torch's NCHW
  order; conv weights (OHWI, depthwise 1HWC) in torch's OIHW, so every pass reads channels
  where it does for a trace (:mod:`costlab.frontends.tflite_build`).
* **Params** are the elements of the constant tensors read as data (weights, biases), each
  buffer once; shapes, axes, paddings and permutations are not parameters.
* **Module paths** come from tensor names: litert-torch names a result after the torch modules
  it came from (``pkg.Net/torch.nn.modules.container.Sequential_features/...Conv2d_0``: module
  ``features.0``), so ``--depth`` rolls up as for the PyTorch model.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..errors import InputError
from .tflite_ops import CONTROL_FLOW

_SMALL = 64     # constant int tensors of at most this many elements keep their values (perm, axes)
_DTYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "uint8", 6: "bool", 7: "int16",
           8: "complex64", 9: "int8", 10: "float64", 11: "complex128", 12: "uint64", 15: "uint32", 16: "uint16",
           17: "int8"}   # TensorType; STRING counted as bytes, INT4 as int8 (packed, read as int8 by kernels)
_OPTION_FIELDS = {"Padding": "padding", "StrideH": "stride_h", "StrideW": "stride_w",
                  "DilationHFactor": "dilation_h", "DilationWFactor": "dilation_w",
                  "DepthMultiplier": "depth_multiplier", "FusedActivationFunction": "fused_activation_function",
                  "FilterHeight": "filter_h", "FilterWidth": "filter_w", "AdjX": "adj_x", "AdjY": "adj_y",
                  "KeepNumDims": "keep_num_dims", "Axis": "axis", "KeepDims": "keep_dims", "Beta": "beta",
                  "NumSplits": "num_splits", "Alpha": "alpha"}


def schema():
    """The generated TFLite schema classes: the ``tflite`` package, else LiteRT's copy."""
    try:
        import tflite as s
        return s
    except ImportError:
        pass
    try:
        from ai_edge_litert import schema_py_generated as s
        return s
    except ImportError:
        raise InputError("reading .tflite files needs the 'tflite' package: pip install 'costlab[tflite]'") from None


def _names(enum_cls) -> dict[int, str]:
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_") and isinstance(v, int)}


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    signature: tuple[int, ...]
    dtype: str
    buffer: int               # index into the model's buffers (0: none)
    constant: bool            # holds data in the file (a weight, bias, shape, axis ...)
    value: object = None      # small int constants' values (numpy), for perms and indices


@dataclass
class Op:
    code: str                 # builtin name ('CONV_2D') or 'custom:<code>'
    inputs: list[int]         # tensor indices, -1 = an optional input left out
    outputs: list[int]
    options: dict = field(default_factory=dict)


def _options(s, op, option_names: dict[int, str]) -> dict:
    kind = option_names.get(op.BuiltinOptionsType())
    table = op.BuiltinOptions()
    cls = getattr(s, kind, None) if kind else None
    if table is None or cls is None:
        return {}
    opt = cls()
    opt.Init(table.Bytes, table.Pos)
    return {key: getattr(opt, m)() for m, key in _OPTION_FIELDS.items() if hasattr(opt, m)}


def _body_codes(model, index: int, codes: list[str]) -> list[str]:
    """The operator codes of subgraph ``index`` (a StableHLO op's body), in order."""
    if not 0 < index < model.SubgraphsLength():
        return []
    g = model.Subgraphs(index)
    return [codes[g.Operators(k).OpcodeIndex()] if 0 <= g.Operators(k).OpcodeIndex() < len(codes) else "?"
            for k in range(g.OperatorsLength())]


def _options2(s, op, model, codes: list[str]) -> dict:
    """The ``builtin_options_2`` a StableHLO op carries that costlab reads: a reduce-window's
    window, strides, dilations, padding and its body's operator codes."""
    if not hasattr(op, "BuiltinOptions2Type") or not hasattr(s, "StablehloReduceWindowOptions"):
        return {}
    if op.BuiltinOptions2Type() != getattr(s.BuiltinOptions2, "StablehloReduceWindowOptions", -1):
        return {}
    table = op.BuiltinOptions2()
    if table is None:
        return {}
    o = s.StablehloReduceWindowOptions()
    o.Init(table.Bytes, table.Pos)

    def ints(name: str) -> list[int]:
        return [int(x) for x in getattr(o, name + "AsNumpy")()] if getattr(o, name + "Length")() else []

    return {"window_dimensions": ints("WindowDimensions"), "window_strides": ints("WindowStrides"),
            "base_dilations": ints("BaseDilations"), "window_dilations": ints("WindowDilations"),
            "window_padding": ints("Padding"), "body": _body_codes(model, o.BodySubgraphIndex(), codes)}


def _buffer_info(b, size: int, path: str, i: int) -> bool:
    """Whether buffer ``b`` holds data, after checking it lies inside the file."""
    n = b.DataLength()
    if n:
        start = b._tab.Vector(b._tab.Offset(4))
        if start + n > size:
            raise InputError(f"'{path}' is truncated: buffer {i} ends at byte {start + n:,} of a {size:,}-byte file")
        return True
    off = b.Offset() if hasattr(b, "Offset") else 0
    if off > 1:
        if off + b.Size() > size:
            raise InputError(f"'{path}' is truncated: buffer {i} ends at byte {off + b.Size():,} of a {size:,}-byte file")
        return True
    return False


def _read(s, data: bytes, path: str):
    import numpy as np

    model = s.Model.GetRootAsModel(data, 0)
    if model.SubgraphsLength() < 1:
        raise InputError(f"'{path}' holds no subgraph; is it a TFLite model?")
    g = model.Subgraphs(0)
    op_names, option_names, codes = _names(s.BuiltinOperator), _names(s.BuiltinOptions), []
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        name = op_names.get(code, f"BUILTIN_{code}")
        codes.append(f"custom:{(oc.CustomCode() or b'?').decode()}" if name == "CUSTOM" else name)
    has_data = [_buffer_info(model.Buffers(i), len(data), path, i) for i in range(model.BuffersLength())]
    tensors = []
    for i in range(g.TensorsLength()):
        t = g.Tensors(i)
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        sig = tuple(int(d) for d in t.ShapeSignatureAsNumpy()) if t.ShapeSignatureLength() else shape
        b = t.Buffer()
        const = 0 < b < len(has_data) and has_data[b]
        dtype = _DTYPES.get(t.Type(), "uint8")
        value = None
        if const and dtype in ("int32", "int64") and model.Buffers(b).DataLength() <= 8 * _SMALL:
            value = np.frombuffer(model.Buffers(b).DataAsNumpy().tobytes(), dtype=dtype).reshape(shape)
        tensors.append(Tensor((t.Name() or b"").decode(errors="replace"), shape, sig, dtype, b, const, value))
    ops = []
    for i in range(g.OperatorsLength()):
        o = g.Operators(i)
        ins = [int(x) for x in o.InputsAsNumpy()] if o.InputsLength() else []
        outs = [int(x) for x in o.OutputsAsNumpy()] if o.OutputsLength() else []
        if not 0 <= o.OpcodeIndex() < len(codes) or any(x >= len(tensors) for x in ins + outs):
            raise InputError(f"'{path}': operator {i} refers to an operator code or tensor the file does not have")
        ops.append(Op(codes[o.OpcodeIndex()], ins, outs,
                      {**_options(s, o, option_names), **_options2(s, o, model, codes)}))
    inputs = [int(x) for x in g.InputsAsNumpy()] if g.InputsLength() else []
    outputs = [int(x) for x in g.OutputsAsNumpy()] if g.OutputsLength() else []
    return tensors, ops, inputs, outputs


def load(path: str) -> "TfliteModel":
    """Read a ``.tflite`` file: one-line :class:`InputError` for a missing file, a file that is
    not a TFLite model, a truncated one, or a graph with control flow."""
    if os.path.isdir(path):
        raise InputError(f"'{path}' is a folder; give the .tflite file")
    if not os.path.isfile(path):
        raise InputError(f"model file '{path}' does not exist")
    s = schema()
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise InputError(f"'{path}' is not a TFLite model (no 'TFL3' flatbuffer identifier); "
                         "is it truncated or another format?")
    try:
        tensors, ops, inputs, outputs = _read(s, data, path)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001  (struct.error / IndexError of a flatbuffer cut short)
        msg = str(exc).splitlines()[0] if str(exc) else ""
        raise InputError(f"'{path}' is not a readable TFLite model (truncated or corrupt): "
                         f"{type(exc).__name__}: {msg}") from None
    if not ops and not (inputs and set(outputs) <= set(inputs)):
        raise InputError(f"'{path}' has no operators; is it a TFLite model?")
    for op in ops:
        if op.code in CONTROL_FLOW:
            raise InputError(f"{os.path.basename(path)}: a {op.code} op runs a subgraph whose trip count or branch "
                             "depends on data; costlab counts graphs without control flow (convert with it unrolled)")
    return TfliteModel(path, tensors, ops, inputs, outputs)


@dataclass
class TfliteModel:
    """A parsed ``.tflite`` file (its main subgraph): tensors, ops, and how to become the IR."""

    path: str
    tensors: list[Tensor] = field(repr=False)
    ops: list[Op] = field(repr=False)
    input_ids: list[int] = field(repr=False)
    output_ids: list[int] = field(repr=False)
    format: str = "tflite"

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def _shown(self, t: Tensor) -> str:
        return "x".join(str(d) for d in t.shape)

    def input_shapes(self, given, resolution: int | None, batch: int = 1) -> list[tuple[tuple[int, ...], str]]:
        """(dims, dtype) per input: the file's own sizes (a TFLite file sizes every tensor);
        ``given`` (parsed ``--input-shape``), ``resolution`` and ``batch`` may only restate them."""
        ins = [self.tensors[i] for i in self.input_ids]
        own = ", ".join(f"{t.name} ({self._shown(t)})" for t in ins)
        fix = f"{self.name} fixes the size of every tensor ({own}); costlab reads the file's own shapes: "
        if given is not None:
            if len(given) != len(ins) or any(tuple(int(d) for d in g) != t.shape for g, t in zip(given, ins)):
                raise InputError(fix + "leave out --input-shape or give exactly these "
                                 "(convert the model again at the size you want)")
            for g, t in zip(given, ins):
                if getattr(g, "dtype", None) and g.dtype != t.dtype:
                    raise InputError(f"{self.name}: input '{t.name}' is {t.dtype} in the file, --input-shape says {g.dtype}")
        for t in ins:
            square = (resolution, resolution)
            if resolution is not None and not (len(t.shape) == 4 and square in (t.shape[2:], t.shape[1:3])):
                raise InputError(fix + "leave out --resolution (convert the model again at the size you want)")
            if batch != 1 and (not t.shape or t.shape[0] != batch):
                raise InputError(fix + "leave out --batch (convert the model again at the batch you want)")
        return [(t.shape, t.dtype) for t in ins]

    def graph(self, shapes):
        from .tflite_build import Builder

        return Builder(self).build()
