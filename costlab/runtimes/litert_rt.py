"""LiteRT (TensorFlow Lite, the runtime of Android phones) with its default XNNPACK delegate.

Conversion: ``litert_torch.convert(litert_torch.to_channel_last_io(model, ...), (x_nhwc,))``
then ``.export(path)``: the deployed model takes NHWC input (and gives NHWC output where it is
4-D), as phones feed TFLite models; without it litert-torch keeps NCHW I/O and wraps the graph
in layout transposes that a lone op pays and the same op inside a network does not. int8: litert-torch's PT2E path
(``litert_torch.quantize.pt2e_quantizer.PT2EQuantizer`` with the symmetric per-channel static
config, ``torchao``'s ``prepare_pt2e`` / ``convert_pt2e``, one random-normal calibration
input, as litert-torch's own tests do: litert_torch/_convert/test/test_convert.py,
``test_convert_resnet18_pt2e_per_channel``) and ``convert(..., quant_config=QuantConfig(
pt2e_quantizer=...))``: without the quant_config, litert-torch 0.10 leaves every CONV_2D in
float32 between QUANTIZE/DEQUANTIZE pairs (seen here), so the result is checked for int8 MAC
kernels and refused without them.

Session: ``ai_edge_litert.interpreter.Interpreter(model_path, num_threads=threads)``, which
applies XNNPACK to the whole graph (one DELEGATE node). The Python interpreter has no per-op
profiler: per-op times of a LiteRT model come from TFLite's ``benchmark_model
--enable_op_profiling=true`` (``costlab export`` writes the script, ``costlab calibrate
--benchmark-logs`` reads its logs). The converted graph's op list (before delegation) is what
the runtime fuses: a CONV_2D with ``fused_activation_function`` carries batch norm (folded)
and the activation.

litert-torch needs torch < 2.15 and pulls jax and transformers (extra ``costlab[litert]``).
"""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np

from .base import Artifact, ConversionError, OpTime, Runtime, Session, conversion_error, first_line


@contextlib.contextmanager
def _quiet():
    """litert-torch prints progress lines and absl logs on stdout/stderr, and the interpreter's
    C++ code prints 'INFO: Created TensorFlow Lite XNNPACK delegate' on file descriptor 2: keep
    them off the user's terminal (errors are re-raised as one line)."""
    import sys

    out, err = io.StringIO(), io.StringIO()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved = []
    try:
        for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
            try:
                stream.flush()
                saved.append((fd, os.dup(fd)))
            except (OSError, ValueError, AttributeError):
                continue
        null = os.open(os.devnull, os.O_WRONLY)
        for fd, _ in saved:
            os.dup2(null, fd)
        os.close(null)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield
    finally:
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)


class LiteRT(Runtime):
    name = "litert"
    title = "LiteRT (TFLite, XNNPACK)"
    extra = "litert"
    modules = ("litert_torch", "ai_edge_litert")
    suffix = ".tflite"
    dtypes = ("float32", "int8")
    per_op = ""

    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("ai-edge-litert")
        except PackageNotFoundError:  # pragma: no cover
            return "unknown"

    def versions(self) -> dict:
        from importlib.metadata import PackageNotFoundError, version

        out = super().versions()
        try:
            out["litert_torch"] = version("litert-torch")
        except PackageNotFoundError:  # pragma: no cover
            pass
        return out

    def int8_note(self) -> str:
        return "litert-torch PT2E static int8 (symmetric, per channel) with random calibration data"

    def convert(self, model, example, path: Path, dtype: str = "float32", spec: str = "model") -> dict:
        import warnings

        import torch

        with _quiet(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import litert_torch

            try:
                with torch.inference_mode(False), torch.no_grad():
                    if dtype == "int8":
                        from litert_torch.quantize import pt2e_quantizer
                        from torchao.quantization.pt2e import quantize_pt2e

                        m = torch.export.export(model, (example,)).module()
                        q = pt2e_quantizer.PT2EQuantizer().set_global(
                            pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True))
                        m = quantize_pt2e.prepare_pt2e(m, q)
                        m(example)
                        m = quantize_pt2e.convert_pt2e(m, fold_quantize=False)
                        from litert_torch.quantize.quant_config import QuantConfig

                        # without quant_config the converter keeps float kernels between
                        # QUANTIZE/DEQUANTIZE pairs (checked below)
                        edge = litert_torch.convert(m, (example,), quant_config=QuantConfig(pt2e_quantizer=q))
                    else:
                        wrapped, x = _channel_last(litert_torch, model, example)
                        edge = litert_torch.convert(wrapped, (x,))
                    edge.export(str(path))
            except Exception as exc:  # noqa: BLE001 - one line with the op
                raise conversion_error(self, spec, exc) from None
        meta = {"converter": "litert_torch.convert"}
        if dtype == "int8":
            kinds = int8_kernels(path)
            if not kinds:
                raise ConversionError(f"LiteRT int8 of '{spec}': litert-torch produced no int8 CONV_2D, "
                                      "DEPTHWISE_CONV_2D or FULLY_CONNECTED kernel (the MAC ops run in float "
                                      "between QUANTIZE/DEQUANTIZE); use --dtype float32")
            meta["quantization"] = self.int8_note() + f"; int8 kernels: {', '.join(kinds)}"
        return meta

    def load(self, artifact: Artifact, threads: int = 1, *, model=None, example=None,
             profile: bool = False) -> Session:
        return LiteSession(artifact, threads)


