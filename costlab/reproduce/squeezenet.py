"""``costlab reproduce squeezenet``: SqueezeNet (Iandola et al., arXiv:1602.07360) — size and
complexity figures of the paper, its official repository and the papers that quote it."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import register_reproduction
from .devices import ARM, GPU, device, totals_for
from .paper_counts import load_rows
from .papers import (Agreement, cost_table, count_rows, device_notes, fmt_rel, header, md_table,
                     summary_lines, summary_return, undeclared_rows, wide_section, write_report, zoo_module)

NAME = "squeezenet"
PAPER = ("Iandola et al. 2016, *SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB "
         "model size*, arXiv:1602.07360")
ARXIV = "1602.07360"


def caffe_1_0() -> str:
    """The official SqueezeNet v1.0 Caffe model as a zoo spec (227 input, conv10 padded)."""
    return zoo_module("squeezenet").CAFFE_1_0


def claim_rows() -> list[dict]:
    """Ratios the paper and repository state in words."""
    rows = []
    CAFFE_1_0 = caffe_1_0()
    sq = totals_for("squeezenet1_0", 224)
    ax = totals_for("alexnet", 224)
    for r in load_rows():
        if r["model"] != "SqueezeNet":
            continue
        if r["metric"] == "params_ratio":
            rows.append({"claim": f"SqueezeNet {r['variant']}: {r['value']} {r['unit']} params",
                         "paper": float(r["value"]), "costlab": ax["params"] / sq["params"],
                         "how": "alexnet params / squeezenet1_0 params", "half": 5.0})
        if r["metric"] == "compute_ratio":
            s0, s1 = totals_for(CAFFE_1_0, 227), totals_for("squeezenet1_1", 227)
            rows.append({"claim": f"SqueezeNet {r['variant']}: {r['value']}x less computation",
                         "paper": float(r["value"]), "costlab": s0["macs"] / s1["macs"],
                         "how": f"MACs of `{CAFFE_1_0}` / `squeezenet1_1` at 227", "half": 0.05})
    return rows


@register_reproduction(NAME, "SqueezeNet: sizes, bypass variants, complexity as quoted (reports/squeezenet.md)", order=34)
def reproduce_squeezenet(out_dir: Path, *, measure: bool = False) -> str:
    arm, gpu = device(ARM), device(GPU)
    CAFFE_1_0 = caffe_1_0()
    devs = [(arm, "ARM ms (predicted)")]
    parts = header(NAME, "SqueezeNet: paper figures vs costlab", PAPER)
    parts += ["Device profiles:", ""] + device_notes(arm, gpu)
    parts += ["A diff over 1% is **bold**; `(p)`: equal to the paper at the precision it printed. "
              "size MB = params x 4 bytes in MiB (CONVENTIONS.md section 4).", ""]
    summary: list[Agreement] = []
    body: list[str] = []

    groups = (
        ("The paper and the official repository (forresti/SqueezeNet)",
         lambda c: c.model == "SqueezeNet" and "bypass" not in c.variant
         and (ARXIV in c.source or "forresti/SqueezeNet" in c.source or c.source.upper().startswith("UNVERIFIED")),
         "paper and repository"),
        ("torchvision", lambda c: c.model == "SqueezeNet" and ("torchvision" in c.variant), "torchvision"),
        ("As quoted by the ShuffleNet and MobileNet papers",
         lambda c: c.model == "SqueezeNet" and "as quoted" in c.variant, "quoted by other papers"),
    )
    for title, sel, what in groups:
        df = count_rows(sel)
        if df.empty:
            continue
        lines, a = wide_section(title, df, f"{what} (counts)", devs)
        body += lines
        summary.append(a)

    df = count_rows(lambda c: c.model == "SqueezeNet" and "bypass" in c.variant)
    if not df.empty:
        lines, ab = wide_section(
            "Table 3: bypass connections (model size)", df, "Table 3 (model size with bypass connections)", devs,
            intro=["The simple bypass adds no parameters (identity shortcuts); the complex bypass adds 1x1 convs",
                   "on the shortcuts (`costlab/zoo/squeezenet.py` says where). The paper's sizes are UNVERIFIED",
                   "(CONVENTIONS.md section 7)."])
        body += lines
        summary.append(ab)

    claims = claim_rows()
    ac = Agreement("claims in the text (ratios)", 0.10, kind="ratios")
    for c in claims:
        ac.add(c["claim"], c["paper"], c["costlab"], abs(c["costlab"] - c["paper"]) <= c["half"])
    cdf = pd.DataFrame([{"claim": c["claim"], "paper": f"{c['paper']:g}x", "costlab": f"{c['costlab']:.2f}x",
                         "diff": fmt_rel((c["costlab"] - c["paper"]) / c["paper"]), "computed as": c["how"]} for c in claims])
    if not cdf.empty:
        body += ["## Ratios stated in the text", "", "Ratios are compared within 10% (the text rounds them).", "",
                 ac.line(), "", md_table(cdf, list(cdf.columns), right={"paper", "costlab", "diff"}), ""]
        summary.append(ac)

    body += ["## What the paper does not print: memory traffic and predicted latency", "",
             cost_table([("SqueezeNet 1.0 (Caffe, 227)", CAFFE_1_0, 227), ("SqueezeNet 1.0 (torchvision)", "squeezenet1_0", 224),
                         ("SqueezeNet 1.1", "squeezenet1_1", 224), ("AlexNet", "alexnet", 224)],
                        [(arm, "ARM ms (predicted)"), (gpu, f"GPU ms, batch {gpu.batch} (predicted)")]), ""]
    rest = undeclared_rows(lambda r: r["model"] == "SqueezeNet" and r["metric"] not in ("size_mb", "params_ratio", "compute_ratio"))
    if not rest.empty:
        body += ["## Rows not compared here", "",
                 "Compression results and accuracy deltas (see `reports/compression.md` where it exists) and rows",
                 "that are not counts of the dense network:", "", md_table(rest, list(rest.columns)), ""]

    parts += summary_lines(summary) + body
    write_report(out_dir, NAME, parts)
    return summary_return(summary)
