"""Few-shot calibration: a device profile from a user's own 10-100 measurements.

"I measured 20 models on my board; predict the other 10,000 candidates of my search space,
and tell me how far to trust it."

**Features.** Every measured model (a zoo spec) is described by costlab's per-class
features (:mod:`costlab.latency.features`: per latency class, GMAC, MB of memory traffic,
Mpix of output positions, kernels after fusion), composed from its blocks
(:class:`costlab.blocks.SpecSet`), so a search space is traced once per distinct
block.

**Two ways a kernel's time is made of its parts** (``predictor.combine``), each with the
same per-class coefficients ``a, b, p, c`` (ms per GMAC, per MB, per Mpix, per kernel):

* ``sum``: ``t = a*GMAC + b*MB + p*Mpix + c`` (the profile predictor costlab always had);
* ``max``: ``t = max(c, a*GMAC + b*MB + p*Mpix)``: a kernel costs at least ``c`` (the host's
  launch / dispatch time, or a fixed per-layer overhead), more when its work takes longer.
  GPUs run two clocks (the team guide, section 4): a small kernel waits for the host, a big
  one keeps the host waiting, so the additive form overcharges big kernels or undercharges
  small ones.

**The prior** the fit starts from, and shrinks toward:

* with a ``base`` profile: its per-class coefficients, scaled by one overall factor
  (``base x1``) or by one factor per term (``base x4``: compute, memory, positions, kernels);
* always (when there are at least 6 samples): **shared rates**, one ms/GMAC, ms/MB,
  ms/Mpix and ms/kernel for every class. This is what a device we know nothing about
  gets: it assumes no class is special, and lets the data say which ones are.

**Moving away from the prior only as far as the data supports.** Each candidate
(prior x combine) is fitted in two steps: its scale factors by non-negative least squares,
then every per-class coefficient by ridge regression toward the scaled prior
(``lambda * sum_j (D_j (c_j - c0_j))^2``, ``D_j`` the root-mean-square column norm of
coefficient j's term over the classes, :func:`costlab.latency.forms.per_class_fit.penalty_scale`, so ``lambda`` is unit-free and
a class the samples barely exercise is held near the prior as firmly as any other),
``lambda`` on a fixed grid (:data:`LAMBDAS`, plus infinity = the scaled prior alone). Rows
are weighted by ``1 / measured`` (squared *relative* error, as everywhere in costlab). The
``max`` form is fitted by Gauss-Newton: at given coefficients each kernel is either at its
floor or above it, which makes the model linear; solve, then step with a line search on the
true objective until it stops improving.

**Every choice is made by generalised cross-validation (GCV) on the training samples
only**: ``GCV = mean(r^2) / (1 - df/n)^2`` with ``r`` the relative residuals and ``df`` the
effective number of parameters (the unpenalised scale factors count in full). The same
rule picks ``lambda`` within each candidate and then the candidate (prior and combine). It
is identical for every device and data set, and nothing in it looks at held-out rows.

The FLOPs-only line (``t = a*GMAC + c``, non-negative, relative error) fitted on the same
rows is always reported beside it.

:func:`fit_measurements` returns a ``costlab.profile/1`` dict; :func:`fewshot_validate`
fits on K random rows, predicts the others, R times, and reports MAPE, share within
+-10%, Spearman and Kendall rank correlations with their spread over the repeats.
"""
from __future__ import annotations

import datetime as _dt
import math
from collections import Counter
from typing import Sequence

import numpy as np

from ..errors import InputError, UsageError
from ..blocks import SpecSet, normalize_shape
from ..latency.forms import DEFAULT_FORM, get_form
# the per-class fitting core lives with its form; these names stay importable from here
from ..latency.forms.per_class_fit import COMBINES, LAMBDAS, FewShotFit, fit_arrays
from ..latency.profile import load_profile
from .fit import fit_baseline
from .measurements import Measurement, Measurements


def supported_combines() -> tuple[str, ...]:
    """The per-class form's kernel rules (``sum``, ``max``): both are evaluated by it."""
    return tuple(COMBINES)


