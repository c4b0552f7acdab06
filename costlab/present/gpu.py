"""GPU host/device validation results as tables (presentation: plain dicts in)."""
from __future__ import annotations

import json

import pandas as pd

from .tables import markdown_table, text_table, to_csv


def _pct(x) -> str:
    return "-" if x is None else f"{float(x):.1f}%"


def _rho(x) -> str:
    return "-" if x is None or x != x else f"{float(x):.3f}"


def _block_rows(block: dict) -> list[dict]:
    rows = []
    for key, m in list(block["per_batch"].items()) + [("all", block["all"])]:
        b = m.get("baseline") or {}
        rows.append({"batch": key, "n": m["n"], "MAPE": _pct(m["mape"]), "within 10%": _pct(m["within_10pct"]),
                     "Spearman": _rho(m["spearman"]), "FLOPs-only MAPE": _pct(b.get("mape")),
                     "FLOPs-only within 10%": _pct(b.get("within_10pct")),
                     "FLOPs-only Spearman": _rho(b.get("spearman"))})
    return rows


def gpu_validation_text(res: dict, fmt: str) -> str:
    """``costlab validate --device <gpu profile>``: held-out networks per batch (and
    leave-one-network-out on the profile's own networks) beside the FLOPs-only line."""
    if fmt == "json":
        return json.dumps(res, indent=2)
    if fmt == "csv":
        return to_csv(pd.DataFrame(res["held_out"]["rows"]))
    cols = ["batch", "n", "MAPE", "within 10%", "Spearman", "FLOPs-only MAPE", "FLOPs-only within 10%",
            "FLOPs-only Spearman"]
    right = set(cols[1:])
    sections = [(f"held-out networks (never fitted), {res['runtime']} vs measured {res['measured']}",
                 res["held_out"])]
    new = res["held_out"].get("new_families") or {}
    if new.get("all", {}).get("n"):
        sections.append((f"of them, the networks of families no training network has ({', '.join(new['families'])}: "
                         f"{', '.join(new['networks'])}): the leak-free figure", new))
    if res.get("lono"):
        sections.append(("leave-one-network-out over the profile's own network samples (optimistic: the "
                         "form was chosen on these folds)", res["lono"]))
    parts = [f"profile {res['profile']} ({res['device']}), runtime {res['runtime']}"]
    for title, block in sections:
        df = pd.DataFrame(_block_rows(block))
        table = markdown_table(df, cols, right=right) if fmt == "markdown" else text_table(df, cols, right)
        parts += ["", title, "", table]
    return "\n".join(parts) + "\n"
