"""Weight sharing by k-means (Deep Compression Sec. 3).

* :func:`weight_sharing_ratio`: Eq. 1, ``r = n b / (n log2(k) + k b)`` for ``n`` weights
  of ``b`` bits sharing ``k`` values (the paper's example: n=16, b=32, k=4 gives 3.2).
* :func:`kmeans_1d`: one-dimensional k-means (Lloyd) with the paper's *linear*
  initialisation (centroids evenly spaced over ``[min, max]`` of the weights), exact and
  vectorised: in 1-D every cluster is an interval of the sorted weights, so an iteration
  is a ``searchsorted`` of the centroid midpoints plus prefix sums, O(k log n). Large
  layers are fitted on a seeded random sample (``fit_sample`` weights) and every weight is
  then assigned to its nearest centroid; the result says when it sampled.

Trained quantization (fine-tuning the centroids with the gradient of Eq. 3) needs
training data and is out of scope: the codebook is the k-means one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def weight_sharing_ratio(n: int, b: int, k: int) -> float:
    """Deep Compression Eq. 1: ``n b / (n log2(k) + k b)``."""
    if n <= 0 or b <= 0 or k <= 0:
        raise ValueError("n, b and k must be positive")
    return n * b / (n * math.log2(k) + k * b)


@dataclass
class KMeansResult:
    centroids: np.ndarray       # (k,) sorted ascending, float64
    labels: np.ndarray          # (n,) index into centroids, smallest integer dtype
    counts: np.ndarray          # (k,) weights per centroid (0 = unused code)
    iterations: int
    fitted_on: int              # weights the centroids were fitted on (n unless sampled)
    sse: float                  # sum of squared quantization errors over all n weights

    @property
    def rmse(self) -> float:
        n = int(self.counts.sum())
        return math.sqrt(self.sse / n) if n else 0.0


_CHUNK = 4_000_000


def _labels_dtype(k: int):
    return np.uint8 if k <= 256 else (np.uint16 if k <= 65536 else np.int64)


def kmeans_1d(values: np.ndarray, k: int, *, max_iter: int = 300, tol: float = 1e-7,
              fit_sample: int | None = 2_000_000, seed: int = 0) -> KMeansResult:
    """k-means of ``values`` into ``k`` clusters, linear initialisation (see module doc)."""
    x = np.asarray(values).reshape(-1)
    n = x.size
    if k < 1:
        raise ValueError("k must be >= 1")
    if n == 0:
        return KMeansResult(np.zeros(0), np.zeros(0, dtype=_labels_dtype(k)), np.zeros(k, dtype=np.int64),
                            0, 0, 0.0)
    if fit_sample is not None and n > fit_sample:
        fit = x[np.sort(np.random.default_rng(seed).choice(n, fit_sample, replace=False))]
    else:
        fit = x
    xs = np.sort(fit.astype(np.float64))
    lo, hi = float(xs[0]), float(xs[-1])
    c = np.linspace(lo, hi, k) if k > 1 else np.array([xs.mean()])
    cs = np.concatenate([[0.0], np.cumsum(xs)])
    it = 0
    scale = max(hi - lo, 1e-30)
    for it in range(1, max_iter + 1):
        mids = (c[1:] + c[:-1]) / 2.0
        cuts = np.concatenate([[0], np.searchsorted(xs, mids, side="right"), [xs.size]])
        cnt = np.diff(cuts)
        sums = cs[cuts[1:]] - cs[cuts[:-1]]
        new = np.where(cnt > 0, sums / np.maximum(cnt, 1), c)
        new.sort()
        shift = float(np.max(np.abs(new - c)))
        c = new
        if shift <= tol * scale:
            break
    mids = (c[1:] + c[:-1]) / 2.0
    labels = np.empty(n, dtype=_labels_dtype(k))
    sse = 0.0
    for s in range(0, n, _CHUNK):   # chunks keep the float64 temporaries small
        part = x[s:s + _CHUNK].astype(np.float64)
        lab = np.searchsorted(mids, part, side="right")
        labels[s:s + _CHUNK] = lab
        sse += float(np.sum((part - c[lab]) ** 2))
    counts = np.bincount(labels, minlength=k).astype(np.int64)
    return KMeansResult(c, labels, counts, it, int(fit.size), sse)
