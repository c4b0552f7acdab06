"""Fit a profile's predictor by non-negative least squares, with a FLOPs-only baseline and
held-out validation.

**Predictor.** Per latency class ``k`` (:data:`costlab.latency.features.CLASSES`)::

    t_k = a_k * GMAC_k + b_k * MB_k + p_k * Mpix_k + c_k * ops_k

(GMAC: multiply-accumulates / 1e9; MB: memory access cost / 1e6 bytes; Mpix: output
positions N*H*W / 1e6, a per-position loop cost that matters for thin layers; ops: kernels
after the device's fusion rules). A sample's time is the sum over classes; all
coefficients are >= 0. Each coefficient is a shared part plus a per-class excess (both
>= 0), so a class the samples never exercise still gets the shared rate, never zero, and
a ridge penalty (:data:`LAMBDA`, on column-normalised features) pulls thinly-sampled
classes toward the shared rate. Rows are weighted by ``1 / measured``: the fit minimises
squared *relative* error.

**Model form, fixed before validation** (nothing is chosen per fold, so a held-out network
never influences the fitted form). Honest caveat: this candidate set (the ``mpix`` term and
the averaging) was designed while looking at the ShuffleNet V2 ARM errors, so its held-out
numbers are somewhat optimistic; ``costlab validate --form guide`` holds out the guide's
form instead (per class ``a*GMAC + b*MB + c*ops``, agreed before any data was seen) as the
unbiased check. Likewise the split of pooling into max-window, average-window and global
classes (:mod:`costlab.latency.features`) was made after seeing this CPU's measured errors.
The predictor: the mean of the coefficients of three NNLS fits,

=============== =====================================================================
form            which coefficients are per class (the others are shared by all classes)
=============== =====================================================================
per_class       a, b, p and c
class_rate_ops  a, p and c
class_rate      a only
=============== =====================================================================

(a mean of non-negative linear models is one; averaging removes the variance of choosing
one of them). Profiles whose fit samples are all whole networks (e.g. ncnn boards: a
handful of very different networks) use the **reduced** form instead, 2 parameters: one
ms/GMAC and one ms/MB shared by all classes (an additive compute + memory model; with
~6-10 networks there is no support for more).

**Baseline.** ``t = a * GMAC + c`` (a FLOPs-only line with intercept, a, c >= 0), fitted
with the same relative weighting on the training samples of the validation level (whole
networks where the profile has them).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from ..latency.features import CLASSES, NCHWC, TERMS, merge_thin_splits, tie_split_classes
from ..latency.forms.per_class import classes_block
from ..blocks import sample_features

FORMS = ("per_class", "class_rate_ops", "class_rate")
ENSEMBLE = FORMS          # the predictor: mean of these forms' coefficients
REDUCED = "reduced"
GUIDE = "guide"           # the guide's form, agreed before any data: per class a*GMAC + b*MB + c*ops
LAMBDA = 1e-2             # ridge on the per-class excesses (column-normalised)
_NC, _NT = len(CLASSES), len(TERMS)


def _idx(k: int, t: int) -> int:
    return k * _NT + t


def form_columns(form: str) -> tuple[list[list[int]], list[bool]]:
    """Design columns of a form: each a list of raw feature indices (class*3 + term)
    summed into that column, and whether the column is an excess (ridge-penalised)."""
    cols: list[list[int]] = []
    excess: list[bool] = []

    def shared(t: int, classes=range(_NC)):
        cols.append([_idx(k, t) for k in classes])
        excess.append(False)

    def per_class(t: int):
        for k in range(_NC):
            cols.append([_idx(k, t)])
            excess.append(True)

    G, MB, PIX, OPS = (TERMS.index(t) for t in ("gmac", "mb", "mpix", "ops"))
    if form == "per_class":
        for t in (G, MB, PIX, OPS):
            shared(t)
            per_class(t)
    elif form == "class_rate_ops":
        shared(G), per_class(G), shared(MB), shared(PIX), per_class(PIX), shared(OPS), per_class(OPS)
    elif form == "class_rate":
        shared(G), per_class(G), shared(MB), shared(PIX), shared(OPS)
    elif form == GUIDE:
        for t in (G, MB, OPS):
            shared(t)
            per_class(t)
    elif form == REDUCED:
        shared(G), shared(MB)
    else:
        raise ValueError(f"unknown predictor form {form!r}; known: {', '.join(FORMS + (GUIDE, REDUCED))}")
    return cols, excess


def _design(raw: np.ndarray, form: str) -> tuple[np.ndarray, list[list[int]], list[bool]]:
    cols, excess = form_columns(form)
    X = np.stack([raw[:, c].sum(axis=1) for c in cols], axis=1)
    return X, cols, excess


@dataclass
class Fitted:
    form: str
    lam: float
    coef: np.ndarray            # effective per-(class, term) coefficients, shape (len(CLASSES) * len(TERMS),)

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return raw @ self.coef


def fit_form(raw: np.ndarray, y: np.ndarray, form: str, lam: float, w: np.ndarray | None = None) -> Fitted:
    """NNLS on relative error (+ ridge ``lam`` on excess columns); a split class too few rows
    exercise is fitted as the class it left (:func:`~costlab.latency.features.merge_thin_splits`)."""
    raw = merge_thin_splits(raw)
    X, cols, excess = _design(raw, form)
    wt = (1.0 / y) if w is None else w / y
    A = X * wt[:, None]
    b = y * wt
    scale = np.sqrt((A ** 2).sum(axis=0))
    live = scale > 0
    An = np.zeros_like(A)
    An[:, live] = A[:, live] / scale[live]
    if lam > 0:
        pen = np.diag([math.sqrt(lam) if (e and l) else 0.0 for e, l in zip(excess, live)])
        pen = pen[[i for i, (e, l) in enumerate(zip(excess, live)) if e and l]]
        An = np.vstack([An, pen])
        b = np.concatenate([b, np.zeros(pen.shape[0])])
    xn, _ = nnls(An, b, maxiter=50 * An.shape[1])
    x = np.zeros_like(xn)
    x[live] = xn[live] / scale[live]
    coef = np.zeros(_NC * _NT)
    for j, c in enumerate(cols):
        for i in c:
            coef[i] += x[j]
    return Fitted(form, lam, tie_split_classes(coef, raw))


def baseline_on(data: "Data", idx: np.ndarray) -> tuple[float, float]:
    """The FLOPs-only line fitted on the headline target samples among ``idx`` (role fit, at
    the validation level): a FLOPs line through micro-benchmarks and whole networks, or
    through another runtime's rows, at once would be a straw man."""
    tgt = np.array([i for i in idx if data.samples[i]["granularity"] == data.level and data.headline[i]])
    use = tgt if len(tgt) >= 2 else idx
    return fit_baseline(data.gmac[use], data.y[use])


