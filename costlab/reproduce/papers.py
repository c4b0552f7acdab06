"""Shared machinery of the paper reproductions (``costlab reproduce <paper>``).

Each paper's report module (``shufflenet.py``, ``mobilenet.py``, ...) selects the rows of
the papers' tables, lets costlab count (and, where a device profile exists, predict) them,
and writes ``reports/<name>.md`` with its figures under ``reports/figures/``. This module
holds the papers' side of what they share:

* the paper-vs-costlab comparisons of ``costlab/data/paper_counts.csv``
  (:func:`count_rows`, read by :mod:`costlab.reproduce.paper_counts`) and the per-table
  agreement line (:func:`agreement`);
* deterministic number formatting (reports are byte-identical on a rerun);
* the report's header, tables and output files.

costlab's side (cached counts :func:`report_for` / :func:`totals_for`, :class:`Device`
profiles and predictions, :func:`measure_ms`) is in :mod:`costlab.reproduce.devices` and
importable from here too.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import pandas as pd

from ..present.output import write_output
from ..present.tables import markdown_table, to_csv
from .devices import Device, _finite, input_shape_of, totals_for
from .paper_counts import COUNT_METRICS, Comparison, declared_comparisons, load_rows

COUNT_TOL = 0.01     # counts agree within 1%
LATENCY_TOL = 0.10   # latency / speed agrees within 10%


# -- counts -----------------------------------------------------------------------------------

def zoo_module(family: str):
    """A zoo family module (``costlab.zoo.<family>``), imported only after the registry has
    loaded every family in its own order: importing one early would change the order of the
    declared paper rows, and with it other reports' bytes."""
    import importlib

    from ..zoo.registry import list_models

    list_models()
    return importlib.import_module(f"costlab.zoo.{family}")


@functools.lru_cache(maxsize=1)
def all_comparisons() -> tuple[Comparison, ...]:
    """Every paper_counts.csv row a zoo model declares, with costlab's value (cached)."""
    comps, _ = declared_comparisons(lambda spec, res: totals_for(spec, res))
    return tuple(comps)


def count_rows(select: Callable[[Comparison], bool]) -> pd.DataFrame:
    """The declared comparisons ``select`` keeps, as a frame (one row per paper figure)."""
    rows = []
    for c in all_comparisons():
        if not select(c):
            continue
        rows.append({"model": c.model, "variant": c.variant, "resolution": c.resolution, "metric": c.metric,
                     "unit": c.unit, "paper": c.paper, "costlab": c.costlab, "rel_diff": c.rel_diff,
                     "ok": abs(c.rel_diff) <= COUNT_TOL, "printed_ok": c.within_printed,
                     "verified": c.verified, "spec": c.spec, "reason": c.reason, "source": c.source})
    cols = ["model", "variant", "resolution", "metric", "unit", "paper", "costlab", "rel_diff", "ok",
            "printed_ok", "verified", "spec", "reason", "source"]
    return pd.DataFrame(rows, columns=cols)


def source_has(*needles: str) -> Callable[[Comparison], bool]:
    """Select comparisons whose source cites all ``needles`` (e.g. '1707.01083', 'Table 1')."""
    pats = [re.compile(re.escape(n) + (r"\b" if n[-1].isalnum() else "")) for n in needles]
    return lambda c: all(p.search(c.source) for p in pats)


def table_of(source: str) -> str:
    m = re.search(r"Table (\d+)", source)
    return f"Table {m.group(1)}" if m else ""


# -- agreement --------------------------------------------------------------------------------

