"""Model registry: one file per model family, one ``@register_model`` per zoo name.

A zoo entry knows its paper, its knobs (the paper's own hyper-parameters, e.g. the
MobileNet width multiplier) with their defaults and allowed values, and the input the
paper used (channels and resolution). ``create_model("mobilenet_v1", width=0.5)``
builds it; ``parse_spec("mobilenet_v1:width=0.5")`` turns a command-line spec into
``(entry, knob values)``.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch.nn as nn
from ..errors import SpecError  # noqa: F401




@dataclass(frozen=True)
class Knob:
    """One of a paper's knobs.

    ``type`` is float, int or str; ``choices`` (optional) restricts the values;
    ``low``/``high`` (optional) bound numeric values (inclusive).
    """

    default: Any
    help: str = ""
    type: type = float
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None

    def parse(self, name: str, raw: Any) -> Any:
        if isinstance(raw, str):
            try:
                value = self.type(raw)
            except ValueError:
                raise SpecError(
                    f"knob '{name}' expects {self.type.__name__}, got {raw!r}"
                ) from None
        else:
            value = self.type(raw)
        if isinstance(value, float) and not math.isfinite(value):   # 'nan' passes every bound check
            raise SpecError(f"knob '{name}' expects a finite number; got {raw!r}")
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            raise SpecError(f"knob '{name}' must be one of {allowed}; got {raw!r}")
        if self.low is not None and value < self.low or self.high is not None and value > self.high:
            bound = (f"lie in [{self.low}, {self.high}]" if self.low is not None and self.high is not None
                     else f"be >= {self.low}" if self.low is not None else f"be <= {self.high}")
            raise SpecError(f"knob '{name}' must {bound}; got {raw!r}")
        return value


@dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: Callable[..., nn.Module]
    paper: str
    family: str
    knobs: dict[str, Knob] = field(default_factory=dict)
    resolution: int = 224
    in_channels: int = 3
    aliases: tuple[str, ...] = ()
    description: str = ""
    # optional decomposition: blocks(input_shape, **knobs) -> [(zoo spec, input shape), ...]
    # whose costs sum to the whole network's (each block traced once, cached by spec+shape)
    blocks: Callable[..., list[tuple[str, tuple[int, ...]]]] | None = None

    def default_input_shape(self, resolution: int | None = None) -> tuple[int, int, int, int]:
        r = self.resolution if resolution is None else resolution
        return (1, self.in_channels, r, r)

    def build(self, **knobs: Any) -> nn.Module:
        values = self.resolve_knobs(knobs)
        return self.builder(**values)

    def resolve_knobs(self, given: dict[str, Any]) -> dict[str, Any]:
        values = {k: kn.default for k, kn in self.knobs.items()}
        for key, raw in given.items():
            if key not in self.knobs:
                known = ", ".join(self.knobs) or "none"
                raise SpecError(f"model '{self.name}' has no knob '{key}' (its knobs: {known})")
            values[key] = self.knobs[key].parse(key, raw)
        return values


_REGISTRY: dict[str, ModelEntry] = {}
_ALIASES: dict[str, str] = {}


def register_model(
    name: str,
    *,
    paper: str,
    family: str,
    knobs: dict[str, Knob] | None = None,
    resolution: int = 224,
    in_channels: int = 3,
    aliases: tuple[str, ...] = (),
    description: str = "",
    blocks: Callable[..., list[tuple[str, tuple[int, ...]]]] | None = None,
):
    """Decorator: register ``fn(**knobs) -> nn.Module`` as zoo model ``name``."""

    def deco(fn: Callable[..., nn.Module]):
        if name in _REGISTRY or name in _ALIASES:
            raise ValueError(f"model name {name!r} registered twice")
        entry = ModelEntry(
            name=name,
            builder=fn,
            paper=paper,
            family=family,
            knobs=dict(knobs or {}),
            resolution=resolution,
            in_channels=in_channels,
            aliases=tuple(aliases),
            description=description or (fn.__doc__ or "").strip().split("\n")[0],
            blocks=blocks,
        )
        _REGISTRY[name] = entry
        for a in aliases:
            if a in _REGISTRY or a in _ALIASES:
                raise ValueError(f"alias {a!r} registered twice")
            _ALIASES[a] = name
        return fn

    return deco


def list_models() -> list[ModelEntry]:
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def get_entry(name: str) -> ModelEntry:
    key = name.strip()
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        names = sorted(set(_REGISTRY) | set(_ALIASES))
        close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        if key.endswith(".py") or key in ("torchvision", "timm", "hf"):
            # a user model or an extra's spec reached a command that builds zoo specs only
            hint = "; this takes zoo specs only, not a user model (file.py:factory) or a torchvision:/timm:/hf: spec"
        elif "/" in key:
            # a path that names no model file (costlab memory /tmp)
            hint = ("; a path must name a model file (model.onnx, model.tflite) or a user model (file.py:factory), "
                    "where the command takes them")
        raise SpecError(f"unknown model '{name}'{hint} (run 'costlab zoo' to list models)")
    return _REGISTRY[key]


def parse_spec(spec: str) -> tuple[ModelEntry, dict[str, Any]]:
    """``'name:key=value,key=value'`` -> (entry, resolved knob values)."""
    name, _, rest = spec.partition(":")
    entry = get_entry(name)
    given: dict[str, str] = {}
    if rest.strip():
        for part in rest.split(","):
            key, eq, value = part.partition("=")
            if not eq or not key.strip() or not value.strip():
                raise SpecError(
                    f"bad knob {part!r} in '{spec}': write key=value, e.g. {entry.name}:"
                    + (f"{next(iter(entry.knobs))}={next(iter(entry.knobs.values())).default}" if entry.knobs else "")
                )
            if key.strip() in given:
                raise SpecError(f"knob '{key.strip()}' given twice in '{spec}'")
            given[key.strip()] = value.strip()
    return entry, entry.resolve_knobs(given)


def create_model(name: str, **knobs: Any) -> nn.Module:
    """Build zoo model ``name`` with the given knob values (defaults elsewhere)."""
    return get_entry(name).build(**knobs)


@dataclass(frozen=True)
class PaperRow:
    """Links rows of ``paper_counts.csv`` to the zoo spec that should reproduce them.

    ``model`` and ``variant`` are the CSV's ``model`` and ``variant`` columns (exact
    strings); every row with that pair and a metric in ``metrics`` is compared (at the
    row's own resolution; ``-`` means the model's default). ``spec`` is the zoo spec,
    e.g. ``'mobilenet_v1:width=0.75'``. ``reasons`` maps a metric (or
    ``'metric@resolution'``) to the explanation printed when costlab differs by more than
    1%: a counting convention, a known inconsistency in the paper, or an open bug.
    """

    model: str
    variant: str
    spec: str
    metrics: tuple[str, ...] = ("params", "madds")
    reasons: dict[str, str] = field(default_factory=dict)


_PAPER_ROWS: list[PaperRow] = []


def paper_rows(*rows: PaperRow) -> None:
    """Declare, from a family module, which paper_counts.csv rows its models reproduce."""
    _PAPER_ROWS.extend(rows)


def list_paper_rows() -> list[PaperRow]:
    """Every declared row, in a fixed order (not the order family modules were imported)."""
    return sorted(_PAPER_ROWS, key=lambda r: (r.model, r.variant, r.spec))
