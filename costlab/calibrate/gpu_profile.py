"""A GPU profile: choose, fit and validate the two-clock model (:mod:`costlab.latency.forms.gpu`).

* :func:`fit_gpu_profile` — from a profile whose samples carry ``host_ms`` and ``graph_ms``
  beside ``latency_ms`` (eager): chooses each part's form on the training rows only
  (:func:`costlab.calibrate.fit_gpu.select`), fits them on all training rows, fits the FLOPs-only
  baselines, and records held-out and leave-one-network-out numbers (``validation``).
* :func:`validate_gpu` — the same numbers recomputed from a profile: the held-out networks
  (role ``check``) at every batch, per batch and over all, for runtime ``eager`` (vs the
  measured eager time) or ``cudagraph`` (vs the CUDA-graph replay), the FLOPs-only line
  beside; plus leave-one-network-out over the profile's training networks.
* :func:`bounds` — per model and batch, which clock a forward waits for.

The FLOPs-only baseline is per batch size: ``t = a * GMAC + c`` fitted on the training
networks of that batch (runtime by runtime), so its intercept carries the per-launch cost
that dominates small batches.
"""
from __future__ import annotations

import copy

import numpy as np

from ..errors import ProfileError
from ..latency.forms import gpu as G
from ..latency.profile import as_document, fitted_document, load_profile, validate_profile
from .fit import metrics
from .fit_gpu import (COMP_FORMS, DEVICE_FORMS, HOST_FORMS, CompForm, DeviceForm, Fitted, GpuData, HostForm,
                  baseline_ms, fit_all, fit_baselines, gpu_data, lono_folds, select)
from .grid import family_of
from ..blocks import sample_graph

_R = 9          # decimals of stored coefficients


def has_gpu_times(d: dict) -> bool:
    """True when the profile's samples carry the host and CUDA-graph times this fit needs."""
    return any(isinstance(s.get("host_ms"), (int, float)) and isinstance(s.get("graph_ms"), (int, float))
               for s in d.get("samples", ()))


# -- the fitted parts as a profile section, and back ---------------------------------------------------

def predictor_dict(f: Fitted, dform: DeviceForm, hform: HostForm, table: dict | None = None) -> dict:
    dev = {"refined": dform.refined, "network_weight": dform.network_weight, "robust": dform.robust,
           "tiles": dform.tiles, "l2_mb": dform.l2_mb,
           "graph_launch_ms": round(f.dev["graph_launch_ms"], _R),
           "classes": {c: {t: round(f.dev["classes"][c][t], _R) for t in G.ALL_DEVICE_TERMS} for c in G.DEVICE_CLASSES}}
    host = {"form": hform.name, "per_class": hform.per_class, "views": hform.views, "modules": hform.modules,
            "robust": hform.robust,
            "classes": {c: {"ms_per_op": round(f.host["classes"][c]["ms_per_op"], _R)} for c in G.DEVICE_CLASSES}}
    host.update({t: round(f.host[t], _R) for t in G.HOST_TERMS})
    comp = {"eager": f.comp.rule, "gap_ms": round(f.gap, _R), "sync_ms": round(f.sync, _R),
            "cudagraph": "graph_launch_ms + the kernels' device time"}
    if f.comp.rule == "pnorm":
        comp["p"] = f.comp.p
    out = {"form": G.FORM, "runtime": "eager",
           "model": "two clocks (costlab/latency/forms/gpu.py): device ms per kernel = ms_per_op + ms_per_gmac*GMAC + "
                    "ms_per_mb*MB + ms_per_serial*serial + ms_per_ktile*ktiles + ms_per_mb_hbm*(MB over l2_mb) per device "
                    "class; host ms per dispatched op per class "
                    "(+ views, modules, extra kernels); cudagraph = graph_launch_ms + device; eager = the "
                    "composition rule (queue: a two-clock simulation) + sync_ms",
           "device": dev, "host": host, "composition": comp}
    if table is not None:
        out["selection"] = table
    return out


def fitted_from_profile(profile) -> tuple[Fitted, DeviceForm, HostForm]:
    """The fitter's view of a GPU profile's fitted coefficients (read by the form, :meth:`Gpu.unpack`)."""
    profile = load_profile(profile)
    if profile.form is not G.GPU:
        raise ProfileError(f"profile '{profile.name}' has no fitted GPU predictor (form {G.FORM!r}); "
                           f"run: costlab calibrate {profile.label}")
    u = G.GPU.unpack(profile.require_fitted())
    dv, hs, cp = u["device"], u["host"], u["composition"]
    dform = DeviceForm(dv["refined"], dv["network_weight"], dv["robust"], dv["tiles"], dv["l2_mb"])
    hform = HostForm(hs["per_class"], hs["views"], hs["modules"], hs["robust"])
    dev = {"classes": dv["classes"], "graph_launch_ms": dv["graph_launch_ms"], "form": dform}
    host = {"classes": hs["classes"], **{t: hs[t] for t in G.HOST_TERMS}}
    comp = CompForm(cp["eager"], cp["p"])
    return Fitted(dev, host, comp, cp["gap_ms"], cp["sync_ms"]), dform, hform


