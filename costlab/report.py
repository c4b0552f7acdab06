"""The :class:`Report` every pass reads and extends, and its typed columns.

A report holds one row per counted op (``layers``, a pandas DataFrame) and the model's
``totals``. Its columns are typed: each :class:`Column` says how values combine when rows
are rolled up to a module depth or ensemble members are summed (``sum``, ``max``,
``union`` of tags, ``join`` of labels, ``first`` / ``last``) and how they are shown
(``count``, ``bytes``, ``ms``, ``float``, ``text``, ``shape``). The counts pass gives the
base columns; another pass adds its own with :meth:`Report.with_column` (predicted
``latency_ms``, guideline ``findings``) and what it says of the whole model with a
:class:`Section` (JSON keys and values the presenter shows, notes). Rollup, table, csv, json and
``costlab compare`` all read this one column model.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import pandas as pd

from .ir import Graph

COMBINES = ("sum", "max", "union", "join", "first", "last", "key")
FORMATS = ("count", "bytes", "ms", "float", "text", "shape")


@dataclass(frozen=True)
class Column:
    """One typed column: ``key`` in the data, ``header`` shown, ``fmt`` how values print,
    ``combine`` how rows merge, ``relative`` whether comparisons add ``<key>_rel``."""

    key: str
    header: str = ""
    fmt: str = "count"
    combine: str = "sum"
    relative: bool = False
    help: str = ""

    def __post_init__(self):
        if self.combine not in COMBINES:
            raise ValueError(f"column {self.key}: combine must be one of {', '.join(COMBINES)}")
        if self.fmt not in FORMATS:
            raise ValueError(f"column {self.key}: fmt must be one of {', '.join(FORMATS)}")

    @property
    def title(self) -> str:
        return self.header or self.key

    @property
    def numeric(self) -> bool:
        return self.fmt in ("count", "bytes", "ms", "float")

    def cast(self, v: Any) -> Any:
        """A JSON-ready value: int for counts and bytes, float for ms / float."""
        if self.fmt in ("count", "bytes"):
            return int(v)
        if self.fmt in ("ms", "float"):
            return float(v)
        return v

    def merge(self, values: Sequence[Any]) -> Any:
        """The value of a group of rows under this column's combine rule."""
        if self.combine == "sum":
            return sum(self.cast(v) for v in values) if values else self.cast(0)
        if self.combine == "max":
            return max(values) if len(values) else self.cast(0)
        if self.combine == "union":
            tags = {t for v in values for t in str(v).split(",") if t}
            return ",".join(sorted(tags))
        if self.combine == "join":
            return ",".join(dict.fromkeys(str(v) for v in values))
        if self.combine == "last":
            return values[-1]
        return values[0]   # first, key


BASE_COLUMNS: tuple[Column, ...] = (
    Column("name", fmt="text", combine="key", help="op row: module:kind[#n]; rolled up: the module path"),
    Column("module", fmt="text", combine="key", help="innermost module that issued the op"),
    Column("op", fmt="text", combine="join", help="op label (conv3x3/s2, dwconv3x3, relu6 ...)"),
    Column("input_shapes", fmt="shape", combine="first", help="shapes of the op's tensor inputs"),
    Column("output_shape", fmt="shape", combine="last", help="shape of the op's result"),
    Column("params", help="parameters first read by this op (each shared one once)"),
    Column("macs", header="MACs", help="multiply-accumulates of conv/linear/matmul"),
    Column("flops", header="FLOPs", help="2 x MACs"),
    Column("elem_ops", help="element operations outside MACs"),
    Column("mac_bytes", header="MAC bytes", fmt="bytes", help="memory access cost (ShuffleNet V2)"),
    Column("activations", help="elements of the op's result"),
)
COLUMNS = [c.key for c in BASE_COLUMNS]
NUMERIC = [c.key for c in BASE_COLUMNS if c.numeric]


@dataclass(frozen=True)
class Section:
    """What a pass says about the whole model beside its columns, as data: every line a user
    reads is made from it in :mod:`costlab.present` (by ``key``), never in the pass.

    ``key``: the pass that made it (``latency``, ``guidelines``), which also picks its presenter;
    ``data``: top-level keys it adds to the JSON (e.g. ``device``, ``latency``);
    ``values``: plain values the presenter reads beside ``data`` that are not in the JSON
    (e.g. the cost and verdict of the guideline check); ``notes``: warnings for stderr."""

    key: str
    data: Mapping[str, Any] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def rollup_key(module: str, depth: int) -> str:
    """The row a layer of ``module`` rolls up to at ``depth`` (``(model)`` at depth 0,
    ``(root)`` for ops of the root module)."""
    if depth == 0:
        return "(model)"
    if not module:
        return "(root)"
    return ".".join(module.split(".")[:depth])


