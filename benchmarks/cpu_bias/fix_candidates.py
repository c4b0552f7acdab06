"""Candidate fixes, chosen by leave-one-family-out on the profile's own samples only; the
validate networks' errors are printed for information (not used to choose).
Usage: python benchmarks/cpu_bias/fix_candidates.py PROFILE.json [A.json]"""
import json, sys
import numpy as np
from costlab.calibrate.fit import profile_data, fit_form, form_for, LAMBDA, Fitted, _folds
from costlab.latency.profile import load_profile
from costlab.calibrate.validate import MEASURE_SPECS
from costlab.blocks import sample_features

d = load_profile(sys.argv[1])
data = profile_data(d)
gran = np.array([s["granularity"] for s in data.samples])
idx = np.flatnonzero(data.fit_mask)

def fit(tr, cand):
    forms = form_for(data)
    w = np.ones(len(tr))
    if cand.startswith("gran_weight"):
        g = gran[tr]
        for k in set(g):
            w[g == k] = len(tr) / (len(set(g)) * (g == k).sum())
    coefs = [fit_form(data.raw[tr], data.y[tr], f, LAMBDA, w).coef for f in forms]
    m = Fitted("x", LAMBDA, np.mean(coefs, axis=0))
    if cand.endswith("scale"):
        nets = [i for i in tr if gran[i] == "network"]
        s = float(np.exp(np.mean(np.log(data.y[nets] / m.predict(data.raw[nets]))))) if nets else 1.0
        m = Fitted("x", LAMBDA, m.coef * s)
    return m

CANDS = ["base", "scale", "gran_weight", "gran_weight+scale"]
extra = None
if len(sys.argv) > 2:
    R = json.load(open(sys.argv[2]))
    extra = {r["spec"]: r for r in R["inproc_validate"] if r["spec"] in MEASURE_SPECS}
for cand in CANDS:
    out = {}
    for h in ("family", "network"):
        errs = []
        for tr, te in _folds(data, idx, h):
            m = fit(tr, cand)
            errs += list(100 * (m.predict(data.raw[te]) - data.y[te]) / data.y[te])
        e = np.array(errs)
        out[h] = "MAPE %5.1f%% signed %+5.1f%% within10 %3.0f%%" % (np.abs(e).mean(), e.mean(), 100 * (np.abs(e) <= 10).mean())
    line = "%-18s LOFO %s | LONO %s" % (cand, out["family"], out["network"])
    if extra:
        m = fit(idx, cand)
        ev = []
        for s, r in extra.items():
            f, _ = sample_features(s, r["input_shape"], d.dtype, d.fusion)
            ev.append(100 * (float(m.predict(f.reshape(1, -1))[0]) - r["median_ms"]) / r["median_ms"])
        ev = np.array(ev)
        line += " || validate nets (info): MAPE %.1f%% signed %+.1f%% within10 %.0f%%" % (np.abs(ev).mean(), ev.mean(), 100 * (np.abs(ev) <= 10).mean())
    print(line)