def fit_baseline(gmac: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """FLOPs-only line ``t = a*GMAC + c`` (a, c >= 0) on relative error: (a ms/GMAC, c ms)."""
    A = np.stack([gmac, np.ones_like(gmac)], axis=1) / y[:, None]
    s = np.sqrt((A ** 2).sum(axis=0))
    x, _ = nnls(A / s, np.ones_like(y))
    x = x / s
    return float(x[0]), float(x[1])


# -- metrics ----------------------------------------------------------------------------------

def metrics(pred, meas) -> dict:
    """MAPE (%), share within +-10% (%), Spearman rank correlation."""
    from scipy.stats import spearmanr

    p, m = np.asarray(pred, float), np.asarray(meas, float)
    err = np.abs(p - m) / m
    ok = len(m) >= 3 and np.ptp(p) > 0 and np.ptp(m) > 0
    rho = float(spearmanr(p, m).statistic) if ok else float("nan")
    return {"n": int(len(m)), "mape": round(float(100 * err.mean()), 3) if len(m) else float("nan"),
            "within_10pct": round(float(100 * (err <= 0.10).mean()), 2) if len(m) else float("nan"),
            "spearman": round(rho, 4) if not math.isnan(rho) else None}


# -- data of a profile ------------------------------------------------------------------------

@dataclass
class Data:
    samples: list[dict]
    raw: np.ndarray        # (n, 27)
    gmac: np.ndarray       # (n,)
    y: np.ndarray          # (n,)
    fit_mask: np.ndarray   # role fit or train: used for fitting
    headline: np.ndarray   # role fit: the population of the headline validation metrics
    level: str             # granularity of the validation targets
    weight: np.ndarray | None = None   # per-sample row weight of the fit (None: all 1)
    # the fit is the mean of the fits to each (latencies, row weights) pair (None: one fit to y, weight)
    variants: list[tuple[np.ndarray, np.ndarray | None]] | None = None

    def network_weights(self, w: float) -> np.ndarray:
        """Row weights: ``w`` for whole-network samples, 1 for ops and blocks."""
        return np.array([w if s["granularity"] == "network" else 1.0 for s in self.samples])

    def with_network_weight(self, w: float) -> "Data":
        """The same data with whole-network samples weighted ``w`` (ops and blocks 1)."""
        return Data(self.samples, self.raw, self.gmac, self.y, self.fit_mask, self.headline, self.level,
                    self.network_weights(w))


def profile_data(d, progress: bool = False) -> Data:
    """The samples' features, times and roles of a profile (a document or a Profile)."""
    from ..latency.profile import as_document

    d = as_document(d)
    samples = d["samples"]
    if not samples:
        from ..latency.profile import ProfileError

        raise ProfileError(f"profile '{d.get('name', '?')}' has no samples (\"samples\": []); add measured "
                           "samples first, e.g. with 'costlab profile --target cpu -o FILE'")
    fusion = tuple(d.get("fusion", ()))
    dtype = d.get("dtype", "float32")
    it = samples
    if progress and len(samples) > 20:
        from tqdm import tqdm

        it = tqdm(samples, desc=f"tracing {d.get('name', '')} samples", unit="sample", leave=False,
                  disable=None)   # no bar unless stderr is a terminal
    raw, gm = [], []
    # an op or block sample's latency has every kernel that covers no exported node taken out (the
    # runtime's layout conversions: costlab.runtimes.bench.boundary_share), so its features leave
    # out the conversions an nchwc rule adds
    plain = tuple(r for r in fusion if not r.startswith(NCHWC))
    for s in it:
        corrected = s["granularity"] != "network" and (s.get("stats") or {}).get("edge_share") is not None
        f, g = sample_features(s["spec"], s["input_shape"], dtype, plain if corrected else fusion)
        raw.append(f.reshape(-1))
        gm.append(g)
    y = np.array([float(s["latency_ms"]) for s in samples])
    roles = [s.get("role", "fit") for s in samples]
    fit_mask = np.array([r in ("fit", "train") for r in roles])
    headline = np.array([r == "fit" for r in roles])
    levels = [s["granularity"] for s, m in zip(samples, headline) if m]
    level = next((lv for lv in ("network", "block", "op") if levels.count(lv) >= 3), "op")
    return Data(samples, np.array(raw).reshape(len(samples), -1), np.array(gm), y, fit_mask, headline, level)


def form_for(data: Data) -> tuple[str, ...]:
    """The forms whose coefficients are averaged: fixed in advance, never chosen on data."""
    only_nets = all(s["granularity"] == "network" for s, m in zip(data.samples, data.fit_mask) if m)
    return (REDUCED,) if only_nets else ENSEMBLE


def _group_key(s: dict, holdout: str) -> str:
    return s["family"] if holdout == "family" else s["spec"]


def _folds(data: Data, idx: np.ndarray, holdout: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays within ``idx``: each group of target-level samples held out."""
    targets = [i for i in idx if data.samples[i]["granularity"] == data.level]
    keys = sorted({_group_key(data.samples[i], holdout) for i in targets})
    out = []
    for k in keys:
        test = np.array([i for i in targets if _group_key(data.samples[i], holdout) == k])
        train = np.array([i for i in idx if _group_key(data.samples[i], holdout) != k])
        if len(train):
            out.append((train, test))
    return out


def fit_on(data: Data, idx: np.ndarray, forms: tuple[str, ...] | None = None) -> Fitted:
    """The predictor fitted on samples ``idx``: the mean of the NNLS coefficients of the
    forms of :func:`form_for` (a mean of non-negative linear models is one); ``forms``
    overrides them (``('guide',)``: the guide's pre-registered form, for comparison)."""
    forms = form_for(data) if forms is None else tuple(forms)
    lam = 0.0 if forms == (REDUCED,) else LAMBDA
    pairs = data.variants or [(data.y, data.weight)]       # variants: the mean over them as well
    fits = [fit_form(data.raw[idx], y[idx], f, lam, None if w is None else w[idx]) for y, w in pairs for f in forms]
    return Fitted("+".join(forms), lam, np.mean([f.coef for f in fits], axis=0))


def cross_validate(data: Data, holdout: str = "network", progress: bool = False,
                   forms: tuple[str, ...] | None = None) -> dict:
    """Hold out each network (``holdout='network'``: every sample of that spec) or each
    family in turn, fit predictor and baseline on the rest, predict the held-out ones.
    Returns metrics for predictor and baseline plus one row per held-out sample."""
    if holdout not in ("network", "family"):
        raise ValueError(f"holdout must be 'network' or 'family', not {holdout!r}")
    idx = np.flatnonzero(data.fit_mask)
    folds = _folds(data, idx, holdout)
    it = folds
    if progress and len(folds) > 3:
        from tqdm import tqdm

        it = tqdm(folds, desc=f"leave-one-{holdout}-out", unit="fold", leave=False, disable=None)   # tty only
    rows = []
    for tr, te in it:
        m = fit_on(data, tr, forms)
        a, c = baseline_on(data, tr)
        p = m.predict(data.raw[te])
        pb = a * data.gmac[te] + c
        for j, i in enumerate(te):
            rows.append(_row(data.samples[i], float(p[j]), float(pb[j])))
    rows.sort(key=lambda r: (r["family"], r["measured_ms"]))
    head = [r for r in rows if r["role"] == "fit"]
    out = _summary(head, holdout, data.level)
    train = [r for r in rows if r["role"] == "train"]
    if train:
        sec = _summary(train, holdout, data.level)
        sec["note"] = ("role=train samples (fitted, e.g. another runtime's rows that supply op classes the main "
                       "source lacks), held out in turn like the others but not in the headline numbers")
        out["train_rows"] = sec
    return out


def _row(s: dict, pred: float, base: float) -> dict:
    y = float(s["latency_ms"])
    return {"spec": s["spec"], "input_shape": list(s["input_shape"]), "family": s["family"],
            "role": s.get("role", "fit"),
            "measured_ms": round(y, 4), "predicted_ms": round(pred, 4),
            "error_pct": round(100 * (pred - y) / y, 2),
            "baseline_ms": round(base, 4), "baseline_error_pct": round(100 * (base - y) / y, 2),
            "source": s.get("source", "")}


def _summary(rows: list[dict], holdout: str, level: str) -> dict:
    meas = [r["measured_ms"] for r in rows]
    out = {"holdout": holdout, "level": level}
    out.update(metrics([r["predicted_ms"] for r in rows], meas))
    out["baseline"] = metrics([r["baseline_ms"] for r in rows], meas)
    out["rows"] = rows
    return out


# -- the fitted profile -----------------------------------------------------------------------

def predictor_dict(m: Fitted) -> dict:
    classes = classes_block(m.coef)
    return {"model": "per-class linear: t = sum over classes k of ms_per_gmac*GMAC_k + ms_per_mb*MB_k "
                     "+ ms_per_mpix*Mpix_k + ms_per_op*ops_k (ops after fusion); NNLS on relative error",
            "form": m.form, "lambda": m.lam, "classes": classes}


def check_checks(d: dict, data: Data, m: Fitted, base: tuple[float, float]) -> dict | None:
    """Metrics on role=check samples (never fitted), e.g. another runtime's rows."""
    idx = np.flatnonzero(~data.fit_mask)
    if not len(idx):
        return None
    p = m.predict(data.raw[idx])
    pb = base[0] * data.gmac[idx] + base[1]
    rows = [_row(data.samples[i], float(p[j]), float(pb[j])) for j, i in enumerate(idx)]
    out = _summary(rows, "none (never fitted)", "network")
    out["note"] = "role=check samples: not used for fitting; shows how the profile transfers to them"
    return out


def _choose_network_weight(data: Data, weights) -> tuple[Data, dict]:
    """The row weight of whole-network samples (ops and blocks: 1), chosen among ``weights``
    by leave-one-network-out over the profile's own network samples (the profile's samples
    only: nothing it is validated on later). Used by runtime profiles, whose op samples are
    timed outside a network (``provenance.fit_options.network_weights``)."""
    table = []
    for w in weights:
        r = cross_validate(data.with_network_weight(float(w)), "network")
        table.append({"network_weight": float(w), "leave_one_network_out_mape": r["mape"]})
    best = min(table, key=lambda t: (t["leave_one_network_out_mape"], t["network_weight"]))
    return data.with_network_weight(best["network_weight"]), {
        "chosen": best["network_weight"], "candidates": table,
        "rule": "the weight with the lowest leave-one-network-out MAPE over the profile's own network samples"}


def _mean_of_variants(data: Data, d: dict, weights) -> tuple[Data, dict]:
    """The data of a runtime profile under the "mean" rule (:mod:`costlab.runtimes.op_timing`):
    the fit is the mean of the fits under every op timing x every network weight, nothing chosen."""
    from dataclasses import replace

    from .timings import variants

    modes = tuple(((d.get("provenance") or {}).get("fit_options") or {}).get("op_timings") or ())
    ys = variants(data.samples, modes) if modes else [data.y]
    ws = [float(w) for w in (weights or [1.0])]
    pairs = [(y, data.network_weights(w)) for y in ys for w in ws]
    timings = f"every op timing ({', '.join(modes)})" if modes else "the op samples as measured"
    return replace(data, variants=pairs), {
        "chosen": "mean", "network_weights": ws, "op_timings": list(modes),
        "rule": (f"none chosen: the predictor is the mean of the {len(pairs)} fits under {timings} x every "
                 f"network weight ({', '.join(f'{w:g}' for w in ws)})")}


def fit_profile(d: dict, *, progress: bool = True) -> dict:
    """Return a copy of profile ``d`` with ``predictor``, ``baseline`` and ``validation``
    filled from its samples (validation: leave-one-network-out and leave-one-family-out
    over its target-level samples, plus metrics of its role=check samples)."""
    from ..latency.profile import ProfileError, as_document, fitted_document, validate_profile

    d = copy.deepcopy({k: v for k, v in as_document(d).items() if not k.startswith("_")})
    for k in ("predictor", "baseline", "validation"):
        d.pop(k, None)
    validate_profile(d)
    n_fit = sum(1 for s in d["samples"] if s.get("role", "fit") in ("fit", "train"))
    if n_fit < 2:   # before tracing: an empty sample list cannot even form a feature matrix
        raise ProfileError(f"profile '{d['name']}': needs at least 2 samples with role 'fit' to calibrate, "
                           f"has {n_fit} (add measured samples, e.g. with 'costlab profile --target cpu -o FILE')")
    data = profile_data(d, progress=progress)
    idx = np.flatnonzero(data.fit_mask)
    selection = None
    options = (d.get("provenance") or {}).get("fit_options") or {}
    weights = options.get("network_weights")
    mean_rule = options.get("combine") == "mean" and data.level == "network"
    if mean_rule:
        data, selection = _mean_of_variants(data, d, weights)
    elif weights and data.level == "network":
        data, selection = _choose_network_weight(data, weights)
    m = fit_on(data, idx)
    a, c = baseline_on(data, idx)
    predictor = predictor_dict(m)
    if selection is not None:
        predictor["network_weight"] = selection["chosen"]
        predictor["network_weight_selection"] = selection
    predictor["train"] = metrics(m.predict(data.raw[idx]), data.y[idx])
    baseline = {"model": "FLOPs-only: t = ms_per_gmac * GMAC + ms_const (NNLS on relative error, "
                              f"fitted on the same training samples of the validation level: {data.level})",
                     "ms_per_gmac": round(a, 9), "ms_const": round(c, 9),
                     "train": metrics(a * data.gmac[idx] + c, data.y[idx])}
    val = {}
    by = {}
    for h in ("network", "family"):
        r = cross_validate(data, h, progress=progress)
        if r["n"]:
            by[h] = {k: v for k, v in r.items() if k != "rows"}
    net = by["network"]
    val.update({k: net[k] for k in ("holdout", "level", "n", "mape", "within_10pct", "spearman", "baseline")})
    for h, r in list(by.items()):
        if "train_rows" in r:
            by[h]["train_rows"] = {k: v for k, v in r["train_rows"].items() if k != "rows"}
    val["by_holdout"] = by
    chk = check_checks(d, data, m, (a, c))
    if chk is not None:
        val["check"] = {k: v for k, v in chk.items() if k != "rows"}
    val["method"] = ("leave-one-out: each network (all samples of its spec) or family is held out in turn, "
                     "predictor and baseline are fitted on the rest (model form fixed in advance, nothing "
                     "chosen on the data), the held-out samples are predicted; mape and within_10pct in percent")
    if selection is not None and mean_rule:
        val["method"] += ("; the op timing and the network weight are not chosen either: every fit, these "
                          "included, is the mean over all of them (predictor.network_weight_selection)")
    elif selection is not None:
        val["method"] += ("; except the network weight, chosen by the same leave-one-network-out over these "
                          "samples (not nested: these figures are optimistic; costlab validate --measure's "
                          "leave-family-out refits choose it again inside each fold)")
    return fitted_document(d, predictor=predictor, baseline=baseline, validation=val)
