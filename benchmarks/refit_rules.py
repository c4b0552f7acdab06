"""Runtime profiles' op-timing rules compared on stored measurements (no timing): for each
(profile, validation run) pair, the leave-family-out MAPE of the held-out networks under several
rules for combining the fits under each op timing (interleaved, burst, geomean) and network
weight (1, 5, 20). Every rule decides per fold on the profile's own samples only (the op samples'
op-only network MAPE per timing, :func:`costlab.runtimes.op_timing.choose`), never on the
held-out networks. It printed the README's comparison of rules (runtimes section, "Rounds 8 and 9").

    python benchmarks/bench_runtimes.py --profile RT=RT.json --accuracy-only --json run.json
    python benchmarks/refit_rules.py RT.json:run.json [RT2.json:run2.json ...]

Rules: ``mean`` (the current one: the mean of all nine fits), ``choose`` (the older one: one
timing by op-only MAPE, one weight by leave-one-network-out), ``no-burst`` (the mean over the
interleaved and geomean fits), ``within-K`` (the mean over the timings whose op-only MAPE is within
K x the best), ``inverse-square`` (the timings' mean fits weighted by 1 / op-only MAPE^2).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from refit_lofo import lofo_errors  # noqa: E402  (a sibling benchmark: the same leave-family-out refit)

WEIGHTS = (1.0, 5.0, 20.0)
RULES = ("mean", "choose", "no-burst", "within-1.25", "within-1.5", "within-2", "inverse-square")


def _fold_predictions(doc: dict, rows: list[dict]) -> tuple[dict, dict]:
    """(preds[(mode, weight)][spec], op-only MAPE per mode per family) of the leave-family-out folds."""
    from costlab.blocks import predict_spec
    from costlab.calibrate.fit import fit_profile
    from costlab.calibrate.grid import default_input_shape
    from costlab.calibrate.validate import family_fold
    from costlab.latency.profile import load_profile
    from costlab.runtimes import op_timing as OT

    preds, op_only = {}, {}
    for fam in sorted({r["family"] for r in rows}):
        sub = family_fold(doc, fam)
        cands = OT.candidates(sub["samples"], OT.two_timings(sub["samples"]))
        _, rec = OT.choose(sub, cands)
        op_only[fam] = {c["mode"]: c["network_mape"] for c in rec["candidates"]}
        held = [r for r in rows if r["family"] == fam]
        for mode in OT.MODES:
            for w in WEIGHTS:
                one = {**sub, "samples": cands[mode],
                       "provenance": {**sub["provenance"], "op_timing": None, "fit_options": {"network_weights": [w]}}}
                prof = load_profile(fit_profile(one, progress=False))
                for r in held:
                    preds.setdefault((mode, w), {})[r["spec"]] = predict_spec(r["spec"], default_input_shape(r["spec"]), prof)
    return preds, op_only


def rule_mapes(doc: dict, rows: list[dict]) -> dict[str, float]:
    """Leave-family-out MAPE (%) of ``rows`` under each rule of :data:`RULES`."""
    from costlab.runtimes.op_timing import MODES, as_choose

    preds, op_only = _fold_predictions(doc, rows)
    fam = {r["spec"]: r["family"] for r in rows}

    def mape(p):
        return float(np.mean([abs(100 * (p(r["spec"]) - r["measured_ms"]) / r["measured_ms"]) for r in rows]))

    def mean_of(modes_of):
        return lambda s: float(np.mean([preds[(m, w)][s] for m in modes_of(s) for w in WEIGHTS]))

    def within(k):
        def modes(s):
            c = op_only[fam[s]]
            if any(v is None for v in c.values()):
                return MODES
            return [m for m in MODES if c[m] <= k * min(c.values())]
        return modes

    def inverse_square(s):
        c = op_only[fam[s]]
        wt = {m: 1.0 / max(c[m], 1e-6) ** 2 for m in MODES}
        z = sum(wt.values())
        return sum(wt[m] / z * np.mean([preds[(m, w)][s] for w in WEIGHTS]) for m in MODES)

    out = {"mean": mape(mean_of(lambda s: MODES)),
           "choose": float(np.mean(np.abs(lofo_errors(as_choose(doc), rows)))),
           "no-burst": mape(mean_of(lambda s: [m for m in MODES if m != "burst"]))}
    for k in (1.25, 1.5, 2):
        out[f"within-{k:g}"] = mape(mean_of(within(k)))
    out["inverse-square"] = mape(inverse_square)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("pairs", nargs="+", metavar="PROFILE.json:RUN.json")
    a = ap.parse_args(argv)
    table = []
    for pair in a.pairs:
        prof, _, run = pair.partition(":")
        acc = json.load(open(run)).get("accuracy") or []
        if not run or not acc:
            sys.exit(f"{pair}: want PROFILE.json:RUN.json, RUN.json a bench_runtimes.py --json run with 'accuracy'")
        doc = json.load(open(prof))
        if (doc.get("provenance") or {}).get("op_timing") is None:
            sys.exit(f"{prof}: its op samples were timed one way only (no provenance.op_timing): nothing to compare")
        r = rule_mapes(doc, acc[0]["rows"])
        table.append((pair, r))
        print(f"{pair}: " + ", ".join(f"{k} {v:.1f}%" for k, v in r.items()), flush=True)
    if len(table) > 1:
        print(f"over {len(table)} pairs, leave-family-out MAPE mean / worst:")
        for k in RULES:
            v = [r[k] for _, r in table]
            print(f"  {k:15s} {np.mean(v):5.1f}% / {np.max(v):5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
