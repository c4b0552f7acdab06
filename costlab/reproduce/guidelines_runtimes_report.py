"""The report of ``costlab reproduce guidelines-runtimes``, built from its measurements CSV
(:mod:`costlab.reproduce.guidelines_runtimes` measures): ordering verdicts and chain ratios of
Tables 1-4 per runtime beside the paper's GPU and ARM, Table 8 per runtime (ShuffleNet v2 against
the fastest other zoo network of its complexity group; rank correlation with the paper), the
noise of each runtime's measurements, what was not measured and why, and one figure.

Everything here reads the CSV only: deterministic output from the same CSV."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .papers import fmt_g, md_table, write_report
from .shufflenetv2 import CHAINS, GUIDELINE, PAPER, TABLES

NAME = "guidelines-runtimes"
CSV = f"{NAME}.csv"


@dataclass(frozen=True)
class Row:
    """One row of a paper table and the network measured for it."""

    table: str              # Table1 ... Table4, Table8
    row: str                # the paper's row label (Table 8: the model name)
    column: str             # the paper's column measured (Tables 1-4: x1, c=64, ...; Table 8: group)
    spec: str
    shape: tuple[int, ...]
    paper_arm: float | None   # images/s, Snapdragon 810, 1 thread
    paper_gpu: float | None   # batches/s, GTX 1080Ti (Tables 1-4 at the GPU x1 widths; Table 8 batch 8)
    mflops: float | None = None   # Table 8: the paper's MFLOPs


def shape_text(shape) -> str:
    return "x".join(str(int(d)) for d in shape)


PAPER_COLS = (("paper GPU", "paper_gpu"), ("paper ARM", "paper_arm"))
TITLES = {"torch": "PyTorch eager", "ort": "ONNX Runtime", "openvino": "OpenVINO", "litert": "LiteRT (XNNPACK)"}
CHAIN_NAMES = {("Table1", 0): "G1: c1:c2 1:1 -> 1:12", ("Table2", 0): "G2: g 1 -> 8",
               ("Table3", 0): "G3: 1 -> 4 fragments, series", ("Table3", 1): "G3: 1 -> 4 fragments, parallel",
               ("Table4", 0): "G4: ReLU, then shortcut removed", ("Table4", 1): "G4: shortcut, then ReLU removed"}

TICKS = {"G1: c1:c2 1:1 -> 1:12": "G1\nc1:c2\n1:1 -> 1:12", "G2: g 1 -> 8": "G2\ngroups\n1 -> 8",
         "G3: 1 -> 4 fragments, series": "G3 series\nfragments\n1 -> 4",
         "G3: 1 -> 4 fragments, parallel": "G3 parallel\nfragments\n1 -> 4",
         "G4: ReLU, then shortcut removed": "G4\n-ReLU,\nthen -shortcut",
         "G4: shortcut, then ReLU removed": "G4\n-shortcut,\nthen -ReLU"}


# -- verdicts (plain functions of numbers: tested on hand-made values) -----------------------------

def chain_ratio(times: dict[str, float], chain: list[str]) -> float | None:
    """Time of the chain's last row (the guideline's slowest) over its first (its fastest):
    > 1 where the guideline's two ends hold, < 1 where they are reversed."""
    first, last = times.get(chain[0]), times.get(chain[-1])
    if first is None or last is None or first != first or last != last or first <= 0:
        return None
    return last / first


def chain_verdict(stats: dict[str, tuple[float, float, float]], chain: list[str]) -> str:
    """Does every step of ``chain`` (rows from fastest to slowest) take at least as long as the
    one before? ``stats``: row -> (median, p10, p90) ms (the paper: all three equal).
    'yes'; 'within noise' when every reversed step's p10-p90 ranges overlap; else '**no**'
    naming the reversed steps; '-' with fewer than two rows."""
    have = [r for r in chain if r in stats and stats[r][0] == stats[r][0]]
    if len(have) < 2:
        return "-"
    real, noisy = [], []
    for a, b in zip(have, have[1:]):
        (ma, la, ha), (mb, lb, hb) = stats[a], stats[b]
        if round(mb, 9) >= round(ma, 9):
            continue
        (noisy if lb <= ha and la <= hb and (la, ha) != (ma, ma) else real).append(f"{b} faster than {a}")
    gap = [r for r in chain if r not in have]
    note = f" (without {', '.join(gap)})" if gap else ""
    if real:
        return "**no**: " + "; ".join(real) + note
    return ("within noise: " + "; ".join(noisy) if noisy else "yes") + note