@dataclass
class Report:
    model: str
    input_shape: list[list[int]]
    dtype: str
    layers: pd.DataFrame
    totals: dict[str, Any]
    unsupported: list[dict[str, Any]]
    conventions: dict[str, str]
    graph: Graph | None = field(default=None, repr=False)
    columns: tuple[Column, ...] = BASE_COLUMNS
    sections: dict[str, Section] = field(default_factory=dict)

    # -- extending: a pass returns a new report ------------------------------------------------
    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key), None)

    @property
    def added_columns(self) -> list[Column]:
        """Columns added by passes after the counts pass, in the order they were added."""
        return list(self.columns[len(BASE_COLUMNS):])

    def with_column(self, column: Column, values: Mapping[int, Any] | Sequence[Any],
                    total: Any = None, section: Section | None = None) -> "Report":
        """A copy with ``column`` added (or replaced): ``values`` per layer row (a sequence
        aligned with ``layers``) or per graph node id (a mapping; rows of nodes not in it
        get the column's zero), ``total`` into ``totals`` and ``section`` into ``sections``."""
        layers = self.layers.copy()
        if isinstance(values, Mapping):
            zero = "" if not column.numeric else column.cast(0)
            vals = [values.get(int(n), zero) for n in layers["node"]] if "node" in layers.columns \
                else [zero] * len(layers)
        else:
            vals = list(values)
        layers[column.key] = pd.Series(vals, index=layers.index, dtype=object if not column.numeric else None)
        cols = tuple(c for c in self.columns if c.key != column.key) + (column,)
        totals = dict(self.totals)
        if total is not None:
            totals[column.key] = total
        sections = dict(self.sections)
        if section is not None:
            sections[section.key] = section
        return replace(self, layers=layers, totals=totals, columns=cols, sections=sections)

    def copy(self) -> "Report":
        return replace(self, layers=self.layers.copy(), totals=dict(self.totals),
                       sections=dict(self.sections), unsupported=copy.deepcopy(self.unsupported))

    # -- views of the report -----------------------------------------------------------
    def rollup(self, depth: int | None) -> pd.DataFrame:
        """Layers merged per module path cut to ``depth`` components (``None``: per op), each
        column by its combine rule."""
        if depth is None:
            return self.layers
        if depth < 0:
            raise ValueError("depth must be >= 0")
        df = self.layers
        keys = [c.key for c in self.columns]
        if df.empty:
            return pd.DataFrame(columns=keys)
        groups: dict[str, list[int]] = {}
        for i, module in enumerate(df["module"]):
            groups.setdefault(rollup_key(module, depth), []).append(i)
        rows = []
        for key, idx in groups.items():
            row: dict[str, Any] = {}
            for c in self.columns:
                row[c.key] = key if c.combine == "key" else c.merge(df[c.key].iloc[idx].tolist())
            rows.append(row)
        return pd.DataFrame(rows, columns=keys)

    def to_dict(self, depth: int | None = None) -> dict[str, Any]:
        layers = self.rollup(depth)
        kinds = {c.key: c for c in self.columns}
        recs = []
        for rec in layers.to_dict(orient="records"):
            recs.append({k: (kinds[k].cast(v) if k in kinds else (int(v) if k == "node" else v))
                         for k, v in rec.items()})
        d: dict[str, Any] = {
            "model": self.model,
            "input_shape": self.input_shape if len(self.input_shape) > 1 else self.input_shape[0],
            "dtype": self.dtype,
            **({"input_dtypes": self.input_dtypes} if self.graph is not None else {}),
            "conventions": self.conventions,
            "totals": self.totals,
            "layers": recs,
            "unsupported": self.unsupported,
        }
        for s in self.sections.values():
            d.update(s.data)
        return d

    @property
    def input_dtypes(self) -> list[str]:
        """The traced inputs' dtypes (``int64`` for token ids); ``dtype`` is the element size
        MAC bytes assume for floating tensors."""
        return [t.dtype for t in self.graph.inputs] if self.graph is not None else []

    def to_json(self, depth: int | None = None, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(depth), indent=indent)
