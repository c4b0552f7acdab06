"""The per-class form's fitter from measured models (few-shot calibration; the method is
described in :mod:`costlab.calibrate.fewshot`, which orchestrates it): the candidate priors,
ridge toward a prior, GCV, the Gauss-Newton fit of the ``max`` form, and :func:`fit_arrays`,
which fits every candidate and keeps the one with the lowest GCV.

Pure numerics over the arrays of a :class:`costlab.blocks.SpecSet` (``features``,
``counts``, ``block_regime``, ``block_cost``): no tracing, no loading."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ...errors import InputError, ProfileError
from ..features import CLASSES, SPLIT_FROM, TERMS, tie_split_classes

LAMBDAS = tuple(float(x) for x in np.logspace(-5, 3, 17))   # ridge strengths tried (unit-free)
COMBINES = ("sum", "max")
MIN_SHARED = 6            # samples needed (with a base) before the 4 shared rates are a candidate
MIN_SHARED2 = 4           # ... and before the 2 shared rates (compute, kernel) are
_NC, _NT = len(CLASSES), len(TERMS)
NF = _NC * _NT            # raw features per item (class-major, term-minor)
_GN_ITERS = 15
_LAMBDA_ROUNDS = 4        # max form: lambda re-chosen at the fitted regime at most this often


# -- the fit -----------------------------------------------------------------------------------

@dataclass
class Candidate:
    name: str          # 'shared', 'base x1', 'base x4'
    combine: str       # 'sum' | 'max'
    S: np.ndarray      # (NF, q): the prior's directions; coefficients c0 = S @ s, s >= 0


@dataclass
class FewShotFit:
    coef: np.ndarray                  # (NF,) per-(class, term) coefficients, class-major
    combine: str
    candidate: str
    lam: float | None                 # None: the scaled prior alone
    gcv: float
    scales: list[float]
    table: list[dict] = field(default_factory=list)   # every candidate: its lambda and GCV
    best_sum: "FewShotFit | None" = None                # the best 'sum' candidate (for comparison)

    def predict(self, ss, rows=None) -> np.ndarray:
        return ss.predict(self.coef, self.combine, rows)


def _term_masks(p: np.ndarray) -> np.ndarray:
    """(NF, NT): p restricted to each term's columns."""
    S = np.zeros((NF, _NT))
    for t in range(_NT):
        S[t::_NT, t] = p[t::_NT]
    return S


def _candidates(base_coef: np.ndarray | None, base_combine: str, combines: Sequence[str], n: int) -> list[Candidate]:
    out = []
    if base_coef is not None:
        p = np.asarray(base_coef, float).reshape(-1)
        if base_combine in combines:
            out.append(Candidate("base x1", base_combine, p[:, None]))
            S = _term_masks(p)
            S = S[:, np.abs(S).sum(0) > 0]
            if S.shape[1] > 1 and n > S.shape[1] + 1:
                out.append(Candidate("base x4", base_combine, S))
    shared = _term_masks(np.ones(NF))
    for comb in combines:
        if base_coef is None or n >= MIN_SHARED2:
            out.append(Candidate("shared x2", comb, shared[:, [0, 3]]))
        if base_coef is None or n >= MIN_SHARED:
            out.append(Candidate("shared x4", comb, shared))
    if not out:
        raise ProfileError(f"the base profile's predictor form '{base_combine}' cannot be used here "
                           f"(forms available: {', '.join(combines)}) and {n} samples are too few for the "
                           f"shared-rate prior (needs {MIN_SHARED})")
    return out


def nnls(A: np.ndarray, b: np.ndarray, maxiter: int):
    """``scipy.optimize.nnls``, scipy loaded when a fit first needs it (a prediction never does)."""
    from scipy.optimize import nnls as _nnls

    return _nnls(A, b, maxiter=maxiter)


