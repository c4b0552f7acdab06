"""Guideline results as text, markdown, CSV and JSON (presentation: reads a GuidelineResult)."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..guidelines.result import DEFAULT_THRESHOLDS, GUIDELINES, TITLES, GuidelineResult, load, ranking
from .tables import frame, human, markdown_table, num, pct, shape_str, text_table, to_csv

if TYPE_CHECKING:   # annotations only: analyze's summary line never loads pandas
    import pandas as pd

def _cost_name(cost: str) -> str:
    return "latency" if cost == "latency_ms" else "MAC bytes"


def _human(v: Any) -> str:
    return human(v)


UNITS_NOTE = ("G1/G2: value and bound are MAC in elements (ShuffleNet V2 Sec. 2; bound = G1 lower bound / "
              "MAC of a g=1 conv with the same FLOPs), excess in bytes; G3: parallel branches of a block vs "
              "the allowed number, excess = extra branches; G4: MAC bytes of the op kind vs the bytes its "
              "arithmetic share would carry, excess in bytes. share = the violation's share of the "
              "model's {cost}; severity from share (high >= {high}, medium >= {medium}).")


# the unit of a finding's value and bound, and of its excess (UNITS_NOTE in words)
_CSV_UNITS = {"G1": ("elements", "bytes"), "G2": ("elements", "bytes"), "G3": ("branches", "branches"),
              "G4": ("bytes", "bytes")}


def findings_frame(result: GuidelineResult) -> pd.DataFrame:
    """The listed findings as a DataFrame: guideline, severity, where, value, bound, ratio,
    excess, share, advice."""
    rows = []
    for f in result.findings:
        ratio = f["value"] / f["bound"] if f["bound"] else float("nan")
        rows.append({"guideline": f["guideline"], "severity": f["severity"], "where": f["where"],
                     "value": f["value"], "bound": f["bound"], "ratio": ratio, "excess": f["excess"],
                     "share": f["share"], "advice": f["advice"]})
    return frame(rows, columns=["guideline", "severity", "where", "value", "bound", "ratio",
                                       "excess", "share", "advice"])


def summary_line(summary: dict[str, dict[str, Any]], cost: str, verdict: str) -> str:
    """One line: the verdict and each guideline's share of the cost (``*`` = violated), from a
    report's ``guidelines`` section (``summary``: its JSON ``guidelines``; ``cost``, ``verdict``:
    its values)."""
    parts = [f"{g} {pct(summary[g]['share'], 2)}{'*' if summary[g]['violated'] else ''}" for g in GUIDELINES]
    return (f"guidelines  {verdict}: " + ", ".join(parts)
            + f" of {_cost_name(cost)} (* = violated; costlab guidelines MODEL lists the findings)")


def violation_line(result: GuidelineResult, g: str) -> str:
    """``--fail-on``'s stderr line for a violated guideline ``g``."""
    return (f"costlab: {result.model} violates {g}: {pct(result.summary[g]['share'], 2)} of {_cost_name(result.cost)} "
            f">= threshold {pct(result.thresholds[g], 2)}")


def _measured(result: GuidelineResult, g: str) -> str:
    s = result.summary[g]
    if g in ("G1", "G2"):
        what = "MAC above the G1 bound" if g == "G1" else "MAC increase of group convs over g=1"
        return f"{what}: {_human(s['excess_bytes'])}B"
    if g == "G3":
        return (f"{s['ops']} ops, longest chain {s['longest_chain']} (parallelism "
                f"{s['parallelism']:.2f}); most branches in a block: {s['max_branches']}")
    return (f"element-wise ops incl. depthwise: {pct(s['bytes_share'], 2)} of MAC bytes for "
            f"{pct(s['ops_share'], 2)} of the arithmetic ({pct(s['macs_share'], 2)} of MACs)")


def summary_frame(results: list[GuidelineResult]) -> pd.DataFrame:
    """One row per model: the share, violation flag and count of each guideline, the load and
    the verdict."""
    rows = []
    for r in results:
        row: dict[str, Any] = {"model": r.model, "cost": r.cost}
        for g in GUIDELINES:
            row[g] = r.summary[g]["share"]
            row[f"{g}_violated"] = r.summary[g]["violated"]
            row[f"{g}_count"] = r.summary[g]["count"]
        row["load"] = load(r)
        row["verdict"] = r.verdict()
        rows.append(row)
    return frame(rows)


def _findings_table(result: GuidelineResult, markdown: bool) -> str:
    df = findings_frame(result)
    if df.empty:
        return "no findings"
    units = {"G1": (" el", "B"), "G2": (" el", "B"), "G3": ("", ""), "G4": ("B", "B")}
    for col, pos in (("value", 0), ("bound", 0), ("excess", 1)):
        df[col] = [_human(v) + units[g][pos] for v, g in zip(df[col], df["guideline"])]
    fm = {"share": lambda v: pct(v, 2), "ratio": num}
    cols = list(df.columns)
    right = {"value", "bound", "ratio", "excess", "share"}
    if markdown:
        return markdown_table(df, cols, fm, right=right)
    return text_table(df, cols, right, fm)