@dataclass
class Agreement:
    what: str                 # e.g. "counts", "ARM latency"
    tol: float
    n_ok: int = 0
    n: int = 0
    misses: list[tuple[str, float]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)   # rows without a costlab value
    printed: int = 0          # misses that equal the paper at the precision it printed
    kind: str = ""            # 'counts', 'latency', 'ratios' (default from tol)

    def __post_init__(self):
        if not self.kind:
            self.kind = "counts" if self.tol == COUNT_TOL else "latency"

    def add(self, label: str, paper: float | None, ours: float | None, printed_ok: bool = False) -> bool | None:
        if paper is None or ours is None or not _finite(paper) or not _finite(ours) or paper == 0:
            if paper is not None and _finite(paper):
                self.missing.append(label)
            return None
        rel = (ours - paper) / paper
        self.n += 1
        if abs(rel) <= self.tol:
            self.n_ok += 1
            return True
        self.misses.append((label, rel))
        self.printed += bool(printed_ok)
        return False

    def line(self) -> str:
        pct = f"{100 * self.tol:g}%"
        if self.n == 0:
            s = f"{self.what}: no row compared"
        else:
            s = f"{self.what}: **{self.n_ok}/{self.n} rows within {pct}**"
            if self.misses:
                s += "; not within " + pct + ": " + ", ".join(f"{lab} ({fmt_rel(r)})" for lab, r in self.misses)
                if self.printed:
                    s += (f" ({self.printed} of these {len(self.misses)} equal the paper's figure at the "
                          "precision it was printed with)")
            else:
                s += "; every row within " + pct
        if self.missing:
            s += f"; no costlab value for {len(self.missing)}: " + ", ".join(self.missing)
        return s + "."


def summary_lines(agreements: Sequence[Agreement]) -> list[str]:
    return ["## Summary", ""] + [f"- {a.line()}" for a in agreements] + [""]


def summary_return(agreements: Sequence[Agreement], *extra: str) -> str:
    """The one-line summary ``costlab reproduce`` prints: rows within tolerance."""
    parts = []
    for kind in dict.fromkeys(a.kind for a in agreements):
        sel = [a for a in agreements if a.kind == kind]
        tols = sorted({a.tol for a in sel})
        parts.append(f"{kind} {sum(a.n_ok for a in sel)}/{sum(a.n for a in sel)} rows within "
                     + "/".join(f"{100 * t:g}%" for t in tols))
    return "; ".join(parts + [e for e in extra if e])


def agreement(df: pd.DataFrame, label_cols: Sequence[str], paper_col: str, ours_col: str, what: str,
              tol: float = COUNT_TOL) -> Agreement:
    a = Agreement(what, tol)
    for _, r in df.iterrows():
        label = " ".join(str(r[c]) for c in label_cols if str(r[c]) not in ("", "nan", "None"))
        a.add(label, _num(r[paper_col]), _num(r[ours_col]))
    return a


def _num(x) -> float | None:
    return float(x) if x is not None and _finite(x) else None


# -- formatting (fixed: byte-identical reports) ---------------------------------------------

def fmt_rel(rel: float | None) -> str:
    return "-" if rel is None or not _finite(rel) else f"{100 * rel:+.2f}%"


def fmt_m(v: float | None, digits: int = 1) -> str:
    """Millions with fixed decimals: 146123456 -> '146.1'."""
    return "-" if v is None or not _finite(v) else f"{v / 1e6:,.{digits}f}"


def fmt_g(v: float | None, sig: int = 4) -> str:
    if v is None or not _finite(v):
        return "-"
    v = float(v)
    if v == 0:
        return "0"
    digits = max(0, sig - 1 - int(math.floor(math.log10(abs(v)))))
    return f"{v:,.{digits}f}"


def fmt_count(v: float | None) -> str:
    """A paper-style count: '4.232 M', '569.0 M', '1.500 G', '431.1 K'."""
    if v is None or not _finite(v):
        return "-"
    for div, suf in ((1e9, " G"), (1e6, " M"), (1e3, " K")):
        if abs(v) >= div:
            return f"{fmt_g(v / div)}{suf}"
    return fmt_g(v)


def fmt_ok(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "**no**")


def md_table(df: pd.DataFrame, columns: Sequence[str], right: Iterable[str] = ()) -> str:
    return markdown_table(df, list(columns), right=set(right))


