"""The per-class form: every CPU, ARM and few-shot profile.

Each kernel after fusion (:func:`costlab.latency.features.node_costs`) falls in a latency
class ``k`` and costs, by the predictor's ``combine`` rule,

* ``sum`` (default): ``t = a_k*GMAC + b_k*MB + p_k*Mpix + c_k``;
* ``max``: ``t = max(c_k, a_k*GMAC + b_k*MB + p_k*Mpix)`` (a per-kernel floor: the dispatch
  time of a small kernel, see :mod:`costlab.calibrate.fewshot`).

A model costs the sum of its kernels, so predictions compose by block (``composes``).
:func:`kernel_ms` is the one place the rule is written; the per-graph prediction and the
vectorised block costs of :class:`costlab.blocks.SpecSet` both call it.

The ``predictor`` block::

    {"form": NAME, "combine": "sum" | "max",
     "classes": {CLASS: {"ms_per_gmac", "ms_per_mb", "ms_per_mpix", "ms_per_op"}}, ...}

``form`` is the fit's design (``per_class+class_rate_ops+class_rate``, ``reduced``,
``fewshot``, ...: see :mod:`costlab.calibrate.fit`); every such name is evaluated here.
"""
from __future__ import annotations

import math

import numpy as np

from ...errors import ProfileError
from ..features import CLASSES, FUSED_EXP, SPLIT_FROM, TERMS, node_costs, own_kernels
from .base import DEFAULT_FORM, Form, Prediction, register_form
from .per_class_fit import COMBINES, FewShotFit, fit_arrays

KEYS = {"gmac": "ms_per_gmac", "mb": "ms_per_mb", "mpix": "ms_per_mpix", "ops": "ms_per_op"}
_CIDX = {c: i for i, c in enumerate(CLASSES)}
_FX = _CIDX[FUSED_EXP]             # the class whose work rate prices fused exponentials


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def coef_matrix(pred: dict) -> np.ndarray:
    """The (len(CLASSES), len(TERMS)) coefficient matrix of a per-class ``predictor`` block."""
    cl = pred["classes"]

    def rates(c: str) -> dict:
        # a class split off later (SPLIT_FROM), absent from a profile fitted before: the old class's
        return cl[SPLIT_FROM[c]] if c not in cl and c in SPLIT_FROM else cl[c]

    return np.array([[float(rates(c).get(KEYS[t], 0.0)) for t in TERMS] for c in CLASSES])


def combine_of(pred: dict) -> str:
    return str(pred.get("combine", "sum"))


def kernel_ms(coef: np.ndarray, cls, gmac, mb, mpix, combine: str = "sum", fused=None) -> np.ndarray:
    """ms of kernels (arrays: class index, GMAC, MB, Mpix; ``fused``: G elements of exponential
    activations fused into each, at the fused-exponential work rate) under ``coef`` and ``combine``."""
    c = np.asarray(coef, float).reshape(len(CLASSES), len(TERMS))
    cls = np.asarray(cls, np.int64)
    work = c[cls, 0] * gmac + c[cls, 1] * mb + c[cls, 2] * mpix
    if fused is not None:
        work = work + c[_FX, 0] * np.asarray(fused, float)
    if combine == "max":
        return np.maximum(c[cls, 3], work)
    if combine != "sum":
        raise ValueError(f"unknown combine rule {combine!r}: 'sum' or 'max'")
    return work + c[cls, 3]


def entry_ms(costs, pred: dict) -> list[float]:
    """Predicted ms of each entry of ``costs`` (:func:`~costlab.latency.features.node_costs`)
    under a fitted per-class ``predictor`` block: a kernel's own ms, a layout conversion's apart
    from the node it is charged to; fused entries 0."""
    own, fx = own_kernels(costs)
    t = kernel_ms(coef_matrix(pred), [_CIDX[nc.cls] for nc in own], np.array([nc.gmac for nc in own]),
                  np.array([nc.mb for nc in own]), np.array([nc.mpix for nc in own]), combine_of(pred), fx)
    ms = iter(t)
    return [0.0 if nc.fused_into is not None else float(next(ms)) for nc in costs]


def classes_block(coef: np.ndarray) -> dict:
    """The ``classes`` entry of a predictor block from a coefficient matrix (9 decimals)."""
    c = np.asarray(coef, float).reshape(len(CLASSES), len(TERMS))
    return {k: {KEYS[t]: round(float(c[i, j]), 9) for j, t in enumerate(TERMS)} for i, k in enumerate(CLASSES)}


_PRIORS = {"shared x4": "shared rates (one ms/GMAC, ms/MB, ms/Mpix and ms/kernel for every class)",
           "shared x2": "shared rates (one ms/GMAC and one ms/kernel for every class)",
           "base x1": "base profile '{base}' x one factor",
           "base x4": "base profile '{base}' x one factor per term"}


