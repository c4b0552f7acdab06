"""ShuffleNet V2 Sec. 2-3: the G1-G4 verdicts on earlier networks, from measured costs.

Ma et al. 2018 (arXiv:1807.11164) state, after deriving G1-G4: ShuffleNet v1 violates G2
(group convolutions) and G1 (bottleneck-like blocks); MobileNet v2 violates G1 (inverted
bottleneck) and G4 (depthwise convs and ReLUs on thick feature maps); fragmented
multi-branch structures (Inception, auto-generated cells) violate G3; ShuffleNet v2 is
designed to follow all four. This reproduction measures every zoo model with
:func:`costlab.guidelines.check` and checks those statements against the numbers.
"""
from __future__ import annotations

from pathlib import Path

from ..guidelines import DEFAULT_THRESHOLDS, GUIDELINES, TITLES, check, load, ranking
from ..present.guidelines import comparison_text, findings_frame, summary_frame
from ..present.output import write_output
from ..present.tables import pct, to_csv
from . import register_reproduction

# Knob variants worth a row besides every zoo model at its defaults.
VARIANTS = ["shufflenet_v1:groups=1", "shufflenet_v1:groups=8", "shufflenet_v2:impl=torchvision",
            "googlenet:impl=torchvision"]
# The light-weight networks the paper's comparison is about (those in the zoo).
EFFICIENT = ["shufflenet_v1", "shufflenet_v1:groups=8", "mobilenet_v1", "mobilenet_v2", "shufflenet_v2",
             "xception", "squeezenet1_0", "squeezenet1_1", "googlenet", "inception_v3"]
# (models, guidelines they violate, the paper's words)
CLAIMS = [
    (["shufflenet_v1", "shufflenet_v1:groups=8"], ["G1", "G2"],
     "ShuffleNet v1 violates G2 (group convolutions) and G1 (bottleneck-like building blocks)"),
    (["mobilenet_v2"], ["G1", "G4"],
     "MobileNet v2 violates G1 (inverted bottleneck) and G4 (depthwise convolutions and ReLUs on "
     "thick feature maps)"),
    (["googlenet", "inception_v3"], ["G3"],
     "fragmented multi-branch structures (GoogLeNet/Inception) violate G3"),
]
CLEAN = "shufflenet_v2"


# Zoo families that are not networks to judge: single-op micro-benchmarks (latency
# profiling) and the paper's own G1-G4 benchmark networks (their own section below).
NOT_NETWORKS = {"micro", "sv2bench"}
# The paper's benchmark networks (Sec. 2, Tables 1-4), in the order of its tables: the
# guideline's share must grow where the paper measured a slowdown.
BENCH = [
    ("G1", "Table 1: c1:c2 = 1:1, 1:2, 1:6, 1:12",
     [f"sv2bench_g1:ratio={r}" for r in (1, 2, 6, 12)], [(0, 1), (1, 2), (2, 3)]),
    ("G2", "Table 2: g = 1, 2, 4, 8",
     [f"sv2bench_g2:groups={g}" for g in (1, 2, 4, 8)], [(0, 1), (1, 2), (2, 3)]),
    ("G3", "Table 3: 1 fragment, 2 / 4 in parallel",
     ["sv2bench_g3:fragments=1", "sv2bench_g3:fragments=2,arrangement=parallel",
      "sv2bench_g3:fragments=4,arrangement=parallel"], [(0, 2), (1, 2)]),
    ("G4", "Table 4: ReLU and shortcut both removed, ReLU removed, shortcut removed, neither",
     ["sv2bench_g4:relu=0,shortcut=0", "sv2bench_g4:relu=0,shortcut=1", "sv2bench_g4:relu=1,shortcut=0",
      "sv2bench_g4:relu=1,shortcut=1"], [(0, 1), (0, 2), (1, 3), (2, 3)]),
]
# (each pair (i, j): network j was slower than network i in the paper's table, so its share must be larger)


def _specs() -> list[str]:
    from ..zoo.registry import list_models

    names = [e.name for e in list_models() if e.family not in NOT_NETWORKS]
    return names + [v for v in VARIANTS if v.split(":")[0] in names]


def _bench_specs() -> list[str]:
    from ..zoo.registry import list_models

    names = {e.name for e in list_models()}
    return [s for _, _, specs, _ in BENCH for s in specs if s.split(":")[0] in names]


def _is_network(report) -> bool:
    """An image classifier (1 or 3 input channels, class scores out), not a building block or a
    lookup-table entry registered in the zoo for latency work."""
    graph = report.graph
    ins = report.input_shape
    if len(ins) != 1 or len(ins[0]) != 4 or ins[0][1] not in (1, 3):
        return False
    outs = []
    for src in graph.outputs:
        if src.kind == "node":
            outs.append(graph.nodes[src.ref].outputs[src.index].shape)
    return bool(outs) and all(len(o) == 2 for o in outs)


@register_reproduction("guidelines", "ShuffleNet V2 G1-G4 linter: the paper's verdicts over the zoo from measured MAC bytes (reports/guidelines.md, .csv)",
                       order=40)
