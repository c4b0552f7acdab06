"""Plots (matplotlib, Agg; no pyplot state): FLOPs vs latency, latency by op class, and
per-layer MACs vs MAC bytes vs latency.

Every figure names the device and the profile in its title, labels both axes with their
units and writes each model's name next to its point. Figures are built from plain data
(lists of dicts, pandas frames), so the reports, ``costlab plot`` and notebooks share them.

:func:`save_figure` writes PNG, SVG or PDF atomically (temporary file + rename) and
byte-reproducibly: no dates, no matplotlib version string, a fixed SVG id salt; the same
data gives the same bytes on a rerun with the same matplotlib.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import matplotlib
from matplotlib.figure import Figure

from ..errors import OutputError, PlotError

FORMATS = ("png", "svg", "pdf")

_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}
_RC = {
    "svg.hashsalt": "costlab",      # fixed ids in the SVG instead of random ones
    "svg.fonttype": "path",        # text as paths: no font needed to view it
    "pdf.fonttype": 42,
    "font.size": 9,
    "axes.titlesize": 10,
    "figure.dpi": 100,
}
_MARKERS = {"paper": "o", "predicted": "s", "measured": "^"}
_COLORS = {"paper": "#1f77b4", "predicted": "#d62728", "measured": "#2ca02c"}




# -- output -----------------------------------------------------------------------------------

def format_of(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise PlotError(f"cannot tell the image format of '{path}': end the file name with "
                        f"{', '.join('.' + f for f in FORMATS)}")
    return suffix


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) atomically and reproducibly."""
    path = Path(path)
    fmt = format_of(path)
    from .output import atomic_write

    def write(f):
        with matplotlib.rc_context(_RC):
            fig.savefig(f, format=fmt, dpi=dpi, metadata=_METADATA[fmt], bbox_inches="tight")

    try:
        atomic_write(path, write, binary=True)
    except OutputError as exc:
        raise PlotError(str(exc)) from None
    return path


def save_png_svg(fig: Figure, stem: str | os.PathLike) -> list[Path]:
    """``stem.png`` and ``stem.svg``."""
    stem = Path(stem)
    return [save_figure(fig, stem.with_name(stem.name + ".png")),
            save_figure(fig, stem.with_name(stem.name + ".svg"))]


def _figure(w: float, h: float) -> Figure:
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(w, h))
    return fig


def device_title(what: str, device: str | None, profile: str | None, width: int = 90) -> str:
    """'<what>' over 'device: <device>; profile: <profile>' (both always named), wrapped."""
    import textwrap

    lines = textwrap.wrap(what, width) + textwrap.wrap(f"device: {device or 'none'}; profile: {profile or 'none'}", width)
    return "\n".join(lines)


# -- scatter with fits ------------------------------------------------------------------------

@dataclass
class Series:
    """Points of one kind (``'paper'``, ``'predicted'``, ``'measured'`` or any label)."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    names: Sequence[str] = ()
    kind: str = ""

    def __post_init__(self):
        if len(self.x) != len(self.y):
            raise PlotError(f"series '{self.label}': {len(self.x)} x values but {len(self.y)} y values")
        if self.names and len(self.names) != len(self.x):
            raise PlotError(f"series '{self.label}': {len(self.names)} names for {len(self.x)} points")


@dataclass
class Line:
    """A curve drawn over the x range of the data: ``y = fn(x)``."""

    label: str
    fn: object            # callable x -> y
    style: dict = field(default_factory=dict)


def scatter_figure(series: Iterable[Series], *, title: str, xlabel: str, ylabel: str,
                   lines: Iterable[Line] = (), logx: bool = False, logy: bool = False,
                   width: float = 7.5, height: float = 5.0, annotate: bool = True) -> Figure:
    series = [s for s in series if len(s.x)]
    if not series:
        raise PlotError("nothing to plot: no points")
    fig = _figure(width, height)
    ax = fig.add_subplot(1, 1, 1)
    xs_all = [float(v) for s in series for v in s.x]
    for i, s in enumerate(series):
        kind = s.kind or s.label
        ax.scatter(list(s.x), list(s.y), label=s.label, marker=_MARKERS.get(kind, "D"),
                   color=_COLORS.get(kind, f"C{(i + 3) % 10}"), s=28, zorder=3)
        if annotate and s.names:
            for j, (x, y, n) in enumerate(zip(s.x, s.y, s.names)):
                ax.annotate(n, (x, y), textcoords="offset points",
                            xytext=(4, 4 if j % 2 == 0 else -9), fontsize=6.5,
                            color=_COLORS.get(kind, "0.25"))
    lo, hi = min(xs_all), max(xs_all)
    if logx and lo > 0:
        grid = [lo * (hi / lo) ** (k / 200) for k in range(201)]
    else:
        pad = 0.05 * (hi - lo or 1.0)
        grid = [max(lo - pad, 1e-9 if logx else lo - pad) + (hi - lo + 2 * pad) * k / 200 for k in range(201)]
    for ln in lines:
        ys = []
        for x in grid:
            try:
                y = float(ln.fn(x))
            except (ZeroDivisionError, ValueError, OverflowError):
                y = math.nan
            ys.append(y if math.isfinite(y) and (not logy or y > 0) else math.nan)
        ax.plot(grid, ys, label=ln.label, **({"color": "0.35", "linestyle": "--", "linewidth": 1.0} | ln.style))
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    for on, axis, setter in ((logx, ax.xaxis, ax.set_xscale), (logy, ax.yaxis, ax.set_yscale)):
        if on:
            setter("log")
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(plain)
            axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, linewidth=0.4, alpha=0.5)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def linear_fit(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Least-squares ``y = a*x + b``; (a, b)."""
    n = len(x)
    if n < 2:
        raise PlotError("a fit needs at least two points")
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((xi - mx) ** 2 for xi in x)
    if sxx == 0:
        raise PlotError("a fit needs at least two different x values")
    a = sum((xi - mx) * (yi - my) for xi, yi in zip(x, y)) / sxx
    return a, my - a * mx


