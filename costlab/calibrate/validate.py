"""Held-out accuracy of a profile's predictor, beside the FLOPs-only baseline.

``validate(profile, holdout='network'|'family')`` re-runs the leave-one-out of
:mod:`costlab.calibrate.fit` on the profile's samples and returns the issue's JSON::

    {"profile", "device", "holdout", "level", "n", "mape", "within_10pct", "spearman",
     "baseline": {"n", "mape", "within_10pct", "spearman"}, "rows": [...], "check": {...}}

(``mape`` and ``within_10pct`` in percent; ``check``: the profile's role=check samples,
never fitted). ``validate_measured(profile, specs)`` times zoo networks on this machine
(:func:`costlab.calibrate.measure.measure_networks`) and compares them with the profile's
predictions: the networks are not among the profile's fitted samples.
"""
from __future__ import annotations

import numpy as np

from .fit import _group_key, _row, _summary, baseline_on, check_checks, cross_validate, fit_on, metrics, profile_data
from ..latency.forms import DEFAULT_FORM
from ..errors import CostlabError
from ..latency.profile import ProfileError, load_profile
from ..blocks import predict_spec, sample_graph

# zoo networks timed by ``costlab validate --measure`` (>= 10, a spread of families and sizes)
MEASURE_SPECS = (
    "mobilenet_v1:width=0.25", "mobilenet_v1:width=0.5", "mobilenet_v1",
    "mobilenet_v2:width=0.5", "mobilenet_v2",
    "shufflenet_v1:width=0.5", "shufflenet_v1",
    "shufflenet_v2:width=0.5", "shufflenet_v2", "shufflenet_v2:width=1.5",
    "squeezenet1_1", "resnet18", "googlenet",
)

# the live check that ends ``costlab profile``: three networks of three families, none among
# the profile's samples (calibrate.grid.NETWORK_SAMPLES), timed right after the fit
LIVE_CHECK_SPECS = ("mobilenet_v2", "shufflenet_v1", "resnet18")

def fitted_networks(samples) -> list[dict]:
    """The profile's fitted whole-network samples (role fit): not held out by ``--measure``."""
    return [s for s in samples if s.get("role", "fit") == "fit" and s["granularity"] == "network"]


# the profile's own network samples timed beside the held-out networks (issue 23): the
# machine's speed now relative to when the profile was measured
ANCHORS = 4


def speed_anchors(d, batch: int, k: int = ANCHORS) -> list[dict]:
    """Up to ``k`` of the profile's own fitted network samples (at their default input for
    ``batch``), spread over the fastest three quarters by measured time: timed again beside the
    held-out networks, their now/then ratio is the machine's speed relative to the profile's
    measurement (a shared or thermally throttled machine drifts by 5-10% from minute to minute,
    and every network of one validation run moves together, which reads as a one-sign bias).
    A diagnostic beside the headline, not a correction: the ratio also holds the noise of the
    profile's own timing of those samples. Nothing held out enters it."""
    from .grid import default_input_shape

    if k <= 0:
        return []

    def at_default(s) -> bool:      # a zoo spec at its default input (a file or library model: no)
        try:
            return [int(x) for x in s["input_shape"]] == list(default_input_shape(s["spec"], batch))
        except CostlabError:
            return False

    nets = [s for s in fitted_networks(d.samples) if at_default(s)]
    nets.sort(key=lambda s: float(s["latency_ms"]))
    nets = nets[: max(1, int(np.ceil(0.75 * len(nets))))]
    if len(nets) <= k:
        return nets
    return [nets[i] for i in sorted(set(np.linspace(0, len(nets) - 1, k).round().astype(int)))]


def _interleave(specs: list[str], anchors: list[dict]) -> list[str]:
    """``specs`` with the anchors' specs spread evenly among them (measured in the same turns)."""
    out, n, k = list(specs), len(specs), len(anchors)
    for j, a in reversed(list(enumerate(anchors))):
        out.insert(round((j + 0.5) * n / k), a["spec"])
    return out


