"""The settings of :func:`costlab.compress.compress`: checked before any model is built
(fail fast), parsed into a value per layer (``0.9`` / ``'conv=0.65,fc=0.91'`` / layer
paths / a paper's per-layer table), and recorded as the user gave them."""
from __future__ import annotations

import os
from typing import Any, Mapping

from ..spec import InputError
from .layers import Layer
from .tables import PRUNE_TABLES

VALUE_BITS = 32
DEFAULT_INDEX_BITS = {"conv": 8, "fc": 5}
KINDS = ("conv", "fc")


def check_settings(prune, prune_table: str | None, bits, huffman: bool, binarize: str | None) -> str | None:
    """The settings that need no model, checked first; returns the binarize variant
    (``'weights'``, ``'xnor'`` or None)."""
    binarize_variant = None
    if binarize is not None:
        parts = {p.strip() for p in str(binarize).replace("+", ",").split(",") if p.strip()}
        if parts == {"weights"}:
            binarize_variant = "weights"
        elif parts == {"weights", "inputs"}:
            binarize_variant = "xnor"
        else:
            raise InputError(f"--binarize: write 'weights' (binary-weight network) or 'weights,inputs' "
                             f"(XNOR-Net), got {binarize!r}")
        if prune is not None or prune_table is not None or bits is not None or huffman:
            raise InputError("--binarize replaces pruning, quantization and Huffman coding; "
                             "drop --prune/--prune-table/--bits/--huffman")
    if prune is not None and prune_table is not None:
        raise InputError("give --prune or --prune-table, not both")

    if huffman and bits is None and prune is None and prune_table is None:
        raise InputError("--huffman codes quantized weights and sparse indices: add --bits (and/or --prune)")
    return binarize_variant


def parse_spec(spec, layers: list[Layer], what: str, cast, check) -> dict[str, Any]:
    """``0.9`` / ``'0.9'`` / ``'conv=0.65,fc=0.91'`` / ``'features.conv1=0.5'`` / dict ->
    value per layer path (layer key > kind key > bare value); layers without a value are
    left out."""
    if spec is None:
        return {}
    items = _spec_items(spec)
    if not items:
        raise InputError(f"--{what}: empty setting; write a value (e.g. 0.9) or kind=value pairs "
                         "(conv=...,fc=...)")
    paths = [lay.path for lay in layers]
    keys = [k for k, _ in items]
    twice = next((k for i, k in enumerate(keys) if k in keys[:i]), False)
    if twice is not False:
        raise InputError(f"--{what}: {'a bare value' if twice is None else repr(twice)} is given twice; "
                         "give each layer, kind or bare value once")
    default, by_kind, by_path = None, {}, {}
    for key, raw in items:
        try:
            value = cast(raw)
        except (TypeError, ValueError):
            raise InputError(f"--{what}: bad value {raw!r}" + (f" for '{key}'" if key else "")) from None
        msg = check(value)
        if msg:
            raise InputError(f"--{what}: {msg}, got {raw!r}" + (f" for '{key}'" if key else ""))
        if key is None or key in ("*", "all", "default"):
            default = value
        elif key in KINDS:
            by_kind[key] = value
        else:
            hits = [p for p in paths if p == key] or [p for p in paths if p.endswith("." + key)]
            if len(hits) != 1:
                some = ", ".join(paths[:4]) + (", ..." if len(paths) > 4 else "")
                why = "matches several layers" if hits else "is no layer or kind of this model"
                raise InputError(f"--{what}: '{key}' {why}; use conv=, fc=, a bare value for all "
                                 f"layers, or a layer path ({some})")
            by_path[hits[0]] = value
    out = {}
    for lay in layers:
        if lay.path in by_path:
            out[lay.path] = by_path[lay.path]
        elif lay.kind in by_kind:
            out[lay.path] = by_kind[lay.kind]
        elif default is not None:
            out[lay.path] = default
    return out