def count_table(df: pd.DataFrame, extra: Sequence[str] = (), with_reason: bool = True) -> str:
    """A paper-vs-costlab table of :func:`count_rows` output (plus ``extra`` columns)."""
    show = pd.DataFrame({
        "model": df["model"], "variant": df["variant"], "res": df["resolution"], "metric": df["metric"],
        "spec": df["spec"].map(lambda s: f"`{s}`"),
        "paper": df["paper"].map(fmt_count), "costlab": df["costlab"].map(fmt_count),
        "diff": df["rel_diff"].map(fmt_rel), "within 1%": df["ok"].map(fmt_ok),
        "at printed precision": df["printed_ok"].map(lambda v: "equal" if v else ""),
        "verified": df["verified"].map(lambda v: "yes" if v else "UNVERIFIED"),
    })
    for c in extra:
        show[c] = df[c]
    cols = ["model", "variant", "res", "metric", "spec", "paper", "costlab", "diff", "within 1%",
            "at printed precision", "verified", *extra]
    if with_reason:
        show["reason (when not within 1%)"] = [r if not ok else "" for r, ok in zip(df["reason"], df["ok"])]
        cols.append("reason (when not within 1%)")
    return md_table(show, cols, right={"res", "paper", "costlab", "diff", *extra})


def count_agreement(df: pd.DataFrame, what: str = "counts") -> Agreement:
    a = Agreement(what, COUNT_TOL)
    for _, r in df.iterrows():
        a.add(f"{r['model']} {r['variant']} {r['metric']}@{r['resolution']}", r["paper"], r["costlab"],
              bool(r["printed_ok"]))
    return a


# -- output -----------------------------------------------------------------------------------

def figures_dir(out_dir: Path) -> Path:
    d = Path(out_dir) / "figures"
    d.mkdir(parents=True, exist_ok=True)
    return d


def write_report(out_dir: Path, name: str, parts: Sequence[str]) -> Path:
    text = "\n".join(parts).rstrip() + "\n"
    path = Path(out_dir) / f"{name}.md"
    write_output(text, str(path))
    return path


def write_csv(out_dir: Path, name: str, df: pd.DataFrame) -> Path:
    path = Path(out_dir) / f"{name}.csv"
    write_output(to_csv(df), str(path))
    return path


def header(name: str, title: str, paper: str, measure: bool = False) -> list[str]:
    cmd = f"costlab reproduce {name}" + (" --measure" if measure else "")
    return [f"# {title}", "",
            f"Paper: {paper}.", "",
            f"Regenerated by `{cmd}`; never edited by hand. Paper values are cited row by row "
            "(`costlab/data/`); costlab's counts are traced from the zoo models (MACs = the papers' "
            "'FLOPs' = multiply-adds); predicted latencies come from the device profiles in `profiles/`. "
            f"Counts agree when within {100 * COUNT_TOL:g}%, latencies and speeds when within "
            f"{100 * LATENCY_TOL:g}%.", ""]


def device_notes(*devs: Device) -> list[str]:
    out = []
    for d in devs:
        out.append(f"- {d.key}: " + (d.label() if d.ok else f"**{d.note}**; its columns print `-`."))
    return out + [""]


def fig_links(stem: str, alt: str) -> str:
    return f"![{alt}](figures/{stem}.png) ([SVG](figures/{stem}.svg))"


# -- wide paper tables: one row per network, paper | costlab | diff per metric -----------------

_METRIC_LABEL = {"madds": "MAdds", "params": "params", "flops": "FLOPs (2xMAC)", "bflops_darknet": "BFLOPs",
                 "size_mb": "size MB", "size_kb": "size KB"}


def _fmt_metric(metric: str, v: float | None, unit: str = "") -> str:
    if v is None or not _finite(v):
        return "-"
    if unit == "count":
        return f"{int(round(v)):,}"
    if metric in ("size_mb", "size_kb"):
        return fmt_g(v)
    return fmt_count(v)


def predicted_column(df: pd.DataFrame, dev: "Device", batch: int = 1) -> list[str]:
    """Predicted ms per row of a count frame (spec, resolution), '-' without a profile."""
    out = []
    for spec, res in zip(df["spec"], df["resolution"]):
        ms = dev.predict_ms(spec, input_shape_of(spec, int(res), batch)) if dev.ok else None
        out.append(fmt_g(ms))
    return out


