"""Analyse exp1 JSONs: fit the profile's 213 samples, predict the validate networks, compare
errors against each harness's times. Usage: python benchmarks/cpu_bias/harness_vs_validate_report.py A.json [fresh.json ...]"""
import json, sys, copy
import numpy as np
from costlab.calibrate.measure import _sample
from costlab.calibrate.fit import fit_profile
from costlab.calibrate.validate import MEASURE_SPECS
from costlab.calibrate.grid import NETWORK_SAMPLES
from costlab.blocks import predict_spec

R = json.load(open(sys.argv[1]))
fresh = [json.load(open(f)) for f in sys.argv[2:]]
rows = R["profile_rows"]
std = [r for r in rows if r["spec"] not in MEASURE_SPECS]
base = json.load(open("profiles/cpu-local.json"))
d = {k: base[k] for k in ("schema", "name", "device", "device_class", "runtime", "threads", "batch", "dtype", "fusion")}
d["name"] = "exp1"; d["provenance"] = copy.deepcopy(base["provenance"])
d["provenance"]["machine"].update(cpu_model="here", clock="thread", keep_freed_memory=True)
d["samples"] = [_sample(r) for r in std]
f = fit_profile(d, progress=False)
json.dump(f, open(sys.argv[1].replace(".json", "-profile.json"), "w"))
v = f["validation"]["by_holdout"]
print("profile LOO-network MAPE %.1f%%  within10 %.0f%% | LOO-family %.1f%%" % (v["network"]["mape"], v["network"]["within_10pct"], v["family"]["mape"]))
med = lambda rs: {r["spec"]: r for r in rs}
P = med([r for r in rows if r["spec"] in MEASURE_SPECS or r["spec"] in NETWORK_SAMPLES])
V = med(R["inproc_validate"]); V41 = med(R["inproc_validate41"]); V0 = med(R["first_validate"])
F = [med(x["fresh"]) for x in fresh]
print("%-26s %8s %8s %8s %8s %8s %s | %s" % ("network", "pred", "first", "prof_h", "val21", "val41", " ".join("fresh%d" % i for i in range(len(F))), "err vs prof / val21 / fresh; ratio val21/prof"))
errs = {"prof": [], "val21": [], "fresh": []}
for s in list(MEASURE_SPECS) + list(NETWORK_SAMPLES):
    p = predict_spec(s, P[s]["input_shape"], f)
    a, b, c = P[s]["median_ms"], V[s]["median_ms"], V41[s]["median_ms"]
    fr = [x[s]["median_ms"] for x in F]
    e = lambda m: 100 * (p - m) / m
    held = s in MEASURE_SPECS
    if held:
        errs["prof"].append(e(a)); errs["val21"].append(e(b)); errs["fresh"] += [e(x) for x in fr]
    errs.setdefault("first", []); 
    if held: errs["first"].append(e(V0[s]["median_ms"]))
    print("%-26s %8.2f %8.2f %8.2f %8.2f %8.2f %s | %+6.1f %+6.1f %s | %.3f  noise p/v %.2f/%.2f %s" % (
        s[:26], p, V0[s]["median_ms"], a, b, c, " ".join("%8.2f" % x for x in fr), e(a), e(b), " ".join("%+6.1f" % e(x) for x in fr),
        b / a, P[s]["noise"], V[s]["noise"], "" if held else "(fitted)"))
for k, es in errs.items():
    if es:
        es = np.array(es); print("%-6s held-out: MAPE %.1f%%  signed mean %+.1f%%  within10 %.0f%%" % (k, np.abs(es).mean(), es.mean(), 100 * (np.abs(es) <= 10).mean()))
print("ru first", R.get("first_ru"), "inproc", R.get("inproc_ru"), "fresh", [x.get("fresh_ru") for x in fresh])
print("load", R["load_start"], R["load_end"], [x["load_start"] for x in fresh])