class FewShot:
    """A per-class fit from measured models (the result of :meth:`PerClass.fit`)."""

    def __init__(self, f: FewShotFit, base_name: str | None, combines):
        self.f, self.base_name, self.combines = f, base_name, tuple(combines)
        self.label = f"{f.candidate}/{f.combine}"
        self.alternatives = {"sum_only": FewShot(f.best_sum, base_name, ("sum",))} \
            if f.best_sum is not None and self.combines != ("sum",) else {}

    def predict(self, items, rows=None) -> np.ndarray:
        return self.f.predict(items, rows)

    def predictor(self) -> dict:
        f = self.f
        form_text = ("max: each kernel max(ms_per_op, ms_per_gmac*GMAC + ms_per_mb*MB + ms_per_mpix*Mpix)"
                     if f.combine == "max" else
                     "sum: each kernel ms_per_gmac*GMAC + ms_per_mb*MB + ms_per_mpix*Mpix + ms_per_op")
        out = {
            "model": "per-class kernels summed over the network; each kernel " + form_text +
                     " (classes and terms: costlab.latency.features); fitted on relative error",
            "form": "fewshot", "combine": f.combine,
            "prior": _PRIORS[f.candidate].format(base=self.base_name or ""), "candidate": f.candidate,
            "lambda": f.lam, "scales": [round(x, 9) for x in f.scales], "gcv": round(f.gcv, 9),
            "selection": [{**t, "gcv": None if t["gcv"] is None else round(t["gcv"], 9)} for t in f.table],
            "classes": classes_block(f.coef),
        }
        if "max" not in self.combines:
            out["note"] = "the per-kernel 'max' form was not tried (combines given: sum)"
        return out


class PerClass(Form):
    name = DEFAULT_FORM
    composes = True
    summary = "per latency class a*GMAC + b*MB + p*Mpix + c per kernel after fusion (sum or max), summed"
    combines = COMBINES

    def check(self, pred: dict, fail) -> None:
        if pred.get("combine", "sum") not in COMBINES:
            fail("predictor.combine", f"must be 'sum' or 'max' (got {pred.get('combine')!r})")
        classes = pred.get("classes")
        if not isinstance(classes, dict):
            fail("predictor.classes", "must be an object with one entry per latency class")
        for c in CLASSES:
            p = classes.get(c)
            if p is None and c in SPLIT_FROM:     # fitted before the split: priced as its old class
                continue
            if not isinstance(p, dict):
                fail(f"predictor.classes.{c}", "is missing (fitted by an older costlab: refit with "
                     "'costlab calibrate PROFILE')")
            for k in KEYS.values():
                if not _num(p.get(k)) or p[k] < 0:
                    fail(f"predictor.classes.{c}.{k}", "must be a non-negative number")

    def node_ms(self, graph, profile) -> dict[int, float]:
        """ms per node id (fused nodes 0; a node charged a layout conversion, ``nchwc`` rule, its
        own kernel's ms plus the conversion's)."""
        costs = node_costs(graph, profile.dtype, profile.fusion)
        out = {nc.node: 0.0 for nc in costs}
        for nc, v in zip(costs, entry_ms(costs, profile.require_fitted())):
            out[nc.node] += v             # a layout conversion adds to the node it is charged to
        return out

    def predict(self, graph, profile, runtime: str | None = None) -> Prediction:
        if runtime is not None and runtime != profile.runtime:
            raise ProfileError(f"--runtime {runtime}: profile '{profile.name}' is not a GPU host/device profile "
                               f"(its runtime: {profile.runtime}); drop --runtime")
        lat = self.node_ms(graph, profile)
        return Prediction(profile.runtime, float(sum(lat.values())), lat)

    def describe(self, profile) -> dict:
        pred = profile.predictor or {}
        return {"form": self.name, "fit": pred.get("form"), "combine": combine_of(pred), "summary": self.summary}

    # -- many items, from block-composed features (costlab.blocks.SpecSet) -----------------

    def predict_items(self, items, profile, rows=None) -> np.ndarray:
        pred = profile.require_fitted()
        return items.predict(coef_matrix(pred), combine_of(pred), rows)

    def fit(self, items, idx, y, *, base=None, combines=None) -> FewShot:
        """Few-shot fit (:func:`~costlab.latency.forms.per_class_fit.fit_arrays`): ``base``, a
        fitted per-class profile, is the prior; ``combines`` the kernel rules tried."""
        base_coef, base_combine = None, "sum"
        if base is not None:
            if base.form is not self:
                raise ProfileError(f"base profile '{base.name}' has no per-class coefficients (its predictor "
                                   f"form is {base.form.name!r}); give a per-class profile as --base, or none")
            pred = base.require_fitted()
            base_coef, base_combine = coef_matrix(pred).reshape(-1), combine_of(pred)
        combines = tuple(combines) if combines is not None else COMBINES
        f = fit_arrays(items, idx, y, base_coef=base_coef, base_combine=base_combine, combines=combines)
        return FewShot(f, None if base is None else base.name, combines)


PER_CLASS = register_form(PerClass())

__all__ = ["PER_CLASS", "PerClass", "coef_matrix", "kernel_ms", "classes_block", "combine_of", "KEYS", "COMBINES"]
