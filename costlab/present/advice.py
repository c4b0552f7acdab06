"""The advisor's result as text, markdown, CSV and JSON (presentation: reads the plain dict of
``Advice.to_dict()``, schema ``costlab.advice/1``; imports no pass)."""
from __future__ import annotations

import json
from typing import Any

import pandas as pd

from .tables import human, inputs_str, markdown_table, text_table, to_csv

_COLUMNS = ["#", "G", "where", "what", "ms before", "ms after", "saved ms", "saved", "MACs", "params", "how"]
_RIGHT = {"#", "ms before", "ms after", "saved ms", "saved"}


def _change(before: float, after: float, pct: float) -> str:
    if before == after:
        return f"{human(after)} (=)"
    return f"{human(before)}->{human(after)} ({pct:+.1f}%)"


def _rows(items: list[dict[str, Any]], ranked: bool) -> pd.DataFrame:
    rows = []
    for s in items:
        rows.append({
            "#": s["rank"] if ranked else "-",
            "G": s["guideline"],
            "where": s["where"],
            "what": s["what"],
            "ms before": f"{s['latency_ms_before']:.3f}",
            "ms after": f"{s['latency_ms_after']:.3f}",
            "saved ms": f"{s['latency_ms_saved']:.3f}",
            "saved": f"{s['latency_saved_pct']:.1f}%",
            "MACs": _change(s["macs_before"], s["macs_after"], s["macs_change_pct"]),
            "params": _change(s["params_before"], s["params_after"], s["params_change_pct"]),
            "how": s["spec"] if s["method"] == "knob" else f"graph: {s['rewrite']}",
        })
    return pd.DataFrame(rows, columns=_COLUMNS)


def _header(d: dict[str, Any]) -> str:
    b = d["baseline"]
    shape = d["input_shape"]
    shapes = [shape] if shape and not isinstance(shape[0], list) else shape
    shape_s = inputs_str(shapes, d.get("input_dtypes") or [])
    return (f"advise {d['model']} on {d['device']}: {b['latency_ms']:.3f} ms predicted, {human(b['macs'])} MACs, "
            f"{human(b['params'])} params (input {shape_s}, {d['dtype']})")


def _not_faster(d: dict[str, Any]) -> list[str]:
    nf = d["not_faster"]
    if not nf:
        return []
    fusion = d.get("profile", {}).get("fusion") or []
    fuses = f"; the profile fuses {', '.join(fusion)}" if fusion else "; the profile fuses nothing"
    nf = sorted(nf, key=lambda s: (s["source"] != "model", -s["latency_ms_saved"]))

    def delta(s):
        return "0.000 ms" if abs(s["latency_ms_saved"]) < 5e-4 else f"{-s['latency_ms_saved']:+.3f} ms"
    parts = [f"{s['rewrite']} at {s['where']} ({delta(s)})" for s in nf[:4]]
    more = f" and {len(nf) - 4} more" if len(nf) > 4 else ""
    return [f"not faster on {d['device']}{fuses}: " + "; ".join(parts) + more]


def _footer(d: dict[str, Any]) -> list[str]:
    lines = []
    used = list(dict.fromkeys((s["rewrite"], s["cost"]) for s in d["suggestions"]))
    if used:
        lines.append("cost besides latency (MACs / params change is the accuracy proxy):")
        lines += [f"  {'knob' if r == 'knob' else r}: {c}" for r, c in dict(used).items()]
    if d.get("more_faster"):
        lines.append(f"{d['more_faster']} more faster rewrite(s) beyond --top {d['top']}")
    lines += _not_faster(d)
    if d["not_applicable"]:
        lines.append(f"{len(d['not_applicable'])} finding(s) or rewrite(s) without an applicable rewrite "
                     "(--format json lists them with the reason)")
    lines.append(f"{d['considered']} rewrites tried; {d['conventions']['method']}")
    return lines


def advice_text(d: dict[str, Any], fmt: str) -> str:
    """``d`` = ``Advice.to_dict()`` as ``table``, ``markdown``, ``csv`` or ``json``."""
    if fmt == "json":
        return json.dumps(d, indent=2)
    if fmt == "csv":
        recs = [dict(s, status="faster") for s in d["suggestions"]] + \
               [dict(s, status="not faster") for s in d["not_faster"]]
        keys = (list(d["suggestions"][0]) if d["suggestions"] else
                list(d["not_faster"][0]) if d["not_faster"] else ["rank"]) + ["status"]
        df = pd.DataFrame(recs, columns=keys)
        if "rank" in df.columns:   # not-faster rows have no rank: keep whole numbers, not 1.0
            df["rank"] = df["rank"].astype("Int64")
        return to_csv(df)
    df = _rows(d["suggestions"], ranked=True)
    head = _header(d)
    foot = _footer(d)
    if df.empty:
        body = "no rewrite predicted faster on this device"
    elif fmt == "markdown":
        body = markdown_table(df, _COLUMNS, right=_RIGHT)
    else:
        body = text_table(df, _COLUMNS, _RIGHT)
    if fmt == "markdown":
        foot = [("  - " + ln.strip()) if ln.startswith("  ") else "- " + ln for ln in foot]
    return "\n".join([head, "", body, ""] + foot) + "\n"
