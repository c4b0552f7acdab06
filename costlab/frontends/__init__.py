"""Model files as costlab's IR, beside the tracer: ONNX (``costlab[onnx]``) and TFLite
(``costlab[tflite]``).

A file model is analysed like any PyTorch model: ``costlab analyze model.onnx`` resolves to a
:class:`FileModel` whose :meth:`graph` gives the same :class:`~costlab.ir.Graph` the tracer
gives, op kinds from the one registry."""
from __future__ import annotations

import os

from ..errors import InputError

SUFFIXES = {".onnx": "onnx", ".tflite": "tflite"}
LATER = {".ort": "ORT-format", ".pb": "TensorFlow", ".mlmodel": "Core ML"}


def is_file_spec(spec: str) -> bool:
    """A MODEL that names a model file (by its suffix)."""
    ext = os.path.splitext(spec.strip())[1].lower()
    return ext in SUFFIXES or ext in LATER


def load_file(spec: str):
    """The :class:`~costlab.frontends.onnx.OnnxModel` or
    :class:`~costlab.frontends.tflite.TfliteModel` of a file MODEL, or a one-line error."""
    path = spec.strip()
    ext = os.path.splitext(path)[1].lower()
    if ext in LATER:
        raise InputError(f"'{path}': {LATER[ext]} files are not read yet; export the model to ONNX "
                         "(costlab analyze model.onnx)")
    if ext == ".tflite":
        from .tflite import load as load_tflite

        return load_tflite(path)
    from .onnx import load

    return load(path)


def is_file_model(model) -> bool:
    import sys

    # a file model's class is loaded with its reader: one not loaded yet cannot be (start-up)
    kinds = [getattr(sys.modules.get(f"{__name__}.{m}"), c, None) for m, c in (("onnx", "OnnxModel"), ("tflite", "TfliteModel"))]
    return isinstance(model, tuple(k for k in kinds if k is not None))


def with_int8_section(report):
    """``report`` with a ``quantized`` section naming its int8 MAC layers (a quantized file's
    QLinear / integer ops and QDQ-fused ops), when it has any."""
    from dataclasses import replace

    from .. import ops
    from ..report import Section
    from .onnx_quant import int8_layers

    layers = int8_layers(report.graph) if report.graph is not None else []
    if not layers:
        return report
    macs = [n for n in report.graph.nodes if ops.is_conv(n.kind) or ops.is_gemm(n.kind)]
    section = Section("quantized", data={"int8_layers": layers}, values={"mac_layers": len(macs)})
    return replace(report, sections={**report.sections, "quantized": section})
