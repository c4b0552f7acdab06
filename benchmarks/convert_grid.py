"""Conversion time of a runtime profile's samples: one at a time vs ``--jobs`` worker processes.

Converts the profile grid (``costlab.calibrate.grid.default_grid``) plus the call-overhead model
into an empty cache folder (a temporary ``$COSTLAB_CACHE``), first with ``--jobs 1`` (a loop of
``costlab.runtimes.artifact``, what ``costlab profile`` did before ``--jobs``) unless
``--parallel-only``, then with ``costlab.runtimes.prefetch.prefetch(jobs=N)`` into another empty
folder; prints both wall times and their ratio.

Run (ORT: ~2 + ~1 min here; LiteRT: ~30 + ~15 min):
    python benchmarks/convert_grid.py --runtime ort --jobs 2 [--limit 60]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runtime", default="ort")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="only the first N samples")
    ap.add_argument("--parallel-only", action="store_true")
    a = ap.parse_args()
    from costlab.calibrate.grid import default_grid
    from costlab.runtimes import artifact, get_runtime
    from costlab.runtimes.prefetch import prefetch

    rt = get_runtime(a.runtime)
    rt.require()
    items = default_grid()[: a.limit] + [("micro_act:c=1,act=relu", (1, 1, 1, 1))]
    with open("/proc/loadavg") as f:
        print(f"{len(items)} samples for {rt.title}; load average {' '.join(f.read().split()[:3])}", flush=True)
    res = {}
    for mode in (["parallel"] if a.parallel_only else ["serial", "parallel"]):
        with tempfile.TemporaryDirectory(prefix="costlab-convert-") as td:
            os.environ["COSTLAB_CACHE"] = td
            t0 = time.perf_counter()
            if mode == "serial":
                for s, shp in items:
                    artifact(rt, s, shp)
            else:
                prefetch(items, rt, jobs=a.jobs)
            res[mode] = time.perf_counter() - t0
            print(f"{mode:8s} ({1 if mode == 'serial' else a.jobs} process(es)): {res[mode]:.0f} s", flush=True)
    if len(res) == 2:
        print(f"parallel / serial = {res['parallel'] / res['serial']:.2f}")


if __name__ == "__main__":
    main()
