"""The facade: trace a model once, then run the passes over its report. The only
orchestration in the package; every CLI command is a thin wrapper over these."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch.nn as nn

from . import ops
from .counts import count_graph
from .errors import DataDependentError, InputError, TraceError
from .frontends import is_file_model, with_int8_section
from .guidelines import GuidelineResult
from .memory import MemoryResult, memory_pass, peak_totals
from .report import Report, Section
from .spec import Resolved, input_shapes_for, resolve
from .tracer import retrace_reason, trace


def _resolve(model_or_spec, name: str | None) -> Resolved:
    if isinstance(model_or_spec, Resolved):
        return model_or_spec
    if isinstance(model_or_spec, nn.Module):
        return Resolved(name or type(model_or_spec).__name__, model_or_spec, None, {})
    if not isinstance(model_or_spec, str):
        raise InputError(f"a model is an nn.Module or a spec string ('mobilenet_v2', 'my_nets.py:build'), "
                         f"got {type(model_or_spec).__name__}")
    return resolve(model_or_spec)


def count(model_or_spec: str | nn.Module | Resolved, input_shape: Sequence | str | None = None, *,
          resolution: int | None = None, dtype: str = "float32", batch: int = 1,
          name: str | None = None, trace_mode: str = "auto") -> Report:
    """Trace once and run the counts pass (params, MACs, FLOPs, element ops, MAC bytes,
    activations per op and in total)."""
    ops.dtype_bytes(dtype)  # validates
    resolved = _resolve(model_or_spec, name)
    from_file = is_file_model(resolved.model)
    if resolved.entry is None and not resolved.default_shapes and input_shape is None and resolution is None \
            and not from_file:
        raise InputError(
            f"{resolved.name}: no input size given; pass input_shape=(1, 3, H, W) "
            "(CLI: --input-shape 1x3x224x224 or --resolution 224)"
        )
    shapes = input_shapes_for(resolved, input_shape, resolution, batch)
    try:
        # a model file (model.onnx) becomes the same IR through its frontend; a module is traced
        graph = resolved.model.graph(shapes) if from_file else trace(resolved.model, shapes, mode=trace_mode)
    except DataDependentError as exc:
        # a model built from a spec on meta (zoo, torchvision:, timm:, hf:) whose forward needs values:
        # build it again on CPU and trace it on real zero inputs; a module given as an object is not rebuilt
        spec = model_or_spec if isinstance(model_or_spec, str) else (
            resolved.name if isinstance(model_or_spec, Resolved) else None)
        if spec is None:
            raise
        graph = _trace_rebuilt(spec, shapes, exc)
    report = count_graph(graph, name or resolved.name, dtype)
    return with_int8_section(report) if from_file else report


def _trace_rebuilt(spec: str, shapes, exc: DataDependentError):
    """The retry after a data-dependent error on meta tensors: ``spec`` built on CPU, traced on real
    zero inputs; its graph (or the error) says which path was taken and why."""
    why = retrace_reason(exc)
    resolved = resolve(spec, device="cpu")
    try:
        graph = trace(resolved.model, shapes, mode="real")
    except TraceError as again:
        raise TraceError(f"{resolved.name}: {why}; built again on CPU and traced on real zero inputs, where {again}") \
            from again
    graph.retraced = f"{why}: built again on CPU and traced on real zero inputs"
    return graph


def with_latency(report: Report, device, runtime: str | None = None) -> Report:
    """``report`` with predicted latency on ``device`` (a profile name, path, document or
    :class:`~costlab.latency.profile.Profile`);
    ``runtime``: ``eager`` or ``cudagraph`` on a GPU host/device profile. A CPU profile
    measured on another machine warns once on stderr (costlab.latency.machine)."""
    from .latency.machine import warn_if_other_machine    # the passes load when asked for (start-up)
    from .latency.predict import predict
    from .latency.profile import load_profile

    profile = load_profile(device)
    warn_if_other_machine(profile)
    return predict(report, profile, runtime)


def with_guidelines(report: Report, thresholds: Mapping[str, Any] | None = None) -> tuple[Report, GuidelineResult]:
    """``report`` with a per-layer ``findings`` column and a ``guidelines`` section (JSON keys
    ``findings`` and ``guidelines``), and the check's result."""
    from .guidelines.lint import FINDINGS, check, layer_findings

    result = check(report, thresholds=thresholds)
    gd = result.to_dict(report.model)
    section = Section("guidelines", data={"findings": gd["findings"], "guidelines": gd["summary"]},
                      values={"cost": result.cost, "verdict": result.verdict()})
    return report.with_column(FINDINGS, layer_findings(report, result), section=section), result


