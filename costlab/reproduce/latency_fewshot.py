"""``costlab reproduce latency-fewshot``: calibrate a device from K measured architectures,
predict the other 5,000 - K, on 27 devices of HELP's FBNet latency data (issue 11).

Data: ``costlab/data/latency/fbnet_space_help_latency.csv`` (HELP, NeurIPS 2021; from
HW-NAS-Bench): 5,000 FBNet-space architectures x 27 devices. Every architecture is the zoo
spec ``fbnet:arch=...``; its features are composed from the 110 distinct blocks of the
space (each traced once, :class:`costlab.blocks.SpecSet`).

For every device and K in :data:`KS`: :func:`costlab.calibrate.fewshot.validate_arrays`, i.e.
fit on K random architectures (10 seeded repeats, the same splits for every device),
predict the rest, beside the FLOPs-only line fitted on the same K rows. No base profile:
the prior is the shared-rate one a device we know nothing about gets, and every choice is
made by GCV on the K training rows, identically for every device.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from . import register_reproduction
from .papers import fig_links, figures_dir, write_report

NAME = "latency-fewshot"
DATA = Path(__file__).resolve().parent.parent / "data" / "latency" / "fbnet_space_help_latency.csv"
KS = (10, 20, 50, 100, 1000)
REPEATS = 10
SEED = 0
SHAPE = (1, 3, 32, 32)
COMBINES = ("sum", "max")
# HELP (Lee et al., NeurIPS 2021) Table 3, FBNet space, 10 target samples (meta-learned on other devices)
HELP_SPEARMAN = {"raspi4": 0.887, "eyeriss": 0.943, "fpga": 0.892}
TARGET_DEVICES = ("raspi4", "eyeriss", "fpga")      # the K=20 Spearman >= 0.97 devices
MAPE_DEVICES = ("raspi4", "eyeriss", "fpga", "pixel3")   # the K=100 MAPE <= 5% devices
FIRST_DATA_COLUMN = 3                                # arch_index, op_idx_list, arch_str, then devices


def load_table(path: Path = DATA) -> tuple[list[str], list[str], np.ndarray]:
    """(architecture strings, device columns, latency matrix archs x devices)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    head = rows[0]
    devices = head[FIRST_DATA_COLUMN:]
    ai = head.index("arch_str")
    archs = [r[ai] for r in rows[1:]]
    Y = np.array([[float(x) for x in r[FIRST_DATA_COLUMN:]] for r in rows[1:]])
    return archs, devices, Y


def lookup_ceiling(archs: list[str], Y: np.ndarray, train: int = 4000, seed: int = SEED) -> np.ndarray:
    """Held-out (Spearman, MAPE %) per device of a per-(layer, op) lookup table fitted by least
    squares on ``train`` architectures: what an additive model with 4,000 measurements reaches
    (a reference for the noise in the data, not a few-shot method); shape (devices, 2)."""
    from scipy.stats import spearmanr

    ops = sorted({o for a in archs for o in a.split("|")})
    L = len(archs[0].split("|"))
    X = np.zeros((len(archs), L * len(ops) + 1))
    X[:, -1] = 1.0
    for i, a in enumerate(archs):
        for j, o in enumerate(a.split("|")):
            X[i, j * len(ops) + ops.index(o)] = 1.0
    perm = np.random.default_rng(seed).permutation(len(archs))
    tr, te = perm[:train], perm[train:]
    out = []
    for k in range(Y.shape[1]):
        c, *_ = np.linalg.lstsq(X[tr], Y[tr, k], rcond=None)
        p = X[te] @ c
        out.append((float(spearmanr(p, Y[te, k]).statistic), float(100 * np.mean(np.abs(p / Y[te, k] - 1)))))
    return np.array(out)


