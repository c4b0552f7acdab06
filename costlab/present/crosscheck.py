"""costlab beside fvcore and torch's FlopCounterMode, per op type (``costlab crosscheck``;
presentation: reads the cross-check results' plain rows; imports no pass)."""
from __future__ import annotations

import json

import pandas as pd

from .tables import NONE, markdown_table, num, text_table, to_csv


def _rows_frame(results) -> pd.DataFrame:
    rows = []
    for res in results:
        for r in res.rows + [res.totals]:
            rows.append({"model": res.model, "op type": r.op_type, "costlab MACs": r.costlab_macs,
                         "costlab elem ops": r.costlab_elem_ops,
                         "fvcore": NONE if r.fvcore is None else r.fvcore, "torch FLOPs": r.torch,
                         "explained": "yes" if r.explained else "NO", "why": "; ".join(r.reasons)})
    return pd.DataFrame(rows)


def crosscheck_text(results, fmt: str) -> str:
    """``results`` (one :class:`costlab.crosscheck.CrossCheck` per model) as table, markdown, csv or json."""
    if fmt == "json":
        return json.dumps([r.to_dict() for r in results], indent=2) + "\n"
    df = _rows_frame(results)
    if fmt == "csv":
        return to_csv(df)
    cols = list(df.columns)
    right = {"costlab MACs", "costlab elem ops", "fvcore", "torch FLOPs"}
    fm = {c: (lambda v: v if isinstance(v, str) else num(v, ",")) for c in right}
    table = markdown_table(df, cols, fm, right=right) if fmt == "markdown" else text_table(df, cols, right, fm)
    bad = sum(len(r.unexplained) for r in results)
    notes = [f"{r.model}: fvcore {r.fvcore_status}" for r in results if r.fvcore_status != "ok"]
    tail = [f"{bad} difference(s) without a known cause" if bad else
            "every difference explained by a convention (MACs vs FLOPs = 2 x MACs; what each tool counts; "
            "ops fvcore skips; attribution: costlab and fvcore give a shared module's work to its first name)"]
    return "\n".join([table, ""] + notes + tail) + "\n"