def reproduce_guidelines(out_dir: Path, *, measure: bool = False) -> str:
    th = dict(DEFAULT_THRESHOLDS)
    specs = _specs()
    bench = _bench_specs()
    results, failed, blocks = _analyze(specs, bench, th)
    specs = [s for s in specs if s not in blocks]

    lines = _intro(th)
    claims, n_ok, n_all, best = _claims_section(results, th)
    lines += claims
    lines += _threshold_section(results, th)
    ordered = [results[s] for s in specs if s in results]
    lines += _comparison_section(ordered, failed, blocks)
    if bench:
        lines += _bench_section(results, th)
    lines += _verdict_section(ordered)

    out_dir = Path(out_dir)
    write_output("\n".join(lines), str(out_dir / "guidelines.md"))
    write_output(to_csv(summary_frame(ordered)), str(out_dir / "guidelines.csv"))
    return (f"{n_ok}/{n_all} paper verdicts reproduced over {len(ordered)} models"
            + (f"; {len(failed)} not analyzed" if failed else "")
            + f"; cleanest light-weight model: {best.model if best else '-'}")


def _analyze(specs: list[str], bench: list[str], th: dict) -> tuple[dict, dict[str, str], list[str]]:
    """(guideline results per spec, specs that failed to trace -> why, zoo specs that are
    building blocks rather than networks)."""
    import sys

    from tqdm import tqdm

    from ..api import analyze

    results = {}
    failed: dict[str, str] = {}
    blocks: list[str] = []
    for spec in tqdm(specs + bench, desc="guidelines", unit="model", file=sys.stderr, leave=False, disable=None):
        try:
            report = analyze(spec)
        except Exception as exc:  # a zoo model that cannot be traced is reported, not hidden
            failed[spec] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            continue
        if spec in specs and not _is_network(report):
            blocks.append(spec)
            continue
        results[spec] = check(report, thresholds=th)
    return results, failed, blocks


def _intro(th: dict) -> list[str]:
    return ["# ShuffleNet V2 guidelines G1-G4 over the zoo", "",
            "Generated by `costlab reproduce guidelines` (code: `costlab/reproduce/guidelines.py`, "
            "`costlab/guidelines.py`). Do not edit by hand.", "",
            "Ma et al. 2018, *ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design* "
            "(arXiv:1807.11164), Sec. 2: " + "; ".join(f"{g}: {t}" for g, t in TITLES.items()) + ".", "",
            "Every model at its paper's input resolution, batch 1, float32, traced once; the cost is "
            "MAC bytes (memory access cost, ShuffleNet V2 Sec. 2: inputs + weights + outputs of every "
            "op). Each column is the share of the model's MAC bytes in violations of that guideline: "
            "G1 = MAC above the G1 lower bound of every 1x1 conv with c_in != c_out; G2 = MAC increase "
            "of every group conv over a g = 1 conv with the same FLOPs; G3 = MAC bytes of blocks with "
            f"more than {th['branches']} parallel branches; G4 = MAC bytes of element-wise ops "
            "(activations, add, bias, batch norm, concat, copies) and depthwise convs. "
            "Definitions: `costlab/guidelines.py` docstring.", "",
            "Thresholds (a guideline is violated when the share reaches it): "
            + ", ".join(f"{g} {pct(th[g], 2)}" for g in GUIDELINES) + ".", ""]


def _claims_section(results: dict, th: dict) -> tuple[list[str], int, int, object]:
    """The paper's statements, checked: (lines, reproduced, statements, cleanest light-weight result)."""
    lines = ["## The paper's verdicts, checked", "",
             "| statement (ShuffleNet V2 Sec. 2-3) | model | measured | reproduced |", "|---|---|---|---|"]
    n_ok = n_all = 0
    for models, gs, words in CLAIMS:
        for m in models:
            r = results.get(m)
            n_all += 1
            if r is None:
                lines.append(f"| {words} | {m} | not analyzed | no |")
                continue
            ok = all(r.summary[g]["violated"] for g in gs)
            n_ok += ok
            meas = ", ".join(f"{g} {pct(r.summary[g]['share'], 2)} (threshold {pct(th[g], 2)})" for g in gs)
            lines.append(f"| {words} | {m} | {meas} | {'yes' if ok else 'NO'} |")
    eff = [results[m] for m in EFFICIENT if m in results]
    n_all += 1
    best = ranking(eff)[0] if eff else None
    clean_ok = best is not None and best.model == CLEAN
    n_ok += clean_ok
    if best is not None and CLEAN in results:
        cr = results[CLEAN]
        lines.append(f"| ShuffleNet v2 follows G1-G4: the cleanest of the light-weight models | {CLEAN} | "
                     f"{cr.verdict()}; load {load(cr):.2f}; cleanest measured: {best.model} | "
                     f"{'yes' if clean_ok else 'NO'} |")
    lines += ["", f"{n_ok}/{n_all} statements reproduced. 'Cleanest' = fewest violated guidelines, then the "
              "lowest load (sum over G1-G4 of share/threshold), among: " + ", ".join(EFFICIENT) + ".", ""]
    return lines, n_ok, n_all, best