def run(progress: bool = False) -> dict:
    """Every device x K: the validation dicts (costlab.calibrate.fewshot.validate_arrays)."""
    from ..blocks import SpecSet
    from ..calibrate.fewshot import validate_arrays

    archs, devices, Y = load_table()
    ss = SpecSet([(f"fbnet:arch={a}", SHAPE) for a in archs], progress=progress)
    res: dict[str, dict[int, dict]] = {}
    it = devices
    if progress:
        from tqdm import tqdm

        it = tqdm(devices, desc="devices", unit="device", leave=False, disable=None)
    for k, dev in enumerate(it):
        res[dev] = {K: validate_arrays(ss, Y[:, k], samples=K, repeats=REPEATS, seed=SEED, combines=COMBINES)
                    for K in KS}
    return {"archs": archs, "devices": devices, "Y": Y, "res": res, "blocks": len(ss.blocks),
            "ceiling": lookup_ceiling(archs, Y)}


# -- formatting --------------------------------------------------------------------------------

def _f(v, d: int = 3) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{d}f}"


def _pm(r: dict, key: str, d: int = 3) -> str:
    return f"{_f(r[key], d)} ± {_f(r['spread'][key]['std'], d)}"


def _chosen(r: dict) -> str:
    c = {}
    for k, v in r["chosen"].items():
        c[k.split("/")[1]] = c.get(k.split("/")[1], 0) + v
    return " ".join(f"{k} {v}" for k, v in sorted(c.items()))