def short_verdict(v: str) -> str:
    return "yes" if v.startswith("yes") else "noise" if v.startswith("within") else "**no**" if v.startswith("**no") else "-"


def spearman(x, y) -> float | None:
    s = pd.DataFrame({"x": list(x), "y": list(y)}).dropna()
    if len(s) < 3:
        return None
    return float(s["x"].rank().corr(s["y"].rank()))


# -- the CSV joined with the paper's rows ----------------------------------------------------------

def runtimes_of(df: pd.DataFrame) -> list[str]:
    order = list(TITLES)
    return sorted(dict.fromkeys(df["runtime"]), key=lambda r: (order.index(r) if r in order else len(order), r))


def stats_of(df: pd.DataFrame) -> dict[tuple[str, str, str], tuple[float, float, float] | str]:
    """(spec, input, runtime) -> (median, p10, p90) ms, or the reason it was not measured."""
    out = {}
    for r in df.itertuples(index=False):
        key = (r.spec, r.input, r.runtime)
        out[key] = (r.median_ms, r.p10_ms, r.p90_ms) if r.status == "measured" else (r.note or "not measured")
    return out


def paper_stats(rows: list[Row], col: str) -> dict[str, tuple[float, float, float]]:
    """row label -> (ms, ms, ms) from the paper's speed (1000 / speed)."""
    out = {}
    for r in rows:
        v = getattr(r, col)
        if v:
            out[r.row] = (1000.0 / v,) * 3
    return out


def measured_stats(rows: list[Row], st: dict, runtime: str) -> dict[str, tuple[float, float, float]]:
    out = {}
    for r in rows:
        v = st.get((r.spec, shape_text(r.shape), runtime))
        if isinstance(v, tuple):
            out[r.row] = v
    return out


def chain_table(rows: list[Row], st: dict, runtimes: list[str]) -> pd.DataFrame:
    """One row per guideline chain: ratio and verdict in the paper's GPU, ARM and each runtime."""
    out = []
    for table in TABLES:
        trows = [r for r in rows if r.table == table]
        sources = [(lab, paper_stats(trows, col)) for lab, col in PAPER_COLS]
        sources += [(rt, measured_stats(trows, st, rt)) for rt in runtimes]
        for i, chain in enumerate(CHAINS[table]):
            row = {"table": table.replace("Table", "Table "), "chain": CHAIN_NAMES[(table, i)]}
            for lab, s in sources:
                ratio = chain_ratio({k: v[0] for k, v in s.items()}, chain)
                row[lab] = (ratio, chain_verdict(s, chain))
            out.append(row)
    return pd.DataFrame(out)


def fmt_cell(cell) -> str:
    ratio, verdict = cell
    return "-" if ratio is None else f"{ratio:.2f} {short_verdict(verdict)}"


def ms_cell(v) -> str:
    if isinstance(v, tuple):
        return f"{fmt_g(v[0], 3)} ({fmt_g(v[1], 3)}-{fmt_g(v[2], 3)})"
    return "not measured" if v is not None else "-"


# -- sections ----------------------------------------------------------------------------------------