def _speed(anchors: list[dict], measured: list[dict]) -> dict | None:
    """The machine's speed now / at profiling: median of the anchors' measured / profiled ms."""
    got = {m["spec"]: float(m["median_ms"]) for m in measured}
    rows = [{"spec": a["spec"], "profile_ms": round(float(a["latency_ms"]), 4), "measured_ms": round(got[a["spec"]], 4),
             "ratio": round(got[a["spec"]] / float(a["latency_ms"]), 4)} for a in anchors if a["spec"] in got]
    if not rows:
        return None
    r = np.array([x["ratio"] for x in rows])
    return {"factor": round(float(np.median(r)), 4), "spread": round(float(np.ptp(r) / np.median(r)), 4),
            "anchors": rows,
            "method": ("the profile's own network samples timed again in the same turns as the held-out networks; "
                       "factor = median(measured now / the profile's latency_ms); 'anchored' = predictions x factor "
                       "(nothing held out enters it)")}


def _anchored(pred: np.ndarray, meas: np.ndarray, speed: dict | None) -> dict | None:
    if speed is None:
        return None
    p = np.asarray(pred, float) * speed["factor"]
    out = metrics(p, meas)
    out["signed_mean_pct"] = round(float(100 * np.mean((p - meas) / meas)), 2)
    out["factor"] = speed["factor"]
    return out


def validate(profile, holdout: str = "network", progress: bool = True, form: str | None = None) -> dict:
    """Leave-one-network-out (or family-out) accuracy of predictor and baseline.

    ``form='guide'`` validates the guide's pre-registered form (per class
    a*GMAC + b*MB + c*ops) instead of the profile's predictor form."""
    d = load_profile(profile)
    if d.fitted and d.form.name != DEFAULT_FORM and d.form.composes:
        return _validate_form(d, holdout)
    data = profile_data(d, progress=progress)
    if not data.fit_mask.any():
        raise ProfileError(f"profile '{d.name}' has no samples with role 'fit' to validate on")
    r = cross_validate(data, holdout, progress=progress, forms=(form,) if form else None)
    if form:
        r["form"] = form
    if r["n"] == 0:
        raise ProfileError(f"profile '{d.name}': no {data.level}-level samples to hold out")
    out = {"profile": d.name, "device": d.device, **r}
    idx = np.flatnonzero(data.fit_mask)
    chk = check_checks(d, data, fit_on(data, idx), baseline_on(data, idx))
    if chk is not None:
        out["check"] = chk
    return out


def _validate_form(d, holdout: str) -> dict:
    """Leave-one-network-out (or family-out) of any form that fits from measured models
    (:meth:`costlab.latency.forms.Form.fit`) on the profile's network samples, beside the
    FLOPs-only line under the same folds."""
    from ..blocks import SpecSet
    from .fit import fit_baseline

    samples = [s for s in d.samples if s.get("role", "fit") != "check" and s["granularity"] == "network"]
    if len(samples) < 3:
        raise ProfileError(f"profile '{d.name}': a leave-one-out needs at least 3 network samples, has {len(samples)}")
    ss = SpecSet([(s["spec"], tuple(s["input_shape"])) for s in samples], d.dtype, d.fusion)
    y = np.array([float(s["latency_ms"]) for s in samples])
    rows = []
    for k in sorted({_group_key(s, holdout) for s in samples}):
        te = np.array([i for i, s in enumerate(samples) if _group_key(s, holdout) == k])
        tr = np.setdiff1d(np.arange(len(samples)), te)
        f = d.form.fit(ss, tr, y[tr])
        a, c = fit_baseline(ss.gmac[tr], y[tr])
        for j, p in zip(te, f.predict(ss, te)):
            rows.append(_row(samples[j], float(p), float(a * ss.gmac[j] + c)))
    rows.sort(key=lambda r: (r["family"], r["measured_ms"]))
    return {"profile": d.name, "device": d.device, **_summary(rows, holdout, "network"), "form": d.form.name}


