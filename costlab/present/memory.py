"""``costlab memory`` as table, csv, json or markdown, and the live-memory figure (presentation:
takes the plain dict of :meth:`costlab.memory.MemoryResult.to_dict`, imports no pass)."""
from __future__ import annotations

import json
from typing import Any, Sequence

import pandas as pd

from .tables import markdown_table, shape_str, text_table, to_csv

KB = 1024
COLUMNS = ["step", "name", "op", "output_shape", "output_bytes", "live_bytes", "layer_bytes", "arena_offset"]
_SHOWN = ["name", "op", "output_shape", "output_bytes", "live_bytes", "layer_bytes", "arena_offset"]
_RIGHT = {"step", "output_bytes", "live_bytes", "layer_bytes", "arena_offset"}


def kb(n: int) -> str:
    """bytes -> '1,372.0 KB' (KB = 1024 bytes, as MCUNet counts)."""
    return f"{n / KB:,.1f} KB"


def _budget_lines(b: dict[str, Any]) -> list[str]:
    verdict = "fits" if b["fits"] else "does NOT fit"
    over = b["over_bytes"]
    lines = [f"budget      {kb(b['budget_bytes'])}: {verdict} "
             + (f"({kb(-over)} to spare)" if b["fits"] else f"(over by {over:,} bytes = {kb(over)}, at {b['layer']})")]
    for i, c in enumerate(b.get("changes", [])):
        lines.append(f"  {'cheapest' if i == 0 else 'or':<9s} {c['change']}: peak {kb(c['peak_bytes'])}, "
                     f"MACs {c['macs']:,} ({c['cost']})")
    if not b["fits"] and not b.get("changes"):
        lines.append(f"  nothing found that fits (searched: {b.get('searched', 'patch split, lower resolution, narrower width')})")
    return lines


def _patch_lines(p: dict[str, Any]) -> list[str]:
    lines = [f"patch-based {p['patches']}x{p['patches']} patches up to {p['split_layer']}: peak {p['peak_bytes']:,} "
             f"({kb(p['peak_bytes'])}; patch stage {kb(p['stage_peak_bytes'])}, rest {kb(p['rest_peak_bytes'])}), "
             f"+{p['extra_macs']:,} MACs ({p['overhead']:.1%} of the network)"]
    if p.get("paper_bytes"):
        lines.append(f"            paper: {kb(p['paper_bytes'])} ({p.get('paper_source', '')})")
    return lines


def summary_lines(d: dict[str, Any]) -> list[str]:
    lines = [
        f"model       {d['model']}   input {shape_str(d['input_shape'])}   dtype {d['dtype']}",
        f"weights     {d['weight_bytes']:,} bytes ({kb(d['weight_bytes'])})",
        f"live peak   {d['peak_activation_bytes']:,} bytes ({kb(d['peak_activation_bytes'])}) at {d['peak_layer']}"
        " (traced order, as torch materialises)",
        f"layer peak  {d['layer_peak_bytes']:,} bytes ({kb(d['layer_peak_bytes'])}) at {d['layer_peak_layer']}"
        f" (layer by layer, MCU runtime; depthwise {'in place' if d['inplace_depthwise'] else 'not in place'})",
        f"arena       {d['arena_bytes']:,} bytes ({kb(d['arena_bytes'])}), greedy by size; "
        f"{d['fragmentation']:.1%} above the live peak; converted (BN folded, activations fused, as TFLite Micro "
        f"plans it) {d['converted_arena_bytes']:,} ({kb(d['converted_arena_bytes'])})",
        f"best order  {d['best_order_peak_bytes']:,} bytes ({kb(d['best_order_peak_bytes'])})"
        + (" (lower than the traced order)" if d["best_order_changed"] else " (the traced order is best found)")
        + ("" if d["best_order_exact"] else "; heuristic, and optimal: it reaches its lower bound"
           if d["best_order_lower_bound"] >= d["best_order_peak_bytes"]
           else f"; heuristic, lower bound {d['best_order_lower_bound']:,}"),
    ]
    if d.get("patch"):
        lines += _patch_lines(d["patch"])
    if d.get("budget"):
        lines += _budget_lines(d["budget"])
    return lines


def memory_text(d: dict[str, Any], fmt: str) -> str:
    """The memory result ``d`` in ``fmt`` (table, csv, json, markdown)."""
    if fmt == "json":
        return json.dumps(d, indent=2) + "\n"
    df = pd.DataFrame(d["layers"], columns=COLUMNS)
    if fmt == "csv":
        out = df.copy()
        out["output_shape"] = out["output_shape"].map(shape_str)
        return to_csv(out)
    fm = {c: (lambda v: f"{int(v):,}") for c in _RIGHT}
    fm["output_shape"] = shape_str
    if fmt == "markdown":
        parts = [f"## {d['model']}: memory", "", "```", *summary_lines(d), "```", "",
                 markdown_table(df, _SHOWN, fm, right=_RIGHT), "", "Conventions:", ""]
        parts += [f"- **{k}**: {v}" for k, v in d["conventions"].items()]
        return "\n".join(parts) + "\n"
    if fmt == "table":
        parts = [text_table(df, _SHOWN, _RIGHT, fm), "", *summary_lines(d),
                 "conventions: bytes; live = traced order, layer = MCU layer by layer; --format json lists every convention"]
        return "\n".join(parts) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def memory_figure(series: Sequence[dict[str, Any]], *, title: str, budget: int | None = None):
    """Live activation memory per step: one line per schedule (``{'label', 'bytes': [...],
    'names': [...]}``), the peak of each marked, and the budget as a horizontal line (KB)."""
    from .plots import _figure

    fig = _figure(8.0, 3.6)
    ax = fig.add_subplot(111)
    for s in series:
        ys = [b / KB for b in s["bytes"]]
        xs = list(range(len(ys)))
        ax.plot(xs, ys, label=s["label"], linewidth=1.2, drawstyle="steps-mid")
        if ys:
            i = max(range(len(ys)), key=ys.__getitem__)
            ax.plot([i], [ys[i]], marker="o", color="black", markersize=4)
            name = s["names"][i] if s.get("names") else ""
            ax.annotate(f"peak {ys[i]:,.0f} KB\n{name}", (i, ys[i]), textcoords="offset points", xytext=(6, -2),
                        fontsize=7, va="top")
    if budget:
        ax.axhline(budget / KB, color="#d62728", linestyle="--", linewidth=1, label=f"budget {budget / KB:,.0f} KB")
    ax.set_xlabel("step (ops in execution order)")
    ax.set_ylabel("activation memory (KB)")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper right")
    ax.set_ylim(bottom=0)
    return fig
