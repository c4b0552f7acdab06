"""ShuffleNet V2 (Ma et al., arXiv:1807.11164) reproductions:

* ``costlab reproduce shufflenetv2-guidelines``: Tables 1-4, the G1-G4 experiments on
  benchmark networks (``sv2bench_g1`` ... ``sv2bench_g4`` zoo entries): FLOPs and MAC by
  costlab, the paper's GPU and ARM speeds, the speeds predicted from the
  ``gpu-gtx1080ti`` and ``arm-sd810`` profiles (held out where the row is one of the
  profile's calibration samples), with ``--measure`` the speed measured on this machine
  (and on its GPU if it has one); per table and column, whether the guideline's ordering
  holds in the paper, in the prediction and in the measurement.
* ``costlab reproduce shufflenetv2-table8``: Table 8 rows whose network is in the zoo:
  MFLOPs paper vs costlab, GPU and ARM speed paper vs predicted, and the FLOPs-vs-speed
  scatter per platform (the paper's Fig. 1 c/d) with the FLOPs-only fit drawn in.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from . import register_reproduction
from .devices import ARM, GPU, canon, device, local_devices, per_second, report_for
from .paper_counts import DATA
from .papers import (COUNT_TOL, LATENCY_TOL, Agreement, device_notes, fig_links, figures_dir, fmt_g, fmt_ok,
                     fmt_rel, header, md_table, summary_lines, summary_return, write_csv, write_report,
                     zoo_module)

PAPER = ("Ma, Zhang, Zheng, Sun 2018, *ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture "
         "Design*, ECCV 2018, arXiv:1807.11164")
TABLES = ("Table1", "Table2", "Table3", "Table4")
GUIDELINE = {
    "Table1": ("G1", "equal channel width minimises memory access cost (MAC)"),
    "Table2": ("G2", "excessive group convolution increases MAC"),
    "Table3": ("G3", "network fragmentation reduces the degree of parallelism"),
    "Table4": ("G4", "element-wise operations are non-negligible"),
}
# the guideline's ordering: each chain lists rows from fastest to slowest
CHAINS = {
    "Table1": [["c1:c2=1:1", "c1:c2=1:2", "c1:c2=1:6", "c1:c2=1:12"]],
    "Table2": [["g=1", "g=2", "g=4", "g=8"]],
    "Table3": [["1-fragment", "2-fragment-series", "4-fragment-series"],
               ["1-fragment", "2-fragment-parallel", "4-fragment-parallel"]],
    "Table4": [["ReLU=no;shortcut=no", "ReLU=yes;shortcut=no", "ReLU=yes;shortcut=yes"],
               ["ReLU=no;shortcut=no", "ReLU=no;shortcut=yes", "ReLU=yes;shortcut=yes"]],
}
PLATFORMS = (("gpu", GPU, "GPU GTX 1080Ti", "batches/s"), ("arm", ARM, "ARM Snapdragon 810", "images/s"))


def data_file(name: str) -> Path:
    """The ShuffleNet V2 transcriptions (copied from the project's reference data with their
    sources) live in costlab/data/latency/ (the latency profiles are built from them)."""
    for p in (DATA / "latency" / name, DATA / name):
        if p.is_file():
            return p
    raise FileNotFoundError(f"{name} not found in costlab/data/latency/ or costlab/data/: reinstall costlab "
                            f"or copy it from the reference data")


def _read(name: str) -> list[dict]:
    with data_file(name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# -- Tables 1-4 ---------------------------------------------------------------------------------

def bench_spec(table: str, label: str, config: str, column: str) -> tuple[str, tuple[int, ...]]:
    """The zoo spec and input (batch 1) of one cell of Tables 1-4 (as the profiles read them:
    costlab/calibrate/sources.py)."""
    mult = {"x1": 1, "x2": 2, "x4": 4}
    if table == "Table1":
        c1, c2 = (int(x) for x in re.findall(r"\d+", config))
        m = mult[column]
        return f"sv2bench_g1:c1={c1 * m},ratio={c2 // c1}", (1, c1 * m, 56, 56)
    if table == "Table2":
        g = int(label.split("=")[1])
        c = int(config.split("=")[1]) * mult[column]
        return f"sv2bench_g2:c={c},groups={g}", (1, c, 56, 56)
    if table == "Table3":
        g3_width = zoo_module("sv2bench").g3_width
        c = int(column.split("=")[1])
        k = int(label.split("-")[0])
        arr = "parallel" if "parallel" in label else "series"
        return f"sv2bench_g3:c={c},fragments={k},arrangement={arr}", (1, g3_width(c, k, arr), 56, 56)
    c = int(column.split("=")[1])
    return (f"sv2bench_g4:c={c},relu={int('ReLU=yes' in label)},shortcut={int('shortcut=yes' in label)}",
            (1, c, 56, 56))


def guideline_rows(measure: bool) -> pd.DataFrame:
    rows = []
    for r in _read("shufflenetv2_tables.csv"):
        if r["table"] not in TABLES:
            continue
        plat = "arm" if r["platform"].startswith("ARM") else "gpu"
        key = ARM if plat == "arm" else GPU
        dev = device(key)
        spec, shape = bench_spec(r["table"], r["row_label"], r["config_for_x1"], r["column"])
        row = {"table": r["table"], "platform": plat, "row": r["row_label"], "column": r["column"],
               "config": r["config_for_x1"], "spec": spec, "input_shape": shape, "paper": float(r["value"]),
               "unit": r["unit"], "error": ""}
        try:
            t = report_for(spec, shape).totals
        except Exception as exc:  # a paper configuration the zoo cannot build (e.g. c not divisible by g)
            row.update({"macs": None, "mac_el": None, "pred": None, "held_out": False,
                        "error": str(exc).splitlines()[0]})
            rows.append(row)
            continue
        ms, held = dev.held_out_ms(spec, shape, batch=1) if dev.ok else (None, False)
        row.update({"macs": t["macs"], "mac_el": t["mac_bytes"] / 4, "pred": per_second(ms), "held_out": held})
        rows.append(row)
    df = pd.DataFrame(rows)
    if measure:
        _measure_into(df)
    return df


def _measure_into(df: pd.DataFrame) -> None:
    """Measured speed (runs/s at batch 1) here: the ARM rows' networks on this machine's CPU
    (1 thread, like the paper's ARM runs), the GPU rows' networks on its CUDA GPU when it has
    one (on a CPU they would take many minutes and say little about a GPU)."""
    devs = dict(local_devices())
    df["meas"] = None
    for plat, dev_name in (("arm", "cpu"), ("gpu", "cuda")):
        if dev_name not in devs:
            df.attrs[f"meas_{plat}"] = f"nothing (this machine has no {'CUDA GPU' if dev_name == 'cuda' else dev_name})"
            continue
        mask = (df["platform"] == plat) & (df["error"] == "")
        uniq = list(dict.fromkeys((s, tuple(sh)) for s, sh in zip(df.loc[mask, "spec"], df.loc[mask, "input_shape"])))
        try:
            from ..calibrate.measure import measure_specs

            res = measure_specs([(s, list(sh)) for s, sh in uniq], device=dev_name, batch=1, repeats=7,
                                threads=1 if dev_name == "cpu" else None, progress=True,
                                desc=f"shufflenetv2-guidelines --measure ({plat} rows on {dev_name})")
            ms = {(canon(m["spec"]), tuple(m["input_shape"])): m["median_ms"] for m in res}
        except ImportError:
            from .devices import measure_ms

            ms = {(canon(s), sh): measure_ms(s, sh, dev_name) for s, sh in uniq}
        df.loc[mask, "meas"] = [per_second(ms.get((canon(s), tuple(sh))))
                                for s, sh in zip(df.loc[mask, "spec"], df.loc[mask, "input_shape"])]
        df.attrs[f"meas_{plat}"] = devs[dev_name] + (", 1 thread" if dev_name == "cpu" else "")


def ordering(sub: pd.DataFrame, table: str, col: str) -> str:
    """Does the guideline's ordering hold in ``col`` (speeds) of one platform x column?
    Rows without a value (e.g. a configuration the zoo cannot build) are skipped and named."""
    vals = {r: v for r, v in zip(sub["row"], sub[col]) if v is not None and v == v}
    bad, ties, skipped = [], False, []
    for chain in CHAINS[table]:
        have = [r for r in chain if r in vals]
        skipped += [r for r in chain if r not in vals]
        if len(have) < 2:
            return "-"
        for a, b in zip(have, have[1:]):
            va, vb = round(vals[a], 6), round(vals[b], 6)
            if va < vb:
                bad.append(f"{b} faster than {a}")
            elif va == vb:
                ties = True
    note = f" (without {', '.join(dict.fromkeys(skipped))}: no value)" if skipped else ""
    if bad:
        return "**no**: " + "; ".join(dict.fromkeys(bad)) + note
    return ("yes (with ties)" if ties else "yes") + note


def _speed(v) -> str:
    return "-" if v is None or v != v else fmt_g(v, 3)


@register_reproduction("shufflenetv2-guidelines",
                       "ShuffleNet V2 Tables 1-4 (G1-G4): FLOPs, MAC, paper vs predicted speeds, orderings "
                       "(reports/shufflenetv2-guidelines.md)", order=20)
def reproduce_guidelines(out_dir: Path, *, measure: bool = False) -> str:
    name = "shufflenetv2-guidelines"
    gpu, arm = device(GPU), device(ARM)
    df = guideline_rows(measure)
    measured = "meas" in df.columns
    parts = header(name, "ShuffleNet V2 guidelines G1-G4 (Tables 1-4): paper vs costlab", PAPER, measure)
    parts += ["Device profiles:", ""] + device_notes(gpu, arm)
    parts += [
        "The benchmark networks are the `sv2bench_g1` ... `sv2bench_g4` zoo entries (`costlab/zoo/sv2bench.py`",
        "says how each was read from the paper's Sec. 2): 10 stacked blocks on a 56x56 feature map. Each",
        "platform has its own channel widths (the paper's \"for x1\" configurations), so GPU and ARM rows are",
        "different networks with their own FLOPs and MAC. FLOPs = MACs (multiply-adds, the paper's FLOPs);",
        "MAC = memory access cost in elements (costlab's MAC bytes / 4), summed over every op.",
        "Speeds: the paper's GPU \"Batches/sec.\" are read at batch 1 and ARM images/s at batch 1 (why:",
        "`costlab/calibrate/sources.py`). These rows are calibration samples of the two profiles, so each",
        "predicted speed is **held out**: the profile refitted without that network (leave-one-network-out),",
        "marked `h`; a prediction without the mark is the plain profile's.", ""]
    if measured:
        parts += ["Measured here (`--measure`, batch 1, random weights, eager PyTorch, median of 7 repeats):",
                  f"ARM rows' networks on {df.attrs.get('meas_arm')}; GPU rows' networks on {df.attrs.get('meas_gpu')}.",
                  "A different device and runtime than the paper's: compare orderings, not speeds.", ""]
    summary: list[Agreement] = []
    body: list[str] = []
    order_rows = []
    for table in TABLES:
        g, text = GUIDELINE[table]
        body += [f"## {table.replace('Table', 'Table ')} ({g}: {text})", ""]
        for plat, key, plabel, unit in PLATFORMS:
            sub = df[(df["table"] == table) & (df["platform"] == plat)]
            if sub.empty:
                continue
            dev = device(key)
            a = Agreement(f"{table.replace('Table', 'Table ')} {plabel} speed (paper vs predicted)", LATENCY_TOL)
            for _, r in sub.iterrows():
                a.add(f"{r['row']} {r['column']}", r["paper"], r["pred"])
            summary.append(a)
            show = pd.DataFrame({
                "row": sub["row"], "column": sub["column"], "spec": sub["spec"].map(lambda s: f"`{s}`"),
                "MFLOPs": sub["macs"].map(lambda v: fmt_g(v / 1e6 if v is not None and v == v else None)),
                "MAC (M elements)": sub["mac_el"].map(lambda v: fmt_g(v / 1e6 if v is not None and v == v else None)),
                f"paper {unit}": sub["paper"].map(lambda v: f"{v:g}"),
                f"predicted {unit}": [(_speed(p) + (" h" if h else "")) if p is not None else (f"not built: {e}" if e else "-")
                                      for p, h, e in zip(sub["pred"], sub["held_out"], sub["error"])],
                "diff": [fmt_rel((p - q) / q) if p is not None and p == p else "-" for p, q in zip(sub["pred"], sub["paper"])],
                "within 10%": [fmt_ok(abs(p - q) / q <= LATENCY_TOL) if p is not None and p == p else "-"
                               for p, q in zip(sub["pred"], sub["paper"])],
            })
            if measured:
                show["measured here, runs/s"] = sub["meas"].map(_speed)
            body += [f"### {plabel} ({dev.name if dev.ok else 'no profile'})", "", a.line(), "",
                     md_table(show, list(show.columns), right=set(show.columns) - {"row", "column", "spec", "within 10%"}), ""]
            for column in dict.fromkeys(sub["column"]):
                cs = sub[sub["column"] == column]
                orow = {"table": table.replace("Table", "Table "), "guideline": g, "platform": plabel, "column": column,
                        "paper": ordering(cs, table, "paper"), "predicted": ordering(cs, table, "pred") if dev.ok else "-"}
                if measured:
                    orow["measured here"] = ordering(cs, table, "meas")
                order_rows.append(orow)
        body += [""]
    odf = pd.DataFrame(order_rows)
    holds = {c: f"{int(odf[c].str.startswith('yes').sum())}/{int((odf[c] != '-').sum())}"
             for c in odf.columns if c in ("paper", "predicted") or c.startswith("measured")}
    order_lines = ["## Does the guideline's ordering hold? (per table, platform and column)", "",
                   "Ordering = the guideline's prediction of which rows are faster: G1 speed falls as c1:c2 moves",
                   "away from 1:1; G2 falls with more groups; G3 falls with more fragments (series and parallel);",
                   "G4 rises when ReLU and/or the shortcut are removed. Ties (equal printed speeds) count as holding.", "",
                   "Columns holding (of those with values): " + ", ".join(f"{k} {v}" for k, v in holds.items()) + ".", "",
                   md_table(odf, list(odf.columns)), ""]
    parts += summary_lines(summary) + order_lines + body
    csv_df = df.drop(columns=["input_shape"]).assign(input_shape=["x".join(map(str, s)) for s in df["input_shape"]])
    for col in ("macs", "mac_el"):
        csv_df[col] = pd.array([None if v is None or v != v else int(round(v)) for v in csv_df[col]], dtype="Int64")
    for col in [c for c in ("pred", "meas") if c in csv_df.columns]:     # fixed precision: stable bytes
        csv_df[col] = [None if v is None or v != v else round(float(v), 3) for v in csv_df[col]]
    write_csv(out_dir, name, csv_df)
    parts += [f"All rows as CSV: [`{name}.csv`]({name}.csv).", ""]
    write_report(out_dir, name, parts)
    return summary_return(summary, "orderings holding: " + ", ".join(f"{k} {v}" for k, v in holds.items()))


# -- Table 8 -------------------------------------------------------------------------------------

def table8_zoo() -> dict[str, tuple[str, int]]:
    """Table 8 row -> (zoo spec, input side): the latency package's map (one source of truth)."""
    try:
        from ..calibrate.sources import TABLE8_ZOO
    except ImportError:
        return {}
    return dict(TABLE8_ZOO)


def table8_rows() -> pd.DataFrame:
    zoo = table8_zoo()
    gpu, arm = device(GPU), device(ARM)
    rows = []
    for r in _read("shufflenetv2_table8.csv"):
        spec, res = zoo.get(r["model"], (None, None))
        row = {"group": r["complexity_group"], "model": r["model"], "spec": spec, "res": res,
               "paper_mflops": float(r["mflops"]),
               "paper_gpu": float(r["gpu_batches_per_s"]) if r["gpu_batches_per_s"] else None,
               "paper_arm": float(r["arm_images_per_s"]) if r["arm_images_per_s"] else None,
               "macs": None, "pred_gpu": None, "pred_arm": None, "held_gpu": False, "held_arm": False}
        if spec:
            shape = (1, 3, res, res)
            row["macs"] = report_for(spec, shape).totals["macs"]
            for dev, col, b in ((gpu, "gpu", 8), (arm, "arm", 1)):
                if dev.ok:
                    ms, held = dev.held_out_ms(spec, shape, batch=b)
                    row[f"pred_{col}"], row[f"held_{col}"] = per_second(ms), held
        rows.append(row)
    return pd.DataFrame(rows)


def flops_only_fit(mflops, speed) -> tuple[float, float] | None:
    """Least-squares time = a * MFLOPs + b on (MFLOPs, runs/s) points: the FLOPs-only model."""
    from ..present.plots import linear_fit

    pts = [(f, 1000.0 / s) for f, s in zip(mflops, speed) if s]
    if len(pts) < 2:
        return None
    return linear_fit([p[0] for p in pts], [p[1] for p in pts])


def _short(model: str) -> str:
    """'ShuffleNet v2 2x (ours, with SE [8])' -> 'ShuffleNet v2 2x with SE'."""
    m = re.sub(r"\(ours, with SE \[\d+\]\)", "with SE", model)
    return re.sub(r"\s*\[\d+\]|\s*\(ours\)|\s*\(our impl\.\)|\s*\(\d+ @ \d+, our impl\.\)", "", m).strip()


def mflops_reason(spec: str, paper_mflops: float) -> str:
    """Why costlab's MACs differ from a Table 8 MFLOPs figure: the zoo's declared reason for the
    same network and figure (paper_counts.csv), else what is known about the row."""
    from .papers import all_comparisons

    for c in all_comparisons():
        if c.metric == "madds" and canon(c.spec) == canon(spec) and abs(c.paper - paper_mflops * 1e6) < 0.5 and c.reason:
            return c.reason
    if spec.startswith("mobilenet_v2"):
        return ("the ShuffleNet V2 authors' own MobileNet v2 at a width the MobileNet v2 paper does not define; "
                "their channel rounding is not published (the zoo rounds channels as TF-slim does), so the "
                "networks differ; the profiles leave such rows out of calibration (MFLOPs more than 3% off)")
    return "not explained"


def _table8_plot(df: pd.DataFrame, plat: str, dev, unit: str, out_dir: Path) -> tuple[str, tuple | None]:
    from ..present.plots import Line, Series, device_title, save_png_svg, scatter_figure

    col = f"paper_{plat}"
    have = df[df[col].notna()]
    fit = flops_only_fit(have["paper_mflops"], have[col])
    short = [_short(m) for m in have["model"]]
    series = [Series("paper (measured by the authors)", list(have["paper_mflops"]), list(have[col]), short, kind="paper")]
    pred = df[df[f"pred_{plat}"].notna()]
    if not pred.empty:
        series.append(Series(f"costlab predicted ({dev.name})", list(pred["macs"] / 1e6), list(pred[f"pred_{plat}"]),
                             [_short(m) for m in pred["model"]],
                             kind="predicted"))
    lines = []
    if fit:
        a, b = fit
        lines.append(Line(f"FLOPs-only fit on the paper's points: t = {a:.4g} ms/MFLOP x + {b:.4g} ms",
                          lambda x, a=a, b=b: 1000.0 / (a * x + b) if a * x + b > 0 else float("nan")))
    where = "GTX 1080Ti, batch 8" if plat == "gpu" else "Snapdragon 810, 1 thread"
    fig = scatter_figure(series, lines=lines,
                         title=device_title(f"ShuffleNet V2 Table 8 / Fig. 1{'c' if plat == 'gpu' else 'd'}: "
                                            f"FLOPs vs speed ({where})", dev.device if dev.ok else where,
                                            dev.name if dev.ok else None),
                         xlabel="FLOPs (MFLOPs = millions of multiply-adds)", ylabel=f"speed ({unit})",
                         width=9.0, height=6.0)
    stem = f"shufflenetv2-table8-{plat}"
    save_png_svg(fig, figures_dir(out_dir) / stem)
    return stem, fit


@register_reproduction("shufflenetv2-table8",
                       "ShuffleNet V2 Table 8: MFLOPs and GPU/ARM speed, paper vs costlab, Fig. 1c/d scatter "
                       "(reports/shufflenetv2-table8.md)", order=22)
def reproduce_table8(out_dir: Path, *, measure: bool = False) -> str:
    name = "shufflenetv2-table8"
    gpu, arm = device(GPU), device(ARM)
    df = table8_rows()
    parts = header(name, "ShuffleNet V2 Table 8: paper vs costlab", PAPER)
    parts += ["Device profiles:", ""] + device_notes(gpu, arm)
    parts += ["GPU speeds are batches/s at batch 8 (GTX 1080Ti), ARM speeds images/s at batch 1 (Snapdragon 810,",
              "one thread); inputs 224x224 except `*` 160 and `**` 192. Rows whose network is one of a profile's",
              "calibration samples are predicted **held out** (the profile refitted without that network), marked",
              "`h`. The speed columns of Table 8 have one transcription only (`costlab/data/latency/`).", ""]
    zoo = df[df["spec"].notna()]
    summary: list[Agreement] = []
    a_f = Agreement("MFLOPs (paper vs costlab)", COUNT_TOL)
    a_g = Agreement(f"GPU speed (paper vs predicted{', ' + gpu.name if gpu.ok else ''})", LATENCY_TOL)
    a_a = Agreement(f"ARM speed (paper vs predicted{', ' + arm.name if arm.ok else ''})", LATENCY_TOL)
    for _, r in zoo.iterrows():
        a_f.add(r["model"], r["paper_mflops"], r["macs"] / 1e6, abs(r["macs"] / 1e6 - r["paper_mflops"]) <= 0.5)
        a_g.add(r["model"], r["paper_gpu"], r["pred_gpu"])
        a_a.add(r["model"], r["paper_arm"], r["pred_arm"])
    summary += [a_f, a_g, a_a]

    def pv(v, held):
        return "-" if v is None or v != v else fmt_g(v, 3) + (" h" if held else "")

    def dv(p, q):
        return "-" if p is None or p != p or not q or q != q else fmt_rel((p - q) / q)

    show = pd.DataFrame({
        "group": zoo["group"], "model": zoo["model"], "spec": [f"`{s}` @{int(r)}" for s, r in zip(zoo["spec"], zoo["res"])],
        "MFLOPs paper": zoo["paper_mflops"].map(lambda v: f"{v:g}"),
        "costlab": zoo["macs"].map(lambda v: f"{v / 1e6:.1f}"),
        "diff": [fmt_rel(m / 1e6 / p - 1) for m, p in zip(zoo["macs"], zoo["paper_mflops"])],
        "GPU b/s paper": zoo["paper_gpu"].map(lambda v: f"{v:g}" if v == v and v is not None else "-"),
        "GPU predicted": [pv(p, h) for p, h in zip(zoo["pred_gpu"], zoo["held_gpu"])],
        "GPU diff": [dv(p, q) for p, q in zip(zoo["pred_gpu"], zoo["paper_gpu"])],
        "ARM img/s paper": zoo["paper_arm"].map(lambda v: f"{v:g}" if v == v and v is not None else "-"),
        "ARM predicted": [pv(p, h) for p, h in zip(zoo["pred_arm"], zoo["held_arm"])],
        "ARM diff": [dv(p, q) for p, q in zip(zoo["pred_arm"], zoo["paper_arm"])],
    })
    notes = [f"- {r['model']}: {mflops_reason(r['spec'], r['paper_mflops'])}" for _, r in zoo.iterrows()
             if abs(r["macs"] / 1e6 / r["paper_mflops"] - 1) > COUNT_TOL]
    body = ["## Rows whose network is in the zoo", "",
            md_table(show, list(show.columns), right=set(show.columns) - {"group", "model", "spec"}), "",
            "A predicted speed without `h` is not held out: that network is not one of the profile's calibration",
            "samples (it was left out of calibration, e.g. because its MFLOPs do not match the zoo's network).", ""]
    if notes:
        body += ["Why MFLOPs differ by more than 1%:", ""] + notes + [""]
    body += _flops_vs_costlab(df, zoo, gpu, arm, out_dir)
    other = df[df["spec"].isna()]
    if not other.empty:
        body += ["## Rows not in the zoo", "",
                 "Shown in the scatter plots with the paper's values; not compared:", "",
                 ", ".join(dict.fromkeys(other["model"])) + ".", ""]
    parts += summary_lines(summary) + body
    write_report(out_dir, name, parts)
    return summary_return(summary)


def _flops_vs_costlab(df: pd.DataFrame, zoo: pd.DataFrame, gpu, arm, out_dir: Path) -> list[str]:
    """FLOPs-only fit vs costlab's predictor on the same rows, with the scatter per platform."""
    body = ["## FLOPs alone vs costlab's predictor", "",
            "The paper's point (Fig. 1c/d): networks with the same FLOPs run at very different speeds. The",
            "FLOPs-only model below is a least-squares line time = a x MFLOPs + b fitted to **all** the",
            "paper's Table 8 points of a platform (in-sample, so it is favoured); costlab's predictions are",
            "held out where the network is a calibration sample.", ""]
    frows = []
    for plat, dev, unit in (("gpu", gpu, "batches/s"), ("arm", arm, "images/s")):
        stem, fit = _table8_plot(df, plat, dev, unit, out_dir)
        errs_fit, errs_cl = [], []
        for _, r in zoo.iterrows():
            q = r[f"paper_{plat}"]
            if q is None or q != q:
                continue
            if fit:
                errs_fit.append(abs(1000.0 / (fit[0] * r["paper_mflops"] + fit[1]) / q - 1))
            p = r[f"pred_{plat}"]
            if p is not None and p == p:
                errs_cl.append(abs(p / q - 1))
        for label, errs in (("FLOPs-only fit", errs_fit), (f"costlab ({dev.name if dev.ok else 'no profile'})", errs_cl)):
            frows.append({"platform": plat.upper(), "model": label, "rows": len(errs),
                          "MAPE of speed": f"{100 * sum(errs) / len(errs):.1f}%" if errs else "-",
                          "within 10%": f"{sum(e <= LATENCY_TOL for e in errs)}/{len(errs)}" if errs else "-"})
        body += [f"### {plat.upper()}: FLOPs vs speed", "", fig_links(stem, f"Table 8 {plat} FLOPs vs speed"), ""]
    fdf = pd.DataFrame(frows)
    body += [md_table(fdf, list(fdf.columns), right={"rows", "MAPE of speed", "within 10%"}), ""]
    return body
