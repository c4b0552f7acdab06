"""A latency-budgeted search's result: the Pareto front and the chosen variant (``costlab
search``; presentation: reads the result's plain variants; imports no pass)."""
from __future__ import annotations

import json

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

from .tables import frame, human, markdown_table, ms, text_table, to_csv

RESOLUTION = "resolution"   # the knob name of the input side (costlab.search.RESOLUTION)


def _front_frame(result) -> pd.DataFrame:
    rows = []
    for i in result.front:
        v = result.variants[i]
        row = {"": "*" if i == result.best else "", "#": i}
        row.update({k: str(v["knobs"][k]) for k in result.grid if k != RESOLUTION})
        row.update({"resolution": v["resolution"], "params": human(v["params"]), "MACs": human(v["macs"]),
                    "latency ms": ms(v["latency_ms"])})
        rows.append(row)
    return frame(rows)


def best_line(result) -> str:
    """The chosen variant: its spec, input, MACs, params and predicted ms."""
    what = {"macs": "most MACs", "params": "most params", "-latency": "least latency"}[result.objective]
    budget = f"under {result.budget_ms:g} ms" if result.budget_ms is not None else "(no budget)"
    v = result.variants[result.best]
    return (f"best {budget} ({what}): {v['spec']} at {'x'.join(map(str, v['input_shape']))}: "
            f"{human(v['macs'])} MACs, {human(v['params'])} params, {v['latency_ms']:.3f} ms on {result.device}")


def search_text(result, fmt: str) -> str:
    """A search result (:class:`costlab.search.SearchResult`) as table, markdown, csv or json."""
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2)
    if fmt == "csv":
        return to_csv(result.table())
    df = _front_frame(result)
    cols = list(df.columns)
    head = (f"Pareto front of {result.model} on {result.device}: {len(result.front)} of {len(result.variants)} "
            f"variants (predicted latency vs {'MACs' if result.capacity == 'macs' else 'params'}; * = chosen)")
    right = {"#", "resolution", "params", "MACs", "latency ms"}
    table = markdown_table(df, cols, right=right) if fmt == "markdown" else text_table(df, cols, right)
    return f"{head}\n\n{table}\n\n{best_line(result)}\n"
