"""Render a :class:`~costlab.report.Report` as table, csv, json or markdown."""
from __future__ import annotations

import pandas as pd

from .render import human, markdown_table, shape_str, text_table, to_csv
from .report import COLUMNS, NUMERIC, Report

_NUM = {"params", "macs", "flops", "elem_ops", "mac_bytes", "activations", "latency_ms"}


def _columns(df: pd.DataFrame, extra: list[str]) -> list[str]:
    base = ["name", "op", "output_shape", "params", "macs", "elem_ops", "mac_bytes", "activations"]
    return base + [c for c in extra if c in df.columns]


def _totals_lines(report: Report) -> list[str]:
    t = report.totals
    lines = [
        f"model       {report.model}",
        f"input       {shape_str(report.input_shape)}  dtype {report.dtype}",
        f"params      {t['params']:,} ({human(t['params'])})"
        + (f"   buffers {t['buffers']:,}" if t.get("buffers") else "")
        + (f"   unused params {t['params_unused']:,}" if t.get("params_unused") else ""),
        f"MACs        {t['macs']:,} ({human(t['macs'])})   FLOPs = 2 x MACs = {human(t['flops'])}",
        f"elem ops    {t['elem_ops']:,} ({human(t['elem_ops'])})",
        f"MAC bytes   {t['mac_bytes']:,} ({human(t['mac_bytes'], 'B')})",
        f"activations {t['activations']:,} ({human(t['activations'])})",
    ]
    if "latency_ms" in t:
        lines.append(f"latency     {t['latency_ms']:.3f} ms ({report.extras.get('device', '')})")
    return lines


def _unsupported_note(report: Report) -> str:
    if not report.unsupported:
        return "unsupported ops: none (every op counted by a formula or free by declaration)"
    items = ", ".join(f"{u['op']} x{u['count']}" for u in report.unsupported)
    return f"UNSUPPORTED ops, counted as 0 in every column (totals are lower bounds): {items}"


def render(report: Report, fmt: str, depth: int | None = None, extra_columns: list[str] | None = None) -> str:
    extra = extra_columns or []
    if fmt == "json":
        return report.to_json(depth)
    df = report.rollup(depth).copy()
    if depth is not None and "findings" in extra and "findings" in report.layers.columns:
        from .guidelines import rollup_findings

        df["findings"] = rollup_findings(report, depth)
    if fmt == "csv":
        cols = COLUMNS + [c for c in extra if c in df.columns]
        out = df[cols].copy()
        out["input_shapes"] = out["input_shapes"].map(shape_str)
        out["output_shape"] = out["output_shape"].map(shape_str)
        return to_csv(out)
    cols = _columns(df, extra)
    fm = {c: (lambda v: f"{int(v):,}") for c in NUMERIC}
    fm["output_shape"] = shape_str
    fm["latency_ms"] = lambda v: f"{float(v):.4f}"
    if fmt == "markdown":
        parts = [f"## {report.model}", "", "```", *_totals_lines(report), "```", "",
                 markdown_table(df, cols, fm, right=_NUM), "", _unsupported_note(report), "",
                 "Conventions:", ""]
        parts += [f"- **{k}**: {v}" for k, v in report.conventions.items()]
        return "\n".join(parts) + "\n"
    if fmt == "table":
        parts = [text_table(df, cols, _NUM, fm), "", *_totals_lines(report), _unsupported_note(report),
                 "conventions: MACs = multiply-accumulates of conv/linear/matmul (papers' FLOPs); "
                 "MAC bytes = memory access cost; --format json lists every convention"]
        return "\n".join(parts) + "\n"
    raise ValueError(f"unknown format {fmt!r}")
