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
                      progress: bool = True, measure_fn=None) -> dict:
    """Time ``specs`` here and compare with the profile's predictions (and baseline).

    The profile's own fitted network specs are skipped (they are not held out)."""
    d = load_profile(profile)
    d.require_fitted()
    fitted = {s["spec"] for s in d.samples if s.get("role", "fit") == "fit" and s["granularity"] == "network"}
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
    measured = measure_fn(list(use), **kwargs)

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
            "rows": [{k: r[k] for k in ("spec", "measured_ms", "predicted_ms", "error_pct", "noise")}
                     for r in res["rows"]],
            "method": "costlab.calibrate.validate.live_check: the networks timed by measure_networks "
                      "(the harness of costlab validate --measure) right after the fit"}


__all__ = ["validate", "validate_measured", "live_check", "deployed_runtime", "metrics", "MEASURE_SPECS", "LIVE_CHECK_SPECS"]