def _spec_items(spec) -> list[tuple[str | None, Any]]:
    """(key or None, raw value) pairs of a setting as given."""
    items: list[tuple[str | None, Any]] = []
    if isinstance(spec, Mapping):
        items = [(str(k), v) for k, v in spec.items()]
    elif isinstance(spec, (int, float)) and not isinstance(spec, bool):
        items = [(None, spec)]
    else:
        for part in str(spec).split(","):
            part = part.strip()
            if not part:
                continue
            key, eq, val = part.rpartition("=")
            items.append((key.strip() if eq else None, val.strip()))
    return items


def check_rate(v: float) -> str | None:
    return None if 0.0 <= v < 1.0 else "pruning rate (fraction of weights removed) must lie in [0, 1)"


def check_bits(v: int) -> str | None:
    return None if 1 <= v <= 16 else "bits must lie in 1..16"


def check_index(v: int) -> str | None:
    return None if 1 <= v <= 16 else "index bits must lie in 1..16"


def as_int(raw) -> int:
    if isinstance(raw, float) and not raw.is_integer():
        raise ValueError
    return int(str(raw))


def pruning_rates(prune, prune_table: str | None, layers: list[Layer],
                  model_name: str) -> tuple[dict[str, float], dict[str, float]]:
    """(fraction of weights kept, the paper's Act% of the input) per layer path, from
    ``--prune`` or ``--prune-table``."""
    keep: dict[str, float] = {}
    act_pct: dict[str, float] = {}
    if prune_table is not None:
        if prune_table not in PRUNE_TABLES:
            raise InputError(f"--prune-table: unknown table '{prune_table}' (known: {', '.join(PRUNE_TABLES)})")
        table, _src = PRUNE_TABLES[prune_table]
        rows = table.get(model_name)
        if rows is None:
            raise InputError(f"--prune-table {prune_table} has per-layer rates for {', '.join(table)} "
                             f"(zoo defaults), not for {model_name}; use --prune with per-layer values")
        paths = {lay.path for lay in layers}
        if set(rows) - paths:
            raise InputError(f"--prune-table {prune_table}: layers {sorted(set(rows) - paths)} not in {model_name}")
        keep = {p: v[0] for p, v in rows.items()}
        act_pct = {p: v[1] for p, v in rows.items()}
    else:
        keep = {p: 1.0 - r for p, r in parse_spec(prune, layers, "prune", float, check_rate).items()}
    return keep, act_pct


def index_bits_per_layer(index_bits, layers: list[Layer]) -> dict[str, int]:
    """Relative-index bits per layer path (default conv=8, fc=5)."""
    ibits_given = parse_spec(index_bits, layers, "index-bits", as_int, check_index)
    return {lay.path: ibits_given.get(lay.path, DEFAULT_INDEX_BITS[lay.kind]) for lay in layers}


def as_setting(v):
    """A setting as the user gave it, JSON-safe (per-layer values are in the layer rows)."""
    if v is None or isinstance(v, (int, float, str)):
        return v
    if isinstance(v, Mapping):
        return {str(k): x for k, x in v.items()}
    return str(v)


def settings_record(*, prune, prune_table, bits, index_bits, huffman, binarize_variant, full_precision,
                    source, weights, seed, fit_sample, quantized: bool, input_shape) -> dict[str, Any]:
    """The report's ``settings``: what was asked for, as given."""
    return {
        "prune": as_setting(prune),
        "prune_table": prune_table,
        "bits": as_setting(bits),
        "index_bits": as_setting(index_bits) if index_bits is not None else "conv=8,fc=5 (default)",
        "huffman": bool(huffman),
        "binarize": binarize_variant,
        "keep_full": sorted(full_precision) if binarize_variant else None,
        "weights": source,
        "weights_file": os.fspath(weights) if weights is not None else None,
        "seed": seed,
        "kmeans": {"init": "linear", "fit_sample": fit_sample} if quantized else None,
        "value_bits": VALUE_BITS,
        "input_shape": input_shape,
    }