def intro(df: pd.DataFrame | None, runtimes: list[str]) -> list[str]:
    parts = [f"# ShuffleNet V2's guidelines through deployment runtimes (torch eager, ONNX Runtime, OpenVINO, LiteRT)",
             "", f"Paper: {PAPER}.", "",
             f"Regenerated by `costlab reproduce {NAME}` from [`{CSV}`]({CSV}) (also `--from-csv`: never measures; "
             f"`costlab reproduce all` does the same); `costlab reproduce {NAME} --measure` measures again through "
             "every runtime installed (`costlab[ort]`, `costlab[openvino]`, `costlab[litert]`) and rewrites the CSV. "
             "Never edited by hand.", "",
             "The networks: ShuffleNet V2's G1-G4 benchmark networks (Tables 1-4, the `sv2bench_g1` ... `sv2bench_g4` "
             "zoo entries, 10 blocks on a 56x56 map, batch 1) at the paper's smallest ARM configuration in which every "
             "row builds (Table 1 x1, Table 2 x2: at x1 its g=8 row has c=180, which 8 groups do not divide; Table 3 "
             "c=64, Table 4 c=32), and every Table 8 network in the zoo (batch 1 at its Table 8 resolution). "
             "The paper's ARM speeds are of the same networks (Snapdragon 810, 1 thread); its GPU speeds (GTX 1080Ti) "
             "are at the same width multiplier for Tables 1-2, at the GPU's smallest column for Tables 3-4 (c=128 and "
             "c=32: other networks) and at batch 8 for Table 8.", ""]
    if df is None:
        return parts + ["**Not measured yet**: no `guidelines-runtimes.csv` in this folder; run "
                        f"`costlab reproduce {NAME} --measure` (about 25 minutes on a 2-core machine).", ""]
    meas = df[df["status"] == "measured"]
    vers = {rt: sorted(set(df.loc[df["runtime"] == rt, "runtime_version"])) for rt in runtimes}
    cpus = sorted(set(meas["cpu_model"])) if "cpu_model" in df.columns else []
    dates = sorted(set(meas["date"])) if "date" in df.columns else []
    runs = sorted(set(meas["runs"].astype(str))) if "runs" in df.columns else []
    threads = sorted(set(meas["threads"].astype(str))) if "threads" in df.columns else []
    clocks = sorted(set(meas["clock"])) if "clock" in df.columns else []
    parts += [f"**Measured on** {', '.join(cpus) or 'an unnamed CPU'} ({', '.join(dates) or 'undated'}), "
              f"{'/'.join(threads) or '1'} thread, median of {'/'.join(runs) or '?'} timed runs after "
              f"{'/'.join(sorted(set(meas['warmup'].astype(str)))) if 'warmup' in df.columns else '?'} warm-up run(s), "
              f"clock: {'/'.join(clocks) or '?'} (at one thread the timing thread's CPU time: another process on the "
              "shared machine does not count, its cache pollution does); the runtimes' defaults in `costlab.runtimes` "
              "(ONNX Runtime with all graph optimisations, OpenVINO CPU with the f32 precision hint, LiteRT with "
              "XNNPACK, torch eager in inference mode); random weights, one fixed random input. Runtimes: "
              + "; ".join(f"{TITLES.get(rt, rt)} (`{rt}`) {', '.join(vers[rt])}" for rt in runtimes) + ". "
              "Each runtime's networks are timed in turns in one process (`costlab.runtimes.bench.measure_many`), "
              "so ratios within a runtime are measured together. Times are ms per image with the p10-p90 spread "
              "of the runs in parentheses. A different device and runtimes than the paper's: compare orderings "
              "and ratios, not speeds." + took_line(df, runtimes), ""]
    return parts


def took_line(df: pd.DataFrame, runtimes: list[str]) -> str:
    """How long the measurement took (the CSV's runtime_s: conversions and timing per runtime)."""
    if "runtime_s" not in df.columns:
        return ""
    took = {}
    for rt in runtimes:
        vals = [float(v) for v in df.loc[df["runtime"] == rt, "runtime_s"] if str(v) not in ("", "nan")]
        if vals:
            took[rt] = max(vals)
    if not took:
        return ""
    return (f" Measuring took {sum(took.values()) / 60:.1f} min ("
            + ", ".join(f"{rt} {v:.0f} s" for rt, v in took.items())
            + "), converting what was not already in costlab's artifact cache (by content hash: a rerun with the "
              "same versions converts nothing; LiteRT's conversions, 5-50 s per network, are most of a first run).")


