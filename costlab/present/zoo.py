"""The model zoo's listing (``costlab zoo``) as text, markdown, CSV and JSON (presentation:
reads the registry's entries as plain records: name, aliases, family, paper, resolution,
in_channels and knobs; imports no pass)."""
from __future__ import annotations

import json

import pandas as pd

from .tables import markdown_table, text_table, to_csv

_COLS = ["model", "aliases", "family", "input", "knobs", "paper"]


def _knobs(e) -> str:
    knobs = []
    for k, kn in e.knobs.items():
        allowed = ("|".join(str(c) for c in kn.choices) if kn.choices
                   else f"{kn.low if kn.low is not None else ''}..{kn.high if kn.high is not None else ''}")
        knobs.append(f"{k}={kn.default} ({allowed})")
    return "; ".join(knobs)


def _json(entries) -> str:
    return json.dumps({"models": [
        {"name": e.name, "aliases": list(e.aliases), "family": e.family, "paper": e.paper,
         "resolution": e.resolution, "in_channels": e.in_channels,
         "knobs": {k: {"default": kn.default, "type": kn.type.__name__,
                       "choices": list(kn.choices) if kn.choices else None,
                       "low": kn.low, "high": kn.high, "help": kn.help} for k, kn in e.knobs.items()}}
        for e in entries]}, indent=2)


def zoo_text(entries, fmt: str) -> str:
    """Every model of the zoo, its knobs with defaults and allowed values, its paper."""
    if fmt == "json":
        return _json(entries)
    rows = [{"model": e.name, "aliases": ",".join(e.aliases), "family": e.family,
             "input": f"{e.in_channels}x{e.resolution}x{e.resolution}", "knobs": _knobs(e), "paper": e.paper}
            for e in entries]
    df = pd.DataFrame(rows, columns=_COLS)
    if fmt == "csv":
        return to_csv(df)
    if fmt == "markdown":
        return markdown_table(df, list(df.columns))
    return text_table(df, ["model", "input", "knobs", "paper"])
