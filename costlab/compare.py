"""Side-by-side comparison of models, also the distillation / ensemble trade-off view.

``compare(["resnet50", "resnet18", "resnet18+resnet34"])`` analyses every distinct model
once and returns one row per entry; an entry written ``a+b+c`` is an **ensemble**, counted
as the sum of its members (every member runs on the input: params, MACs, memory traffic,
activations and model size add up). The first entry is the reference of the ``*_rel``
columns (a teacher first, then its students: ``params_rel`` = 0.1 means 10x smaller).

Columns come from **column providers**: a provider turns one analysed model (its
:class:`~costlab.report.Report`, graph included) into values for its columns, and says
how ensemble members combine (``sum``, ``max``, ``join``). The built-in ``counts``
provider gives params, MACs, FLOPs, MAC bytes, activations and model size; other
capabilities register more (predicted latency per device, a guideline summary) with
:func:`register_column_provider`, and ``needs`` names the options such a provider
requires (e.g. ``('device',)``): it is used when the option is given, skipped otherwise.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import pandas as pd

from . import ops
from .api import analyze
from .errors import CostlabError, InputError, reworded
from .guidelines import check
from .present.tables import inputs_str
from .report import Column, Report
from .spec import default_input, resolve


@dataclass
class Member:
    """One analysed model: its spec as written, its display name, its report."""

    spec: str
    name: str
    report: Report


@dataclass(frozen=True)
class ColumnProvider:
    name: str
    columns: tuple[Column, ...]
    fn: Callable[[Member, dict[str, Any]], dict[str, Any]]
    needs: tuple[str, ...] = ()     # options required; without them the provider is skipped
    order: int = 50
    help: str = ""


_PROVIDERS: dict[str, ColumnProvider] = {}


def register_column_provider(provider: ColumnProvider) -> ColumnProvider:
    """Add columns to ``costlab compare`` (e.g. latency per device, guideline findings)."""
    if provider.name in _PROVIDERS:
        raise ValueError(f"column provider {provider.name!r} registered twice")
    _PROVIDERS[provider.name] = provider
    return provider


def list_column_providers() -> list[ColumnProvider]:
    return sorted(_PROVIDERS.values(), key=lambda p: (p.order, p.name))


# -- the built-in counts ------------------------------------------------------------------

def _counts(member: Member, options: dict[str, Any]) -> dict[str, Any]:
    t = member.report.totals
    return {"params": t["params"], "macs": t["macs"], "flops": t["flops"], "mac_bytes": t["mac_bytes"],
            "activations": t["activations"],
            "size_bytes": t["params"] * ops.dtype_bytes(member.report.dtype),
            "input": inputs_str(member.report.input_shape, member.report.input_dtypes)}


register_column_provider(ColumnProvider(
    "counts",
    (Column("params", "params", relative=True, help="parameters (each shared one once)"),
     Column("macs", "MACs", relative=True, help="multiply-accumulates of conv/linear/matmul"),
     Column("flops", "FLOPs", help="2 x MACs"),
     Column("mac_bytes", "MAC bytes", "bytes", relative=True, help="memory access cost (ShuffleNet V2)"),
     Column("activations", "activations", help="elements of every op's result"),
     Column("size_bytes", "model size", "bytes", relative=True, help="params x element size (dtype)"),
     Column("input", "input", "text", combine="join", help="input shape the model was analysed at")),
    _counts, order=0, help="params, MACs, FLOPs, MAC bytes, activations, model size"))


# -- the comparison -------------------------------------------------------------------------

@dataclass
class Comparison:
    rows: list[dict[str, Any]]
    columns: list[Column]
    reference: str
    options: dict[str, Any] = field(default_factory=dict)
    conventions: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)      # informational: default inputs, latency notes

    @property
    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "options": self.options,
                "columns": [{"key": c.key, "header": c.header, "unit": c.fmt, "ensemble": c.combine,
                             "help": c.help} for c in self.columns],
                "rows": self.rows, "conventions": self.conventions, "warnings": self.warnings, "notes": self.notes}


def split_entry(entry: str) -> list[str]:
    """``'a+b+c'`` -> ``['a', 'b', 'c']`` (an ensemble); a plain spec -> ``[spec]``."""
    parts = [p.strip() for p in str(entry).split("+")]
    if any(not p for p in parts):
        raise InputError(f"bad ensemble '{entry}': write members joined by '+', e.g. resnet18+resnet34")
    return parts


def _combine(col: Column, values: list[Any]) -> Any:
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    if col.combine == "sum":
        return sum(vals)
    if col.combine == "max":
        return max(vals)
    if col.combine == "join":
        uniq = list(dict.fromkeys(str(v) for v in vals))
        return uniq[0] if len(uniq) == 1 else " + ".join(str(v) for v in vals)
    raise ValueError(f"unknown combine rule {col.combine!r}")


def _members(todo: list[str], *, input_shape, resolution, dtype, batch, device, runtime,
             progress: bool) -> tuple[dict[str, "Member"], list[str]]:
    """Each distinct model analysed once, and the notes to show (default inputs, latency notes)."""
    from tqdm import tqdm

    members: dict[str, Member] = {}
    notes: list[str] = []
    for spec in tqdm(todo, desc="compare", unit="model", disable=None if progress else True, leave=False):
        resolved = resolve(spec)
        res, note = default_input(resolved, input_shape, resolution)
        if note:
            notes.append(note)
        try:
            rep = analyze(resolved, input_shape=input_shape, resolution=res, dtype=dtype, batch=batch,
                          device=device, runtime=runtime)
        except CostlabError as exc:     # name the model; one --input-shape serves every model
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            hint = ("; --input-shape applies to every MODEL: compare models that take the same input"
                    if input_shape is not None and len(todo) > 1 else "")
            own = next((p for p in (f"{spec.strip()}: ", f"{os.path.basename(spec.strip())}: ") if msg.startswith(p)), "")
            named = f"{spec}: {msg[len(own):]}"        # a file's own errors name it already: once, as given
            raise reworded(exc, f"{named}{hint}") from None
        members[spec] = Member(spec, resolved.name, rep)
        for sec in rep.sections.values():
            notes.extend(n for n in sec.notes if n not in notes)
    return members, notes


def compare(entries: Sequence[str], *, input_shape=None, resolution: int | None = None,
            dtype: str = "float32", batch: int = 1, providers: Sequence[str] | None = None,
            options: dict[str, Any] | None = None, progress: bool = False,
            runtime: str | None = None) -> Comparison:
    """One row per entry (a model spec, or an ensemble ``a+b+c`` summed over its members).

    ``providers``: names of column providers (default: every registered one whose
    ``needs`` are met by ``options``); ``options``: e.g. ``{'device': 'arm'}`` for providers
    that need them. An option no chosen provider uses is an error (not silently ignored).
    """

    if not entries:
        raise InputError("compare needs at least one MODEL")
    options = {k: v for k, v in (options or {}).items() if v is not None}
    known = {p.name: p for p in list_column_providers()}
    if providers is None:
        chosen = [p for p in known.values() if all(n in options for n in p.needs)]
    else:
        bad = [n for n in providers if n not in known]
        if bad:
            raise InputError(f"unknown column group '{bad[0]}' (known: {', '.join(known)})")
        chosen = [known[n] for n in dict.fromkeys(providers)]
        for p in chosen:
            missing = [n for n in p.needs if n not in options]
            if missing:
                raise InputError(f"columns '{p.name}' need --{missing[0]}")
    used = {n for p in chosen for n in p.needs}
    unused = [k for k in options if k not in used]
    if unused:
        have = ", ".join(f"{p.name} (needs {', '.join(p.needs)})" for p in known.values() if p.needs) or "none"
        raise InputError(f"--{unused[0]}: no column of this build uses it (columns that take options: {have}); "
                         f"drop --{unused[0]}")
    columns = [c for p in chosen for c in p.columns]

    parsed = [split_entry(e) for e in entries]
    warnings: list[str] = []
    todo = list(dict.fromkeys(m for parts in parsed for m in parts))
    latency = "latency" in [p.name for p in chosen]
    members, notes = _members(todo, input_shape=input_shape, resolution=resolution, dtype=dtype, batch=batch,
                              device=options.get("device") if latency else None,
                              runtime=runtime if latency else None, progress=progress)

    values: dict[str, dict[str, Any]] = {}
    for spec, m in members.items():
        v: dict[str, Any] = {}
        for p in chosen:
            v.update(p.fn(m, options))
        values[spec] = v

    rows = []
    for entry, parts in zip(entries, parsed):
        row: dict[str, Any] = {"model": " + ".join(members[p].name for p in parts),
                               "members": [members[p].name for p in parts],
                               "ensemble": len(parts) > 1}
        for col in columns:
            row[col.key] = _combine(col, [values[p].get(col.key) for p in parts])
        rows.append(row)
    ref = rows[0]
    for col in columns:
        if col.relative:
            for row in rows:
                a, b = row.get(col.key), ref.get(col.key)
                row[f"{col.key}_rel"] = (a / b) if (a is not None and b) else None
    conventions = {
        "ensemble": "an entry a+b+c runs every member on the input: each column combines its members "
                    "as stated per column (counts and bytes add up)",
        "rel": f"<column>_rel = value / value of the first entry ({ref['model']})",
        "size_bytes": f"params x {dtype} element size; buffers not counted",
        "macs": "multiply-accumulates of conv/linear/matmul (the papers' FLOPs); FLOPs = 2 x MACs",
    }
    return Comparison(rows, columns, ref["model"], options, conventions, warnings, notes)


# -- predicted latency and guideline summary ------------------------------------------------

def _latency(member: Member, options: dict[str, Any]) -> dict[str, Any]:
    return {"latency_ms": member.report.totals["latency_ms"]}


def _guidelines(member: Member, options: dict[str, Any]) -> dict[str, Any]:
    result = check(member.report)   # latency shares when a latency column was added first
    return {"guidelines": ",".join(g for g, s in result.summary.items() if s["violated"]) or "-"}


register_column_provider(ColumnProvider(
    "latency",
    (Column("latency_ms", "latency ms", "ms", relative=True,
            help="predicted latency on the --device profile (ensembles: members run one after another)"),),
    _latency, needs=("device",), order=10, help="predicted latency on --device"))
register_column_provider(ColumnProvider(
    "guidelines",
    (Column("guidelines", "violates", "text", combine="join",
            help="ShuffleNet V2 guidelines violated (costlab guidelines MODEL for the findings)"),),
    _guidelines, order=20, help="guidelines G1-G4 violated"))