def flops_latency_figure(points: Sequence[dict], *, device: str, profile: str,
                         baseline: tuple[float, float] | None = None, fit: bool = True,
                         title: str | None = None) -> Figure:
    """MACs (the papers' 'FLOPs') vs latency, one point per model.

    ``points``: dicts with ``name``, ``macs`` and ``ms`` and optionally ``kind``
    (``'predicted'`` default, ``'paper'``, ``'measured'``). ``baseline``: (ms per MMAC,
    ms) of the profile's FLOPs-only model, drawn as a line; ``fit``: also draw the
    least-squares line through the points when no baseline is given.
    """
    if not points:
        raise PlotError("nothing to plot: give at least one model")
    by_kind: dict[str, list[dict]] = {}
    for p in points:
        by_kind.setdefault(p.get("kind", "predicted"), []).append(p)
    series = [Series(f"{k} latency", [p["macs"] / 1e6 for p in ps], [p["ms"] for p in ps],
                     [p["name"] for p in ps], kind=k) for k, ps in by_kind.items()]
    lines = []
    if baseline is not None:
        a, b = baseline
        lines.append(Line(f"FLOPs-only model of the profile: {a:.4g} ms/MMAC x + {b:.4g} ms",
                          lambda x, a=a, b=b: a * x + b))
    elif fit and len(points) >= 2 and len({p["macs"] for p in points}) >= 2:
        a, b = linear_fit([p["macs"] / 1e6 for p in points], [p["ms"] for p in points])
        lines.append(Line(f"least-squares fit: {a:.4g} ms/MMAC x + {b:.4g} ms", lambda x, a=a, b=b: a * x + b))
    xs = [p["macs"] for p in points if p["macs"] > 0]
    log = bool(xs) and len(xs) == len(points) and max(xs) / min(xs) > 20 and all(p["ms"] > 0 for p in points)
    return scatter_figure(series, lines=lines, logx=log, logy=log,
                          title=title or device_title("MACs (FLOPs) vs latency", device, profile),
                          xlabel="MACs (millions of multiply-adds; the papers' 'FLOPs')" + (", log" if log else ""),
                          ylabel="latency (ms" + (", log)" if log else ")"))


def predicted_flops_latency_figure(points: Sequence[dict], *, device: str, profile: str, batch: int,
                                   baseline: tuple[float, float] | None = None) -> Figure:
    """``costlab plot flops-latency``: :func:`flops_latency_figure` of predicted ms at ``batch``
    (``points``' ``macs`` per image, ``ms`` per batch), its axes saying so when ``batch`` > 1."""
    fig = flops_latency_figure(points, device=device, profile=profile, baseline=baseline,
                               title=device_title(f"MACs (FLOPs) vs predicted latency, batch {batch}", device, profile))
    if batch != 1:
        ax = fig.axes[0]
        ax.set_ylabel(ax.get_ylabel().replace("latency (ms", f"predicted latency (ms per batch of {batch}"))
        ax.set_xlabel(ax.get_xlabel().replace("MACs (", "MACs per image ("))
    return fig


def profile_label(name: str, runtime: str | None = None) -> str:
    """A profile as a figure names it: its name, and the GPU runtime predicted (eager / cudagraph)."""
    return name if runtime is None else f"{name}, {runtime}"


# -- latency by op class ----------------------------------------------------------------------