def _device_table(out: dict, K: int) -> list[str]:
    res, devices = out["res"], out["devices"]
    lines = [f"| device | Spearman | Kendall | MAPE % | within ±10% | FLOPs-only Spearman | FLOPs-only MAPE % "
             f"| sum form only: Spearman | form chosen (of {REPEATS}) | lookup-table ceiling |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for k, dev in enumerate(devices):
        r = res[dev][K]
        b = r["baseline"]
        name = dev + (" (whole ms)" if r.get("whole_ms") else "")
        lines.append(f"| {name} | {_pm(r, 'spearman')} | {_f(r['kendall'])} | {_f(r['mape'], 2)} | "
                     f"{_f(r['within_10pct'], 1)} | {_f(b['spearman'])} | {_f(b['mape'], 2)} | "
                     f"{_f(r['sum_only']['spearman'])} | {_chosen(r)} | {_f(out['ceiling'][k, 0])} |")
    return lines


def _targets(out: dict) -> tuple[list[str], int, int]:
    res, devices = out["res"], out["devices"]
    r20 = {d: res[d][20] for d in devices}
    r100 = {d: res[d][100] for d in devices}
    rows = []
    met = total = 0

    def row(what: str, target: str, got: str, ok: bool):
        nonlocal met, total
        met += ok
        total += 1
        rows.append(f"| {what} | {target} | {got} | {'met' if ok else '**missed**'} |")

    for d in TARGET_DEVICES:
        s = r20[d]["spearman"]
        row(f"K=20 Spearman, {d}", ">= 0.97", f"{s:.4f}", s >= 0.97)
    n95 = sum(r20[d]["spearman"] >= 0.95 for d in devices)
    row("K=20 devices with Spearman >= 0.95", ">= 20 of 27", f"{n95} of {len(devices)}", n95 >= 20)
    below = [f"{d} ({r20[d]['spearman']:.4f} vs {r20[d]['baseline']['spearman']:.4f})" for d in devices
             if r20[d]["spearman"] < r20[d]["baseline"]["spearman"]]
    row("K=20 Spearman below the FLOPs-only line's", "no device", ", ".join(below) if below else "none", not below)
    below_m = [f"{d} ({r20[d]['mape']:.2f}% vs {r20[d]['baseline']['mape']:.2f}%)" for d in devices
               if r20[d]["mape"] > r20[d]["baseline"]["mape"]]
    rows.append(f"| (beside it) K=20 MAPE above the FLOPs-only line's | - | "
                f"{', '.join(below_m) if below_m else 'none'} | |")
    n90 = sum(r100[d]["within_10pct"] >= 90 for d in devices)
    row("K=100 devices with >= 90% within ±10%", ">= 20 of 27", f"{n90} of {len(devices)}", n90 >= 20)
    for d in MAPE_DEVICES:
        m = r100[d]["mape"]
        row(f"K=100 MAPE, {d}", "<= 5%", f"{m:.2f}%", m <= 5)
    head = ["| target (issue 11) | wanted | costlab | |", "|---|---|---|---|"]
    return head + rows, met, total


def _why(out: dict) -> list[str]:
    """The misses explained, with the numbers of this run."""
    res, devices, ceil = out["res"], out["devices"], out["ceiling"]
    wm = [k for k, d in enumerate(devices) if res[d][20].get("whole_ms")]
    lines = []
    if wm:
        fl = [res[devices[k]][20]["rounding_floor"]["mape"] for k in wm]
        lines.append(
            f"- The {len(wm)} whole-millisecond devices ({', '.join(devices[k] for k in wm)}) are noisy far beyond "
            f"their rounding: the rounding alone costs {min(fl):.2f}-{max(fl):.2f}% MAPE, but a per-(layer, op) "
            f"lookup table fitted on 4,000 architectures still has {min(ceil[k, 1] for k in wm):.1f}-"
            f"{max(ceil[k, 1] for k in wm):.1f}% MAPE and Spearman {min(ceil[k, 0] for k in wm):.3f}-"
            f"{max(ceil[k, 0] for k in wm):.3f} on them. No predictor ranks them at 0.95; at K=20 costlab and the "
            "FLOPs-only line are within their spread over the splits of each other (the ± column below).")
    rest = [(k, d) for k, d in enumerate(devices) if k not in wm and res[d][20]["spearman"] < 0.95]
    if rest:
        lines.append("- Other devices under 0.95 at K=20 (K=20 / K=100 / lookup-table ceiling): " + ", ".join(
            f"{d} {res[d][20]['spearman']:.3f} / {res[d][100]['spearman']:.3f} / {ceil[k, 0]:.3f}" for k, d in rest)
            + ". On the Xeon CPUs the per-layer costs are not monotone in work (the lookup table shows an "
              "expansion-1 block costing more than an expansion-3 one at 24 channels, a kernel-selection effect), "
              "which no per-class linear or roofline cost captures; a GPU at batch 1 whose ceiling is under 0.95 "
              "is limited by its own measurement noise.")
    for d in TARGET_DEVICES:
        r = res[d][20]
        if r["spearman"] < 0.97:
            lines.append(f"- {d} misses 0.97 at K=20 by {0.97 - r['spearman']:.4f} "
                         f"({r['spearman']:.4f} ± {r['spread']['spearman']['std']:.3f} over the splits; "
                         f"K=50: {res[d][50]['spearman']:.3f}).")
    return ["Why the misses:", ""] + lines if lines else []


def _summary_by_k(out: dict) -> list[str]:
    res, devices = out["res"], out["devices"]
    lines = ["| K | mean Spearman | devices >= 0.95 | mean MAPE % | devices >= 90% within ±10% "
             "| FLOPs-only mean Spearman | FLOPs-only mean MAPE % | devices at or above FLOPs-only (Spearman) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for K in KS:
        rs = [res[d][K] for d in devices]
        lines.append(
            f"| {K} | {np.mean([r['spearman'] for r in rs]):.3f} | {sum(r['spearman'] >= 0.95 for r in rs)} | "
            f"{np.mean([r['mape'] for r in rs]):.2f} | {sum(r['within_10pct'] >= 90 for r in rs)} | "
            f"{np.mean([r['baseline']['spearman'] for r in rs]):.3f} | "
            f"{np.mean([r['baseline']['mape'] for r in rs]):.2f} | "
            f"{sum(r['spearman'] >= r['baseline']['spearman'] for r in rs)} of {len(rs)} |")
    return lines


def _whole_ms_table(out: dict) -> list[str]:
    res, devices = out["res"], out["devices"]
    wm = [d for d in devices if res[d][20].get("whole_ms")]
    if not wm:
        return ["No device column holds whole milliseconds only.", ""]
    lines = ["| device | rounding floor: MAPE % | K=20 MAPE % | K=100 MAPE % | K=1000 MAPE % "
             "| FLOPs-only K=100 MAPE % | lookup table (4,000 rows): MAPE % | K=1000 Spearman "
             "| lookup table: Spearman |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for d in wm:
        r = res[d]
        k = devices.index(d)
        lines.append(f"| {d} | {_f(r[20]['rounding_floor']['mape'], 2)} | {_f(r[20]['mape'], 2)} | "
                     f"{_f(r[100]['mape'], 2)} | {_f(r[1000]['mape'], 2)} | {_f(r[100]['baseline']['mape'], 2)} | "
                     f"{_f(out['ceiling'][k, 1], 2)} | {_f(r[1000]['spearman'])} | {_f(out['ceiling'][k, 0])} |")
    return lines


def _help_table(out: dict) -> list[str]:
    res = out["res"]
    lines = ["| device | HELP, 10 samples (published) | costlab K=10 | costlab K=20 | FLOPs-only K=10 |",
             "|---|---:|---:|---:|---:|"]
    for d, h in HELP_SPEARMAN.items():
        lines.append(f"| {d} | {h:.3f} | {_pm(res[d][10], 'spearman')} | {_pm(res[d][20], 'spearman')} | "
                     f"{_f(res[d][10]['baseline']['spearman'])} |")
    return lines


def _figure(out: dict, out_dir: Path) -> str:
    from matplotlib.figure import Figure

    from ..present.plots import save_png_svg

    res, devices = out["res"], out["devices"]
    fig = Figure(figsize=(11, 4.6))
    axes = fig.subplots(1, 2)
    colors = {"raspi4": "#d62728", "eyeriss": "#2ca02c", "fpga": "#1f77b4", "pixel3": "#9467bd"}
    for key, ax, ylabel in (("spearman", axes[0], "Spearman rank correlation (held-out)"),
                            ("within_10pct", axes[1], "held-out architectures within ±10% (%)")):
        for d in devices:
            ys = [res[d][K][key] for K in KS]
            wm = bool(res[d][20].get("whole_ms"))
            if d in colors:
                ax.plot(KS, ys, "-o", color=colors[d], lw=1.8, ms=3.5, label=d, zorder=3)
            else:
                ax.plot(KS, ys, ":" if wm else "-", color="#888888", lw=0.8, alpha=0.8, zorder=1)
        base = [np.mean([res[d][K]["baseline"][key] for d in devices]) for K in KS]
        ax.plot(KS, base, "--", color="black", lw=1.4, label="FLOPs-only line (mean of 27 devices)", zorder=2)
        if key == "spearman":
            for d, h in HELP_SPEARMAN.items():
                ax.plot([10], [h], marker="*", ms=11, color=colors[d], mec="black", mew=0.5, ls="none",
                        zorder=4, label=f"HELP, {d} (10 samples)")
            ax.axhline(0.95, color="#bbbbbb", lw=0.7, zorder=0)
        else:
            ax.axhline(90, color="#bbbbbb", lw=0.7, zorder=0)
        ax.set_xscale("log")
        ax.set_xticks(KS)
        ax.set_xticklabels([str(k) for k in KS])
        ax.set_xlabel("K measured architectures (the other 5,000 - K predicted)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, lw=0.5)
    axes[0].set_ylim(0.5, 1.0)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle("Few-shot latency calibration on HELP's FBNet data (27 devices; grey: other devices, "
                 "dotted: whole-ms devices); mean of 10 seeded splits", fontsize=9)
    stem = "latency-fewshot"
    save_png_svg(fig, figures_dir(out_dir) / stem)
    return stem


def _intro(out: dict) -> list[str]:
    """The report's head: data, method, protocol and caveats."""
    devices = out["devices"]
    n = len(out["archs"])
    return [
        "# Latency from your own measurements: few-shot calibration on 5,000 FBNet architectures x 27 devices",
        "",
        f"Regenerated by `costlab reproduce {NAME}`; never edited by hand. Data: HELP's FBNet latency table "
        "(Lee et al., *HELP: Hardware-Adaptive Efficient Latency Prediction for NAS via Meta-Learning*, NeurIPS "
        f"2021; from HW-NAS-Bench), `costlab/data/latency/{DATA.name}`: {n} architectures of the FBNet space "
        f"(CIFAR-100 macro, 32x32) x {len(devices)} devices. Every architecture is the zoo spec "
        f"`fbnet:arch=...`; its features are summed over its blocks ({out['blocks']} distinct blocks traced, "
        "once each).",
        "",
        "**Method** (`costlab.calibrate.fewshot`; the same for every device, no base profile): per latency class, "
        "GMAC, MB, Mpix and kernels after fusion (no fusion rules assumed); each kernel costs either "
        "`a*GMAC + b*MB + p*Mpix + c` (*sum*) or `max(c, a*GMAC + b*MB + p*Mpix)` (*max*: a floor per kernel, "
        "the host's dispatch time on a GPU). The prior is shared rates for every class (2 rates: compute and "
        "kernel; or 4: compute, memory, positions, kernel), fitted by NNLS; every per-class coefficient is then "
        "shrunk toward it by ridge regression. The prior, the form (sum or max) and the ridge strength are "
        "chosen by generalised cross-validation (GCV) on the K training rows only. The FLOPs-only line "
        "`t = a*GMAC + c` is fitted on the same K rows.",
        "",
        f"**Protocol**: for each K in {', '.join(map(str, KS))}, {REPEATS} random splits (seed {SEED}, the same "
        f"splits for every device): fit on K architectures, predict the other {n} - K. Numbers are means over "
        "the splits; ± is the standard deviation over them.",
        "",
        "**Be aware**: the candidate set (the *max* form, the 2-rate prior) and the ridge's penalty scale "
        "(pooled per term over the classes) were designed while looking at these devices' held-out errors "
        "(the penalty scale also at H200 measurements of 20 zoo networks, `shared/data/gpu_h200`), so these "
        "numbers are somewhat optimistic for a space costlab has not seen; what is chosen per fit (prior, "
        "form, ridge strength) is chosen on the K training rows alone. "
        "The *sum form only* column is the predictor `costlab.latency.predict` evaluates today; profiles in "
        "the *max* form need its per-kernel `max` rule.",
        "",
    ]


def _results(out: dict, targets: list[str], met: int, total: int, stem: str) -> list[str]:
    """The report's results: targets, the misses explained, the tables over K and per device."""
    return [
        f"## Targets: {met} of {total} met",
        "",
        *targets,
        "",
        *_why(out),
        "",
        "## Over K",
        "",
        *_summary_by_k(out),
        "",
        fig_links(stem, "Spearman and share within 10% against K, per device"),
        "",
        "## HELP's published numbers (10 target samples, meta-learned on other devices)",
        "",
        *_help_table(out),
        "",
        "HELP meta-trains on other devices' measurements of the same space; costlab uses only the target "
        "device's K rows and the traced features.",
        "",
        "## K = 20, per device",
        "",
        *_device_table(out, 20),
        "",
        "*Lookup-table ceiling*: Spearman on 1,000 held-out architectures of a per-(layer, op) additive table "
        "fitted by least squares on 4,000 (exact for the devices whose values are sums of per-block tables: "
        "pixel3, raspi4, eyeriss, fpga).",
        "",
        "## K = 100, per device",
        "",
        *_device_table(out, 100),
        "",
        "## Whole-millisecond devices against their rounding floor",
        "",
        "Columns whose every value is a whole number of milliseconds (detected from the data). A reported "
        "value `r` stands for a true time anywhere in `r ± 0.5` ms, so even a perfect predictor has an "
        "expected relative error of `0.25 / r`: the *rounding floor* (mean over the file).",
        "",
        *_whole_ms_table(out),
        "",
    ]


@register_reproduction(NAME, "few-shot latency calibration: K = 10...1000 measured FBNet architectures, 27 devices, "
                             "vs FLOPs-only and HELP (reports/latency-fewshot.md)", order=60)
def reproduce_latency_fewshot(out_dir: Path, *, measure: bool = False) -> str:
    out = run()
    res, devices = out["res"], out["devices"]
    targets, met, total = _targets(out)
    stem = _figure(out, Path(out_dir))
    parts = [*_intro(out), *_results(out, targets, met, total, stem)]
    write_report(Path(out_dir), NAME, parts)
    r20 = [res[d][20] for d in devices]
    return (f"K=20: Spearman >= 0.95 on {sum(r['spearman'] >= 0.95 for r in r20)} of {len(devices)} devices "
            f"(mean {np.mean([r['spearman'] for r in r20]):.3f}, FLOPs-only "
            f"{np.mean([r['baseline']['spearman'] for r in r20]):.3f}); {met}/{total} issue targets met")
