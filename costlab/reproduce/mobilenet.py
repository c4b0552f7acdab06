"""``costlab reproduce mobilenet``: MobileNet v1 (Howard et al., arXiv:1704.04861) and
MobileNet v2 (Sandler et al., arXiv:1801.04381) tables, paper vs costlab, with the
predicted ARM latency of every row."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from . import register_reproduction
from .devices import ARM, PIXEL, device, input_shape_of, report_for
from .paper_counts import DATA, load_rows, paper_value
from .papers import (COUNT_TOL, LATENCY_TOL, Agreement, count_rows, device_notes, fig_links, figures_dir,
                     fmt_g, fmt_ok, fmt_rel, header, md_table, source_has, summary_lines, summary_return,
                     wide_section, write_report)

NAME = "mobilenet"
PAPER = ("Howard et al. 2017, *MobileNets: Efficient Convolutional Neural Networks for Mobile Vision "
         "Applications*, arXiv:1704.04861; Sandler et al. 2018, *MobileNetV2: Inverted Residuals and Linear "
         "Bottlenecks*, CVPR 2018, arXiv:1801.04381")
V1, V2 = "1704.04861", "1801.04381"

V1_TABLES = [
    ("Table 4", "MobileNet v1 Table 4: depthwise separable vs full convolutions"),
    ("Table 5", "MobileNet v1 Table 5: narrow vs shallow"),
    ("Table 6", "MobileNet v1 Table 6: width multiplier"),
    ("Table 7", "MobileNet v1 Table 7: resolution multiplier"),
    ("Table 8", "MobileNet v1 Table 8: MobileNet vs GoogLeNet vs VGG-16"),
    ("Table 9", "MobileNet v1 Table 9: smaller MobileNet vs SqueezeNet vs AlexNet"),
    ("Table 10", "MobileNet v1 Table 10: Stanford Dogs (Inception V3 as quoted)"),
]
# Table 2 "Resource per layer type" (v1, alpha = 1.0, 224): costlab's op name -> the paper's row
LAYER_TYPES = (("Conv 1x1", lambda op: op.startswith("conv1x1")),
               ("Conv DW 3x3", lambda op: op.startswith("dwconv")),
               ("Conv 3x3 (first layer)", lambda op: op.startswith("conv3x3")),
               ("Fully Connected", lambda op: op.startswith("linear")))


def table2_rows() -> pd.DataFrame:
    rep = report_for("mobilenet_v1", None, 224)
    layers = rep.layers
    counted = layers[layers["op"].map(lambda op: any(f(op) for _, f in LAYER_TYPES))]
    tot_macs, tot_params = counted["macs"].sum(), counted["params"].sum()
    paper = {}
    for r in load_rows():
        if r["model"] == "MobileNetV1" and "share by layer type" in r["variant"]:
            kind = r["variant"].split("share by layer type: ")[1]
            paper[(kind, r["metric"])] = float(r["value"])
    rows = []
    for kind, f in LAYER_TYPES:
        sub = counted[counted["op"].map(f)]
        for metric, total, col in (("madds_share", tot_macs, "macs"), ("params_share", tot_params, "params")):
            rows.append({"layer type": kind, "metric": "Mult-Adds" if metric == "madds_share" else "Parameters",
                         "paper %": paper.get((kind, metric)), "costlab %": 100.0 * sub[col].sum() / total})
    return pd.DataFrame(rows)


def _table2_reason(t2: pd.DataFrame, kind: str, metric: str) -> str:
    r = t2[(t2["layer type"] == kind) & (t2["metric"] == metric)].iloc[0]
    p, c = r["paper %"], r["costlab %"]
    if abs(c - p) <= COUNT_TOL * p:
        return ""
    if abs(c - p) <= 0.005:
        return f"equal at the printed precision ({c:.4f}% prints as {p:.2f}%)"
    paper_sum = t2[t2["metric"] == metric]["paper %"].sum()
    swapped = f"{c:.2f}"
    hint = ""
    if len(swapped) == 4 and swapped[1] == "." and f"{swapped[0]}.{swapped[3]}{swapped[2]}" == f"{p:.2f}":
        hint = f"; most likely the digits of {swapped}% transposed"
    return (f"costlab's share is {c:.3f}% (exact count); the paper prints {p:.2f}% and its four {metric} shares sum "
            f"to {paper_sum:.2f}%, costlab's to 100%{hint}")


def load_v2_latency() -> pd.DataFrame:
    with (DATA / "mobilenet_v2_table4_latency.csv").open(newline="", encoding="utf-8") as f:
        return pd.DataFrame(list(csv.DictReader(f)))


def _tradeoff_plot(arm, out_dir: Path) -> str | None:
    """MACs vs predicted ARM ms over TF-slim's width x resolution grid (v1 and v2)."""
    if not arm.ok:
        return None
    from ..present.plots import Series, device_title, save_png_svg, scatter_figure

    series = []
    for fam, kind in (("MobileNetV1", "predicted"), ("MobileNetV2", "v2")):
        pts = []
        for r in load_rows():
            if r["model"] != fam or r["metric"] != "madds" or not re.fullmatch(r"alpha=[\d.]+", r["variant"]):
                continue
            if not r["resolution"].isdigit() or paper_value(r) is None:
                continue
            alpha, res = r["variant"].split("=")[1], int(r["resolution"])
            spec = f"{'mobilenet_v1' if fam == 'MobileNetV1' else 'mobilenet_v2'}:width={alpha}"
            ms = arm.predict_ms(spec, input_shape_of(spec, res))
            macs = report_for(spec, None, res).totals["macs"]
            if ms is not None:
                pts.append((macs / 1e6, ms, f"{alpha}/{res}"))
        if pts:
            series.append(Series(f"{fam} (predicted)", [p[0] for p in pts], [p[1] for p in pts],
                                 [p[2] for p in pts], kind=kind))
    if not series:
        return None
    fig = scatter_figure(series, logx=True, logy=True,
                         title=device_title("MobileNet v1/v2 width x resolution grid: MACs vs predicted latency",
                                            arm.device, arm.name),
                         xlabel="MACs (millions of multiply-adds, log)", ylabel="predicted latency (ms, log)")
    stem = f"{NAME}-grid-arm"
    save_png_svg(fig, figures_dir(out_dir) / stem)
    return stem


