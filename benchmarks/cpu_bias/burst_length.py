"""Exp 4: burst length (calls back to back per turn) vs the median, one process, A/B/A/B:
burst 7 (21 repeats, validate --measure) vs burst 14 (41 repeats, the profile's networks);
and the time of each call by its position in the burst."""
import json, sys
import numpy as np
from costlab.calibrate.measure import measure_specs, _burst
NETS = ["mobilenet_v1:width=0.25", "mobilenet_v2:width=0.5", "shufflenet_v2:width=0.5", "shufflenet_v1:width=0.5",
        "mobilenet_v2", "shufflenet_v2"]
import costlab.calibrate.measure as M
pos = {}
orig = M.time_cases
def tc(cases, **kw):
    res = orig(cases, **kw)
    b = kw.get("burst", 1)
    for c, r in zip(cases, res):
        t = r["times_ms"]
        pos.setdefault((c.key.split()[0], b), []).append([t[i:i + b] for i in range(0, len(t), b)])
    return res
M.time_cases = tc
out = {"A": [], "B": []}
for k in range(2):
    for tag, reps in (("A", 21), ("B", 41)):
        rows = measure_specs(NETS, repeats=reps, chunk=4, burst=_burst(reps), progress=False)
        out[tag].append({r["spec"]: r["median_ms"] for r in rows})
for n in NETS:
    a = np.mean([o[n] for o in out["A"]]); b = np.mean([o[n] for o in out["B"]])
    print("%-26s burst7 %6.2f %6.2f  burst14 %6.2f %6.2f  ratio14/7 %.3f" % (n, out["A"][0][n], out["A"][1][n], out["B"][0][n], out["B"][1][n], b / a))
for (n, b), runs in pos.items():
    bursts = [x for run in runs for x in run if len(x) == b]
    prof = np.median(np.array(bursts), axis=0)
    print(n[:24], "burst", b, "median by position:", " ".join("%.2f" % v for v in prof))
print("load", open('/proc/loadavg').read().split()[:3])
