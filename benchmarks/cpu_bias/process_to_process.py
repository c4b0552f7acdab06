"""Exp 3: process-to-process variation. One process: 4 small held-out networks timed twice by
measure_networks (21 repeats), plus two references: a pure-Python loop and a tiny torch op loop
(per-call dispatch), each by the thread clock, median of 7. Prints one JSON line."""
import json, sys, time
import numpy as np
import torch
from costlab.calibrate.measure import measure_networks
NETS = ["mobilenet_v1:width=0.25", "mobilenet_v2:width=0.5", "shufflenet_v2:width=0.5", "shufflenet_v1:width=0.5"]
torch.set_num_threads(1)
def ref_py():
    t = time.thread_time(); s = 0
    for i in range(300000): s += i
    return time.thread_time() - t
x = torch.randn(64)
def ref_torch():
    t = time.thread_time()
    with torch.inference_mode():
        for _ in range(20000): torch.add(x, 1.0)
    return time.thread_time() - t
def refs():
    return 1e3 * float(np.median([ref_py() for _ in range(7)])), 1e3 * float(np.median([ref_torch() for _ in range(7)]))
r0 = refs()
m1 = {r["spec"]: r["median_ms"] for r in measure_networks(NETS, repeats=21, progress=False)}
r1 = refs()
m2 = {r["spec"]: r["median_ms"] for r in measure_networks(NETS, repeats=21, progress=False)}
print(json.dumps({"tag": sys.argv[1], "load": open('/proc/loadavg').read().split()[0], "ref_py_ms": [r0[0], r1[0]], "ref_torch_ms": [r0[1], r1[1]], "m1": m1, "m2": m2}))