def guideline_sections(rows: list[Row], st: dict, runtimes: list[str]) -> tuple[list[str], pd.DataFrame]:
    ct = chain_table(rows, st, runtimes)
    cols = ["paper GPU", "paper ARM"] + runtimes
    show = pd.DataFrame({"table": ct["table"], "chain (guideline's fastest -> slowest)": ct["chain"],
                         **{c: ct[c].map(fmt_cell) for c in cols}})
    lines = ["## Do the guidelines hold? (Tables 1-4, one chain per line)", "",
             "Each cell: the time of the chain's last configuration (the guideline's slowest) over its first (the "
             "fastest), and whether every step of the chain is at least as slow as the one before: `yes`; `noise` "
             "where a step is reversed but the two p10-p90 ranges overlap; `**no**` where a step is reversed beyond "
             "the noise. Ratios > 1 mean the guideline's two ends hold. The paper's columns are from its speeds "
             "(GPU batches/s, ARM images/s, as time = 1 / speed).", "",
             md_table(show, list(show.columns), right=set(cols)), ""]
    body = []
    for table in TABLES:
        g, text = GUIDELINE[table]
        trows = [r for r in rows if r.table == table]
        show = pd.DataFrame({
            "row": [r.row for r in trows], "spec": [f"`{r.spec}`" for r in trows],
            "paper GPU b/s": [fmt_g(r.paper_gpu, 4) for r in trows],
            "paper ARM img/s": [fmt_g(r.paper_arm, 3) for r in trows],
            "paper ARM ms": [fmt_g(1000.0 / r.paper_arm, 3) if r.paper_arm else "-" for r in trows],
            **{f"{rt} ms": [ms_cell(st.get((r.spec, shape_text(r.shape), rt))) for r in trows] for rt in runtimes}})
        verdicts = []
        sources = [(lab, paper_stats(trows, col)) for lab, col in PAPER_COLS]
        sources += [(TITLES.get(rt, rt), measured_stats(trows, st, rt)) for rt in runtimes]
        for lab, s in sources:
            verdicts.append(f"- {lab}: " + "; ".join(
                f"{' -> '.join(c)}: {chain_verdict(s, c)}" for c in CHAINS[table]))
        body += [f"### {table.replace('Table', 'Table ')} ({g}: {text}), ARM column {trows[0].column}", "",
                 md_table(show, list(show.columns), right=set(show.columns) - {"row", "spec"}), "",
                 "Orderings:", ""] + verdicts + [""]
    return lines + ["## Tables 1-4 in detail", ""] + body, ct


def table8_section(rows: list[Row], st: dict, runtimes: list[str]) -> tuple[list[str], dict]:
    t8 = [r for r in rows if r.table == "Table8"]
    show = pd.DataFrame({
        "group": [r.column for r in t8], "model": [r.row for r in t8],
        "spec": [f"`{r.spec}` @{r.shape[-1]}" for r in t8], "MFLOPs": [f"{r.mflops:g}" for r in t8],
        "paper GPU b/s": [fmt_g(r.paper_gpu, 3) for r in t8], "paper ARM img/s": [fmt_g(r.paper_arm, 3) for r in t8],
        **{f"{rt} ms": [ms_cell(st.get((r.spec, shape_text(r.shape), rt))) for r in t8] for rt in runtimes}})
    uniq = list({(r.spec, r.shape): r for r in reversed(t8)}.values())[::-1]

    def speed(r, src):
        if src == "flops":
            return 1.0 / r.mflops if r.mflops else None
        if src in ("paper_gpu", "paper_arm"):
            return getattr(r, src)
        v = st.get((r.spec, shape_text(r.shape), src))
        return 1000.0 / v[0] if isinstance(v, tuple) else None

    srcs = [("paper GPU", "paper_gpu"), ("paper ARM", "paper_arm")] + [(rt, rt) for rt in runtimes]
    grows, wins = [], {}
    for group in dict.fromkeys(r.column for r in uniq):
        g = [r for r in uniq if r.column == group]
        sv2 = [r for r in g if r.spec.startswith("shufflenet_v2")]
        others = [r for r in g if not r.spec.startswith("shufflenet_v2")]
        if not sv2 or not others:
            continue
        row = {"group": group, "ShuffleNet v2": sv2[0].row}
        for lab, src in srcs:
            s, best = speed(sv2[0], src), [(speed(o, src), o.row) for o in others if speed(o, src)]
            if not s or not best:
                row[lab] = "-"
                continue
            top = max(best)
            wins.setdefault(lab, []).append(s >= top[0])
            gap = sum(isinstance(st.get((o.spec, shape_text(o.shape), src)), str) for o in others)
            row[lab] = (f"{s / top[0]:.2f} ({'fastest' if s >= top[0] else 'behind ' + top[1]}"
                        + (f"; {gap} not measured" if gap else "") + ")")
        grows.append(row)
    gdf = pd.DataFrame(grows)
    corr = pd.DataFrame([{"": lab, **{f"vs {p}": (lambda v: '-' if v is None else f'{v:.2f}')(
        spearman([speed(r, src) for r in uniq], [speed(r, psrc) for r in uniq]))
        for p, psrc in srcs[:2] + [("MFLOPs (1/FLOPs)", "flops")]}} for lab, src in srcs[2:]]) if runtimes else None
    lines = ["## Table 8: the networks in the zoo", "",
             md_table(show, list(show.columns), right=set(show.columns) - {"group", "model", "spec"}), "",
             "### Is ShuffleNet v2 the fastest of its complexity group?", "",
             "ShuffleNet v2's speed over the fastest other zoo network of the same Table 8 group (> 1: ShuffleNet v2 "
             "is fastest). The paper's claim is about its ARM column; rows of the group that are not in the zoo "
             "(DenseNet, Xception, IGCV, ...) are not compared.", "",
             md_table(gdf, list(gdf.columns), right=set(gdf.columns) - {"group", "ShuffleNet v2"}) if len(gdf) else "-", ""]
    if corr is not None:
        lines += ["### Rank agreement with the paper", "",
                  f"Spearman rank correlation of each runtime's speeds with the paper's, over the {len(uniq)} distinct "
                  "zoo networks of Table 8 (and with 1 / MFLOPs: how far FLOPs alone rank them).", "",
                  md_table(corr, list(corr.columns), right=set(corr.columns) - {""}), ""]
    return lines, wins


