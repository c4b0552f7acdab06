"""Does spreading each network's repeats over the whole validation make it repeatable? (issue 23)

The 13 ``validate --measure`` networks, timed 6 times in one process, alternating two schedules:
A = ``measure_networks``' own (4 networks taking turns, 3 turns of 7 calls each), B = all 13 taking
turns (7 turns of 3 calls: each network's repeats spread over the whole ~10 s run, so a slow spell
of the machine touches a few repeats of every network, not all repeats of four). Prints each run's
medians and, per schedule, the MAPE between every two of its runs (run j as a "prediction" of run i).

    python benchmarks/cpu_bias/schedule.py [OUT.json]      # ~65 s, 1 thread, thread clock
"""
import itertools
import json
import sys
import time

import numpy as np

from costlab.calibrate.measure import measure_specs
from costlab.calibrate.validate import MEASURE_SPECS

specs = list(MEASURE_SPECS)
res = {"A": [], "B": []}


def load():
    return open("/proc/loadavg").read().split()[0]


for rnd in range(3):
    for name, chunk, burst in (("A", 4, 7), ("B", len(specs), 3)):
        t0 = time.time()
        l0 = load()
        rows = measure_specs(specs, repeats=21, chunk=chunk, burst=burst, threads=1, progress=False, clock="thread")
        res[name].append({r["spec"]: r["median_ms"] for r in rows})
        print(name, rnd, f"{time.time() - t0:.0f}s load {l0}->{load()}",
              " ".join(f"{r['median_ms']:.2f}" for r in rows), flush=True)
if len(sys.argv) > 1:
    json.dump(res, open(sys.argv[1], "w"))
for name in "AB":
    mapes = [np.mean([abs(b[s] - a[s]) / a[s] * 100 for s in specs]) for a, b in itertools.combinations(res[name], 2)]
    print(name, "pairwise MAPE", [round(float(m), 1) for m in mapes])
