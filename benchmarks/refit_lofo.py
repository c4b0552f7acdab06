"""A runtime profile's leave-family-out figure recomputed from stored measurements (no timing):
the held-out networks a ``bench_runtimes.py --json`` run timed, predicted by the profile refitted
without each network's family (as ``costlab validate --measure`` does: the mean over every op
timing and network weight, or for a profile measured before that rule, both re-chosen inside
every fold), under the costlab on the import path. Shows what a change of
the predictor does to the same measurements (README, runtimes section: the 7x7 depthwise class).

    python benchmarks/bench_runtimes.py --profile RT=RT.json --accuracy-only --json run.json
    python benchmarks/refit_lofo.py --profile RT.json --run run.json [--drop-samples REGEX]
    PYTHONPATH=OLD_CHECKOUT python benchmarks/refit_lofo.py ...      # the same under older code

``--drop-samples REGEX`` leaves every profile sample whose spec matches REGEX (``re.search``) out of
the refits; ``--fusion-add RULE`` / ``--fusion-drop PREFIX`` refit with a rule added to or taken
from the profile's fusion list (``--fusion-drop block:``: without its channel block). ``--combine
mean`` refits a profile measured under the older rule (one op timing and
one network weight chosen per fold) under the current one (the mean of the fits under all of
them; :mod:`costlab.runtimes.op_timing`), for the same measurements:

    python benchmarks/refit_lofo.py --profile RT.json --run run.json --combine mean

and ``--combine choose`` the other way round (a profile measured under the "mean" rule refitted
as the older rule would have: its op samples' timings chosen again, per fold, from their two
medians).
"""
from __future__ import annotations

import argparse
import json
import re
import sys

import numpy as np


def lofo_errors(doc: dict, rows: list[dict]) -> np.ndarray:
    """Signed % error per row (``spec``, ``family``, ``measured_ms``) of the leave-family-out refit."""
    from costlab.blocks import predict_spec
    from costlab.calibrate import fit_any
    from costlab.calibrate.grid import default_input_shape
    from costlab.calibrate.validate import family_fold
    from costlab.latency.profile import load_profile
    from costlab.runtimes.op_timing import retime

    pred = {}
    for fam in sorted({r["family"] for r in rows}):
        fitted = load_profile(fit_any(retime(family_fold(doc, fam)), progress=False))
        for r in rows:
            if r["family"] == fam:
                pred[r["spec"]] = predict_spec(r["spec"], default_input_shape(r["spec"]), fitted)
    return np.array([100 * (pred[r["spec"]] - r["measured_ms"]) / r["measured_ms"] for r in rows])


def edit_fusion(doc: dict, add=(), drop=()) -> dict:
    """``doc`` with the fusion rules starting with a prefix in ``drop`` left out and ``add`` added."""
    if not add and not drop:
        return doc
    kept = [r for r in doc.get("fusion", []) if not any(r.startswith(p) for p in drop)]
    return {**doc, "fusion": kept + [r for r in add if r not in kept]}


def fusion_options(ap: argparse.ArgumentParser) -> None:
    """The --fusion-add / --fusion-drop options of the refit benchmarks."""
    ap.add_argument("--fusion-add", action="append", default=[], metavar="RULE",
                    help="refit with this rule added to the profile's fusion list (e.g. block:4, nchwc:16/4); "
                         "repeatable")
    ap.add_argument("--fusion-drop", action="append", default=[], metavar="PREFIX",
                    help="refit without the fusion rules starting with PREFIX (e.g. block:); repeatable")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", required=True)
    ap.add_argument("--run", required=True, help="bench_runtimes.py --json output (its 'accuracy' entry)")
    ap.add_argument("--drop-samples", default=None, metavar="REGEX")
    fusion_options(ap)
    ap.add_argument("--combine", choices=("as-profiled", "mean", "choose"), default="as-profiled",
                    help="mean: refit a profile that chose its op timing and network weight under the mean rule; "
                         "choose: refit a mean-rule profile under the older rule (both chosen per fold)")
    a = ap.parse_args(argv)
    doc = json.load(open(a.profile))
    acc = json.load(open(a.run)).get("accuracy") or []
    if not acc:
        sys.exit(f"{a.run}: no 'accuracy' entry (run bench_runtimes.py without --agreement-only)")
    rows = acc[0]["rows"]
    if a.drop_samples:
        doc["samples"] = [s for s in doc["samples"] if not re.search(a.drop_samples, s["spec"])]
    doc = edit_fusion(doc, a.fusion_add, a.fusion_drop)
    if a.combine == "mean":
        from costlab.runtimes.op_timing import as_mean

        doc = as_mean(doc)
    elif a.combine == "choose":
        from costlab.runtimes.op_timing import as_choose

        doc = as_choose(doc)
    e = lofo_errors(doc, rows)
    then = np.array([100 * (r["lofo_ms"] - r["measured_ms"]) / r["measured_ms"] for r in rows])
    print(f"{a.profile}: leave-family-out over {len(rows)} networks of {a.run}"
          + (f", samples matching {a.drop_samples!r} left out" if a.drop_samples else "")
          + {"mean": ", refitted under the mean rule", "choose": ", refitted under the older rule (chosen per fold)"}
          .get(a.combine, "")
          + (f", fusion rules {' '.join(doc.get('fusion', []))}" if a.fusion_add or a.fusion_drop else ""))
    print(f"  MAPE {np.abs(e).mean():.1f}% (as that run printed it: {np.abs(then).mean():.1f}%), within 10% "
          f"{100 * (np.abs(e) <= 10).mean():.0f}%, signed mean {e.mean():+.1f}%")
    for r, x, y in zip(rows, e, then):
        print(f"  {r['spec']:28s} {x:+7.1f}%  (then {y:+7.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
