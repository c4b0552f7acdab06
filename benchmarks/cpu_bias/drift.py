"""Exp 5: drift over time in one process: the same 4 small networks, 30 passes of
measure_networks (9 repeats), each pass's median per network; the pass-level speed factor."""
import json, time
import numpy as np
from costlab.calibrate.measure import measure_networks
NETS = ["mobilenet_v1:width=0.25", "mobilenet_v2:width=0.5", "shufflenet_v2:width=0.5", "shufflenet_v1:width=0.5"]
t0 = time.time(); P = []
for k in range(30):
    P.append([r["median_ms"] for r in measure_networks(NETS, repeats=9, progress=False)])
A = np.array(P); f = (A / np.median(A, 0)).mean(1)
print("pass speed factor over %.0f s:" % (time.time() - t0), " ".join("%.3f" % x for x in f))
print("factor p10 %.3f p90 %.3f min %.3f max %.3f; per-net (p90-p10)/median over passes: %s" % (
    *np.percentile(f, [10, 90]), f.min(), f.max(), np.round(100 * (np.percentile(A, 90, 0) - np.percentile(A, 10, 0)) / np.median(A, 0), 1)))
print("first 10 passes mean %.3f, last 10 %.3f; load %s" % (f[:10].mean(), f[-10:].mean(), open('/proc/loadavg').read().split()[:3]))
