"""What every deployment runtime is to costlab: convert once, load, run, time, profile per op.

A :class:`Runtime` turns a PyTorch model (a zoo spec, a library spec or a module) into its
deployed artifact (an ``.onnx`` or ``.tflite`` file; PyTorch eager has none), loads it into a
:class:`Session` with a fixed number of threads, runs it on one fixed random input, and, where
the runtime reports per-operator times, returns them (:class:`OpTime`). Artifacts are cached
by content hash (:mod:`costlab.runtimes.cache`).

Errors a user can cause are one line: a runtime that is not installed names its extra
(:class:`RuntimeMissing`), a conversion that fails names the runtime and the op
(:class:`ConversionError`), a dtype the runtime's path lacks says so (``MeasureError``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import CostlabError, MeasureError


class RuntimeMissing(CostlabError, ImportError):
    """A deployment runtime that is not installed; the message names the extra to install."""


class ConversionError(CostlabError, RuntimeError):
    """Export / conversion of a model to a runtime's format failed; the message names the op."""


DTYPES = ("float32", "int8")


@dataclass(frozen=True)
class Artifact:
    """A converted model file (or, for torch, none) and how it was made."""

    runtime: str
    path: Path | None
    sha256: str | None
    convert_s: float              # seconds the export / conversion took when it was made
    cached: bool                  # True when this call found it in the cache
    key: str                      # the cache key (content hash of model, input, runtime, versions)
    input_shape: tuple[int, ...]
    dtype: str = "float32"
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OpTime:
    """One kernel as the runtime reports it: its name, its type, mean ms per inference, and
    the source (ONNX / TFLite) node names it covers (fused nodes included), when known."""

    name: str
    op_type: str
    ms: float
    covers: tuple[str, ...] = ()
    exec_type: str = ""


class Session:
    """A loaded artifact with its fixed input: ``run()`` is one inference."""

    runtime: str = ""
    threads: int = 1

    def run(self) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def op_times(self, runs: int = 10) -> list[OpTime] | None:
        """Per-kernel mean ms over ``runs`` profiled inferences, or None when the runtime
        reports none (the caller says so)."""
        return None

    def close(self) -> None:
        pass


class Runtime:
    """One deployment runtime. Subclasses set ``name``, ``title``, ``extra``, ``suffix``."""

    name: str = ""
    title: str = ""
    extra: str = ""                 # pip extra: costlab[<extra>]
    modules: tuple[str, ...] = ()   # importable modules the runtime needs
    suffix: str | None = None       # artifact file suffix; None: no artifact (torch)
    dtypes: tuple[str, ...] = ("float32",)
    per_op: str = ""                # how its per-op times are read ('' = none)

    def missing(self) -> str | None:
        """None when installed, else the one-line reason with the fix."""
        import importlib.util

        for mod in self.modules:
            try:
                found = importlib.util.find_spec(mod) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                return (f"runtime '{self.name}' ({self.title}) is not installed (no module '{mod}'); "
                        f"install it with: pip install 'costlab[{self.extra}]'")
        return None

    def require(self) -> None:
        why = self.missing()
        if why:
            raise RuntimeMissing(why)

    def version(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def versions(self) -> dict:
        """Every version the artifact depends on (cache key, provenance)."""
        import torch

        return {"runtime": self.version(), "torch": torch.__version__}

    def check_dtype(self, dtype: str) -> None:
        if dtype not in DTYPES:
            raise MeasureError(f"unknown --dtype {dtype!r}; use float32 or int8")
        if dtype not in self.dtypes:
            raise MeasureError(f"--dtype {dtype} is not supported by runtime '{self.name}' in costlab "
                               f"({self.int8_note()}); use --dtype float32")

    def int8_note(self) -> str:
        return "no int8 path"

    def convert(self, model, example, path: Path, dtype: str = "float32") -> dict:  # pragma: no cover
        """Write the artifact for ``model`` at ``example`` to ``path``; return metadata."""
        raise NotImplementedError

    def load(self, artifact: Artifact, threads: int = 1, *, model=None, example=None,
             profile: bool = False) -> Session:  # pragma: no cover - interface
        raise NotImplementedError


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first non-empty line of an exception's message (converters print pages)."""
    text = str(exc).strip() or type(exc).__name__
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    return line if len(line) <= limit else line[:limit - 3] + "..."


_OP_PATTERNS = (r"aten::[A-Za-z0-9_.]+", r"aten\.[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?",
                r"torch\.ops\.[A-Za-z0-9_.]+", r"operator\s+'?([A-Za-z0-9_:.]+)'?",
                r"op(?:erator)?[ _]type\s*[:=]?\s*'?([A-Za-z0-9_:.]+)'?")


def op_in_message(text: str) -> str | None:
    """The op a converter's error names, if it names one."""
    for pat in _OP_PATTERNS:
        m = re.search(pat, text)
        if m:
            return m.group(m.lastindex or 0)
    return None


def conversion_error(runtime: Runtime, spec: str, exc: BaseException) -> ConversionError:
    text = str(exc)
    op = op_in_message(text)
    what = f"op {op}" if op else "an op the exporter could not map (no op named in its message)"
    return ConversionError(f"{runtime.title} ({runtime.name}) cannot convert '{spec}': {what}: "
                           f"{first_line(exc)}")


def shape_text(shape: Sequence[int]) -> str:
    return "x".join(str(int(d)) for d in shape)