def noise_section(df: pd.DataFrame, runtimes: list[str]) -> list[str]:
    rows = []
    for rt in runtimes:
        m = df[(df["runtime"] == rt) & (df["status"] == "measured")]
        if m.empty:
            continue
        spread = (m["p90_ms"] - m["p10_ms"]) / m["median_ms"]
        worst = m.iloc[int(spread.values.argmax())]
        rows.append({"runtime": f"{TITLES.get(rt, rt)} (`{rt}`)", "networks": len(m),
                     "median (p90-p10)/median": f"{100 * spread.median():.1f}%",
                     "largest": f"{100 * spread.max():.1f}% ({worst['spec']})"})
    nd = pd.DataFrame(rows)
    return ["## Noise", "",
            "The spread of each network's timed runs, (p90 - p10) / median: a step of a chain smaller than this is "
            "within the noise (marked `noise` above).", "",
            md_table(nd, list(nd.columns), right={"networks", "median (p90-p10)/median", "largest"}) if len(nd) else "-",
            ""]


def missing_section(df: pd.DataFrame) -> list[str]:
    nm = df[df["status"] != "measured"]
    if nm.empty:
        return ["Every network was measured through every runtime.", ""]
    return ["## Not measured", "", "Networks a runtime could not convert or run (the converter's one-line reason):", ""] + \
        [f"- `{r.spec}` ({r.input}) in `{r.runtime}`: {r.note or 'not measured'}" for r in nm.itertuples(index=False)] + [""]