def _layers_plot(arm, out_dir: Path) -> str | None:
    if not arm.ok:
        return None
    from ..latency.breakdown import kernel_layers
    from ..present.plots import layers_figure, save_png_svg

    rep = arm.predict_report("mobilenet_v2", input_shape_of("mobilenet_v2", 224))
    fig = layers_figure(kernel_layers(rep, arm.profile), model="mobilenet_v2", device=arm.device, profile=arm.name,
                        kernels=True)
    stem = f"{NAME}-v2-layers-arm"
    save_png_svg(fig, figures_dir(out_dir) / stem)
    return stem


@register_reproduction(NAME, "MobileNet v1/v2: width/resolution multipliers, comparisons, predicted ARM ms "
                             "(reports/mobilenet.md)", order=32)
def reproduce_mobilenet(out_dir: Path, *, measure: bool = False) -> str:
    arm, pixel = device(ARM), device(PIXEL)
    devs = [(arm, "ARM ms (predicted)")]
    parts = header(NAME, "MobileNet v1 and v2: paper tables vs costlab", PAPER)
    parts += ["Device profiles: the ARM one predicts every row; the Pixel 1 one the MobileNet v2 CPU column:", ""]
    parts += device_notes(arm, pixel)
    parts += ["In the wide tables a diff over 1% is **bold**; `(p)` marks one that equals the paper's figure at",
              "the precision it printed (e.g. '1.3' M params for 1.332 M).", ""]
    summary: list[Agreement] = []
    body: list[str] = []
    for lines, agreements in (_table2_section(), _v1_sections(devs), _v2_table4_sections(arm, pixel, devs),
                              _implementation_sections(devs)):
        body += lines
        summary += agreements
    body += _figure_sections(arm, out_dir)

    parts += summary_lines(summary) + body
    write_report(out_dir, NAME, parts)
    return summary_return(summary, f"ARM profile: {arm.name if arm.ok else 'none'}")


def _table2_section() -> tuple[list[str], list[Agreement]]:
    """v1 Table 2: resource per layer type."""
    t2 = table2_rows()
    a2 = Agreement("v1 Table 2 (share of Mult-Adds / params per layer type)", COUNT_TOL)
    for _, r in t2.iterrows():
        a2.add(f"{r['layer type']} {r['metric']}", r["paper %"], r["costlab %"],
               abs(r["paper %"] - r["costlab %"]) <= 0.005)
    show = pd.DataFrame({"layer type": t2["layer type"], "metric": t2["metric"],
                         "paper %": t2["paper %"].map(lambda v: f"{v:.2f}"),
                         "costlab %": t2["costlab %"].map(lambda v: f"{v:.3f}"),
                         "diff": [fmt_rel((c - p) / p) for p, c in zip(t2["paper %"], t2["costlab %"])],
                         "within 1%": [fmt_ok(abs(c - p) <= COUNT_TOL * p) for p, c in zip(t2["paper %"], t2["costlab %"])],
                         "why": [_table2_reason(t2, k, m) for k, m in zip(t2["layer type"], t2["metric"])]})
    lines = ["## MobileNet v1 Table 2: resource per layer type (1.0 MobileNet-224)", "",
             "Shares of the conv/linear Mult-Adds and parameters (BN parameters left out, as in the paper).", "",
             a2.line(), "", md_table(show, list(show.columns), right={"paper %", "costlab %", "diff"}), ""]
    return lines, [a2]


def _v1_sections(devs) -> tuple[list[str], list[Agreement]]:
    """v1 Tables 4-10: wide paper-vs-costlab tables."""
    body: list[str] = []
    summary: list[Agreement] = []
    for tab, title in V1_TABLES:
        df = count_rows(source_has(V1, tab))
        if df.empty:
            continue
        lines, a = wide_section(title, df, f"v1 {tab} (counts)", devs)
        body += lines
        summary.append(a)
    return body, summary