def _form_and_base(form: str | None, base):
    """(the form to fit, default per-class; the base profile, or None)."""
    bd = None if base is None else load_profile(base)
    return get_form(form or DEFAULT_FORM), bd


def _opts(combines) -> dict:
    return {} if combines is None else {"combines": tuple(combines)}


# -- rows --------------------------------------------------------------------------------------

def _as_rows(rows) -> list[Measurement]:
    if isinstance(rows, Measurements):
        return list(rows.rows)
    out = []
    for i, r in enumerate(rows):
        if isinstance(r, Measurement):
            out.append(r)
            continue
        if not isinstance(r, dict) or "spec" not in r or "latency_ms" not in r:
            raise InputError(f"measurement {i + 1}: needs 'spec' and 'latency_ms' (got {r!r})")
        lat = float(r["latency_ms"])
        if not math.isfinite(lat) or lat <= 0:
            raise InputError(f"measurement {i + 1} ({r['spec']}): latency_ms must be a positive number")
        shape = normalize_shape(r.get("input_shape"))
        if shape is None:
            from ..blocks import default_shape

            shape = default_shape(r["spec"], int(r.get("batch", 1) or 1))
        out.append(Measurement(str(r["spec"]), shape, lat, int(r.get("line", i + 1)), str(r.get("note", "")),
                               str(r.get("source", ""))))
    return out


def _specset(rs: list[Measurement], dtype: str, fusion, progress: bool) -> SpecSet:
    """The rows' SpecSet; an error tracing a row's model names the row (file and line)."""
    from ..errors import CostlabError

    try:
        return SpecSet([(r.spec, r.input_shape) for r in rs], dtype, fusion, progress=progress)
    except CostlabError as exc:
        i = getattr(exc, "item", None)
        if i is None or not rs[i].source:
            raise
        raise type(exc)(f"{rs[i].source}: {exc}") from None


# -- metrics -----------------------------------------------------------------------------------

def metrics(pred, meas) -> dict:
    """MAPE (%), share within +-10% (%), Spearman and Kendall rank correlations."""
    from scipy.stats import kendalltau, spearmanr

    p, m = np.asarray(pred, float), np.asarray(meas, float)
    n = len(m)
    if n == 0:
        return {"n": 0, "mape": None, "within_10pct": None, "spearman": None, "kendall": None}
    err = np.abs(p - m) / m
    ok = n >= 3 and np.ptp(p) > 0 and np.ptp(m) > 0
    rho = float(spearmanr(p, m).statistic) if ok else None
    tau = float(kendalltau(p, m).statistic) if ok else None
    return {"n": int(n), "mape": float(100 * err.mean()), "within_10pct": float(100 * (err <= 0.10).mean()),
            "spearman": rho, "kendall": tau}


_METRICS = ("mape", "within_10pct", "spearman", "kendall")
_DIGITS = {"mape": 3, "within_10pct": 2, "spearman": 4, "kendall": 4}


def _r(key: str, v):
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else round(float(v), _DIGITS[key])


def summarize(runs: list[dict]) -> tuple[dict, dict]:
    """Mean of each metric over repeats, and its spread (std, min, max)."""
    mean, spread = {}, {}
    for k in _METRICS:
        v = np.array([r[k] for r in runs if r.get(k) is not None], float)
        if len(v) == 0:
            mean[k] = None
            spread[k] = {"std": None, "min": None, "max": None}
            continue
        mean[k] = _r(k, v.mean())
        spread[k] = {"std": _r(k, v.std(ddof=1)) if len(v) > 1 else None, "min": _r(k, v.min()),
                     "max": _r(k, v.max())}
    return mean, spread


def whole_ms(y) -> bool:
    """True when every value is a whole number of milliseconds (a device that reports ms)."""
    y = np.asarray(y, float)
    return bool(len(y) and np.all(y == np.round(y)))


