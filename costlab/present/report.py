"""A :class:`~costlab.report.Report` as table, csv, json or markdown (presentation).

Every column is shown by its :class:`~costlab.report.Column` type; columns that passes
added (``latency_ms``, ``findings``) follow the counts, and each pass's
:class:`~costlab.report.Section` adds its summary lines.
"""
from __future__ import annotations

from ..report import Column, Report
from .guidelines import summary_line
from .latency import latency_lines
from .tables import count, human, inputs_str, markdown_table, shape_str, text_table, to_csv

_SHOWN = ["name", "op", "output_shape", "params", "macs", "elem_ops", "mac_bytes", "activations"]


def _fmt(c: Column):
    if c.fmt in ("count", "bytes"):
        return count
    if c.fmt == "ms":
        return lambda v: f"{float(v):.4f}"
    if c.fmt == "float":
        return lambda v: f"{float(v):.4g}"
    if c.fmt == "shape":
        return shape_str
    return str


def _inputs(report: Report) -> str:
    """``1x3x224x224``; an input that is not floating point shows its dtype: ``1x16:int64``."""
    return inputs_str(report.input_shape, report.input_dtypes, ", ")


def _totals_lines(report: Report) -> list[str]:
    t = report.totals
    lines = [
        f"model       {report.model}",
        f"input       {_inputs(report)}  dtype {report.dtype}",
        f"params      {t['params']:,} ({human(t['params'])})"
        + (f"   buffers {t['buffers']:,}" if t.get("buffers") else "")
        + (f"   unused params {t['params_unused']:,}" if t.get("params_unused") else ""),
        f"MACs        {t['macs']:,} ({human(t['macs'])})   FLOPs = 2 x MACs = {human(t['flops'])}",
        f"elem ops    {t['elem_ops']:,} ({human(t['elem_ops'])})",
        f"MAC bytes   {t['mac_bytes']:,} ({human(t['mac_bytes'], 'B')})",
        f"activations {t['activations']:,} ({human(t['activations'])})",
    ]
    for s in report.sections.values():
        if s.key == "latency":
            lines += latency_lines(s.data, report.totals["latency_ms"])
        elif s.key == "quantized":
            lines.append(int8_line(s.data["int8_layers"], s.values["mac_layers"]))
        elif s.key == "trace":
            lines.append(f"traced      on real zero inputs (see the note on stderr): a branch on tensor values "
                         "is counted the way zero inputs take it")
    return lines


def int8_line(layers: list[str], mac_layers: int) -> str:
    """A quantized model file's summary line: which MAC layers run in int8."""
    shown = ", ".join(layers[:8]) + (f" ... ({len(layers) - 8} more)" if len(layers) > 8 else "")
    return (f"int8        {len(layers)} of {mac_layers} MAC layers run in int8 (1 byte per element "
            f"in MAC bytes): {shown}")


def _unsupported_note(report: Report) -> str:
    if not report.unsupported:
        return "unsupported ops: none (every op counted by a formula or free by declaration)"
    items = ", ".join(f"{u['op']} x{u['count']}" for u in report.unsupported)
    return f"UNSUPPORTED ops, counted as 0 in every column (totals are lower bounds): {items}"


def unsupported_warnings(report: Report) -> list[str]:
    """Warnings for stderr: parameters the traced forward never used, ops counted as 0."""
    out = []
    if report.totals.get("params_unused"):
        out.append(f"{count(report.totals['params_unused'])} parameters are never used by the traced forward "
                   "and are not in the totals")
    if report.unsupported:
        out.append("unsupported ops counted as 0: " + ", ".join(f"{u['op']} x{u['count']}" for u in report.unsupported))
    return out


def _trailer(report: Report) -> list[str]:
    """Lines at the very end: the guideline check's one-line summary."""
    return [summary_line(s.data["guidelines"], s.values["cost"], s.values["verdict"])
            for s in report.sections.values() if s.key == "guidelines"]


def report_text(report: Report, fmt: str, depth: int | None = None) -> str:
    """The report (rolled up to ``depth`` when given) in ``fmt``: table, csv, json, markdown."""
    if fmt == "json":
        return report.to_json(depth)
    added = [c.key for c in report.added_columns]
    if fmt == "csv":
        out = report.rollup(depth)[[c.key for c in report.columns]].copy()
        out["input_shapes"] = out["input_shapes"].map(shape_str)
        out["output_shape"] = out["output_shape"].map(shape_str)
        return to_csv(out)
    cols = _SHOWN + added
    fm = {c.key: _fmt(c) for c in report.columns if c.fmt != "text"}
    right = {c.key for c in report.columns if c.numeric}
    df = report.rollup_records(depth)     # plain records: printing a table never loads pandas
    if fmt == "markdown":
        parts = [f"## {report.model}", "", "```", *_totals_lines(report), "```", "",
                 markdown_table(df, cols, fm, right=right), "", _unsupported_note(report), "",
                 "Conventions:", ""]
        parts += [f"- **{k}**: {v}" for k, v in report.conventions.items()]
        trailer = _trailer(report)     # after a blank line: right after the list it is part of its last item
        return "\n".join(parts + ([""] + trailer if trailer else [])) + "\n"
    if fmt == "table":
        parts = [text_table(df, cols, right, fm), "", *_totals_lines(report), _unsupported_note(report),
                 "conventions: MACs = multiply-accumulates of conv/linear/matmul (papers' FLOPs); "
                 "MAC bytes = memory access cost; --format json lists every convention"]
        return "\n".join(parts + _trailer(report)) + "\n"
    raise ValueError(f"unknown format {fmt!r}")
