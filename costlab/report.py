"""The :class:`Report` every pass reads and extends, and its typed columns.

A report holds one row per counted op (``layers``, a pandas DataFrame) and the model's
``totals``. The counts pass stores its rows as plain records (:class:`Rows`); ``layers`` turns
them into the DataFrame on first read, so a command that only prints the table (``costlab analyze
lenet5``) never loads pandas (a third of its start-up here); :meth:`Report.records` and
:meth:`Report.rollup_records` are the pandas-free views.

Its columns are typed: each :class:`Column` says how values combine when rows are rolled up to
a module depth or ensemble members are summed (``sum``, ``max``, ``union`` of tags, ``join`` of
labels, ``first`` / ``last``) and how they are shown (``count``, ``bytes``, ``ms``, ``float``,
``text``, ``shape``). The counts pass gives the
base columns; another pass adds its own with :meth:`Report.with_column` (predicted
``latency_ms``, guideline ``findings``) and what it says of the whole model with a
:class:`Section` (JSON keys and values the presenter shows, notes). Rollup, table, csv, json and
``costlab compare`` all read this one column model.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .ir import Graph

if TYPE_CHECKING:   # annotations only: pandas loads when ``Report.layers`` is first read
    import pandas as pd

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
            total = sum(self.cast(v) for v in values) if values else self.cast(0)
            # ms rows carry at most 6 decimals: a rolled-up sum without the float noise (115.40564199999993)
            return round(total, 9) if self.fmt == "ms" else total
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


class Rows(list):
    """A report's layer rows as plain records (dicts) under ``columns``, before any DataFrame."""

    def __init__(self, records=(), columns: Sequence[str] = ()):
        super().__init__(records)
        self.columns = list(columns)


class _LayersField:
    """``Report.layers``: stored as given (a DataFrame, or :class:`Rows`); read, always a DataFrame,
    made from the rows on first read and kept (a dataclass field whose default is a descriptor)."""

    def __set_name__(self, owner, name):
        self.slot = "_" + name

    def __get__(self, obj, objtype=None):
        if obj is None:
            raise AttributeError("layers has no default")   # a required field
        v = obj.__dict__[self.slot]
        if isinstance(v, Rows):
            import pandas

            v = pandas.DataFrame(list(v), columns=v.columns)
            obj.__dict__[self.slot] = v
        return v

    def __set__(self, obj, value):
        obj.__dict__[self.slot] = value


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
    layers: pd.DataFrame = _LayersField()     # type: ignore[assignment]  (a DataFrame when read)
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
        recs = self.records()
        keys = self.layer_keys
        if isinstance(values, Mapping):
            zero = "" if not column.numeric else column.cast(0)
            vals = [values.get(int(r["node"]), zero) for r in recs] if "node" in keys else [zero] * len(recs)
        else:
            vals = list(values)
        if len(vals) != len(recs):
            raise ValueError(f"column {column.key}: {len(vals)} values for {len(recs)} layer rows")
        for r, v in zip(recs, vals):
            r[column.key] = v
        cols = tuple(c for c in self.columns if c.key != column.key) + (column,)
        totals = dict(self.totals)
        if total is not None:
            totals[column.key] = total
        sections = dict(self.sections)
        if section is not None:
            sections[section.key] = section
        layers = Rows(recs, keys + ([column.key] if column.key not in keys else []))
        return replace(self, layers=layers, totals=totals, columns=cols, sections=sections)

    def copy(self) -> "Report":
        v = self.__dict__["_layers"]
        layers = Rows(self.records(), v.columns) if isinstance(v, Rows) else v.copy()
        return replace(self, layers=layers, totals=dict(self.totals),
                       sections=dict(self.sections), unsupported=copy.deepcopy(self.unsupported))

    # -- views of the report -----------------------------------------------------------
    @property
    def layer_keys(self) -> list[str]:
        """The layer table's column keys, in order (``node`` included), without building it."""
        return list(self.__dict__["_layers"].columns)

    def records(self) -> list[dict[str, Any]]:
        """The layer rows as new dicts (pandas-free when the report still holds its rows)."""
        v = self.__dict__["_layers"]
        if isinstance(v, Rows):
            return [dict(r) for r in v]
        return v.to_dict(orient="records")

    def rollup_records(self, depth: int | None) -> list[dict[str, Any]]:
        """:meth:`rollup` as plain records."""
        if depth is None:
            return self.records()
        if depth < 0:
            raise ValueError("depth must be >= 0")
        recs = self.records()
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in recs:
            groups.setdefault(rollup_key(r["module"], depth), []).append(r)
        return [{c.key: key if c.combine == "key" else c.merge([r[c.key] for r in rows]) for c in self.columns}
                for key, rows in groups.items()]

    def rollup(self, depth: int | None) -> pd.DataFrame:
        """Layers merged per module path cut to ``depth`` components (``None``: per op), each
        column by its combine rule."""
        if depth is None:
            return self.layers
        import pandas

        return pandas.DataFrame(self.rollup_records(depth), columns=[c.key for c in self.columns])

    def to_dict(self, depth: int | None = None) -> dict[str, Any]:
        kinds = {c.key: c for c in self.columns}
        recs = []
        for rec in self.rollup_records(depth):
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