def rounding_floor(y) -> dict:
    """What rounding to whole ms alone costs a perfect predictor: the true value lies
    uniformly within +-0.5 ms of the reported one, so its expected relative error is
    0.25 / reported (MAPE, %), and the share of rows whose +-0.5 ms already exceeds 10%."""
    y = np.asarray(y, float)
    return {"mape": round(float(100 * np.mean(0.25 / y)), 3),
            "within_10pct_max": round(float(100 * np.mean(np.minimum(1.0, 0.1 * y / 0.5))), 2)}


# -- validation by repeated random splits ------------------------------------------------------

def validate_arrays(ss: SpecSet, y, *, samples: int, repeats: int = 10, seed: int = 0, form: str | None = None,
                    base=None, combines: Sequence[str] | None = None, keep_runs: bool = False) -> dict:
    """Repeated random splits on a prepared SpecSet: fit on ``samples`` rows, predict the rest
    (``form``: the predictor form fitted, default per-class; ``base``: its prior profile)."""
    fm, bd = _form_and_base(form, base)
    opts = _opts(combines)
    y = np.asarray(y, float)
    n = len(y)
    if n < 3:
        raise UsageError(f"a few-shot check needs at least 3 measured models (fit on 2, predict 1), got {n}")
    if samples < 2 or samples >= n:
        raise UsageError(f"--samples must be between 2 and {n - 1} ({n} measured models), got {samples}")
    if repeats < 1:
        raise UsageError(f"--repeats must be at least 1, got {repeats}")
    rng = np.random.default_rng(seed)
    runs, base_runs, sum_runs, chosen = [], [], [], Counter()
    for _ in range(repeats):
        perm = rng.permutation(n)
        tr, te = np.sort(perm[:samples]), np.sort(perm[samples:])
        f = fm.fit(ss, tr, y[tr], base=bd, **opts)
        runs.append(metrics(f.predict(ss, te), y[te]))
        if "sum_only" in f.alternatives:
            sum_runs.append(metrics(f.alternatives["sum_only"].predict(ss, te), y[te]))
        a, c = fit_baseline(ss.gmac[tr], y[tr])
        base_runs.append(metrics(a * ss.gmac[te] + c, y[te]))
        chosen[f.label] += 1
    mean, spread = summarize(runs)
    bmean, bspread = summarize(base_runs)
    out = {"holdout": f"random splits: fit on {samples} rows, predict the other {n - samples}; {repeats} repeats",
           "level": "network", "n": n - samples, **mean,
           "baseline": {"n": n - samples, **bmean, "spread": bspread},
           "samples": samples, "repeats": repeats, "seed": seed, "spread": spread,
           "chosen": dict(sorted(chosen.items()))}
    if sum_runs:
        smean, sspread = summarize(sum_runs)
        out["sum_only"] = {"n": n - samples, **smean, "spread": sspread}
    if whole_ms(y):
        out["whole_ms"] = True
        out["rounding_floor"] = rounding_floor(y)
    if keep_runs:
        out["runs"] = runs
        out["baseline_runs"] = base_runs
    return out


def fewshot_validate(rows, base=None, samples: int = 20, repeats: int = 10, seed: int = 0, *,
                     fusion=None, dtype: str | None = None, combines: Sequence[str] | None = None,
                     progress: bool = False, form: str | None = None) -> dict:
    """Fit on ``samples`` random rows, predict the others, ``repeats`` times (seeded).

    Returns the JSON of ``costlab validate`` (``holdout``, ``level``, ``n`` (held-out rows per
    repeat), ``mape``, ``within_10pct``, ``spearman``, plus ``kendall``; means over repeats)
    with ``baseline`` (the FLOPs-only line fitted on the same rows, same keys), ``samples``,
    ``repeats``, ``seed``, ``spread`` (per metric: std, min, max over repeats), ``chosen``
    (how often each prior/combine won), and for whole-millisecond data ``whole_ms`` and
    ``rounding_floor`` (what the rounding alone costs a perfect predictor)."""
    rs = _as_rows(rows)
    _, bd = _form_and_base(form, base)
    fusion = tuple(bd.fusion) if (fusion is None and bd is not None) else tuple(fusion or ())
    dtype = dtype or (bd.dtype if bd is not None else "float32")
    ss = _specset(rs, dtype, fusion, progress)
    y = np.array([r.latency_ms for r in rs])
    out = validate_arrays(ss, y, samples=samples, repeats=repeats, seed=seed, form=form, base=bd, combines=combines)
    out = {"profile": None if bd is None else bd.name, "base": None if bd is None else bd.name,
           "device": None if bd is None else bd.device, **out, "fusion": list(fusion)}
    if isinstance(rows, Measurements):
        out["file"] = rows.path
        out["sha256"] = rows.sha256
    return out


