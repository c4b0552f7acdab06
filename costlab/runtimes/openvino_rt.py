"""OpenVINO (CPU plugin), reading the same ONNX export as ONNX Runtime.

Compiled with ``INFERENCE_NUM_THREADS = threads``, ``NUM_STREAMS = 1``, ``PERFORMANCE_HINT =
LATENCY`` and ``INFERENCE_PRECISION_HINT = f32``: on CPUs with AVX-512 BF16 or AMX the plugin's
default precision is bf16, which is not the float32 latency asked for (the profile records the
hint). Per-op times: ``PERF_COUNT = YES``; the runtime model (``get_runtime_model()``) gives each
executed kernel its ``execTimeMcs`` and, in ``originalLayersNames``, the ONNX nodes fused into it
(OpenVINO's CPU plugin fuses convolution with the element-wise chain after it: bias, batch norm
as a scale-shift, the residual add, activations).

int8 in OpenVINO needs NNCF post-training quantization, which costlab does not depend on:
``--dtype int8`` is refused with that reason.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import Artifact, ConversionError, OpTime, Runtime, Session, first_line
from .onnx_rt import export_onnx


class OpenVino(Runtime):
    name = "openvino"
    title = "OpenVINO"
    extra = "openvino"
    modules = ("openvino", "onnx")
    suffix = ".onnx"
    dtypes = ("float32",)
    per_op = "OpenVINO performance counters (PERF_COUNT), kernels and fused layers from the runtime model"

    def version(self) -> str:
        import openvino

        return openvino.__version__.split("-")[0]

    def int8_note(self) -> str:
        return "OpenVINO int8 needs NNCF post-training quantization, not a costlab dependency"

    def convert(self, model, example, path: Path, dtype: str = "float32", spec: str = "model") -> dict:
        return export_onnx(model, example, path, spec, self)

    def load(self, artifact: Artifact, threads: int = 1, *, model=None, example=None,
             profile: bool = False) -> Session:
        return OvSession(artifact, threads, profile)


def config(threads: int, perf: bool) -> dict:
    return {"INFERENCE_NUM_THREADS": int(threads), "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": "f32", "PERF_COUNT": "YES" if perf else "NO"}


class OvSession(Session):
    runtime = "openvino"

    def __init__(self, artifact: Artifact, threads: int, profile: bool = False):
        import openvino as ov

        self.artifact, self.threads, self.perf = artifact, int(threads), bool(profile)
        self.core = ov.Core()
        try:
            self.model = self.core.read_model(str(artifact.path))
            self.compiled = self.core.compile_model(self.model, "CPU", config(threads, profile))
        except Exception as exc:  # noqa: BLE001
            raise ConversionError(f"OpenVINO cannot compile '{artifact.path}': {first_line(exc)}") from None
        self.request = self.compiled.create_infer_request()
        self.x = np.random.default_rng(0).standard_normal(tuple(artifact.input_shape)).astype(np.float32)
        self.request.set_input_tensor(ov.Tensor(self.x))
        self.request.infer()

    def run(self):
        self.request.infer()

    def op_times(self, runs: int = 10) -> list[OpTime] | None:
        import openvino as ov

        if self.perf:      # compiled with PERF_COUNT already: no second compile
            compiled, req = self.compiled, self.request
        else:
            compiled = self.core.compile_model(self.model, "CPU", config(self.threads, True))
            req = compiled.create_infer_request()
            req.set_input_tensor(ov.Tensor(self.x))
        for _ in range(3):
            req.infer()
        acc: dict[str, float] = {}
        for _ in range(runs):
            req.infer()
            for p in req.profiling_info:
                if str(p.status).endswith("EXECUTED") and not str(p.status).endswith("NOT_RUN"):
                    acc[p.node_name] = acc.get(p.node_name, 0.0) + p.real_time.total_seconds() * 1e3
        info = {}
        for op in compiled.get_runtime_model().get_ordered_ops():
            rt = op.get_rt_info()
            names = str(rt["originalLayersNames"].astype(str)) if "originalLayersNames" in rt else ""
            kind = str(rt["layerType"].astype(str)) if "layerType" in rt else op.get_type_name()
            info[op.get_friendly_name()] = (kind, tuple(n for n in names.split(",") if n))
        types = {p.node_name: p.exec_type for p in req.profiling_info}
        producer = _output_producers(self.artifact.path)
        out = []
        for name, ms in acc.items():
            kind, covers = info.get(name, ("", ()))
            # ONNX node names: OpenVINO appends /WithoutBiases etc. to the node it splits, and names
            # the node that writes a graph output after that output ('output'): back to the node
            covers = tuple(dict.fromkeys(producer.get(c, c) for c in covers))
            out.append(OpTime(name, kind or "", ms / runs, covers, types.get(name, "")))
        return out


def _output_producers(path) -> dict[str, str]:
    """Graph output tensor name -> the name of the ONNX node that writes it."""
    import onnx

    g = onnx.load(str(path)).graph
    outs = {o.name for o in g.output}
    return {t: n.name for n in g.node if n.name for t in n.output if t in outs}
