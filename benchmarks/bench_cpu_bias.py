"""Is a CPU profile built here biased against networks timed live here? (issue 23)

Builds a profile with ``costlab profile --target cpu`` (or takes ``--profile FILE``), then runs
``costlab validate --device PROFILE --measure`` twice, each in a fresh process as a user would.
Prints, for both validations, the issue's three verdicts (>= 80% of the held-out networks
within 10%, MAPE <= 8%, signed mean error within +-3%) and, beside them, the noise floor: the
same networks measured twice (the second run taken as a "prediction" of the first: its MAPE and
signed mean, and the per-network |difference| / mean, median and p90). Also prints the
profile's own leave-one-out figure and its live check (``provenance.live_check``), and the
verdicts of the anchored predictions (x the machine's speed now / at profiling, measured on 4 of
the profile's own networks timed in the same turns: ``validate --measure``'s ``anchored``).

Run (about 80 s + 2 x 60 s on a 2-core machine; a quiet machine, load < 1.3):
    python benchmarks/bench_cpu_bias.py [--profile FILE] [--keep FILE] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

COSTLAB = os.path.join(os.path.dirname(sys.executable), "costlab")


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _run(args: list[str]) -> tuple[str, float]:
    t0 = time.perf_counter()
    p = subprocess.run([COSTLAB, *args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"costlab {' '.join(args)} failed:\n{p.stderr}")
    return p.stdout, time.perf_counter() - t0


def _verdicts(res: dict) -> list[tuple[str, str, bool]]:
    return [("within 10%", f"{res['within_10pct']:.0f}% (>= 80%)", res["within_10pct"] >= 80),
            ("MAPE", f"{res['mape']:.1f}% (<= 8%)", res["mape"] <= 8),
            ("signed mean error", f"{res['signed_mean_pct']:+.1f}% (within +-3%)", abs(res["signed_mean_pct"]) <= 3)]


def _floor(a: dict, b: dict) -> dict:
    """The same networks measured twice: b's medians as a 'prediction' of a's."""
    ma = {r["spec"]: r["measured_ms"] for r in a["rows"]}
    mb = {r["spec"]: r["measured_ms"] for r in b["rows"]}
    specs = [s for s in ma if s in mb]
    e = np.array([100 * (mb[s] - ma[s]) / ma[s] for s in specs])
    d = np.array([100 * abs(mb[s] - ma[s]) / ((mb[s] + ma[s]) / 2) for s in specs])
    return {"mape": float(np.abs(e).mean()), "signed_mean_pct": float(e.mean()),
            "within_10pct": float(100 * (np.abs(e) <= 10).mean()),
            "diff_median_pct": float(np.median(d)), "diff_p90_pct": float(np.percentile(d, 90))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", help="a CPU profile measured here (default: build one now)")
    ap.add_argument("--keep", help="with no --profile: keep the built profile at this path")
    ap.add_argument("--json", help="write every number to this JSON file")
    ap.add_argument("--repeats", type=int, default=21, help="validate --measure repeats per network")
    a = ap.parse_args()
    out: dict = {"load_start": _load()}
    tmp = tempfile.mkdtemp(prefix="bench-cpu-bias-")
    prof = a.profile
    if prof is None:
        prof = os.path.join(tmp, "here.json")
        err, secs = _run(["profile", "--target", "cpu", "-q", "-o", prof])
        out["profile_s"] = round(secs, 1)
        if a.keep:
            shutil.copy(prof, a.keep)
    with open(prof) as f:
        doc = json.load(f)
    out["profile"] = prof
    out["leave_one_out"] = {k: doc["validation"]["by_holdout"][h][k] for h in ("network",) for k in ("mape", "within_10pct")}
    out["leave_one_family_out_mape"] = doc["validation"]["by_holdout"]["family"]["mape"]
    out["live_check"] = {k: v for k, v in (doc["provenance"].get("live_check") or {}).items() if k != "method"}
    runs = []
    for _ in range(2):
        text, secs = _run(["validate", "--device", prof, "--measure", "--format", "json", "-q",
                           "--repeats", str(a.repeats)])
        runs.append(json.loads(text))
        runs[-1]["seconds"] = round(secs, 1)
    out["validate"] = [{k: r[k] for k in ("n", "mape", "within_10pct", "signed_mean_pct", "noise_median", "seconds")}
                       | {k: r[k] for k in ("anchored", "machine_speed") if k in r}
                       | {"rows": [{k: x[k] for k in ("spec", "measured_ms", "predicted_ms", "error_pct", "noise")}
                                   for x in r["rows"]]} for r in runs]
    out["noise_floor"] = _floor(runs[0], runs[1])
    out["load_end"] = _load()
    shutil.rmtree(tmp, ignore_errors=True)
    _print(out, runs)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


def _print(out: dict, runs: list[dict]) -> None:
    loo = out["leave_one_out"]
    print(f"profile {out['profile']}: leave-one-network-out MAPE {loo['mape']:.1f}% "
          f"(within 10% {loo['within_10pct']:.0f}%), leave-one-family-out {out['leave_one_family_out_mape']:.1f}%"
          + (f"; built in {out['profile_s']:.0f} s" if "profile_s" in out else ""))
    lc = out["live_check"]
    if lc:
        print(f"its live check ({', '.join(lc['specs'])}): MAPE {lc['mape']:.1f}%, signed mean {lc['signed_mean_pct']:+.1f}%")
    print(f"\n{'network':28s} {'measured 1':>10s} {'measured 2':>10s} {'predicted':>10s} {'error 1':>8s} {'error 2':>8s}")
    m2 = {r["spec"]: r for r in runs[1]["rows"]}
    for r in runs[0]["rows"]:
        s = m2[r["spec"]]
        print(f"{r['spec']:28s} {r['measured_ms']:10.2f} {s['measured_ms']:10.2f} {r['predicted_ms']:10.2f} "
              f"{r['error_pct']:+7.1f}% {s['error_pct']:+7.1f}%")
    nf = out["noise_floor"]
    print(f"\n{'':20s} {'validation 1':>26s} {'validation 2':>26s}   noise floor (same nets twice)")
    floor = {"within 10%": f"{nf['within_10pct']:.0f}%", "MAPE": f"{nf['mape']:.1f}%",
             "signed mean error": f"{nf['signed_mean_pct']:+.1f}%"}
    for (name, t1, ok1), (_, t2, ok2) in zip(_verdicts(runs[0]), _verdicts(runs[1])):
        print(f"{name:20s} {t1:>21s} {'PASS' if ok1 else 'FAIL'} {t2:>21s} {'PASS' if ok2 else 'FAIL'}   {floor[name]}")
    if all("anchored" in r for r in runs):
        print("anchored (predictions x the machine's speed now / at profiling, from the profile's own networks "
              "timed in the same turns):")
        for (name, t1, ok1), (_, t2, ok2) in zip(_verdicts(runs[0]["anchored"]), _verdicts(runs[1]["anchored"])):
            print(f"{name:20s} {t1:>21s} {'PASS' if ok1 else 'FAIL'} {t2:>21s} {'PASS' if ok2 else 'FAIL'}")
        print("machine speed factor: " + ", ".join(f"{r['machine_speed']['factor']:.3f} (spread "
                                                   f"{100 * r['machine_speed']['spread']:.0f}%)" for r in runs))
    print(f"per-network |run 1 - run 2| / mean: median {nf['diff_median_pct']:.1f}%, p90 {nf['diff_p90_pct']:.1f}%; "
          f"timing noise (p90-p10)/median: {100 * runs[0]['noise_median']:.0f}% / {100 * runs[1]['noise_median']:.0f}%")
    print(f"load average (1, 5, 15 min): {out['load_start']} at the start, {out['load_end']} at the end")


if __name__ == "__main__":
    main()