# -- the profile -------------------------------------------------------------------------------

def _round_metrics(m: dict) -> dict:
    return {k: (_r(k, v) if k in _DIGITS else v) for k, v in m.items()}


def _self_check(ss: SpecSet, y: np.ndarray, fm, bd, opts: dict) -> dict:
    """Leave-one-out (<= 60 rows) or 10-fold cross-validation of the whole procedure (every
    choice remade inside each fold), beside the FLOPs-only line under the same folds."""
    n = len(y)
    if n < 3:
        return {"holdout": "none (fewer than 3 measurements)", "level": "network", "n": 0}
    folds = ([np.array([i]) for i in range(n)] if n <= 60
             else np.array_split(np.random.default_rng(0).permutation(n), 10))
    pred = np.zeros(n)
    base = np.zeros(n)
    for te in folds:
        tr = np.setdiff1d(np.arange(n), te)
        f = fm.fit(ss, tr, y[tr], base=bd, **opts)
        pred[te] = f.predict(ss, te)
        a, c = fit_baseline(ss.gmac[tr], y[tr])
        base[te] = a * ss.gmac[te] + c
    how = "leave-one-out" if n <= 60 else "10-fold cross-validation (seed 0)"
    head = {"n": n, **_round_metrics(metrics(pred, y)), "baseline": _round_metrics(metrics(base, y))}
    head.pop("kendall", None)
    head["baseline"].pop("kendall", None)
    return {"holdout": how, "level": "network", **_round_metrics(metrics(pred, y)),
            "baseline": _round_metrics(metrics(base, y)),
            # every measured row is its own network: holding rows out is holding networks out
            "by_holdout": {"network": head},
            "method": f"{how} over the measurements: prior, combine and lambda chosen again inside every fold "
                      "(GCV on that fold's training rows); mape and within_10pct in percent"}



def _samples(rs: list[Measurement]) -> list[dict]:
    """The profile's ``samples``: one entry per measured row."""
    from .grid import family_of

    samples = []
    for r in rs:
        s = {"spec": r.spec, "input_shape": [int(x) for x in r.input_shape], "granularity": "network",
             "family": family_of(r.spec), "latency_ms": float(r.latency_ms)}
        if r.source:
            s["source"] = r.source
        if r.note:
            s["note"] = r.note
        samples.append(s)
    return samples


def _provenance(rows, rs: list[Measurement], bd, name: str, measured_by: str, date: str | None,
                command: str | None) -> dict:
    """The profile's ``provenance`` (``file`` and ``sha256`` only for a file, ``base`` only with one)."""
    path = rows.path if isinstance(rows, Measurements) else ""
    sha = rows.sha256 if isinstance(rows, Measurements) else ""
    src = f"measurements {path}" if path else "measurements given to costlab.calibrate.fewshot.fit_measurements"
    out = {
        "source": src + (f" ({len(rs)} rows, sha256 {sha})" if sha else f" ({len(rs)} rows)"),
        "measured_by": measured_by, "date": date or _dt.date.today().isoformat(),
        "method": "few-shot calibration (costlab.calibrate.fewshot): per-class coefficients shrunk toward "
                  f"a prior, prior / kernel form / ridge strength chosen by GCV on the {len(rs)} measurements",
        "command": command or f"costlab.calibrate.fewshot.fit_measurements(<{len(rs)} rows>, "
                              f"base={None if bd is None else bd.name!r}, name={name!r})",
        "file": path or None, "sha256": sha or None, "rows": len(rs),
        "base": None if bd is None else bd.name,
    }
    if out["file"] is None:
        for k in ("file", "sha256"):
            out.pop(k)
    if out["base"] is None:
        out.pop("base")
    return out


