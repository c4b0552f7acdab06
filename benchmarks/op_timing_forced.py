"""What each op timing would have given: a runtime profile's measurements refitted with its op
samples forced to one timing (interleaved, burst, geometric mean), predicted leave-family-out
on the networks a ``bench_runtimes.py --json`` run measured (informational: the profile chooses
its timing from its own network samples, ``costlab.runtimes.op_timing``; this shows the others).

Per timing and network weight (1, 5, 20): the MAPE and signed mean error of the held-out
networks, each family predicted by the profile refitted without that family's network samples.
Also the median ratio of the interleaved to the burst median over the op and block samples.
Measures nothing: reads the profile (which keeps both medians) and the benchmark's JSON.

    python benchmarks/bench_runtimes.py --profile RT=RT.json --runs 11 --accuracy-only --json acc.json
    python benchmarks/op_timing_forced.py --runtime RT --profile RT.json --accuracy acc.json
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", required=True, help="ort, openvino or litert (as in the JSON)")
    ap.add_argument("--profile", required=True, help="a profile measured with both op timings")
    ap.add_argument("--accuracy", required=True, help="bench_runtimes.py --json output with that runtime")
    args = ap.parse_args(argv)

    from costlab.blocks import default_shape, sample_features
    from costlab.calibrate import fit as F
    from costlab.runtimes.op_timing import MODES, combine, corrected

    doc = json.load(open(args.profile))
    both = [s for s in doc["samples"] if s["granularity"] != "network" and s["stats"].get("burst_median_ms")]
    if not both:
        sys.exit(f"{args.profile}: no op sample has both timings (stats.burst_median_ms); measure it again")
    held = next((a for a in json.load(open(args.accuracy))["accuracy"] if a["runtime"] == args.runtime), None)
    if held is None:
        sys.exit(f"{args.accuracy}: no accuracy entry for runtime {args.runtime!r}")
    rows = held["rows"]
    fusion = tuple(doc["fusion"])
    H = np.array([sample_features(r["spec"], default_shape(r["spec"]), "float32", fusion)[0].reshape(-1) for r in rows])
    y = np.array([r["measured_ms"] for r in rows])
    fams = [r["family"] for r in rows]
    ratio = np.median([s["stats"]["median_ms"] / s["stats"]["burst_median_ms"] for s in both])
    print(f"{args.runtime}: {args.profile} (kept: {doc['provenance']['op_timing']['chosen']}); {len(rows)} held-out "
          f"networks; median interleaved / burst over {len(both)} op and block samples: {ratio:.3f}")
    for mode in MODES:
        d = json.loads(json.dumps(doc))
        for s in d["samples"]:
            st = s["stats"]
            if s["granularity"] != "network" and st.get("burst_median_ms"):
                sh, call = st.get("edge_share"), st.get("call_overhead_ms")
                s["latency_ms"] = combine(corrected(st["median_ms"], sh, call), corrected(st["burst_median_ms"], sh, call),
                                          mode)
        data = F.profile_data(d)
        cells = []
        for w in (1, 5, 20):
            dw, pred = data.with_network_weight(float(w)), np.zeros(len(rows))
            for fam in sorted(set(fams)):
                idx = np.array([i for i, s in enumerate(d["samples"])
                                if not (s["granularity"] == "network" and s["family"] == fam)])
                coef = F.fit_on(dw, idx).coef
                for i, f in enumerate(fams):
                    if f == fam:
                        pred[i] = H[i] @ coef
            e = (pred - y) / y
            cells.append(f"weight {w}: {100 * np.abs(e).mean():5.1f}% ({100 * e.mean():+5.1f}%)")
        print(f"  forced {mode:11s} leave-family-out MAPE (signed)  " + "   ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