def _summary_table(result: GuidelineResult, markdown: bool) -> str:
    rows = [{"guideline": g, "violated": "YES" if result.summary[g]["violated"] else "no",
             "share": pct(result.summary[g]["share"], 2), "threshold": pct(result.thresholds[g], 2),
             "count": result.summary[g]["count"], "measured": _measured(result, g), "rule": TITLES[g]}
            for g in GUIDELINES]
    df = frame(rows)
    cols = list(df.columns)
    if markdown:
        return markdown_table(df, cols, right={"share", "threshold", "count"})
    return text_table(df, cols, {"share", "threshold", "count"})


def _header(result: GuidelineResult, report=None) -> list[str]:
    cost = _cost_name(result.cost)
    total = (f"{result.stats['total_cost']:.3f} ms" if result.cost == "latency_ms"
             else f"{_human(result.stats['total_cost'])}B")
    inp = ""
    if report is not None:
        inp = f"   input {shape_str(report.input_shape)} {report.dtype}"
    return [f"model     {result.model}{inp}",
            f"cost      {cost} (total {total})",
            f"verdict   {result.verdict()}"]


def _unlisted_note(result: GuidelineResult) -> str:
    n = sum(result.unlisted.values())
    if not n:
        return ""
    per = ", ".join(f"{g} {k}" for g, k in result.unlisted.items() if k)
    return (f"{n} more violation(s) below min_share {pct(result.thresholds['min_share'], 2)} not listed "
            f"({per}); they count in the summary")


def findings_text(result: GuidelineResult, fmt: str, report=None) -> str:
    """One model's findings as ``table``, ``markdown``, ``csv`` or ``json``."""
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2)
    if fmt == "csv":    # value/bound and excess carry a unit per guideline: said in their own columns
        df = findings_frame(result)
        df.insert(0, "model", result.model)
        df.insert(df.columns.get_loc("bound") + 1, "unit", [_CSV_UNITS[g][0] for g in df["guideline"]])
        df.insert(df.columns.get_loc("excess") + 1, "excess_unit", [_CSV_UNITS[g][1] for g in df["guideline"]])
        return to_csv(df)
    note = UNITS_NOTE.format(cost=_cost_name(result.cost), high=pct(result.thresholds["high"], 2),
                             medium=pct(result.thresholds["medium"], 2))
    unl = _unlisted_note(result)
    if fmt == "markdown":
        parts = [f"## Guidelines: {result.model}", "", "```", *_header(result, report), "```", "",
                 _summary_table(result, True), "", "Findings, worst first:", "",
                 _findings_table(result, True), ""]
        if unl:
            parts += [unl, ""]
        parts += [note, ""]
        return "\n".join(parts)
    if fmt == "table":
        parts = [*_header(result, report), "", _summary_table(result, False), "",
                 "findings, worst first:", _findings_table(result, False)]
        if unl:
            parts += ["", unl]
        parts += ["", note]
        return "\n".join(parts) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def _comparison_frame(results: list[GuidelineResult]) -> pd.DataFrame:
    rows = []
    for r in results:
        row = {"model": r.model}
        for g in GUIDELINES:
            row[g] = r.summary[g]["share"]
        row["violated"] = ",".join(r.violated()) or "-"
        row["load"] = load(r)
        row["verdict"] = r.verdict()
        rows.append(row)
    return frame(rows, columns=["model", *GUIDELINES, "violated", "load", "verdict"])


def comparison_text(results: list[GuidelineResult], fmt: str, cleanest: bool = True) -> str:
    """One row per model, one column per guideline (share of cost in violations; ``*`` = violated)."""
    if fmt == "json":
        return json.dumps({"models": [r.to_dict() for r in results]}, indent=2)
    if fmt == "csv":
        return to_csv(summary_frame(results))
    df = _comparison_frame(results)
    marks = {}
    for g in GUIDELINES:
        marks[g] = [r.summary[g]["violated"] for r in results]
    shown = df.copy()
    for g in GUIDELINES:
        shown[g] = [(f"**{pct(v, 2)}**" if fmt == "markdown" else f"{pct(v, 2)}*") if m else pct(v, 2)
                    for v, m in zip(df[g], marks[g])]
    shown["load"] = [f"{v:.2f}" for v in df["load"]]
    best = ranking(results)[0].model if results else ""
    cost = ", ".join(sorted({_cost_name(r.cost) for r in results}))
    th = results[0].thresholds if results else DEFAULT_THRESHOLDS
    legend = (f"share of each model's {cost} in violations of each guideline; "
              + ("bold" if fmt == "markdown" else "*")
              + " = violated (share >= threshold: " + ", ".join(f"{g} {pct(th[g], 2)}" for g in GUIDELINES)
              + "); load = sum of share/threshold")
    cols = ["model", *GUIDELINES, "violated", "load", "verdict"]
    right = {*GUIDELINES, "load"}
    if fmt == "markdown":
        return "\n".join([markdown_table(shown, cols, right=right), "", legend, ""]
                         + ([f"Cleanest: **{best}** (fewest violated guidelines, then lowest load).", ""]
                            if cleanest else []))
    if fmt == "table":
        return "\n".join([text_table(shown, cols, right), "", legend]
                         + ([f"cleanest: {best} (fewest violated guidelines, then lowest load)"]
                            if cleanest else [])) + "\n"
    raise ValueError(f"unknown format {fmt!r}")