# -- metrics per batch ----------------------------------------------------------------------------------

_MEASURED = {"eager": "eager", "cudagraph": "graph"}


def _rows(data: GpuData, idx: np.ndarray, pred: dict, base: np.ndarray, runtime: str) -> list[dict]:
    y = getattr(data, _MEASURED[runtime])
    out = []
    for j, i in enumerate(idx):
        s, p, m = data.samples[i], float(pred[runtime][j]), float(y[i])
        out.append({"spec": s["spec"], "batch": int(data.batch[i]), "input_shape": list(s["input_shape"]),
                    "measured_ms": round(m, 4), "predicted_ms": round(p, 4), "error_pct": round(100 * (p / m - 1), 2),
                    "baseline_ms": round(float(base[j]), 4), "baseline_error_pct": round(100 * (base[j] / m - 1), 2),
                    "host_ms": round(float(pred["host"][j]), 4), "device_ms": round(float(pred["device"][j]), 4),
                    "bound": "host" if pred["host"][j] > pred["device"][j] else "device"})
    return out


def summary(rows: list[dict]) -> dict:
    """Metrics of predictor and FLOPs-only line per batch and over all rows."""
    def block(rs):
        meas = [r["measured_ms"] for r in rs]
        out = metrics([r["predicted_ms"] for r in rs], meas)
        out["baseline"] = metrics([r["baseline_ms"] for r in rs], meas)
        return out

    per = {str(b): block([r for r in rows if r["batch"] == b]) for b in sorted({r["batch"] for r in rows})}
    return {"per_batch": per, "all": block(rows)} if rows else {"per_batch": {}, "all": {"n": 0}}


def _check_rows(data: GpuData, runtime: str) -> np.ndarray:
    y = getattr(data, _MEASURED[runtime])
    return np.flatnonzero(data.check & data.network & np.isfinite(y))


def held_out(data: GpuData, f: Fitted, baselines: dict, runtime: str) -> dict:
    idx = _check_rows(data, runtime)
    pred = f.predict(data, idx)
    base = np.array([baseline_ms(baselines, runtime, data.gmac[i], int(data.batch[i])) for i in idx])
    rows = _rows(data, idx, pred, base, runtime)
    # the leak-free subset: held-out networks of families no training network belongs to
    seen = {family_of(data.samples[i]["spec"]) for i in np.flatnonzero(data.fit & data.network)}
    new = [r for r in rows if family_of(r["spec"]) not in seen]
    fams = {"families": sorted({family_of(r["spec"]) for r in new}), "networks": sorted({r["spec"] for r in new})}
    return {**summary(rows), "new_families": {**summary(new), **fams}, "rows": rows}


def lono(data: GpuData, dform: DeviceForm, hform: HostForm, comp: CompForm) -> dict:
    """Leave-one-network-out over the training networks with the given forms (refitted per
    fold, baseline included), for both runtimes."""
    out = {r: [] for r in _MEASURED}
    for _, tr, te in lono_folds(data):
        te = te[data.network[te]]
        f, base = fit_all(data, tr, dform, hform, comp), fit_baselines(data, tr)
        for runtime in _MEASURED:
            rows = te[np.isfinite(getattr(data, _MEASURED[runtime])[te])]
            b = np.array([baseline_ms(base, runtime, data.gmac[i], int(data.batch[i])) for i in rows])
            out[runtime] += _rows(data, rows, f.predict(data, rows), b, runtime)
    return {r: {**summary(sorted(rows, key=lambda x: (x["spec"], x["batch"]))),
                "rows": sorted(rows, key=lambda x: (x["spec"], x["batch"]))} for r, rows in out.items()}


def _strip(block: dict) -> dict:
    return {k: v for k, v in block.items() if k != "rows"}


def candidates(data: GpuData, chosen: tuple, baselines: dict) -> list[dict]:
    """Held-out MAPE of every candidate form (each part varied, the others as chosen).
    Computed after the choice, for the record; never used for it."""
    dform, hform, comp = chosen
    fit_idx = np.flatnonzero(data.fit)
    out = []
    combos = [(d, hform, comp) for d in DEVICE_FORMS] + [(dform, h, comp) for h in HOST_FORMS if h != hform] \
        + [(dform, hform, c) for c in COMP_FORMS if c != comp]
    for d, h, c in combos:
        f = fit_all(data, fit_idx, d, h, c)
        row = {"device": d.name, "host": h.name, "composition": c.name, "chosen": (d, h, c) == chosen}
        for runtime in _MEASURED:
            row[f"{runtime}_mape"] = held_out(data, f, baselines, runtime)["all"]["mape"]
        out.append(row)
    return out


# -- the profile -----------------------------------------------------------------------------------------

