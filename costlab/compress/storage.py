"""Sparse storage cost (Deep Compression Sec. 2).

* CSR / CSC: ``2a + n + 1`` numbers for ``a`` non-zeros and ``n`` rows (columns):
  ``a`` values, ``a`` column (row) indices, ``n + 1`` row (column) pointers.
* Relative indexing: store each non-zero with the *difference* to the previous stored
  position in ``b`` bits instead of its absolute position. A difference up to ``2^b`` fits
  (the lecture's example: 3 bits, span 8 = 2^3); a longer gap is bridged by **filler
  zeros**, explicit zero entries placed every ``2^b`` positions. The first difference
  counts from position 0, as in the lecture's example (a non-zero at index 1 has
  difference 1). A gap ``g`` needs ``ceil(g / 2^b) - 1`` fillers.

Layout used by costlab: one stream per layer over the weight tensor flattened in
PyTorch's row-major order ``[out, in/groups, *kernel]`` (i.e. CSR rows = output neurons,
one relative-index stream across row ends). Every stored entry (non-zero or filler)
costs ``b`` index bits plus its value bits.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def csr_numbers(nonzeros: int, rows: int) -> int:
    """Numbers CSR (or CSC, with ``rows`` = columns) stores: ``2a + n + 1``."""
    if nonzeros < 0 or rows < 0:
        raise ValueError("counts must be non-negative")
    return 2 * nonzeros + rows + 1


@dataclass(frozen=True)
class RelativeIndex:
    """Relative-index stream of one layer: how many entries, fillers, and the histogram
    of the stored differences (``gap_hist[d]`` = entries stored with difference ``d``,
    ``d`` in ``0..2^b``; 0 only for a non-zero at position 0)."""

    index_bits: int
    nonzero: int
    fillers: int
    gap_hist: np.ndarray

    @property
    def entries(self) -> int:
        return self.nonzero + self.fillers

    @property
    def index_storage_bits(self) -> int:
        return self.entries * self.index_bits


def relative_index(positions: np.ndarray, index_bits: int) -> RelativeIndex:
    """Relative-index cost of sorted flat ``positions`` of the non-zeros (vectorised)."""
    if not 1 <= index_bits <= 32:
        raise ValueError(f"index bits must lie in 1..32, got {index_bits}")
    pos = np.asarray(positions, dtype=np.int64)
    span = 1 << index_bits
    hist = np.zeros(span + 1, dtype=np.int64)
    if pos.size == 0:
        return RelativeIndex(index_bits, 0, 0, hist)
    if np.any(np.diff(pos) <= 0) or pos[0] < 0:
        raise ValueError("positions must be sorted, distinct and non-negative")
    gaps = np.diff(pos, prepend=0)
    gaps[0] = pos[0]
    fill = np.where(gaps > 0, (gaps - 1) // span, 0)
    rest = gaps - fill * span                      # 0 (first at 0) or 1..span
    hist += np.bincount(rest, minlength=span + 1)
    n_fill = int(fill.sum())
    hist[span] += n_fill
    return RelativeIndex(index_bits, int(pos.size), n_fill, hist)


def encode_relative(values: list[float] | np.ndarray, index_bits: int) -> list[tuple[int, float]]:
    """The stored ``(difference, value)`` entries of a dense vector, fillers included.

    Small and explicit (a list), for explanations and tests: the lecture's example
    ``[0, 3.4, 0, 0, 0.9, 0, ..., 0, 1.7]`` (16 positions, non-zeros at 1, 4 and 15) with
    3 index bits gives ``[(1, 3.4), (3, 0.9), (8, 0.0), (3, 1.7)]``.
    """
    span = 1 << index_bits
    out: list[tuple[int, float]] = []
    last = 0
    for i, v in enumerate(values):
        if v == 0:
            continue
        gap = i - last
        while gap > span:
            out.append((span, 0.0))
            gap -= span
        out.append((gap, float(v)))
        last = i
    return out