def _threshold_section(results: dict, th: dict) -> list[str]:
    lines = ["## How much the verdicts depend on the thresholds", "",
             "For each guideline, the thresholds for which every statement above about it holds: above "
             f"the share of {CLEAN} (which must not violate it) and at most the smallest share among the "
             "models said to violate it.", "",
             "| guideline | must not violate | must violate | thresholds that reproduce | default | inside |",
             "|---|---|---|---|---:|---|"]
    for g in GUIDELINES:
        viol = [m for models, gs, _ in CLAIMS if g in gs for m in models if m in results]
        if CLEAN not in results or not viol:
            continue
        lo = results[CLEAN].summary[g]["share"]
        hi = min(results[m].summary[g]["share"] for m in viol)
        inside = lo < th[g] <= hi
        lines.append(f"| {g} | {CLEAN} {pct(lo, 2)} | " + ", ".join(
            f"{m} {pct(results[m].summary[g]['share'], 2)}" for m in viol)
            + f" | ({pct(lo, 2)}, {pct(hi, 2)}] | {pct(th[g], 2)} | {'yes' if inside else 'NO'} |")
    lines += ["",
              "The G4 shares move with the input size (weights vs feature maps): at 224 px ShuffleNet v2 "
              "sits close below the G4 threshold, so read G4 at the paper's resolution; "
              "`costlab guidelines MODEL --resolution R` gives the shares at another size.", ""]
    return lines


def _comparison_section(ordered: list, failed: dict[str, str], blocks: list[str]) -> list[str]:
    lines = ["## Comparison over the zoo", "", comparison_text(ordered, "markdown", cleanest=False).rstrip(), "",
             "Plain chains (VGG, AlexNet, LeNet) violate nothing: the guidelines judge memory access "
             "and parallelism per FLOP, not accuracy per FLOP, so the paper's verdicts are about "
             "light-weight designs (first section).", ""]
    if failed:
        lines += ["Not analyzed: " + "; ".join(f"{k} ({v})" for k, v in failed.items()), ""]
    if blocks:
        lines += ["Left out as building blocks, not networks (input not an image, or output not class "
                  "scores): " + ", ".join(blocks) + ". Zoo families "
                  + ", ".join(sorted(NOT_NETWORKS)) + " are micro-benchmarks and the paper's benchmark "
                  "networks (next section).", ""]
    return lines


def _bench_section(results: dict, th: dict) -> list[str]:
    """The paper's own benchmark networks: does the guideline's share grow with the slowdowns?"""
    lines = ["## The paper's benchmark networks (Sec. 2, Tables 1-4)", "",
             "The networks the paper timed to derive each guideline (zoo family `sv2bench`; no BN, "
             "56x56 input). Where the paper measured a slowdown, the guideline's share must grow.", "",
             "| guideline | paper table | network | share | violated | grows with the slowdowns |",
             "|---|---|---|---:|---|---|"]
    n_mono = n_rows = 0
    for g, table, specs_g, pairs in BENCH:
        if not all(sp in results for sp in specs_g):
            continue
        got = [(sp, results[sp]) for sp in specs_g]
        shares = [r.summary[g]["share"] for _, r in got]
        mono = all(shares[j] > shares[i] for i, j in pairs)
        n_rows += 1
        n_mono += mono
        for i, (sp, r) in enumerate(got):
            lines.append(f"| {g if i == 0 else ''} | {table if i == 0 else ''} | {sp} | "
                         f"{pct(r.summary[g]['share'], 2)} | {'yes' if r.summary[g]['violated'] else 'no'} | "
                         + (("yes" if mono else "NO") if i == len(got) - 1 else "") + " |")
    lines += ["", f"{n_mono}/{n_rows} guidelines grow with the paper's measured slowdowns. G3 flags only "
              f"blocks of more than {th['branches']} parallel branches (the 4-way parallel block; a "
              "2-way block is the ShuffleNet V2 unit's own shape); series fragmentation is reported "
              "(ops, longest chain) but never flagged, since any small network has many small ops.", ""]
    return lines


def _verdict_section(ordered: list) -> list[str]:
    lines = ["## Verdict per model", ""]
    for r in ordered:
        df = findings_frame(r)
        worst = "; ".join(f"{row.guideline} {row.where} ({pct(row.share, 2)})"
                          for row in df.head(3).itertuples()) if not df.empty else "none"
        s3 = r.summary["G3"]
        lines.append(f"- **{r.model}**: {r.verdict()}. Worst findings: {worst}. "
                     f"{s3['ops']} ops, longest chain {s3['longest_chain']}; element-wise ops: "
                     f"{pct(r.summary['G4']['bytes_share'], 2)} of MAC bytes for "
                     f"{pct(r.summary['G4']['ops_share'], 2)} of the arithmetic.")
    lines += ["", "Per-layer findings of any model: `costlab guidelines MODEL` "
              "(`--format json` for the machine-readable form, `--fail-on G1,G2` for CI).", ""]
    return lines