def breakdown_figure(ms_by_class: dict[str, float], *, model: str, device: str, profile: str,
                     title: str | None = None) -> Figure:
    """Horizontal bars: predicted ms per latency class, with its share of the total."""
    items = sorted(((k, float(v)) for k, v in ms_by_class.items() if v and v > 0), key=lambda kv: (-kv[1], kv[0]))
    if not items:
        raise PlotError(f"nothing to plot: {model} has no predicted latency in any op class")
    total = sum(v for _, v in items)
    fig = _figure(7.0, 0.45 * len(items) + 1.6)
    ax = fig.add_subplot(1, 1, 1)
    names = [k for k, _ in items][::-1]
    vals = [v for _, v in items][::-1]
    bars = ax.barh(names, vals, color="#4c72b0")
    for bar, v in zip(bars, vals):
        ax.annotate(f"{v:.3g} ms ({100 * v / total:.1f}%)", (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                    textcoords="offset points", xytext=(3, 0), va="center", fontsize=7)
    ax.set_xlim(0, max(vals) * 1.35)
    ax.set_xlabel("predicted latency (ms)")
    ax.set_ylabel("latency class")
    ax.set_title(title or device_title(f"{model}: latency by op class (total {total:.4g} ms)", device, profile))
    ax.grid(True, axis="x", linewidth=0.4, alpha=0.5)
    fig.tight_layout()
    return fig


def predicted_breakdown_figure(ms_by_class: dict[str, float], *, model: str, device: str, profile: str,
                               batch: int) -> Figure:
    """``costlab plot breakdown``: :func:`breakdown_figure` titled with the total and ``batch``."""
    total = sum(ms_by_class.values())
    return breakdown_figure(ms_by_class, model=model, device=device, profile=profile,
                            title=device_title(f"{model}: predicted latency by op class, total {total:.4g} ms "
                                               f"(batch {batch}; fused ops counted in their kernel's class)",
                                               device, profile))


# -- per-layer ---------------------------------------------------------------------------------

def layers_figure(layers, *, model: str, device: str, profile: str | None,
                  title: str | None = None, max_labels: int = 40, kernels: bool = False) -> Figure:
    """Three aligned panels over the layers in execution order: MACs, MAC bytes, and the
    predicted ms (when ``layers`` has a ``latency_ms`` column).

    ``layers``: a DataFrame (or list of dicts) with ``name``, ``macs``, ``mac_bytes`` and
    optionally ``latency_ms``. Layers with nothing in every column are left out.
    """
    import pandas as pd

    df = layers if isinstance(layers, pd.DataFrame) else pd.DataFrame(list(layers))
    for col in ("name", "macs", "mac_bytes"):
        if col not in df.columns:
            raise PlotError(f"layers need a '{col}' column")
    has_ms = "latency_ms" in df.columns
    keep = (df["macs"] > 0) | (df["mac_bytes"] > 0)
    if has_ms:
        keep |= df["latency_ms"] > 0
    df = df[keep].reset_index(drop=True)
    if df.empty:
        raise PlotError(f"nothing to plot: {model} has no layer with MACs, MAC bytes or latency")
    panels = [("macs", 1e6, "MACs (millions)", "#4c72b0"),
              ("mac_bytes", 1e6, "MAC bytes (MB)", "#dd8452")]
    if has_ms:
        panels.append(("latency_ms", 1.0, "predicted latency (ms)", "#c44e52"))
    n = len(df)
    fig = _figure(min(max(7.0, 0.11 * n + 3.0), 22.0), 2.0 * len(panels) + 1.8)
    axes = [fig.add_subplot(len(panels), 1, i + 1) for i in range(len(panels))]
    xs = list(range(n))
    for ax, (col, scale, label, color) in zip(axes, panels):
        ax.bar(xs, [float(v) / scale for v in df[col]], color=color, width=0.8)
        ax.set_ylabel(label)
        ax.set_xlim(-1, n)
        ax.grid(True, axis="y", linewidth=0.4, alpha=0.5)
    for ax in axes[:-1]:
        ax.sharex(axes[-1])
        ax.tick_params(labelbottom=False)
    step = max(1, math.ceil(n / max_labels))
    axes[-1].set_xticks(xs[::step])
    axes[-1].set_xticklabels([str(s) for s in df["name"]][::step], rotation=90, fontsize=6)
    unit = "kernel" if kernels else "layer"
    axes[-1].set_xlabel(f"{unit} (execution order" + (f"; one name every {step} {unit}s" if step > 1 else "") + ")")
    what = (f"{model}: per-{'kernel (after fusion)' if kernels else 'layer'} MACs vs MAC bytes"
            + (" vs predicted ms" if has_ms else " (no latency profile)"))
    axes[0].set_title(title or device_title(what, device, profile))
    fig.tight_layout()
    return fig


# -- search: the Pareto front -------------------------------------------------------------

def _frac(values: Sequence[float], v: float, log: bool) -> float:
    """Where ``v`` lies in ``values``' range, 0..1 (on a log scale when ``log``)."""
    f = math.log if log else float
    lo, hi = f(min(values)), f(max(values))
    return (f(v) - lo) / (hi - lo) if hi > lo else 0.5


def _log_axes(ax) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    for axis, setter in ((ax.xaxis, ax.set_xscale), (ax.yaxis, ax.set_yscale)):
        setter("log")
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())


