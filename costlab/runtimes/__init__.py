"""Deployment runtimes: PyTorch eager, ONNX Runtime, OpenVINO and LiteRT, one interface.

``get_runtime(name)`` gives a :class:`~costlab.runtimes.base.Runtime`; :func:`artifact`
exports / converts a model once (cached by content hash, :mod:`costlab.runtimes.cache`);
:func:`open_session` loads it with a thread count and a fixed random input. Measuring is
:mod:`costlab.runtimes.bench`; how each runtime is driven is its own module (``onnx_rt``,
``openvino_rt``, ``litert_rt``, ``torch_rt``), each one file registered here.
"""
from __future__ import annotations

from typing import Sequence

from ..errors import UsageError
from .base import DTYPES, Artifact, ConversionError, OpTime, Runtime, RuntimeMissing, Session
from .litert_rt import LiteRT
from .onnx_rt import OnnxRuntime
from .openvino_rt import OpenVino
from .torch_rt import TorchEager

RUNTIMES: dict[str, Runtime] = {r.name: r for r in (TorchEager(), OnnxRuntime(), OpenVino(), LiteRT())}
NAMES = tuple(RUNTIMES)
DEPLOYED = ("ort", "openvino", "litert")


def get_runtime(name: str) -> Runtime:
    try:
        return RUNTIMES[name]
    except KeyError:
        raise UsageError(f"unknown runtime '{name}'; use one of {', '.join(NAMES)}") from None


def installed() -> list[str]:
    return [n for n, r in RUNTIMES.items() if r.missing() is None]


def refuse_model_file(spec) -> None:
    """A runtime converts a PyTorch model; a MODEL that names an .onnx / .tflite file is refused in one line."""
    from ..frontends import is_file_spec

    if isinstance(spec, str) and is_file_spec(spec):
        raise UsageError(f"'{spec.strip()}' is a model file; costlab converts and times PyTorch models (a zoo spec, "
                         "file.py:factory, torchvision:NAME), not files: time it with its runtime's own tool "
                         "(onnxruntime_perf_test, TFLite benchmark_model), or predict it with costlab analyze "
                         f"{spec.strip()} --device PROFILE")


def one_image_input(shapes, spec: str, command: str) -> tuple[int, ...]:
    """The one float input shape a runtime is fed (a random float32 tensor), from the shapes the
    options gave; several inputs, or an input of another dtype (``1x3x32x32:int64``), one line."""
    if len(shapes) != 1:
        raise UsageError(f"costlab {command} runs models with one image input; '{spec}' takes {len(shapes)}")
    dtype = getattr(shapes[0], "dtype", None)
    if dtype not in (None, "float32"):
        hint = " (int8 weights and activations: --dtype int8)" if command == "bench" else ""
        raise UsageError(f"costlab {command} feeds '{spec}' a random float32 input, not {dtype}: drop "
                         f"':{dtype}' from --input-shape{hint}")
    return tuple(int(d) for d in shapes[0])


def build_model(spec, input_shape: Sequence[int] | None = None, seed: int = 0):
    """(display name, eval-mode CPU module, example input, content identity) of a spec
    string (zoo, library or user spec; random weights from ``seed``) or a module."""
    import torch

    from .cache import module_digest

    if isinstance(spec, torch.nn.Module):
        if input_shape is None:
            raise UsageError("give an input shape for a module (input_shape=(1, 3, 224, 224))")
        model = spec.eval()
        return type(spec).__name__, model, _example(input_shape, seed), {"module": module_digest(model)}
    from ..calibrate.grid import default_input_shape
    from ..spec import resolve

    refuse_model_file(spec)
    torch.manual_seed(seed)
    resolved = resolve(spec, device="cpu")
    model = resolved.model.eval()
    if input_shape is None:
        input_shape = default_input_shape(spec) if resolved.entry is not None else None
        if input_shape is None:
            raise UsageError(f"'{spec}' has no default image input; pass --input-shape")
    return resolved.name, model, _example(input_shape, seed), {"module": module_digest(model)}


def _example(shape, seed: int):
    import torch

    g = torch.Generator().manual_seed(seed)
    return torch.randn(tuple(int(d) for d in shape), generator=g)


