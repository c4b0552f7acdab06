"""``costlab compare``'s table: models side by side (presentation: reads a Comparison's plain
rows, typed columns and reference; imports no pass)."""
from __future__ import annotations

import json

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

from .tables import NONE, frame, human, markdown_table, missing, ms, num, text_table, to_csv


def _fmt(col_fmt: str):
    """How a column of type ``col_fmt`` (:class:`costlab.report.Column`) shows a value."""
    if col_fmt == "count":
        return lambda v: NONE if missing(v) else human(v)
    if col_fmt == "bytes":
        return lambda v: NONE if missing(v) else human(v, "B")
    if col_fmt == "ms":
        return ms
    if col_fmt == "float":
        return lambda v: num(v, ".4g")
    return lambda v: NONE if v is None else str(v)


def _rel(v) -> str:
    return num(v, ".3g", "x")


def comparison_text(cmp, fmt: str) -> str:
    """``cmp`` (:class:`costlab.compare.Comparison`) as table, markdown, csv or json."""
    if fmt == "json":
        return json.dumps(cmp.to_dict(), indent=2)
    df = frame(cmp.rows)
    keys = ["model"]
    headers = {"model": "model"}
    fm = {}
    for c in cmp.columns:
        keys.append(c.key)
        headers[c.key] = c.header
        fm[c.header] = _fmt(c.fmt)
        if c.relative:
            keys.append(f"{c.key}_rel")
            headers[f"{c.key}_rel"] = f"{c.header} rel"
            fm[f"{c.header} rel"] = _rel
    if fmt == "csv":
        out = df[keys].copy()
        out.insert(1, "members", df["members"].map(lambda m: "+".join(m)))
        return to_csv(out)
    view = df[keys].rename(columns=headers)
    cols = list(view.columns)
    right = set(cols) - {"model"} - {c.header for c in cmp.columns if c.fmt == "text"}   # text left ('violates')
    note = (f"reference for 'rel' columns: {cmp.reference}; ensembles (a+b+c) count every member; "
            "MACs = multiply-accumulates (papers' FLOPs), FLOPs = 2 x MACs; model size = params x dtype bytes")
    if fmt == "markdown":
        return markdown_table(view, cols, fm, right=right) + "\n\n" + note + "\n"
    return text_table(view, cols, right, fm) + "\n\n" + note + "\n"