def wide_table(df: pd.DataFrame, devices: Sequence[tuple["Device", str]] = ()) -> tuple[str, list[str]]:
    """A paper-style table (one row per network and input size) from :func:`count_rows`
    output, with a predicted-ms column per device; and the footnotes: the reason for every
    figure more than 1% off. A diff over 1% is bold; '(p)' marks one that equals the paper
    at the precision it printed."""
    metrics = [m for m in COUNT_METRICS if m in set(df["metric"])]
    keys = list(dict.fromkeys(zip(df["model"], df["variant"], df["resolution"], df["spec"])))
    rows, notes = [], []
    for model, variant, res, spec in keys:
        sub = df[(df["model"] == model) & (df["variant"] == variant) & (df["resolution"] == res) & (df["spec"] == spec)]
        row = {"network": model, "variant": variant, "res": res, "spec": f"`{spec}`"}
        for m in metrics:
            r = sub[sub["metric"] == m]
            if r.empty:
                row[f"{_METRIC_LABEL[m]} paper"] = row[f"{_METRIC_LABEL[m]} costlab"] = row[f"{_METRIC_LABEL[m]} diff"] = ""
                continue
            r = r.iloc[0]
            d = fmt_rel(r["rel_diff"])
            if not r["ok"]:
                d = f"**{d}**" + (" (p)" if r["printed_ok"] else "")
                if r["reason"]:
                    notes.append(f"{model} {variant} ({_METRIC_LABEL[m]} @ {res}): {r['reason']}")
            unver = "" if r["verified"] else " (UNVERIFIED)"
            row[f"{_METRIC_LABEL[m]} paper"] = _fmt_metric(m, r["paper"], r["unit"]) + unver
            row[f"{_METRIC_LABEL[m]} costlab"] = _fmt_metric(m, r["costlab"], r["unit"])
            row[f"{_METRIC_LABEL[m]} diff"] = d
        for dev, label in devices:
            ms = dev.predict_ms(spec, input_shape_of(spec, int(res))) if dev.ok else None
            row[label] = fmt_g(ms)
        rows.append(row)
    out = pd.DataFrame(rows)
    cols = list(out.columns)
    right = {c for c in cols if c not in ("network", "variant", "spec")}
    return md_table(out, cols, right=right), notes


def wide_section(title: str, df: pd.DataFrame, what: str, devices: Sequence[tuple["Device", str]] = (),
                 intro: Sequence[str] = ()) -> tuple[list[str], Agreement]:
    """A '## title' section: agreement line, wide table, reasons for the >1% rows."""
    a = count_agreement(df, what)
    table, notes = wide_table(df, devices)
    lines = [f"## {title}", ""] + list(intro) + ([""] if intro else []) + [a.line(), "", table, ""]
    if notes:
        lines += ["Why rows differ by more than 1%:", ""] + [f"- {n}" for n in dict.fromkeys(notes)] + [""]
    return lines, a


def undeclared_rows(select: Callable[[dict], bool]) -> pd.DataFrame:
    """paper_counts.csv rows ``select`` keeps that no zoo model declares (not compared)."""
    used = {(c.model, c.variant, c.metric) for c in all_comparisons()}
    rows = [{"model": r["model"], "variant": r["variant"], "resolution": r["resolution"], "metric": r["metric"],
             "value": r["value"], "unit": r["unit"],
             "verified": "UNVERIFIED" if r["source"].strip().upper().startswith("UNVERIFIED") else "yes"}
            for r in load_rows() if select(r) and (r["model"], r["variant"], r["metric"]) not in used]
    return pd.DataFrame(rows, columns=["model", "variant", "resolution", "metric", "value", "unit", "verified"])


def cost_table(specs: Sequence[tuple[str, str, int | None]], devices: Sequence[tuple["Device", str]] = ()) -> str:
    """costlab's totals (params, MACs, MAC bytes, activations) and predicted ms per device for
    (label, spec, resolution) rows: what the papers do not print."""
    rows = []
    for label, spec, res in specs:
        t = totals_for(spec, res)
        row = {"network": label, "spec": f"`{spec}`", "input": "x".join(str(d) for d in input_shape_of(spec, res)[1:]),
               "params": fmt_count(t["params"]), "MACs": fmt_count(t["macs"]),
               "MAC bytes (fp32)": fmt_count(t["mac_bytes"]) + "B", "activations": fmt_count(t["activations"])}
        for dev, col in devices:
            row[col] = fmt_g(dev.predict_ms(spec, input_shape_of(spec, res))) if dev.ok else "-"
        rows.append(row)
    df = pd.DataFrame(rows)
    return md_table(df, list(df.columns), right=set(df.columns) - {"network", "spec", "input"})
