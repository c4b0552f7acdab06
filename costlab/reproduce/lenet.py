"""``costlab reproduce lenet``: the per-layer weight and FLOP tables of LeNet-300-100 and
LeNet-5 in Han et al. 2015 (arXiv:1506.02626, Tables 2-3), paper vs costlab."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import register_reproduction
from .devices import ARM, device, report_for
from .paper_counts import load_rows, paper_value
from .papers import (COUNT_TOL, Agreement, count_rows, device_notes, fmt_g, fmt_ok, fmt_rel, header, md_table,
                     summary_lines, summary_return, wide_section, write_report)

NAME = "lenet"
PAPER = ("Han, Pool, Tran, Dally 2015, *Learning both Weights and Connections for Efficient Neural Networks*, "
         "NIPS 2015, arXiv:1506.02626 (Tables 2-3: the dense LeNet-300-100 and LeNet-5 per layer)")
NETS = (("LeNet-300-100", "lenet_300_100"), ("LeNet-5", "lenet5"))


def layer_rows(arm) -> pd.DataFrame:
    rows = []
    for model, spec in NETS:
        rep = report_for(spec, None, None)
        pred = arm.predict_report(spec, rep.input_shape[0]) if arm.ok else None
        layers = rep.layers
        paper = {}
        for r in load_rows():
            if r["model"] == model and r["metric"] in ("params", "flops"):
                paper.setdefault(r["variant"], {})[r["metric"]] = (paper_value(r), r)
        for variant, vals in paper.items():
            name = variant.split(" ")[0]
            if name == "total":
                sel = layers[layers["macs"] > 0]
                pred_sel = pred.layers[pred.layers["macs"] > 0] if pred is not None else None
            else:
                sel = layers[layers["module"].map(lambda m, n=name: m.split(".")[-1] == n)]
                sel = sel[sel["macs"] > 0]
                pred_sel = (pred.layers[pred.layers["module"].map(lambda m, n=name: m.split(".")[-1] == n)]
                            if pred is not None else None)
            weights = sum(_weight_elements(spec, m) for m in sel["module"]) if not sel.empty else None
            flops = 2 * int(sel["macs"].sum()) if not sel.empty else None
            ms = (float(pred_sel["latency_ms"].sum()) if pred_sel is not None and "latency_ms" in pred_sel else None)
            for metric, ours, label in (("params", weights, "weights"), ("flops", flops, "FLOP (2 x MAC)")):
                if metric not in vals:
                    continue
                pv, raw = vals[metric]
                rows.append({"network": model, "layer": variant, "metric": label, "paper": pv, "printed": raw["value"],
                             "costlab": ours, "bias": int(sel["params"].sum()) - weights if weights is not None else None,
                             "rel_diff": (ours - pv) / pv if ours is not None and pv else None,
                             "printed_ok": ours is not None and _printed_equal(raw["value"], ours),
                             "verified": not raw["source"].upper().startswith("UNVERIFIED"), "ms": ms})
    return pd.DataFrame(rows)


def _weight_elements(spec: str, module: str) -> int:
    """Elements of the layer's weight tensor (its bias apart), from the zoo model itself."""
    from ..spec import build_zoo

    mod = build_zoo(spec).model.get_submodule(module)
    return int(mod.weight.numel())


def _printed_equal(text: str, ours: float) -> bool:
    """'0.5K' printed -> anything that rounds to it at that precision."""
    t = text.strip()
    mult = {"K": 1e3, "M": 1e6, "B": 1e9}.get(t[-1], 1.0)
    num = t[:-1] if t[-1] in "KMB" else t
    decimals = len(num.split(".")[1]) if "." in num else 0
    return abs(ours / mult - float(num)) <= 0.5 * 10 ** (-decimals) + 1e-12


@register_reproduction(NAME, "Han et al. 2015 LeNet-300-100 / LeNet-5 per-layer weights and FLOP (reports/lenet.md)",
                       order=40)
def reproduce_lenet(out_dir: Path, *, measure: bool = False) -> str:
    arm = device(ARM)
    parts = header(NAME, "LeNet-300-100 and LeNet-5 (Han et al. 2015): per-layer tables vs costlab", PAPER)
    parts += ["Device profile (per-layer predicted ms, for scale only: the paper times no LeNet):", ""] + device_notes(arm)
    parts += ["Han et al. count weights without biases and FLOP = 2 x MAC (conv1 of LeNet-5: 500 weights x 576",
              "positions x 2 = 576K). costlab's weights column is the weight tensors' elements; the biases it",
              "also counts are listed apart. **Every paper value here is UNVERIFIED** (the values come from a",
              "lecture; Tables 2-3 were not found in a stored copy: CONVENTIONS.md section 6); they are",
              "arithmetically consistent with Caffe's LeNet definitions. Dense (unpruned) networks only: the",
              "pruned columns are the compression report's (`compression.md`).", ""]
    df = layer_rows(arm)
    summary: list[Agreement] = []
    body: list[str] = []
    for model, _ in NETS:
        sub = df[df["network"] == model]
        a = Agreement(f"{model} per-layer table", COUNT_TOL)
        for _, r in sub.iterrows():
            a.add(f"{r['layer']} {r['metric']}", r["paper"], r["costlab"], r["printed_ok"])
        show = pd.DataFrame({
            "layer": sub["layer"], "metric": sub["metric"], "paper (printed)": sub["printed"],
            "costlab": sub["costlab"].map(lambda v: f"{int(v):,}"), "diff": sub["rel_diff"].map(fmt_rel),
            "within 1%": [fmt_ok(abs(d) <= COUNT_TOL) for d in sub["rel_diff"]],
            "at printed precision": sub["printed_ok"].map(lambda v: "equal" if v else "differs"),
            "biases (not in paper)": [f"{int(b):,}" if m == "weights" else "" for b, m in zip(sub["bias"], sub["metric"])],
            "ARM ms (predicted)": [fmt_g(ms) if m == "weights" else "" for ms, m in zip(sub["ms"], sub["metric"])],
        })
        body += [f"## {model}", "", a.line(), "",
                 md_table(show, list(show.columns), right={"paper (printed)", "costlab", "diff", "biases (not in paper)",
                                                           "ARM ms (predicted)"}), ""]
        summary.append(a)
    totals = count_rows(lambda c: c.model in [m for m, _ in NETS])
    if not totals.empty:
        lines, a = wide_section("Network totals as declared in the zoo (params with biases)", totals,
                                "totals (params incl. biases, FLOP)", [(arm, "ARM ms (predicted)")])
        body += lines
        summary.append(a)
    parts += summary_lines(summary) + body
    write_report(out_dir, NAME, parts)
    return summary_return(summary)
