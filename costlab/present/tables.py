"""Tables and numbers for people and spreadsheets: text, markdown, CSV (presentation)."""
from __future__ import annotations

import io
from typing import Any

import pandas as pd

FORMATS = ("table", "csv", "json", "markdown")


def human(n: float, unit: str = "") -> str:
    """1234567 -> '1.23M'."""
    n = float(n)
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.3g}{suffix}{unit}"
    return f"{n:.4g}{unit}"


def shape_str(shape) -> str:
    if not shape:
        return "-"
    if isinstance(shape[0], (list, tuple)):
        return " ".join(shape_str(s) for s in shape)
    return "x".join(str(d) for d in shape)


def inputs_str(shapes, dtypes, sep: str = ",") -> str:
    """Every input's shape joined by ``sep``; one that is not floating point shows its dtype
    (``1x16:int64``), as ``--input-shape`` takes them."""
    out = []
    for i, s in enumerate(shapes):
        dt = dtypes[i] if i < len(dtypes) else ""
        out.append(shape_str(list(s)) + (f":{dt}" if dt and not dt.startswith(("float", "bfloat")) else ""))
    return sep.join(out)


def text_table(df: pd.DataFrame, columns: list[str], align_right: set[str] | None = None,
               formatters: dict[str, Any] | None = None) -> str:
    """A plain fixed-width table (no dependency beyond pandas)."""
    formatters = formatters or {}
    align_right = align_right or set()
    cells = [[str(formatters.get(c, str)(v)) for c, v in zip(columns, row)]
             for row in df[columns].itertuples(index=False, name=None)]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def fmt(vals):
        return "  ".join(v.rjust(w) if c in align_right else v.ljust(w)
                         for v, w, c in zip(vals, widths, columns)).rstrip()

    lines = [fmt(columns), fmt(["-" * w for w in widths])]
    lines += [fmt(r) for r in cells]
    return "\n".join(lines)


def markdown_table(df: pd.DataFrame, columns: list[str], formatters: dict[str, Any] | None = None,
                   right: set[str] | None = None) -> str:
    formatters = formatters or {}
    right = right or set()
    out = ["| " + " | ".join(columns) + " |",
           "|" + "|".join("---:" if c in right else "---" for c in columns) + "|"]
    for row in df[columns].itertuples(index=False, name=None):
        out.append("| " + " | ".join(str(formatters.get(c, str)(v)).replace("|", "\\|")
                                     for c, v in zip(columns, row)) + " |")
    return "\n".join(out)


def to_csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()