def cache_identity(rt: Runtime, ident: dict, shape: Sequence[int], dtype: str) -> dict:
    """What an artifact's cache key hashes: the model's content identity, input shape, dtype,
    runtime and its versions, and the key's format."""
    return {"model": ident, "input_shape": [int(d) for d in shape], "dtype": dtype, "runtime": rt.name,
            "versions": rt.versions(), "format": 2}


def artifact(runtime: str | Runtime, spec, input_shape: Sequence[int] | None = None, *,
             dtype: str = "float32", seed: int = 0, built=None) -> Artifact:
    """The runtime's artifact for ``spec`` at ``input_shape``, from the cache or converted now.
    ``built``: an already built ``(name, model, example, identity)`` of :func:`build_model`."""
    from . import cache

    rt = runtime if isinstance(runtime, Runtime) else get_runtime(runtime)
    rt.require()
    rt.check_dtype(dtype)
    name, model, example, ident = built or build_model(spec, input_shape, seed)
    shape = tuple(int(d) for d in example.shape)
    if rt.suffix is None:
        return Artifact(rt.name, None, None, 0.0, True, "", shape, dtype, {"spec": name})
    identity = cache_identity(rt, ident, shape, dtype)
    key = cache.key_of(identity)
    hit = cache.lookup(rt.name, key, rt.suffix)
    if hit is not None:
        path, rec = hit
        return Artifact(rt.name, path, rec["sha256"], float(rec.get("convert_s", 0.0)), True, key, shape, dtype,
                        {**rec, "spec": name})
    _runs_on(model, example, name)
    path, rec = cache.store(rt.name, key, rt.suffix,
                            lambda p: rt.convert(model, example, p, dtype=dtype, spec=name),
                            {**identity, "spec": name})
    return Artifact(rt.name, path, rec["sha256"], float(rec["convert_s"]), False, key, shape, dtype,
                    {**rec, "spec": name})


def probe_artifact(runtime: Runtime, model, shape: Sequence[int], label: str) -> Artifact:
    """The artifact of a probe model (an ``nn.Module`` the caller built, in eval mode) under
    ``label`` in place of its class name: the fusion, layout and activation-pass probes."""
    return artifact(runtime, model, shape, built=(label,) + build_model(model, shape)[1:])


def _runs_on(model, example, name: str) -> None:
    """A forward that fails on the input is the input's fault, not the converter's: say so."""
    import torch

    from ..errors import InputError
    from .base import first_line, shape_text

    try:
        with torch.no_grad():
            model(example)
    except Exception as exc:  # noqa: BLE001 - one line
        raise InputError(f"'{name}' does not run on a {shape_text(example.shape)} input: {first_line(exc)}; "
                         f"{_input_hint(name, example.shape)}") from None


def _input_hint(name: str, used) -> str:
    """What input to give instead: a zoo model's default input, else the option to use."""
    from ..calibrate.grid import default_input_shape
    from .base import shape_text

    try:
        default = tuple(default_input_shape(name))
    except Exception:  # noqa: BLE001 - not a zoo spec (a user or library model): no default to name
        return "give the input it takes with --input-shape"
    if tuple(used) == default:
        return "give the input it takes with --input-shape"
    return f"its default input is {shape_text(default)} (drop --input-shape / --resolution, or give one it takes)"


def open_session(runtime: str | Runtime, spec, input_shape: Sequence[int] | None = None, *, threads: int = 1,
                 dtype: str = "float32", seed: int = 0) -> tuple[Session, Artifact]:
    rt = runtime if isinstance(runtime, Runtime) else get_runtime(runtime)
    built = build_model(spec, input_shape, seed)
    art = artifact(rt, spec, input_shape, dtype=dtype, seed=seed, built=built)
    return rt.load(art, threads, model=built[1], example=built[2]), art


__all__ = ["RUNTIMES", "NAMES", "DEPLOYED", "DTYPES", "get_runtime", "installed", "artifact", "open_session",
           "build_model", "refuse_model_file", "one_image_input", "Artifact", "OpTime", "Runtime", "Session", "RuntimeMissing", "ConversionError"]