def validate_measured(profile, specs=MEASURE_SPECS, *, batch: int | None = None, repeats: int = 21,
                      progress: bool = True, measure_fn=None, anchors: int = ANCHORS) -> dict:
    """Time ``specs`` here and compare with the profile's predictions (and baseline).

    The profile's own fitted network specs are skipped (they are not held out). ``anchors`` of
    them (:func:`speed_anchors`) are timed in the same turns: ``machine_speed`` and the
    ``anchored`` metrics (predictions x the machine's speed now / at profiling) sit beside the
    headline."""
    d = load_profile(profile)
    d.require_fitted()
    fitted = {s["spec"] for s in fitted_networks(d.samples)}
    use = [s for s in specs if s not in fitted]
    skipped = [s for s in specs if s in fitted]
    if not use:
        raise ProfileError("every requested network is among the profile's fitted samples; nothing held out")
    runtime = deployed_runtime(d)
    if measure_fn is None and runtime is not None:
        measure_fn = _through(runtime)
    if measure_fn is None:
        try:
            from .measure import measure_networks as measure_fn
        except ImportError as exc:  # pragma: no cover - L2's harness is part of costlab
            raise ProfileError(f"the measurement harness is not available: {exc}") from None
    clock = d.machine.get("clock", "auto")
    b = int(batch or d.batch)
    kwargs = {"device": "cuda" if d.device_class == "gpu" else "cpu", "batch": b, "repeats": repeats,
              "threads": int(d.threads), "progress": progress}
    if clock in ("auto", "thread", "wall"):
        kwargs["clock"] = clock
    kept = d.machine.get("keep_freed_memory")
    if kept is not None:
        kwargs["keep_memory"] = bool(kept)
    anc = speed_anchors(d, b, anchors)
    measured = measure_fn(_interleave(list(use), anc), **kwargs)
    speed = _speed(anc, measured)
    measured = [m for m in measured if m["spec"] in use]

    rows = []
    for m in measured:
        shape = [int(x) for x in m["input_shape"]]
        pred = predict_spec(m["spec"], shape, d)
        gm = sample_graph(m["spec"], shape)[1] / 1e9
        base = d.form.baseline_ms(d, gm, shape[0])
        s = {"spec": m["spec"], "input_shape": shape, "family": m["spec"].split(":")[0],
             "latency_ms": float(m["median_ms"]), "source": "measured here"}
        row = _row(s, pred, base)
        row["noise"] = round(float(m.get("noise", float("nan"))), 4)
        row["repeats"] = int(m.get("repeats", repeats))
        rows.append(row)
    out = {"profile": d.name, "device": d.device, **_summary(rows, "measured here (networks not fitted)",
                                                                         "network")}
    out["skipped_fitted"] = skipped
    out["signed_mean_pct"] = round(float(np.mean([r["error_pct"] for r in rows])), 2)
    if speed is not None:
        out["machine_speed"] = speed
        out["anchored"] = _anchored([r["predicted_ms"] for r in rows], np.array([r["measured_ms"] for r in rows]),
                                    speed)
    noise = [r["noise"] for r in rows if r["noise"] == r["noise"]]
    out["noise_median"] = round(float(np.median(noise)), 4) if noise else None
    return out


def deployed_runtime(profile) -> str | None:
    """The deployment runtime a profile was measured through (``ort``, ``openvino``,
    ``litert``), None for PyTorch eager and for profiles not measured by costlab."""
    rt = (profile.machine or {}).get("runtime")
    return rt if rt in ("ort", "openvino", "litert") else None


def _through(runtime: str):
    """A measure_networks-like function timing networks through ``runtime`` (converted, cached)."""
    def measure(specs, *, batch=1, repeats=21, threads=1, progress=True, clock="auto", **_):
        from ..calibrate.grid import default_input_shape
        from ..runtimes.bench import measure_many

        rows = measure_many([(s, default_input_shape(s, batch)) for s in specs], runtime, threads=threads,
                            runs=repeats, clock=clock, progress=progress, desc=f"timing networks ({runtime})")
        return [{**r, "repeats": r["runs"]} for r in rows]
    return measure


