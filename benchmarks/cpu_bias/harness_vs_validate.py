"""Exp 1: the same networks timed by the profile harness (after the op grid, in the profile
run's process) and by validate --measure's harness, in ONE process; plus a fit of the
profile's own 213 samples to predict them. Usage: python benchmarks/cpu_bias/harness_vs_validate.py OUT.json [fresh]"""
import json, resource, sys, time, os
import numpy as np
from costlab.calibrate.measure import _measure_rows, measure_networks, measure_profile, resolve_device
from costlab.calibrate.grid import default_grid, default_input_shape, NETWORK_SAMPLES
from costlab.calibrate.validate import MEASURE_SPECS

out = sys.argv[1]
VNETS = list(MEASURE_SPECS)
def ru():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_minflt, r.ru_nivcsw
res = {"load_start": open('/proc/loadavg').read().split()[:3], "t0": time.time()}
if len(sys.argv) > 2 and sys.argv[2] == "fresh":
    f0 = ru()
    rows = measure_networks(VNETS + list(NETWORK_SAMPLES), repeats=21, progress=False)
    res["fresh"] = rows; res["fresh_ru"] = [a - b for a, b in zip(ru(), f0)]
else:
    dev = resolve_device("cpu")
    f0 = ru()
    res["first_validate"] = measure_networks(VNETS + list(NETWORK_SAMPLES), repeats=21, progress=False)
    res["first_ru"] = [a - b for a, b in zip(ru(), f0)]
    pairs = default_grid() + [(s, default_input_shape(s, 1)) for s in VNETS]
    t = time.perf_counter()
    rows = _measure_rows(pairs, dev, repeats=41, warmup=3, threads=1, min_repeat_ms=0.0, progress=False,
                         timer=None, clock="auto", keep_memory=True, seed=0)
    res["profile_s"] = time.perf_counter() - t
    res["profile_rows"] = [dict(r, pos=i) for i, r in enumerate(rows)]
    f0 = ru()
    res["inproc_validate"] = measure_networks(VNETS + list(NETWORK_SAMPLES), repeats=21, progress=False)
    res["inproc_ru"] = [a - b for a, b in zip(ru(), f0)]
    # and with the profile's repeats (41): is it the repeats/burst?
    res["inproc_validate41"] = measure_networks(VNETS + list(NETWORK_SAMPLES), repeats=41, progress=False)
res["load_end"] = open('/proc/loadavg').read().split()[:3]
res["t1"] = time.time()
json.dump(res, open(out, "w"))
print("done", out, res["load_start"], res["load_end"], round(res["t1"] - res["t0"]))
