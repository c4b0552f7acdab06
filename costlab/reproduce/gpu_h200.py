"""``costlab reproduce gpu-h200``: GPU latency as it really is — the two-clock model of an
NVIDIA H200 (PyTorch eager and CUDA graph), its held-out accuracy beside a FLOPs-only line."""
from __future__ import annotations

from pathlib import Path

from . import register_reproduction
from .papers import write_report
from ..calibrate.gpu_profile import bounds, validate_gpu
from ..latency.profile import load_profile
from ..present.tables import num, pct

NAME = "gpu-h200"
PROFILE = "gpu-h200"
TARGETS = {"cudagraph": (5.0, 90.0), "eager": (8.0, 80.0)}     # MAPE <=, within +-10% >=
BOUND_SPECS = ("mobilenet_v2", "resnet50", "vgg16")


def _metric_table(block: dict) -> list[str]:
    lines = ["| batch | n | MAPE | within 10% | Spearman | FLOPs-only MAPE | FLOPs-only within 10% | FLOPs-only Spearman |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    items = [(b, m) for b, m in block["per_batch"].items()] + [("all", block["all"])]
    for b, m in items:
        base = m["baseline"]
        lines.append(f"| {b} | {m['n']} | {pct(m['mape'], percent=True)} | {pct(m['within_10pct'], percent=True)} | "
                     f"{num(m['spearman'])} | {pct(base['mape'], percent=True)} | "
                     f"{pct(base['within_10pct'], percent=True)} | {num(base['spearman'])} |")
    return lines + [""]


def _rows_table(rows: list[dict]) -> list[str]:
    lines = ["| network | batch | measured ms | predicted ms | error | FLOPs-only ms | FLOPs-only error | "
             "host ms | device ms | bound |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| `{r['spec']}` | {r['batch']} | {r['measured_ms']:.3f} | {r['predicted_ms']:.3f} | "
                     f"{r['error_pct']:+.1f}% | {r['baseline_ms']:.3f} | {r['baseline_error_pct']:+.1f}% | "
                     f"{r['host_ms']:.3f} | {r['device_ms']:.3f} | {r['bound']} |")
    return lines + [""]


def _verdict(runtime: str, m: dict) -> str:
    mape_t, w_t = TARGETS[runtime]
    ok = m["mape"] <= mape_t and m["within_10pct"] >= w_t
    return (f"{runtime}: MAPE {pct(m['mape'], percent=True)} (target <= {mape_t:g}%), "
            f"within +-10% {pct(m['within_10pct'], percent=True)} "
            f"(target >= {w_t:g}%): **{'met' if ok else 'missed'}**")


def _selection(sel: dict) -> list[str]:
    lines = ["## How the form was chosen (training rows only)", "",
             f"Criterion: {sel.get('criterion', '-')}. Chosen: device **{sel['chosen']['device']}**, host "
             f"**{sel['chosen']['host']}**, eager composition **{sel['chosen']['composition']}**.", "",
             "| part | candidate | leave-one-network-out MAPE |", "|---|---|---:|"]
    for part in ("device", "host", "composition"):
        for r in sel.get(part, ()):
            lines.append(f"| {part} | {r['form']} | {pct(r['lono_mape'], percent=True)} |")
    return lines + [""]


def _candidates(val: dict) -> list[str]:
    rows = val.get("candidates") or []
    if not rows:
        return []
    lines = ["## Every candidate on the held-out networks (computed after the choice, not used for it)", "",
             "| device | host | composition | cudagraph MAPE | eager MAPE | chosen |", "|---|---|---|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['device']} | {r['host']} | {r['composition']} | {pct(r['cudagraph_mape'], percent=True)} | "
                     f"{pct(r['eager_mape'], percent=True)} | {'yes' if r['chosen'] else ''} |")
    return lines + [""]


def _params(coef: dict) -> list[str]:
    dev, host, comp = coef["device"], coef["host"], coef["composition"]
    lines = ["## Fitted parameters", "",
             f"CUDA-graph launch {1e3 * dev['graph_launch_ms']:.2f} us; eager: per-kernel launch gap "
             f"{1e3 * comp['gap_ms']:.2f} us, sync {1e3 * comp['sync_ms']:.2f} us; host: per forward "
             f"{1e3 * host['ms_per_forward']:.2f} us, per view {1e3 * host['ms_per_view']:.2f} us, per module "
             f"{1e3 * host['ms_per_module']:.2f} us, per extra kernel {1e3 * host['ms_per_extra_kernel']:.2f} us.", "",
             "| class | host us/op | device us/kernel | device us/GMAC | device us/MB | device us/serial |",
             "|---|---:|---:|---:|---:|---:|"]
    for c, p in dev["classes"].items():
        lines.append(f"| {c} | {1e3 * host['classes'][c]['ms_per_op']:.2f} | {1e3 * p['ms_per_op']:.2f} | "
                     f"{1e3 * p['ms_per_gmac']:.1f} | {1e3 * p['ms_per_mb']:.4f} | {1e3 * p['ms_per_serial']:.3f} |")
    return lines + [""]


@register_reproduction(NAME, "GPU latency as it really is: H200 host/device two-clock model, held-out accuracy "
                             "(reports/gpu-h200.md)", order=60)
def reproduce_gpu_h200(out_dir: Path, *, measure: bool = False) -> str:
    prof = load_profile(PROFILE)
    res = {r: validate_gpu(prof, r) for r in ("cudagraph", "eager")}
    val = prof.validation
    nets = val["held_out_networks"]
    parts = ["# GPU latency as it really is: NVIDIA H200, PyTorch eager and CUDA graph", "",
             f"Regenerated by `costlab reproduce {NAME}` from `profiles/{PROFILE}.json` (built by "
             f"`{prof.provenance['command']}`); never edited by hand. Data: "
             f"{prof.provenance['data_files']}.", "",
             "On a GPU the host dispatches ops while the GPU runs the kernels already dispatched. The model "
             "(`costlab/latency/forms/gpu.py`) predicts both clocks per op: device ms per kernel (fitted on CUDA-graph "
             "replays) and host ms per dispatched op (fitted on the forward call's wall time), and composes them: "
             "`cudagraph` = one graph launch + the kernels; `eager` = the composition rule below.", "",
             f"Held out: {len(nets)} zoo networks never fitted nor used for any choice (" +
             ", ".join(f"`{n}`" for n in nets) + "), each at batch 1, 8, 32 and 64. FLOPs-only: per batch, "
             "`t = a * GMAC + c` fitted on the training networks of that batch.", ""]
    parts += ["## Held-out accuracy against the targets", ""] + \
        [f"- {_verdict(r, res[r]['held_out']['all'])}" for r in ("cudagraph", "eager")] + [""]
    for r, what in (("cudagraph", "CUDA-graph replay (graph_ms)"), ("eager", "eager forward (eager_ms)")):
        parts += [f"### {r}: predicted vs the measured {what}", ""] + _metric_table(res[r]["held_out"])
        new = res[r]["held_out"]["new_families"]
        parts += [f"Of them, the networks of families that no training network belongs to "
                  f"({', '.join(new['families'])}: " + ", ".join(f"`{n}`" for n in new["networks"]) +
                  "), the leak-free figure (other held-out networks have siblings of another width or depth "
                  "among the training networks):", ""] + _metric_table(new)
    for r in ("cudagraph", "eager"):
        parts += [f"### Leave-one-network-out over the training networks, {r}", "",
                  "Each training network (all its batches) held out in turn, the chosen forms refitted. Optimistic: "
                  "the forms were chosen on these folds.", ""] + _metric_table(res[r]["lono"])
    form = prof.form.describe(prof)
    parts += _selection(form["selection"]) + _candidates(val) + _params(form["coefficients"])
    parts += ["## Which clock a forward waits for", "", "| network | batch | dispatch ms | GPU ms | eager ms | "
              "cudagraph ms | bound |", "|---|---:|---:|---:|---:|---:|---|"]
    for spec in BOUND_SPECS:
        for b in bounds(prof, spec):
            parts.append(f"| `{spec}` | {b['batch']} | {b['host_ms']:.3f} | {b['device_ms']:.3f} | {b['eager_ms']:.3f} | "
                         f"{b['cudagraph_ms']:.3f} | {b['text']} |")
    parts += [""]
    for r in ("cudagraph", "eager"):
        parts += [f"## Held-out rows, {r}", ""] + _rows_table(res[r]["held_out"]["rows"])
    write_report(out_dir, NAME, parts)
    g, e = res["cudagraph"]["held_out"]["all"], res["eager"]["held_out"]["all"]
    return (f"held-out {g['n']} rows: cudagraph MAPE {pct(g['mape'], percent=True)} "
            f"(FLOPs-only {pct(g['baseline']['mape'], percent=True)}), "
            f"eager MAPE {pct(e['mape'], percent=True)} (FLOPs-only {pct(e['baseline']['mape'], percent=True)})")