def _fit_factor(pred: np.ndarray, meas: np.ndarray) -> float:
    """k minimising sum((k*pred/meas - 1)^2): one factor on relative error."""
    r = pred / meas
    return float(r.sum() / (r * r).sum())


def _measure_twice(d, runtime: str, specs, repeats: int, progress: bool, anchors: int):
    """The held-out networks (``specs`` less the profile's own) timed twice through ``runtime``,
    with the speed anchors in the same turns: (items, skipped, run 1 rows, run 2 rows, speed of run 1)."""
    own = {s["spec"] for s in fitted_networks(d.samples)}
    items = [s for s in specs if s not in own]
    if not items:
        raise ProfileError("every requested network is among the profile's fitted samples; nothing held out")
    anc = speed_anchors(d, int(d.batch), anchors)
    measure = _through(runtime)
    m1 = measure(_interleave(items, anc), repeats=repeats, threads=int(d.threads), progress=progress)
    m2 = measure(_interleave(items, anc), repeats=repeats, threads=int(d.threads), progress=progress)
    speed = _speed(anc, m1)
    return (items, [s for s in specs if s in own], [m for m in m1 if m["spec"] in items],
            [m for m in m2 if m["spec"] in items], speed)


def family_fold(doc: dict, family: str) -> dict:
    """A profile document for the leave-family-out fold of ``family``: without its fitted blocks
    (predictor, baseline, validation, path) and without the network samples of that family (its
    ops and blocks are family-free micro specs and stay)."""
    out = {k: v for k, v in doc.items() if k not in ("predictor", "baseline", "validation", "path")}
    out["samples"] = [s for s in doc["samples"] if not (s["granularity"] == "network" and s["family"] == family)]
    return out