def _place(ax, boxes: list, xy, text: str, off, ha: str, va: str, size: float, force: bool = False, **kw) -> bool:
    """Annotate ``xy`` with ``text`` unless its (estimated) box would overlap a placed one or
    leave the axes; ``force`` places it anyway. Returns whether it was placed."""
    k = ax.figure.dpi / 72.0
    lines = text.split("\n")
    w, h = 0.6 * size * k * max(map(len, lines)), 1.3 * size * k * len(lines)
    px, py = ax.transData.transform(xy)
    x0 = px + off[0] * k - (w if ha == "right" else w / 2 if ha == "center" else 0)
    y0 = py + off[1] * k - (h if va == "top" else h / 2 if va == "center" else 0)
    box = (x0, y0, x0 + w, y0 + h)
    bb = ax.bbox
    inside = bb.x0 <= box[0] and box[2] <= bb.x1 and bb.y0 <= box[1] and box[3] <= bb.y1
    clash = any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes)
    if not force and (clash or not inside):
        return False
    ax.annotate(text, xy, textcoords="offset points", xytext=off, ha=ha, va=va, fontsize=size, **kw)
    boxes.append(box)
    return True


def pareto_figure(xs: Sequence[float], ys: Sequence[float], *, front: Sequence[int], best: int | None,
                  labels: Sequence[str], capacity: str, budget_ms: float | None, chosen_label: str | None,
                  what: str, device: str | None, profile: str | None, title: str | None = None,
                  max_labels: int = 20) -> Figure:
    """Latency (ms, x) vs capacity (millions of MACs or params, y) of every variant, the Pareto
    front as a staircase, the budget and the chosen variant ``best`` (named); front points are
    named where their labels do not collide (no hand-tuned offsets)."""
    cap = capacity
    cap_name = "MACs" if cap == "macs" else "params"
    fig = Figure(figsize=(7.5, 5.0))
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(xs, ys, s=9, color="0.7", label=f"variants ({len(xs):,})", zorder=2)
    fx, fy = [xs[i] for i in front], [ys[i] for i in front]
    ax.step(fx, fy, where="post", color="#1f77b4", linewidth=1.0, zorder=3)
    ax.scatter(fx, fy, s=22, color="#1f77b4", label=f"Pareto front ({len(fx)})", zorder=4)
    if budget_ms is not None:
        ax.axvline(budget_ms, color="#d62728", linestyle="--", linewidth=1.0,
                   label=f"budget {budget_ms:g} ms")
    log = min(ys) > 0 and min(xs) > 0 and max(ys) / min(ys) > 20
    if log:
        _log_axes(ax)
    ax.set_xlabel("predicted latency (ms" + (", log)" if log else ")"))
    ax.set_ylabel(("MACs (millions of multiply-adds)" if cap == "macs" else "parameters (millions)")
                  + (", log" if log else ""))
    ax.set_title(title or device_title(what, device, profile), fontsize=10)
    ax.grid(True, linewidth=0.4, alpha=0.5)
    fig.tight_layout()
    boxes: list = []
    if best is not None:
        b = best
        ax.scatter([xs[b]], [ys[b]], s=140, marker="*", color="#d62728", zorder=5, label=chosen_label or "chosen")
        # up-left of a front point is empty (nothing is faster and bigger); beside it at the top,
        # right of it at the fast end
        xf, yf = _frac(xs, xs[b], log), _frac(ys, ys[b], log)
        if xf < 0.25:
            off, ha, va = ((10, -12), "left", "top") if yf > 0.3 else ((10, 10), "left", "bottom")
        else:
            off, ha, va = ((-14, 0), "right", "center") if yf > 0.85 else ((-10, 8), "right", "bottom")
        _place(ax, boxes, (xs[b], ys[b]), f"{labels[b]}\n{xs[b]:.3g} ms, {ys[b]:.3g}M {cap_name}", off, ha,
               va, 7.5, force=True, color="#d62728", fontweight="bold")
    placed = 0
    for i in front:
        if i != best and placed < max_labels:
            placed += _place(ax, boxes, (xs[i], ys[i]), labels[i], (-3, 3), "right", "bottom", 6.5,
                             color="#1f4e79")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
