"""``costlab reproduce xception``: Xception (Chollet, arXiv:1610.02357) — the parameter counts of
its Table 3 (Xception vs Inception V3) and of the Keras implementations, paper vs costlab."""
from __future__ import annotations

from pathlib import Path

from . import register_reproduction
from .devices import ARM, GPU, device
from .papers import (Agreement, cost_table, count_rows, device_notes, header, md_table, summary_lines,
                     summary_return, undeclared_rows, wide_section, write_report)

NAME = "xception"
PAPER = "Chollet 2017, *Xception: Deep Learning with Depthwise Separable Convolutions*, CVPR 2017, arXiv:1610.02357"
ARXIV = "1610.02357"
MODELS = ("Xception", "InceptionV3")


@register_reproduction(NAME, "Xception vs Inception V3: parameter counts (paper Table 3, Keras) (reports/xception.md)",
                       order=36)
def reproduce_xception(out_dir: Path, *, measure: bool = False) -> str:
    arm, gpu = device(ARM), device(GPU)
    devs = [(arm, "ARM ms (predicted)"), (gpu, f"GPU ms, batch {gpu.batch} (predicted)")]
    parts = header(NAME, "Xception: paper figures vs costlab", PAPER)
    parts += ["Device profiles:", ""] + device_notes(arm, gpu)
    parts += ["A diff over 1% is **bold**; `(p)`: equal to the paper at the precision it printed. The paper's",
              "parameter counts are trainable parameters with the 1000-way logistic layer; Keras' totals add",
              "the BN moving statistics (CONVENTIONS.md section 3).", ""]
    summary: list[Agreement] = []
    body: list[str] = []
    for title, sel, what in (
        ("Table 3: size of Xception and Inception V3 (paper)", lambda c: c.model in MODELS and ARXIV in c.source,
         "paper Table 3 (params)"),
        ("Keras and torchvision implementations", lambda c: c.model in MODELS and ARXIV not in c.source
         and "1704.04861" not in c.source, "implementations (counts)"),
        ("Inception V3 as quoted by the MobileNet paper (Table 10, Stanford Dogs)",
         lambda c: c.model == "InceptionV3" and "1704.04861" in c.source, "quoted by MobileNet (counts)"),
    ):
        df = count_rows(sel)
        if df.empty:
            continue
        lines, a = wide_section(title, df, what, devs)
        body += lines
        summary.append(a)
    body += ["## What the paper does not print: MACs, memory traffic and predicted latency", "",
             "At 299x299, the input both networks were trained at.", "",
             cost_table([("Xception", "xception", 299), ("Inception V3", "inception_v3", 299)], devs), ""]
    rest = undeclared_rows(lambda r: r["model"] == "Xception")
    if not rest.empty:
        body += ["## Rows not compared here", "",
                 "ShuffleNet V2's \"Xception 0.5x-2x\" are the ShuffleNet V2 authors' light-weight Xception-like",
                 "networks (CONVENTIONS.md section 2.7), not Chollet's network; the zoo does not build them.", "",
                 md_table(rest, list(rest.columns)), ""]
    parts += summary_lines(summary) + body
    write_report(out_dir, NAME, parts)
    return summary_return(summary)