def _v2_table4_sections(arm, pixel, devs) -> tuple[list[str], list[Agreement]]:
    """v2 Table 4: the counts, then the CPU latency column against the Pixel 1 profile."""
    df = count_rows(source_has(V2, "Table 4"))
    body, a = wide_section("MobileNet v2 Table 4: ImageNet comparison (counts)", df, "v2 Table 4 (counts)", devs)
    lat = load_v2_latency()
    rows = []
    for _, r in lat.iterrows():
        spec = r["spec"]
        shape = input_shape_of(spec, int(r["resolution"])) if spec else None
        ms = arm.predict_ms(spec, shape) if spec else None
        px = pixel.predict_ms(spec, shape) if spec else None
        paper = float(r["cpu_ms"]) if r["cpu_ms"] else None
        rows.append({"network": r["network"], "spec": f"`{spec}`" if spec else "not in the zoo",
                     "paper MAdds (M)": r["madds_m"], "paper CPU ms (Pixel 1, UNVERIFIED)": f"{paper:g}" if paper else "-",
                     f"predicted ms ({pixel.name})": fmt_g(px),
                     "diff": fmt_rel((px - paper) / paper) if px is not None and paper else "-",
                     f"predicted ms ({arm.name})": fmt_g(ms), "ms": ms, "px": px, "paper": paper})
    lat_df = pd.DataFrame(rows)
    a_px = Agreement(f"v2 Table 4 CPU ms (paper Pixel 1 vs predicted {pixel.name})", LATENCY_TOL)
    for _, r in lat_df.iterrows():
        if r["paper"]:
            a_px.add(r["network"], r["paper"], r["px"])

    def order(col: str) -> str:
        both = lat_df[lat_df[col].notna() & lat_df["paper"].notna()]
        if len(both) < 2:
            return "no prediction (no profile)"
        return "**holds**" if both["paper"].rank().tolist() == both[col].rank().tolist() else "**differs**"

    body += ["### MobileNet v2 Table 4: CPU latency", "",
             "The paper's CPU column is TF-Lite on one large core of a Google Pixel 1, the device of costlab's",
             f"`{pixel.name}` profile (calibrated on ProxylessNAS's TF-Lite measurements of that phone, not on",
             "these networks: every prediction here is out of sample). The Snapdragon 810 profile is another",
             "device and runtime: its ms are shown for the ordering only. The paper ms are UNVERIFIED",
             "(transcribed from memory; `costlab/data/mobilenet_v2_table4_latency.csv`).", "",
             a_px.line(), "",
             f"Ordering of the networks (paper vs predicted): {pixel.name} {order('px')}; {arm.name} {order('ms')}.", "",
             md_table(lat_df, ["network", "spec", "paper MAdds (M)", "paper CPU ms (Pixel 1, UNVERIFIED)",
                               f"predicted ms ({pixel.name})", "diff", f"predicted ms ({arm.name})"],
                      right={"paper MAdds (M)", "paper CPU ms (Pixel 1, UNVERIFIED)", f"predicted ms ({pixel.name})",
                             "diff", f"predicted ms ({arm.name})"}), ""]
    return body, [a, a_px]


def _implementation_sections(devs) -> tuple[list[str], list[Agreement]]:
    """Implementations: TF-slim grids, torchvision, Keras."""
    body: list[str] = []
    summary: list[Agreement] = []
    for fam, title in (("MobileNetV1", "MobileNet v1: TF-slim checkpoints (width x resolution grid) and Keras"),
                       ("MobileNetV2", "MobileNet v2: TF-slim checkpoints (width x resolution grid), torchvision, Keras")):
        df = count_rows(lambda c, fam=fam: c.model == fam and not any(x in c.source for x in (V1, V2, "1807.11164",
                                                                                              "ShuffleNet-Series")))
        if df.empty:
            continue
        lines, a = wide_section(title, df, f"{fam} implementations (counts)", devs)
        body += lines
        summary.append(a)
    return body, summary


def _figure_sections(arm, out_dir: Path) -> list[str]:
    body: list[str] = []
    stem = _tradeoff_plot(arm, out_dir)
    body += ["## Width x resolution trade-off on ARM", "",
             "Every TF-slim checkpoint of the width x resolution grid (label: width/resolution), MACs against",
             "predicted ARM latency.", ""]
    body += ([fig_links(stem, "MobileNet grid: MACs vs predicted ARM ms"), ""] if stem else
             [f"No figure: {arm.note}.", ""])
    stem = _layers_plot(arm, out_dir)
    body += ["## Where the time goes: MobileNet v2 per kernel on ARM", "",
             "Per kernel after the profile's fusion rules (e.g. conv + BN + ReLU6 = one kernel): MACs, memory",
             "access cost after fusion and predicted ms, in execution order.", ""]
    body += ([fig_links(stem, "MobileNet v2 per-kernel MACs, MAC bytes, ms on ARM"), ""] if stem else
             [f"No figure: {arm.note}.", ""])
    return body
