"""A runtime profile refitted on its own samples by the current costlab, predicting the networks
outside costlab's zoo that a ``bench_runtimes.py --unseen --json`` run measured (no timing here):
beside each, the error that run printed (the profile as it was then) and the error of the profile
as written now. Shows what a change of the predictor's features does to those networks without
measuring again (it was used for the exponential-family work term: README, runtimes section).

    python benchmarks/bench_runtimes.py --profile RT=RT.json --accuracy-only --unseen --runs 11 --json run.json
    python benchmarks/refit_unseen.py --profile RT.json --runtime RT --unseen run.json   # needs torchvision

``--drop-samples REGEX`` refits without the profile samples whose spec matches REGEX (``re.search``),
e.g. ``'^micro_conv:.*act=silu'``: the fused_exp class then has no sample and stays tied.
``--fusion-add RULE`` / ``--fusion-drop PREFIX`` as in ``refit_lofo.py`` (``--fusion-add nchwc:16/4``:
ONNX Runtime's layout conversions, README round 12). ``--combine mean`` refits a profile measured under the older rule (one op timing and one network
weight chosen) under the current one (the mean over all of them; :mod:`costlab.runtimes.op_timing`),
``--combine choose`` the other way round.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from refit_lofo import edit_fusion, fusion_options  # noqa: E402  (a sibling benchmark)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", required=True)
    ap.add_argument("--runtime", required=True, help="ort, openvino or litert (as in the JSON)")
    ap.add_argument("--unseen", required=True, help="bench_runtimes.py --json output of an --unseen run "
                    "(or a list of its 'unseen' entries)")
    ap.add_argument("--drop-samples", default=None, metavar="REGEX")
    fusion_options(ap)
    ap.add_argument("--combine", choices=("as-profiled", "mean", "choose"), default="as-profiled",
                    help="mean / choose: refit under that op-timing rule (see refit_lofo.py)")
    a = ap.parse_args(argv)
    from costlab.blocks import predict_spec
    from costlab.calibrate import fit_any
    from costlab.latency.profile import load_profile

    doc = json.load(open(a.profile))
    got = json.load(open(a.unseen))
    entries = got.get("unseen", []) if isinstance(got, dict) else got
    mine = [x for x in entries if x["runtime"] == a.runtime]
    u = next((x for x in mine if x.get("profile") == a.profile), mine[0] if mine else None)
    if u is None:
        sys.exit(f"{a.unseen}: no unseen entry for runtime {a.runtime!r}")
    as_written = load_profile(doc)
    base = {k: v for k, v in doc.items() if k not in ("predictor", "baseline", "validation")}
    if a.drop_samples:
        base["samples"] = [x for x in base["samples"] if not re.search(a.drop_samples, x["spec"])]
    base = edit_fusion(base, a.fusion_add, a.fusion_drop)
    if a.combine != "as-profiled":
        from costlab.runtimes.op_timing import as_choose, as_mean

        base = (as_mean if a.combine == "mean" else as_choose)(base)
    refit = load_profile(fit_any(base, progress=False))
    print(f"{a.profile} ({a.runtime}): elementwise ms per G work units, refitted: "
          f"{refit.predictor['classes']['elementwise']['ms_per_gmac']:.1f}")
    print(f"  {'network':34s} {'measured':>9s} {'then':>7s} {'as written':>10s} {'refitted':>9s}")
    for r in u["rows"]:
        m, shape = r["measured_ms"], (1, 3, 224, 224)
        e1 = 100 * (predict_spec(r["spec"], shape, as_written) - m) / m
        e2 = 100 * (predict_spec(r["spec"], shape, refit) - m) / m
        print(f"  {r['spec']:34s} {m:9.3f} {r['error_pct']:+6.1f}% {e1:+9.1f}% {e2:+8.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
