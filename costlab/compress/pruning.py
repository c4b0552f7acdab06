"""Magnitude pruning (Han et al. 2015) and its bookkeeping.

* :func:`magnitude_prune` keeps the ``round(keep * n)`` weights of largest magnitude of one
  layer and returns their flat positions (row-major order of the PyTorch weight,
  ``[out, in/groups, *kernel]``), sorted. Selection is exact and deterministic (ties at the
  threshold are broken towards lower positions) and costs O(n): the threshold is bracketed
  on a seeded sample, then only the weights inside the bracket are partitioned.
* :func:`dropout_adjust` is the paper's Eq. 2, ``D_r = D_o * sqrt(C_ir / C_io)``.
* After pruning, a layer's MACs scale with its weight density when its inputs are dense
  (``macs_pruned = macs * nonzero / weights``); Han et al.'s ``FLOP%`` also multiplies by
  the share of non-zero input activations (``Act%`` of the previous layer), which needs
  data: see :data:`costlab.compress.tables.HAN2015`.
"""
from __future__ import annotations

import math

import numpy as np


def keep_count(n: int, keep: float) -> int:
    """Weights left in a layer of ``n`` when a fraction ``keep`` is kept (round half up; at least
    one when ``keep`` > 0: a pruning rate below 1 never empties a layer)."""
    if not 0.0 <= keep <= 1.0:
        raise ValueError(f"keep fraction must lie in [0, 1], got {keep}")
    k = min(n, int(math.floor(keep * n + 0.5)))
    return max(k, 1) if keep > 0 and n > 0 else k


def _kth_largest(a: np.ndarray, k: int, rng: np.random.Generator) -> float:
    """The k-th largest value of ``a`` (1-based), exactly, in O(n)."""
    n = a.size
    if n <= 2_000_000:
        return float(np.partition(a, n - k)[n - k])
    sample = np.sort(a[rng.integers(0, n, 200_000)])
    q = 1.0 - k / n
    d = 6.0 / math.sqrt(sample.size) + 1e-4
    lo = sample[max(0, int(math.floor((q - d) * sample.size)))]
    hi = sample[min(sample.size - 1, int(math.ceil((q + d) * sample.size)))]
    above = int(np.count_nonzero(a > hi))
    if above < k:
        cand = a[(a >= lo) & (a <= hi)]
        r = k - above
        if 0 < r <= cand.size:
            return float(np.partition(cand, cand.size - r)[cand.size - r])
    return float(np.partition(a, n - k)[n - k])   # bracket missed: exact fallback


def magnitude_prune(weights: np.ndarray, keep: float, seed: int = 0) -> np.ndarray:
    """Sorted flat positions of the ``keep_count(n, keep)`` largest-magnitude weights."""
    flat = np.asarray(weights).reshape(-1)
    n = flat.size
    k = keep_count(n, keep)
    if k == n:
        return np.arange(n, dtype=np.int64)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    mag = np.abs(flat)
    thr = _kth_largest(mag, k, np.random.default_rng(seed))
    pos = np.flatnonzero(mag > thr)
    if pos.size < k:   # fill up with the weights equal to the threshold, lowest positions first
        ties = np.flatnonzero(mag == thr)[: k - pos.size]
        pos = np.sort(np.concatenate([pos, ties]))
    return pos.astype(np.int64)


def dropout_adjust(d_o: float, c_ir: int, c_io: int) -> float:
    """Han et al. 2015 Eq. 2: retraining dropout rate ``D_o * sqrt(C_ir / C_io)``."""
    if c_io <= 0:
        raise ValueError("the original layer must have connections")
    if not 0.0 <= d_o <= 1.0:
        raise ValueError(f"dropout rate must lie in [0, 1], got {d_o}")
    return d_o * math.sqrt(c_ir / c_io)