def fit_measurements(rows, base=None, name: str = "measured", *, device: str | None = None,
                     device_class: str | None = None, runtime: str | None = None, threads: int | None = None,
                     fusion=None, dtype: str | None = None, command: str | None = None,
                     measured_by: str = "user", date: str | None = None, combines: Sequence[str] | None = None,
                     self_check: bool = True, progress: bool = False, form: str | None = None) -> dict:
    """A ``costlab.profile/1`` dict fitted to the user's measurements (see the module doc).

    ``rows``: a :class:`~costlab.calibrate.measurements.Measurements` (from
    :func:`~costlab.calibrate.measurements.read_measurements`; its file, sha256 and row count
    go into ``provenance``) or a list of :class:`Measurement` / dicts with ``spec``,
    ``latency_ms`` and optional ``input_shape``. ``base``: a profile (name, path or dict)
    whose per-class coefficients are the prior, and whose device class, threads, dtype and
    fusion rules are inherited unless given. ``form``: the predictor form fitted (a name in
    :data:`costlab.latency.forms.FORMS`; default the per-class form); ``combines``: the
    per-class form's kernel rules allowed (default both, :func:`supported_combines`).
    The result validates with :func:`costlab.latency.profile.validate_profile`."""
    from ..latency.profile import SCHEMA, validate_profile

    rs = _as_rows(rows)
    if len(rs) < 3:
        where = f"{rows.path}: " if getattr(rows, "path", "") else ""
        raise InputError(f"{where}few-shot calibration needs at least 3 measurements (2 to fit, the cross-validation "
                         f"needs one more), got {len(rs)}; measure more models")
    fm, bd = _form_and_base(form, base)
    if fusion is None:
        fusion = tuple(bd.fusion) if bd is not None else ()
    fusion = tuple(fusion)
    dtype = dtype or (bd.dtype if bd is not None else "float32")
    opts = _opts(combines)
    ss = _specset(rs, dtype, fusion, progress)
    y = np.array([r.latency_ms for r in rs])
    idx = np.arange(len(rs))
    f = fm.fit(ss, idx, y, base=bd, **opts)
    predictor = f.predictor()
    predictor["train"] = _round_metrics(metrics(f.predict(ss), y))
    a, c = fit_baseline(ss.gmac, y)
    batches = Counter(int(r.input_shape[0]) for r in rs)
    batch = batches.most_common(1)[0][0]
    samples = _samples(rs)
    d = {
        "schema": SCHEMA, "name": name,
        "device": device or (f"{name} (measured by the user)"),
        "device_class": device_class or (bd.device_class if bd is not None else "cpu"),
        "runtime": runtime or "as measured (not stated)",
        "threads": int(threads or (bd.threads if bd is not None else 1)),
        "batch": int(batch), "dtype": dtype, "fusion": list(fusion),
        "provenance": _provenance(rows, rs, bd, name, measured_by, date, command),
        "samples": samples,
        "predictor": predictor,
        "baseline": {"model": "FLOPs-only: t = ms_per_gmac * GMAC + ms_const (NNLS on relative error, the same rows)",
                     "ms_per_gmac": round(a, 9), "ms_const": round(c, 9),
                     "train": _round_metrics(metrics(a * ss.gmac + c, y))},
    }
    if self_check:
        d["validation"] = _self_check(ss, y, fm, bd, opts)
    validate_profile(d, label=name)
    return d


__all__ = ["fit_measurements", "fewshot_validate", "fit_arrays", "validate_arrays", "FewShotFit", "metrics",
           "supported_combines", "whole_ms", "rounding_floor", "LAMBDAS", "COMBINES"]
