"""Tables and numbers for people and spreadsheets: text, markdown, CSV (presentation)."""
from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:   # annotations only: a CLI that prints help or a refusal never loads pandas
    import pandas as pd

FORMATS = ("table", "csv", "json", "markdown")


def frame(*args, **kwargs) -> "pd.DataFrame":
    """``pandas.DataFrame(...)``, pandas loaded on first use (the CLI starts without it)."""
    import pandas

    return pandas.DataFrame(*args, **kwargs)


# -- numbers: the one helper set every table, report and message uses ----------------------------
NONE = "-"   # how a missing number (None, or NaN: a metric that is not defined) is shown


def missing(x) -> bool:
    """Whether ``x`` is a missing number: None or NaN."""
    if x is None:
        return True
    try:
        return float(x) != float(x)
    except (TypeError, ValueError):
        return False


def pct(x, digits: int = 1, *, percent: bool = False, sign: bool = False, none: str = NONE) -> str:
    """``x`` as a percentage with ``digits`` decimals: a fraction by default (0.123 -> '12.3%'),
    a value already in percent with ``percent=True`` (12.3 -> '12.3%'); ``sign`` shows '+'
    for gains; a missing ``x`` (None, NaN) is ``none``."""
    if missing(x):
        return none
    v = float(x) if percent else 100.0 * float(x)
    return f"{v:{'+' if sign else ''}.{digits}f}%"


def num(x, spec: str = ".3f", unit: str = "", none: str = NONE) -> str:
    """``x`` in the format ``spec`` (a rank correlation: '.3f'), with ``unit``; missing: ``none``."""
    return none if missing(x) else f"{x:{spec}}{unit}"


def ms(x, digits: int = 3, none: str = NONE) -> str:
    """Milliseconds with ``digits`` decimals, no unit (a column's header says 'ms')."""
    return none if missing(x) else f"{float(x):.{digits}f}"


def count(x, none: str = NONE) -> str:
    """A whole number with thousands separators: 1234567 -> '1,234,567'."""
    return none if missing(x) else f"{int(x):,}"


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


def _rows(df, columns: list[str]):
    """``columns`` of each row of ``df``: a DataFrame, or a list of records (dicts)."""
    if isinstance(df, list):
        return [tuple(r[c] for c in columns) for r in df]
    return df[columns].itertuples(index=False, name=None)


def text_table(df: pd.DataFrame | list[dict], columns: list[str], align_right: set[str] | None = None,
               formatters: dict[str, Any] | None = None) -> str:
    """A plain fixed-width table of a DataFrame or a list of records."""
    formatters = formatters or {}
    align_right = align_right or set()
    cells = [[str(formatters.get(c, str)(v)) for c, v in zip(columns, row)] for row in _rows(df, columns)]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def fmt(vals):
        return "  ".join(v.rjust(w) if c in align_right else v.ljust(w)
                         for v, w, c in zip(vals, widths, columns)).rstrip()

    lines = [fmt(columns), fmt(["-" * w for w in widths])]
    lines += [fmt(r) for r in cells]
    return "\n".join(lines)


def markdown_table(df: pd.DataFrame | list[dict], columns: list[str], formatters: dict[str, Any] | None = None,
                   right: set[str] | None = None) -> str:
    formatters = formatters or {}
    right = right or set()
    out = ["| " + " | ".join(columns) + " |",
           "|" + "|".join("---:" if c in right else "---" for c in columns) + "|"]
    for row in _rows(df, columns):
        out.append("| " + " | ".join(str(formatters.get(c, str)(v)).replace("|", "\\|")
                                     for c, v in zip(columns, row)) + " |")
    return "\n".join(out)


def to_csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()
