"""Huffman coding from a real histogram (Deep Compression Sec. 4).

:func:`code_lengths` builds an optimal prefix code for symbol counts (the classic
two-smallest merge, deterministic tie-breaking by symbol order); :func:`coded_bits` is the
size of the coded stream, ``sum(count * length)``. A lone symbol still costs 1 bit per
occurrence (a prefix code needs at least one bit per symbol). Optimality bounds: for
entropy ``H`` bits per symbol, ``H <= L < H + 1``, with ``L = H`` exactly when every
probability is a power of 1/2.

The decoder also needs the code: costlab counts a canonical Huffman table as one byte
(the code length) per symbol of the alphabet, :func:`table_bits`.
"""
from __future__ import annotations

import heapq
import math

import numpy as np


def code_lengths(counts) -> np.ndarray:
    """Code length (bits) per symbol; 0 for symbols that never occur."""
    c = np.asarray(counts, dtype=np.int64).reshape(-1)
    if np.any(c < 0):
        raise ValueError("counts must be non-negative")
    lengths = np.zeros(c.size, dtype=np.int64)
    used = np.flatnonzero(c)
    if used.size == 0:
        return lengths
    if used.size == 1:
        lengths[used[0]] = 1
        return lengths
    # heap of (weight, tie-breaker, node id); leaves are 0..m-1, internal nodes m..
    heap = [(int(c[s]), i, i) for i, s in enumerate(used)]
    heapq.heapify(heap)
    parent: list[int] = [-1] * len(used)
    nxt = len(used)
    while len(heap) > 1:
        w1, _, a = heapq.heappop(heap)
        w2, _, b = heapq.heappop(heap)
        parent.append(-1)
        parent[a] = nxt
        parent[b] = nxt
        heapq.heappush(heap, (w1 + w2, nxt, nxt))
        nxt += 1
    depth = [0] * len(parent)
    for node in range(len(parent) - 2, -1, -1):   # parents have larger ids than children
        depth[node] = depth[parent[node]] + 1
    lengths[used] = depth[: len(used)]
    return lengths


def coded_bits(counts) -> int:
    """Bits of the Huffman-coded stream: ``sum(count * code length)``."""
    c = np.asarray(counts, dtype=np.int64).reshape(-1)
    return int(np.dot(c, code_lengths(c)))


def entropy_bits(counts) -> float:
    """Shannon entropy of the histogram, bits per symbol."""
    c = np.asarray(counts, dtype=np.float64).reshape(-1)
    total = c.sum()
    if total <= 0:
        return 0.0
    p = c[c > 0] / total
    return float(-(p * np.log2(p)).sum())


def table_bits(alphabet: int) -> int:
    """Bits to store a canonical Huffman table: one byte (code length) per symbol."""
    return 8 * int(alphabet)


def fixed_bits(counts) -> int:
    """Bits of the same stream with fixed-length codes (``ceil(log2(alphabet))`` each)."""
    c = np.asarray(counts, dtype=np.int64).reshape(-1)
    return int(c.sum()) * max(1, math.ceil(math.log2(max(c.size, 2))))