def _nnls_cols(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NNLS with column normalisation (zero columns get 0)."""
    s = np.sqrt((A ** 2).sum(axis=0))
    live = s > 0
    x = np.zeros(A.shape[1])
    if live.any():
        xn, _ = nnls(A[:, live] / s[live], b, maxiter=50 * A.shape[1] + 50)
        x[live] = xn / s[live]
    return x


def _ridge_to(A: np.ndarray, D: np.ndarray, lam: float, c0: np.ndarray) -> np.ndarray:
    """argmin ||A c - 1||^2 + lam ||D (c - c0)||^2 over c >= 0 (dead columns keep c0)."""
    live = D > 0
    n = A.shape[0]
    An = A[:, live] / D[live]
    k = int(live.sum())
    M = np.vstack([An, math.sqrt(lam) * np.eye(k)])
    b = np.concatenate([np.ones(n), math.sqrt(lam) * c0[live] * D[live]])
    xn, _ = nnls(M, b, maxiter=50 * k + 50)
    c = c0.copy()
    c[live] = xn / D[live]
    return c


def _gcv_grid(A: np.ndarray, AS: np.ndarray, D: np.ndarray, lams: Sequence[float]) -> np.ndarray:
    """GCV of the ridge with unpenalised prior directions ``AS`` and penalised per-coefficient
    deviations (columns of ``A`` over ``D``), for each lambda in ``lams`` and then lambda = inf
    (the prior directions alone); unconstrained, closed form: project the prior directions
    out, then one eigendecomposition gives every lambda (df = rank of the prior directions
    + sum s^2/(s^2+lam), s the singular values of the projected penalised columns)."""
    n = A.shape[0]
    live = D > 0
    b = np.ones(n)
    Q = np.zeros((n, 0))
    if AS.size:
        w, W = np.linalg.eigh(AS.T @ AS)
        keep = w > max(w.max(), 0.0) * 1e-12
        if keep.any():
            Q = AS @ (W[:, keep] / np.sqrt(w[keep]))
    q = Q.shape[1]
    Pb = b - Q @ (Q.T @ b)
    Xp = A[:, live] / D[live]
    PX = Xp - Q @ (Q.T @ Xp)
    s2, V = np.linalg.eigh(PX.T @ PX)
    keep = s2 > max(s2.max(), 0.0) * 1e-12 if s2.size else np.zeros(0, bool)
    s2, V = s2[keep], V[:, keep]
    XV = PX @ V
    t = XV.T @ Pb
    out = []
    for lam in lams:
        r = Pb - XV @ (t / (s2 + lam))
        out.append(_gcv(r, q + float((s2 / (s2 + lam)).sum()), n))
    out.append(_gcv(Pb, float(q), n))
    return np.array(out)


def _gcv(r: np.ndarray, df: float, n: int) -> float:
    if df >= n - 1e-6:
        return math.inf
    return float(np.mean(r ** 2) / (1.0 - df / n) ** 2)


def penalty_scale(A: np.ndarray) -> np.ndarray:
    """Per coefficient, the scale of its ridge penalty: the root-mean-square over classes of the
    column norms of its *term* (GMAC, MB, Mpix or kernels), the same for every class; 0 for a
    column the samples never exercise (its coefficient stays at the prior's).

    Pooled per term rather than per column: with per-column norms a class that the samples
    barely exercise would be almost unpenalised, free to take any rate, and a candidate
    network made mostly of that class would be mispredicted by a large factor (seen on
    heterogeneous zoo networks: ``shared/data/gpu_h200``). Pooled, every class's rate
    deviates from the prior on the same scale."""
    col = np.sqrt((A ** 2).sum(axis=0)).reshape(_NC, _NT)
    # over the classes as they were before any split (SPLIT_FROM), so a split class the samples
    # never exercise leaves every penalty as it was
    term = np.sqrt((col ** 2).sum(axis=0) / (_NC - len(SPLIT_FROM)))
    return np.where(col > 0, term[None, :], 0.0).reshape(-1)


class _Problem:
    """Training rows ``idx`` of a SpecSet with measured ``y``: losses and designs of both forms."""

    def __init__(self, ss, idx: np.ndarray, y: np.ndarray):
        self.ss, self.idx, self.y = ss, np.asarray(idx), np.asarray(y, float)
        self.w = 1.0 / self.y
        self.A_lin = ss.features(self.idx) * self.w[:, None]
        self.D = penalty_scale(self.A_lin)
        self._counts = ss.counts[self.idx]

    def A(self, c: np.ndarray, combine: str) -> np.ndarray:
        if combine == "sum":
            return self.A_lin
        return np.asarray(self._counts @ self.ss.block_regime(c)) * self.w[:, None]

    def pred(self, c: np.ndarray, combine: str) -> np.ndarray:
        if combine == "sum":
            return self.ss.features(self.idx) @ c
        return np.asarray(self._counts @ self.ss.block_cost(c, "max")).reshape(-1)

    def loss(self, c, combine, lam=0.0, c0=None) -> float:
        r = self.pred(c, combine) * self.w - 1.0
        out = float(r @ r)
        if lam and c0 is not None:
            d = self.D * (c - c0)
            out += lam * float(d @ d)
        return out


def _gauss_newton(pb: _Problem, c: np.ndarray, *, S: np.ndarray | None = None, lam: float = 0.0,
                  c0: np.ndarray | None = None) -> np.ndarray:
    """Fit the ``max`` form from ``c``: scale factors only (``S`` given: c = S s) or every
    coefficient with ridge ``lam`` toward ``c0``. Each step solves the model linearised at
    the current floor/work regime, then backtracks until the true objective improves."""
    L = pb.loss(c, "max", lam, c0)
    for _ in range(_GN_ITERS):
        A = pb.A(c, "max")
        if S is not None:
            cn = S @ _nnls_cols(A @ S, np.ones(len(pb.y)))
        else:
            cn = _ridge_to(A, pb.D, lam, c0)
        step, improved = 1.0, False
        while step > 1e-3:
            ct = c + step * (cn - c)
            Lt = pb.loss(ct, "max", lam, c0)
            if Lt < L - 1e-12 * max(L, 1e-300):
                improved = True
                break
            step /= 2
        if not improved:
            break
        done = (L - Lt) < 1e-7 * L
        c, L = ct, Lt
        if done:
            break
    return c


def _fit_candidate(pb: _Problem, cand: Candidate, lams: Sequence[float]) -> FewShotFit:
    n = len(pb.y)
    S = cand.S
    # 1. scale factors of the prior
    s = _nnls_cols(pb.A_lin @ S, np.ones(n))
    c0 = S @ s
    if cand.combine == "max":
        if not np.any(c0):
            c0 = S @ np.ones(S.shape[1])
        c0 = _gauss_newton(pb, c0, S=S)
        s = np.linalg.lstsq(S, c0, rcond=None)[0]
    # 2. ridge toward it, lambda by GCV (for 'max': at the current floor/work regime, chosen
    #    again after each Gauss-Newton fit until it no longer changes)
    def pick(c):
        A = pb.A(c, cand.combine)
        g = _gcv_grid(A, A @ S, pb.D, lams)
        j = int(np.flatnonzero(g == g.min())[-1]) if np.isfinite(g).any() else len(lams)
        return j, float(g[j])

    j, gcv = pick(c0)
    scales = [float(x) for x in s]
    if j == len(lams):
        return FewShotFit(c0, cand.combine, cand.name, None, gcv, scales)
    if cand.combine == "sum":
        return FewShotFit(_ridge_to(pb.A_lin, pb.D, float(lams[j]), c0), "sum", cand.name, float(lams[j]), gcv, scales)
    c = c0
    for _ in range(_LAMBDA_ROUNDS):
        c = _gauss_newton(pb, c, lam=float(lams[j]), c0=c0)
        j2, gcv = pick(c)
        if j2 == j or j2 == len(lams):
            break
        j = j2
    A1 = pb.A(c, "max")
    gcv = float(_gcv_grid(A1, A1 @ S, pb.D, [float(lams[j])])[0])
    return FewShotFit(c, "max", cand.name, float(lams[j]), gcv, scales)


def fit_arrays(ss, idx, y, *, base_coef: np.ndarray | None = None, base_combine: str = "sum",
               combines: Sequence[str] = COMBINES, lams: Sequence[float] = LAMBDAS) -> FewShotFit:
    """The few-shot fit on rows ``idx`` of ``ss`` with measured ``y`` (ms): every candidate
    (prior x combine) fitted, the one with the lowest GCV returned (``best_sum``: the best
    ``sum`` candidate, for comparison)."""
    idx = np.asarray(idx)
    y = np.asarray(y, float)
    if len(idx) < 2:
        raise InputError(f"few-shot calibration needs at least 2 measurements, got {len(idx)}")
    pb = _Problem(ss, idx, y)
    fits = [_fit_candidate(pb, c, lams) for c in _candidates(base_coef, base_combine, combines, len(idx))]
    for f in fits:
        f.coef = tie_split_classes(f.coef, pb.A_lin)
    table = [{"candidate": f.candidate, "combine": f.combine, "lambda": f.lam,
              "gcv": f.gcv if math.isfinite(f.gcv) else None} for f in fits]
    order = sorted(range(len(fits)), key=lambda i: (fits[i].gcv, i))
    best = fits[order[0]]
    sums = [fits[i] for i in order if fits[i].combine == "sum"]
    best.table = table
    best.best_sum = sums[0] if sums else None
    return best


__all__ = ["fit_arrays", "FewShotFit", "Candidate", "penalty_scale", "LAMBDAS", "COMBINES",
           "MIN_SHARED", "MIN_SHARED2"]
