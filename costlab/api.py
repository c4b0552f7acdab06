"""Library entry points: every CLI command is a thin wrapper over these."""
from __future__ import annotations

from typing import Sequence

import torch.nn as nn

from . import ops
from .report import Report, count_graph
from .spec import InputError, Resolved, input_shapes_for, resolve
from .tracer import DataDependentError, trace


def analyze(model_or_spec: str | nn.Module | Resolved, input_shape: Sequence | str | None = None, *,
            resolution: int | None = None, dtype: str = "float32", batch: int = 1,
            name: str | None = None, trace_mode: str = "auto", device: str | dict | None = None) -> Report:
    """Trace a model once and count params, MACs, FLOPs, element ops, MAC bytes and
    activations per op and in total.

    ``model_or_spec``: an ``nn.Module``, a zoo spec (``'shufflenet_v2:width=0.5'``) or a
    user spec (``'my_nets.py:build_net'``). Input: ``input_shape`` (``(1, 3, 224, 224)``,
    ``'1x3x224x224'``, or a list of shapes for several inputs) or ``resolution`` (zoo
    models: the paper's input at that side length; default: the paper's resolution).
    ``dtype`` (``float32|float16|int8``) sets the bytes per element in ``mac_bytes``.
    ``device`` (``'arm'``, ``'gpu'``, ``'cpu'``, a profile name, path or dict) adds predicted
    ``latency_ms`` per layer and in the totals.
    """
    ops.dtype_bytes(dtype)  # validates
    if isinstance(model_or_spec, Resolved):
        resolved = model_or_spec
    elif isinstance(model_or_spec, nn.Module):
        resolved = Resolved(name or type(model_or_spec).__name__, model_or_spec, None, {})
    else:
        resolved = resolve(model_or_spec)
    if resolved.entry is None and input_shape is None and resolution is None:
        raise InputError(
            f"{resolved.name}: no input size given; pass input_shape=(1, 3, H, W) "
            "(CLI: --input-shape 1x3x224x224 or --resolution 224)"
        )
    shapes = input_shapes_for(resolved, input_shape, resolution, batch)
    try:
        graph = trace(resolved.model, shapes, mode=trace_mode)
    except DataDependentError:
        # a zoo model built on meta whose forward needs values: build it for real
        if resolved.entry is None:
            raise
        spec = model_or_spec.name if isinstance(model_or_spec, Resolved) else model_or_spec
        resolved = resolve(spec, device="cpu")
        graph = trace(resolved.model, shapes, mode="real")
    report = count_graph(graph, name or resolved.name, dtype)
    if device is not None:
        from .latency.predict import predict
        from .latency.profile import load_profile

        predict(report, device if isinstance(device, dict) else load_profile(device))
    return report