def figure(ct: pd.DataFrame, rows: list[Row], st: dict, runtimes: list[str], out_dir: Path) -> str:
    """Left: each chain's last/first time ratio per source; right: Table 8 MFLOPs vs ms per runtime."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    from ..present.plots import save_png_svg
    from .papers import figures_dir

    fig = Figure(figsize=(12, 4.8))
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
    srcs = ["paper GPU", "paper ARM"] + runtimes
    colors = dict(zip(srcs, ["#7f7f7f", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]))
    w = 0.8 / len(srcs)
    for j, s in enumerate(srcs):
        ys = [c[0] if c[0] is not None else float("nan") for c in ct[s]]
        ax.bar([i + (j - (len(srcs) - 1) / 2) * w for i in range(len(ct))], ys, w, label=TITLES.get(s, s),
               color=colors[s], hatch="//" if s.startswith("paper") else None, edgecolor="white", lw=0.3)
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xticks(range(len(ct)))
    ax.set_xticklabels([TICKS.get(c, c) for c in ct["chain"]], fontsize=7)
    ax.set_ylabel("time of the guideline's slowest / fastest configuration")
    ax.set_title("Tables 1-4: does each guideline's chain hold? (> 1: yes at its ends)")
    top = max([c[0] for s in srcs for c in ct[s] if c[0] is not None] + [1.0])
    ax.set_ylim(0, top * 1.3)
    ax.legend(fontsize=7, ncol=3, loc="upper left")
    ax.grid(axis="y", alpha=0.3, lw=0.5)
    t8 = list({(r.spec, r.shape): r for r in rows if r.table == "Table8"}.values())
    for rt in runtimes:
        pts = [(r.mflops, st[(r.spec, shape_text(r.shape), rt)][0]) for r in t8
               if isinstance(st.get((r.spec, shape_text(r.shape), rt)), tuple)]
        sv2 = [(r.mflops, st[(r.spec, shape_text(r.shape), rt)][0]) for r in t8 if r.spec.startswith("shufflenet_v2")
               and isinstance(st.get((r.spec, shape_text(r.shape), rt)), tuple)]
        bx.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, color=colors[rt], label=TITLES.get(rt, rt))
        bx.plot([p[0] for p in sorted(sv2)], [p[1] for p in sorted(sv2)], "-", color=colors[rt], lw=1.0)
    arm = [(r.mflops, 1000.0 / r.paper_arm) for r in t8 if r.paper_arm]
    bx.scatter([p[0] for p in arm], [p[1] for p in arm], s=16, marker="s", facecolors="none",
               edgecolors=colors["paper ARM"], label="paper ARM (Snapdragon 810)")
    bx.set_xscale("log")
    bx.set_yscale("log")
    bx.set_xticks([40, 70, 150, 300, 600])
    bx.set_xticklabels(["40", "70", "150", "300", "600"])
    bx.xaxis.set_minor_formatter(NullFormatter())
    bx.set_xlabel("MFLOPs (paper; millions of multiply-adds)")
    bx.set_ylabel("ms per image, 1 thread")
    bx.set_title("Table 8 zoo networks (line: ShuffleNet v2 0.5x-2x)")
    bx.legend(fontsize=7)
    bx.grid(alpha=0.3, lw=0.5, which="both")
    save_png_svg(fig, figures_dir(out_dir) / NAME)
    return NAME


def write(out_dir: Path, rows: list[Row], df: pd.DataFrame | None) -> str:
    """Write reports/guidelines-runtimes.md (+ the figure) from the measurements ``df`` (None:
    not measured yet); returns the one-line summary."""
    runtimes = runtimes_of(df) if df is not None else []
    parts = intro(df, runtimes)
    if df is None:
        write_report(out_dir, NAME, parts)
        return "not measured yet (run with --measure)"
    st = stats_of(df)
    gl, ct = guideline_sections(rows, st, runtimes)
    t8, wins = table8_section(rows, st, runtimes)
    stem = figure(ct, rows, st, runtimes, out_dir)
    holds = {s: f"{sum(short_verdict(c[1]) == 'yes' for c in ct[s])}/{sum(c[0] is not None for c in ct[s])}"
             for s in ["paper GPU", "paper ARM"] + runtimes}
    noisy = {s: sum(short_verdict(c[1]) == "noise" for c in ct[s]) for s in runtimes}
    summ = ["## Summary", "",
            f"- Chains of Tables 1-4 holding at every step (of the {len(ct)} chains, those with values): "
            + ", ".join(f"{TITLES.get(k, k)} {v}" + (f" (+{noisy[k]} within noise)" if noisy.get(k) else "")
                        for k, v in holds.items()) + ".",
            "- ShuffleNet v2 fastest zoo network of its Table 8 group: "
            + ", ".join(f"{TITLES.get(k, k)} {sum(v)}/{len(v)}" for k, v in wins.items()) + ".", "",
            f"![chain ratios and Table 8](figures/{stem}.png) ([SVG](figures/{stem}.svg))", ""]
    parts += summ + gl + t8 + noise_section(df, runtimes) + missing_section(df)
    parts += [f"All measurements: [`{CSV}`]({CSV}) (one row per network x runtime).", ""]
    write_report(out_dir, NAME, parts)
    return ("chains holding: " + ", ".join(f"{k} {v}" for k, v in holds.items())
            + "; ShuffleNet v2 fastest of its group: " + ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in wins.items()))