def _channel_last(litert_torch, model, example):
    """The model with NHWC input (and NHWC output where it is 4-D), as phones feed TFLite models
    (litert_torch.to_channel_last_io): without it every converted model starts and ends with a
    layout TRANSPOSE, which a lone op pays and the same op inside a network does not."""
    import torch

    if example.dim() != 4:
        return model, example
    with torch.no_grad():
        out = model(example)
    outs = [0] if isinstance(out, torch.Tensor) and out.dim() == 4 else None
    wrapped = litert_torch.to_channel_last_io(model, args=[0], outputs=outs)
    return wrapped, example.permute(0, 2, 3, 1).contiguous()


_MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL")


def int8_kernels(path: Path) -> list[str]:
    """The MAC ops of a .tflite whose first input is int8 (each kind once)."""
    with _quiet():
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        it = Interpreter(model_path=str(path), num_threads=1,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        it.allocate_tensors()
        dtype = {t["index"]: t["dtype"] for t in it.get_tensor_details()}
        out = []
        for o in it._get_ops_details():
            if o["op_name"] in _MAC_OPS and len(o["inputs"]) and dtype.get(int(o["inputs"][0])) == np.int8:
                if o["op_name"] not in out:
                    out.append(o["op_name"])
        return out


def graph_ops(path: Path) -> list[str]:
    """The converted graph's op names (before delegation), in order."""
    with _quiet():
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        it = Interpreter(model_path=str(path), num_threads=1,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        it.allocate_tensors()
        return [d["op_name"] for d in it._get_ops_details()]


class LiteSession(Session):
    runtime = "litert"

    def __init__(self, artifact: Artifact, threads: int):
        self.artifact, self.threads = artifact, int(threads)
        with _quiet():
            from ai_edge_litert.interpreter import Interpreter

            try:
                self.it = Interpreter(model_path=str(artifact.path), num_threads=int(threads))
                self.it.allocate_tensors()
            except Exception as exc:  # noqa: BLE001
                raise ConversionError(f"LiteRT cannot load '{artifact.path}': {first_line(exc)}") from None
        d = self.it.get_input_details()[0]
        shape = tuple(int(s) for s in d["shape"])
        rng = np.random.default_rng(0)
        if np.issubdtype(d["dtype"], np.integer):
            x = rng.integers(-128, 127, size=shape).astype(d["dtype"])
        else:
            x = rng.standard_normal(shape).astype(d["dtype"])
        self.index = d["index"]
        self.input_shape = shape         # NHWC for a 4-D image input (see _channel_last)
        self.it.set_tensor(self.index, x)
        self.it.invoke()
        self.invoke = self.it.invoke

    def run(self):
        self.invoke()

    def op_times(self, runs: int = 10) -> list[OpTime] | None:
        return None
