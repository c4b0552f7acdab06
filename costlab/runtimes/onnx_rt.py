"""ONNX Runtime (CPU execution provider) and the ONNX export both ONNX runtimes share.

Export: ``torch.onnx.export(..., dynamo=False, opset_version=17)`` (the TorchScript exporter:
fast, no onnxscript needed, node names carry module paths such as
``/features/features.1/conv/conv.0/Conv``); batch norm is folded into the convs by the
exporter's constant folding in eval mode, as in every deployed export.

Session: ``SessionOptions`` with ``intra_op_num_threads = threads``, ``inter_op_num_threads =
1``, sequential execution and every graph optimisation on (``ORT_ENABLE_ALL``, the default of
deployment). Per-op times: ``enable_profiling`` (onnxruntime/core/common/profiler.cc writes a
Chrome-trace JSON whose ``cat == "Node"`` events named ``<node>_kernel_time`` carry ``dur`` in
µs and ``args.op_name``); the optimised graph (``optimized_model_filepath``) maps each kernel
back to the exported nodes it covers, by output tensor names.

int8: ``onnxruntime.quantization.quantize_static`` in QDQ format (activations QUInt8 per
tensor, weights QInt8 per channel) with 8 random-normal calibration inputs; ``quant_pre_process``
first where it works.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from .base import Artifact, ConversionError, OpTime, Runtime, Session, first_line

OPSET = 17


def export_onnx(model, example, path: Path, spec: str, runtime: Runtime) -> dict:
    import contextlib
    import io
    import warnings

    import torch

    from .base import conversion_error

    buf = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(buf), torch.inference_mode(False), \
                torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (example,), str(path), opset_version=OPSET, dynamo=False,
                              input_names=["input"], output_names=["output"], do_constant_folding=True)
    except Exception as exc:  # noqa: BLE001 - every exporter failure becomes one line
        raise conversion_error(runtime, spec, exc) from None
    return {"exporter": f"torch.onnx.export (TorchScript, dynamo=False) opset {OPSET}"}


def quantize_qdq(src: Path, dst: Path, input_shape, spec: str, runtime: Runtime, seed: int = 0) -> dict:
    """Static QDQ quantization of an ONNX file with random calibration inputs."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    rng = np.random.default_rng(seed)
    feeds = [{"input": rng.standard_normal(tuple(input_shape)).astype(np.float32)} for _ in range(8)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(feeds)

        def get_next(self):
            return next(self.it, None)

    with tempfile.TemporaryDirectory(prefix="costlab-qdq-") as td:
        pre = Path(td) / "pre.onnx"
        source = src
        try:
            from onnxruntime.quantization.shape_inference import quant_pre_process

            quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
            source = pre
        except Exception:  # noqa: BLE001 - pre-processing is optional; quantize the export as it is
            source = src
        try:
            quantize_static(str(source), str(dst), Reader(), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True)
        except Exception as exc:  # noqa: BLE001
            raise ConversionError(f"ONNX Runtime static QDQ quantization of '{spec}' failed: "
                                  f"{first_line(exc)}") from None
    return {"quantization": "onnxruntime.quantization.quantize_static, QDQ, activations QUInt8 per tensor, "
                            "weights QInt8 per channel, 8 random-normal calibration inputs (MinMax)"}


class OnnxRuntime(Runtime):
    name = "ort"
    title = "ONNX Runtime"
    extra = "ort"
    modules = ("onnxruntime", "onnx")
    suffix = ".onnx"
    dtypes = ("float32", "int8")
    per_op = "onnxruntime profiler (SessionOptions.enable_profiling), kernels mapped by the optimised graph"

    def version(self) -> str:
        import onnxruntime

        return onnxruntime.__version__

    def int8_note(self) -> str:
        return "static QDQ quantization with random calibration data"

    def convert(self, model, example, path: Path, dtype: str = "float32", spec: str = "model") -> dict:
        if dtype == "float32":
            return export_onnx(model, example, path, spec, self)
        with tempfile.TemporaryDirectory(prefix="costlab-onnx-") as td:
            f32 = Path(td) / "f32.onnx"
            meta = export_onnx(model, example, f32, spec, self)
            meta.update(quantize_qdq(f32, path, tuple(example.shape), spec, self))
        return meta

    def load(self, artifact: Artifact, threads: int = 1, *, model=None, example=None,
             profile: bool = False) -> Session:
        return OrtSession(artifact, threads, profile)


def _options(threads: int, profile_dir: str | None = None, optimized: str | None = None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    if profile_dir is not None:
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(profile_dir, "ort")
    if optimized is not None:
        so.optimized_model_filepath = optimized
    return so


class OrtSession(Session):
    runtime = "ort"

    def __init__(self, artifact: Artifact, threads: int, profile: bool = False):
        import onnxruntime as ort

        self.artifact, self.threads = artifact, int(threads)
        try:
            self.sess = ort.InferenceSession(str(artifact.path), _options(threads),
                                             providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001
            raise ConversionError(f"ONNX Runtime cannot load '{artifact.path}': {first_line(exc)}") from None
        inp = self.sess.get_inputs()[0]
        rng = np.random.default_rng(0)
        self.name = inp.name
        self.x = rng.standard_normal(tuple(artifact.input_shape)).astype(np.float32)
        self.feed = {self.name: self.x}
        self.sess.run(None, self.feed)

    def run(self):
        return self.sess.run(None, self.feed)

    def op_times(self, runs: int = 10) -> list[OpTime] | None:
        import onnx
        import onnxruntime as ort

        with tempfile.TemporaryDirectory(prefix="costlab-ortprof-") as td:
            opt = os.path.join(td, "optimized.onnx")
            sess = ort.InferenceSession(str(self.artifact.path), _options(self.threads, td, opt),
                                        providers=["CPUExecutionProvider"])
            for _ in range(3):
                sess.run(None, self.feed)
            for _ in range(runs):
                sess.run(None, self.feed)
            trace = sess.end_profiling()
            events = json.loads(Path(trace).read_text())
            covers = _covers(onnx.load(str(self.artifact.path)), onnx.load(opt))
        total: dict[str, list[float]] = {}
        types: dict[str, str] = {}
        for e in events:
            if e.get("cat") != "Node" or not str(e.get("name", "")).endswith("_kernel_time"):
                continue
            node = e["name"][: -len("_kernel_time")]
            total.setdefault(node, []).append(float(e.get("dur", 0)) / 1000.0)
            types[node] = e.get("args", {}).get("op_name", "")
        out = []
        for node, ds in total.items():
            # warm-up runs are in the trace too: keep the last ``runs`` calls of each kernel
            per_run = len(ds) // (runs + 3) or 1
            last = ds[-runs * per_run:]
            out.append(OpTime(node, types[node], float(np.sum(last)) / runs, tuple(covers.get(node, ())),
                              "CPUExecutionProvider"))
        return out


_LAYOUT_OPS = ("ReorderInput", "ReorderOutput", "Transpose")


def _norm(tensor: str) -> str:
    """An optimised tensor name back to the exported one (the NCHWc transformer appends _nchwc)."""
    return re.sub(r"_nchwc$", "", tensor)


# export ops no ORT kernel fuses the ops before it into: a kernel anchored at one of them covers
# only its own nodes (the Add + Relu before a MaxPool were fused into the conv before them)
_NO_UPSTREAM = frozenset({"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Concat", "Reshape",
                          "Transpose", "Flatten", "Split", "Slice", "Gather", "Softmax", "Pad", "Resize"})


_FUSIBLE = frozenset({"Add", "Sum", "Sub", "Mul", "Div", "Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish",
                      "LeakyRelu", "Tanh", "BatchNormalization"})


def _covers(source, optimized) -> dict[str, tuple[str, ...]]:
    """Optimised node name -> the exported nodes it covers. Anchors: the exported nodes that
    produce the kernel's outputs (names normalised); then, backwards, every exported node
    whose result no longer exists in the optimised graph (it was fused into this kernel),
    except behind a kernel of :data:`_NO_UPSTREAM` type. An exported node no kernel claims
    that way (ORT's NCHWc conv fuses the residual Add and its Relu but keeps the conv's output
    name) joins the kernel of the node its first input comes from. Layout conversions ORT
    inserts (ReorderInput/Output) cover nothing of their own."""
    producer = {o: n for n in source.graph.node for o in n.output}
    by_name = {n.name: n for n in source.graph.node}
    kept = {_norm(t) for n in optimized.graph.node for t in list(n.input) + list(n.output)}
    kept |= {i.name for i in optimized.graph.input} | {t.name for t in optimized.graph.initializer}
    out: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}          # exported node -> kernel
    for n in optimized.graph.node:
        if n.op_type in _LAYOUT_OPS[:2]:
            out[n.name] = ()
            continue
        seen: list[str] = []
        # anchors: the exported nodes producing the kernel's outputs; ORT's NCHWc convs output
        # fresh 'reorder_token' tensors and are named after the exported tensor (+ '_nchwc'),
        # fused Gemms are named 'fused <node>', other fusions '<node>/<Name>Fusion/' (QuickGelu: a
        # SiLU's Sigmoid * x, named after the Mul)
        names = {_norm(o) for o in n.output} | {_norm(n.name), re.sub(r"^fused ", "", n.name),
                                                 re.sub(r"/[A-Za-z0-9]*Fusion/?$", "", n.name)}
        todo = [producer[t] for t in names if t in producer] + [by_name[t] for t in names if t in by_name]
        while todo:
            src = todo.pop()
            if src.name in seen or src.name in owner:
                continue
            seen.append(src.name)
            if src.op_type not in _NO_UPSTREAM:
                todo.extend(producer[t] for t in src.input if t in producer and t not in kept)
        owner.update((x, n.name) for x in seen)
        out[n.name] = tuple(seen)
    # element-wise nodes no kernel claimed: into the kernel their first input's producer joined
    for node in source.graph.node:
        chain, cur = [], node
        while cur is not None and cur.name not in owner and cur.op_type in _FUSIBLE and cur.name not in chain:
            chain.append(cur.name)
            cur = next((producer[t] for t in cur.input if t in producer), None)
        k = owner.get(cur.name) if cur is not None and chain else None
        if k is not None:
            owner.update((x, k) for x in chain)
            out[k] = out[k] + tuple(x for x in reversed(chain) if x not in out[k])
    return out