def validate_runtime(profile, specs=MEASURE_SPECS, *, repeats: int = 21, progress: bool = True,
                     eager: str = "cpu-local", anchors: int = ANCHORS) -> dict:
    """Held-out accuracy of a deployment-runtime profile, measured live through its runtime.

    Each network in ``specs`` is timed twice through the profile's runtime (the second run, as
    a "prediction" of the first, is the **noise floor**) and predicted **leave-family-out**
    (the headline): the profile refitted without the network samples of that network's family
    (its ops and blocks are family-free micro specs and stay; under the "mean" rule the refit
    averages over every op timing and network weight as the profile's own fit does, under the
    older rule the timing is chosen again without that family's networks:
    :func:`costlab.runtimes.op_timing.retime`). Beside it, under the same
    folds: the FLOPs-only line fitted on the profile's remaining network samples, and the eager
    profile ``eager`` times one factor fitted on the same samples (what a user would do with the
    eager profile and a few runtime timings)."""
    from ..calibrate import fit_any
    from ..runtimes.op_timing import retime
    from .grid import default_input_shape, family_of
    from .fit import fit_baseline

    d = load_profile(profile)
    d.require_fitted()
    runtime = deployed_runtime(d)
    if runtime is None:
        raise ProfileError(f"profile '{d.name}' was not measured through a deployment runtime; use "
                           "validate_measured")
    doc = d.to_dict()
    doc.pop("path", None)
    items, skipped, m1, m2, speed = _measure_twice(d, runtime, specs, repeats, progress, anchors)
    y1 = np.array([r["median_ms"] for r in m1])
    y2 = np.array([r["median_ms"] for r in m2])
    shapes = [tuple(int(x) for x in r["input_shape"]) for r in m1]
    fams = [family_of(s) for s in items]
    gm = np.array([sample_graph(s, shp)[1] / 1e9 for s, shp in zip(items, shapes)])
    nets = fitted_networks(doc["samples"])
    ny = np.array([s["latency_ms"] for s in nets])
    ng = np.array([sample_graph(s["spec"], tuple(s["input_shape"]))[1] / 1e9 for s in nets])
    ne = np.array([predict_spec(s["spec"], tuple(s["input_shape"]), eager) for s in nets])
    he = np.array([predict_spec(s, shp, eager) for s, shp in zip(items, shapes)])
    lofo, flops, resc = (np.zeros(len(items)) for _ in range(3))
    for fam in sorted(set(fams)):
        fitted = load_profile(fit_any(retime(family_fold(doc, fam)), progress=False))     # an older profile: op timing re-chosen inside the fold
        tr = np.array([s["family"] != fam for s in nets])
        a, c = fit_baseline(ng[tr], ny[tr]) if tr.sum() >= 2 else (0.0, float(np.median(ny)))
        k = _fit_factor(ne[tr], ny[tr]) if tr.any() else 1.0
        for i, f in enumerate(fams):
            if f == fam:
                lofo[i] = predict_spec(items[i], shapes[i], fitted)
                flops[i], resc[i] = a * gm[i] + c, k * he[i]
    rows = []
    for i, s in enumerate(items):
        smp = {"spec": s, "input_shape": list(shapes[i]), "family": fams[i], "latency_ms": float(y1[i]),
               "source": f"measured here through {runtime} (run 1 of 2)"}
        row = _row(smp, float(lofo[i]), float(flops[i]))
        row["eager_rescaled_ms"] = round(float(resc[i]), 4)
        row["again_ms"] = round(float(y2[i]), 4)
        row["noise"] = round(float(m1[i].get("noise", float("nan"))), 4)
        rows.append(row)

    def line(p):
        r = metrics(p, y1)
        r["signed_mean_pct"] = round(float(100 * np.mean((p - y1) / y1)), 2)
        return r

    out = {"profile": d.name, "device": d.device, "runtime": runtime,
           **_summary(rows, "family (the profile refitted without the family's network samples)", "network")}
    out["signed_mean_pct"] = line(lofo)["signed_mean_pct"]
    out["baseline"]["signed_mean_pct"] = line(flops)["signed_mean_pct"]
    out["eager_rescaled"] = {**line(resc), "profile": eager}
    out["skipped_fitted"] = skipped
    if speed is not None:
        out["machine_speed"] = speed
        out["anchored"] = _anchored(lofo, y1, speed)
    out["noise_floor"] = line(y2)
    out["families"] = len(set(fams))
    noise = [r["noise"] for r in rows if r["noise"] == r["noise"]]
    out["noise_median"] = round(float(np.median(noise)), 4) if noise else None
    return out


def live_check(profile, specs=LIVE_CHECK_SPECS, *, repeats: int = 21, progress: bool = False,
               measure_fn=None) -> dict:
    """Time ``specs`` (networks the profile was not fitted on) here now and compare with its
    predictions: the numbers ``costlab profile`` prints beside its leave-one-out figure and
    keeps in ``provenance.live_check``. A bias of the whole profile (every error of one sign)
    shows here, not in the leave-one-out over its own samples."""
    d = load_profile(profile)
    res = validate_measured(d, specs, repeats=repeats, progress=progress, measure_fn=measure_fn)
    loo = (d.validation or {}) if isinstance(d.validation, dict) else {}
    return {"specs": [r["spec"] for r in res["rows"]], "repeats": int(repeats),
            "n": res["n"], "mape": res["mape"], "within_10pct": res["within_10pct"],
            "signed_mean_pct": res["signed_mean_pct"], "noise_median": res["noise_median"],
            "leave_one_out": {k: loo.get(k) for k in ("holdout", "level", "n", "mape")},
            **{k: res[k] for k in ("machine_speed", "anchored") if k in res},
            "rows": [{k: r[k] for k in ("spec", "measured_ms", "predicted_ms", "error_pct", "noise")}
                     for r in res["rows"]],
            "method": "costlab.calibrate.validate.live_check: the networks timed by measure_networks "
                      "(the harness of costlab validate --measure) right after the fit"}


__all__ = ["validate", "validate_measured", "validate_runtime", "live_check", "deployed_runtime", "metrics", "MEASURE_SPECS", "LIVE_CHECK_SPECS"]