def analyze(model_or_spec: str | nn.Module | Resolved, input_shape: Sequence | str | None = None, *,
            resolution: int | None = None, dtype: str = "float32", batch: int = 1,
            name: str | None = None, trace_mode: str = "auto", device: str | dict | None = None,
            guidelines: bool = False, thresholds: Mapping[str, Any] | None = None,
            runtime: str | None = None) -> Report:
    """Trace a model once and count params, MACs, FLOPs, element ops, MAC bytes and
    activations per op and in total.

    ``model_or_spec``: an ``nn.Module``, a zoo spec (``'shufflenet_v2:width=0.5'``) or a
    user spec (``'my_nets.py:build_net'``). Input: ``input_shape`` (``(1, 3, 224, 224)``,
    ``'1x3x224x224'``, or a list of shapes for several inputs) or ``resolution`` (zoo
    models: the paper's input at that side length; default: the paper's resolution).
    ``dtype`` (``float32|float16|int8``) sets the bytes per element in ``mac_bytes``.
    ``device`` (``'arm'``, ``'gpu'``, ``'cpu'``, a profile name, path or dict) adds predicted
    ``latency_ms`` per layer and in the totals (``runtime``: ``eager`` or ``cudagraph`` on a
    GPU host/device profile, which also adds ``host_ms`` and ``device_ms``);
    ``guidelines=True`` adds G1-G4 ``findings`` (measured on predicted latency when a device
    is given). The totals include ``peak_activation_bytes`` (live peak in the traced order) and
    ``weight_bytes`` at ``dtype`` (see :func:`analyze_memory`).
    """
    report = count(model_or_spec, input_shape, resolution=resolution, dtype=dtype, batch=batch,
                   name=name, trace_mode=trace_mode)
    report.totals.update(peak_totals(report))
    if device is not None:
        report = with_latency(report, device, runtime)
    elif runtime is not None:
        raise InputError("a runtime (--runtime / runtime=) needs a device profile: add --device gpu-h200 or another GPU host/device profile")
    if guidelines:
        report, _ = with_guidelines(report, thresholds)
    return report


def check_guidelines(model_or_spec, input_shape=None, *, resolution: int | None = None, dtype: str = "float32",
                     batch: int = 1, thresholds: Mapping[str, Any] | None = None, name: str | None = None,
                     device: str | dict | None = None, runtime: str | None = None
                     ) -> tuple[Report, GuidelineResult]:
    """Analyze a model (zoo spec, user spec or ``nn.Module``) and check it: ``(report, result)``."""
    report = analyze(model_or_spec, input_shape, resolution=resolution, dtype=dtype, batch=batch, name=name,
                     device=device, runtime=runtime)
    return with_guidelines(report, thresholds)


def analyze_memory(model_or_spec: str | nn.Module | Resolved, input_shape: Sequence | str | None = None, *,
                   resolution: int | None = None, dtype: str = "float32", batch: int = 1, name: str | None = None,
                   inplace_depthwise: bool = True, order: bool = True) -> tuple[Report, MemoryResult]:
    """Trace once and run the memory pass (:mod:`costlab.memory`): weights, the live
    activation peak in the traced order, the layer-by-layer working set of an MCU runtime
    (depthwise convs in place unless ``inplace_depthwise=False``), the greedy-by-size arena and
    the best execution order's peak. Returns ``(report, result)``; the model is not changed."""
    report = count(model_or_spec, input_shape, resolution=resolution, dtype=dtype, batch=batch, name=name)
    return report, memory_pass(report, dtype, inplace_depthwise=inplace_depthwise, order=order)