def fit_gpu_profile(d: dict, *, progress: bool = True, with_candidates: bool = True) -> dict:
    """A copy of profile ``d`` with ``predictor`` (form ``gpu-host-device``), ``baseline``
    and ``validation`` fitted from its samples (see the module docstring)."""
    d = copy.deepcopy({k: v for k, v in as_document(d).items() if not k.startswith("_")})
    for k in ("predictor", "baseline", "validation"):
        d.pop(k, None)
    validate_profile(d)
    if not has_gpu_times(d):
        raise ProfileError(f"profile '{d['name']}': its samples have no host_ms / graph_ms; measure them with "
                           "costlab profile --target cuda")
    data = gpu_data(d, progress=progress)
    fit_idx = np.flatnonzero(data.fit)
    dform, hform, comp, table = select(data)
    f = fit_all(data, fit_idx, dform, hform, comp)
    baselines = fit_baselines(data, fit_idx)
    predictor = predictor_dict(f, dform, hform, table)
    predictor["train"] = {}
    for r in _MEASURED:
        y = getattr(data, _MEASURED[r])
        rows = fit_idx[np.isfinite(y[fit_idx])]
        predictor["train"][r] = metrics(f.predict(data, rows)[r], y[rows])
    b0 = baselines["eager"].get("1") or next(iter(baselines["eager"].values()))
    baseline = {"model": "FLOPs-only per batch and runtime: t = ms_per_gmac * GMAC + ms_const (NNLS on "
                              "relative error over the training networks of that batch); top level: eager, batch 1",
                     "ms_per_gmac": b0["ms_per_gmac"], "ms_const": b0["ms_const"], "per_batch": baselines}
    return fitted_document(d, predictor=predictor, baseline=baseline,
                           validation=_validation(data, f, (dform, hform, comp), baselines, with_candidates))


def _validation(data: GpuData, f: Fitted, chosen: tuple, baselines: dict, with_candidates: bool) -> dict:
    held = {r: _strip(held_out(data, f, baselines, r)) for r in _MEASURED}
    lo = {r: _strip(v) for r, v in lono(data, *chosen).items()}
    e = held["eager"]["all"]
    nets = sorted({data.samples[i]["spec"] for i in _check_rows(data, "eager")})
    val = {"holdout": f"{len(nets)} zoo networks never fitted (role check), all batches", "level": "network",
           "runtime": "eager", **{k: e[k] for k in ("n", "mape", "within_10pct", "spearman", "baseline")},
           "held_out": held, "lono": lo,
           "by_holdout": {"network": {"holdout": "network", "level": "network", "runtime": "eager",
                                      **{k: lo["eager"]["all"][k] for k in ("n", "mape", "within_10pct", "spearman",
                                                                            "baseline")}}},
           "held_out_networks": nets}
    if with_candidates:
        val["candidates"] = candidates(data, chosen, baselines)
    val["method"] = ("forms chosen by leave-one-network-out over the training networks only (predictor.selection); "
                     "held_out: the role=check networks, never fitted nor used for any choice; lono: each training "
                     "network held out in turn with the chosen forms refitted (optimistic: the forms were chosen on "
                     "these folds); candidates: held-out MAPE of every candidate form, computed after the choice; "
                     "mape and within_10pct in percent")
    return val


def validate_gpu(profile, runtime: str = "eager", *, with_lono: bool = True, progress: bool = False) -> dict:
    """Held-out accuracy of a GPU profile for ``runtime`` ('eager' vs measured eager time,
    'cudagraph' vs CUDA-graph replay): per batch and over all, FLOPs-only beside, plus
    leave-one-network-out over its training networks (``with_lono``)."""
    if runtime not in G.RUNTIMES:
        raise ProfileError(f"unknown GPU runtime {runtime!r}; use {' or '.join(G.RUNTIMES)}")
    prof = load_profile(profile)
    f, dform, hform = fitted_from_profile(prof)
    baselines = (prof.baseline or {}).get("per_batch")
    d = as_document(prof)
    if not with_lono and baselines:      # only the held-out samples need tracing
        d = {**d, "samples": [s for s in d["samples"] if s.get("role") == "check"]}
    data = gpu_data(d, progress=progress)
    baselines = baselines or fit_baselines(data, np.flatnonzero(data.fit))
    out = {"profile": prof.name, "device": prof.device, "runtime": runtime,
           "measured": "eager_ms (latency_ms)" if runtime == "eager" else "graph_ms (CUDA-graph replay)",
           "held_out": held_out(data, f, baselines, runtime)}
    if with_lono:
        out["lono"] = lono(data, dform, hform, f.comp)[runtime]
    return out


def bounds(profile, spec: str, batches=(1, 8, 32, 64), resolution: int | None = None) -> list[dict]:
    """Per batch: ``{"batch", "host_ms", "device_ms", "bound", "eager_ms", "cudagraph_ms", "text"}``
    for zoo ``spec`` (traced once per shape), e.g. text ``host-bound at batch 1: 2.6 ms dispatch vs
    0.44 ms GPU``."""
    from .grid import default_input_shape

    out = []
    for b in batches:
        shape = default_input_shape(spec, int(b), resolution)
        out.append({"spec": spec, **G.bound_summary(sample_graph(spec, shape)[0], load_profile(profile))})
    return out
