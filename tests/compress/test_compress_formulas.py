"""Compression formulas against the papers' worked examples and known optima."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from costlab.compress import (binary_layer_cost, code_lengths, coded_bits, csr_numbers, dropout_adjust,
                              encode_relative, entropy_bits, keep_count, kmeans_1d, magnitude_prune,
                              relative_index, weight_sharing_ratio, xnor_speedup)
from costlab.compress.huffman import table_bits


# -- Deep Compression Eq. 1 ---------------------------------------------------------------

def test_weight_sharing_ratio_paper_example():
    # Deep Compression Sec. 3 / Fig. 3: 16 weights of 32 bits, 4 shared values -> 3.2
    assert weight_sharing_ratio(16, 32, 4) == pytest.approx(3.2)
    assert 16 * 32 / (16 * 2 + 4 * 32) == pytest.approx(3.2)


def test_weight_sharing_ratio_rejects_nonsense():
    with pytest.raises(ValueError):
        weight_sharing_ratio(0, 32, 4)


# -- sparse storage ---------------------------------------------------------------------------

LECTURE = [0.0, 3.4, 0.0, 0.0, 0.9] + [0.0] * 10 + [1.7]   # non-zeros at 1, 4, 15 (16 positions)


def test_relative_index_lecture_example_with_filler_zero():
    # lecture / Deep Compression Fig. 2: 3-bit differences, span 8; the gap 4 -> 15 needs a filler at 12
    assert encode_relative(LECTURE, 3) == [(1, 3.4), (3, 0.9), (8, 0.0), (3, 1.7)]
    ri = relative_index(np.flatnonzero(LECTURE), 3)
    assert (ri.nonzero, ri.fillers, ri.entries) == (3, 1, 4)
    assert ri.index_storage_bits == 4 * 3
    assert ri.gap_hist[1] == 1 and ri.gap_hist[3] == 2 and ri.gap_hist[8] == 1 and ri.gap_hist.sum() == 4


def test_relative_index_no_filler_when_span_suffices():
    ri = relative_index(np.flatnonzero(LECTURE), 4)   # span 16 covers the gap of 11
    assert ri.fillers == 0 and ri.entries == 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=300), st.integers(1, 5))
def test_relative_index_vectorised_matches_explicit_encoder(mask, bits):
    vec = [1.0 if m else 0.0 for m in mask]
    enc = encode_relative(vec, bits)
    ri = relative_index(np.flatnonzero(vec), bits)
    assert ri.entries == len(enc)
    assert ri.fillers == sum(1 for d, v in enc if v == 0.0)
    hist = np.bincount([d for d, _ in enc], minlength=(1 << bits) + 1) if enc else np.zeros((1 << bits) + 1)
    assert np.array_equal(ri.gap_hist, hist)
    assert all(0 <= d <= (1 << bits) for d, _ in enc)


def test_relative_index_rejects_unsorted():
    with pytest.raises(ValueError):
        relative_index(np.array([4, 2]), 3)


def test_csr_numbers_match_a_real_csr_matrix():
    rng = np.random.default_rng(1)
    m = (rng.random((37, 53)) < 0.1) * rng.standard_normal((37, 53))
    csr = sp.csr_matrix(m)
    a, n = csr.nnz, m.shape[0]
    assert csr_numbers(a, n) == 2 * a + n + 1
    assert csr_numbers(a, n) == csr.data.size + csr.indices.size + csr.indptr.size
    csc = sp.csc_matrix(m)
    assert csr_numbers(a, m.shape[1]) == csc.data.size + csc.indices.size + csc.indptr.size


# -- pruning ------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1000, 3_000_000])   # small: direct partition; large: bracketed selection
def test_magnitude_prune_keeps_exactly_the_largest(n):
    w = np.random.default_rng(2).standard_normal(n).astype(np.float32)
    keep = 0.09
    pos = magnitude_prune(w, keep)
    k = keep_count(n, keep)
    assert pos.size == k and np.all(np.diff(pos) > 0)
    kept = np.zeros(n, bool)
    kept[pos] = True
    assert np.abs(w[kept]).min() >= np.abs(w[~kept]).max()


def test_magnitude_prune_ties_and_edges():
    w = np.array([0.0, 1.0, -1.0, 1.0, 0.5, 1.0])
    pos = magnitude_prune(w, 0.5)                     # 3 of 6; four weights tie at |w| = 1
    assert list(pos) == [1, 2, 3]                     # ties broken towards lower positions
    assert magnitude_prune(w, 1.0).size == 6 and magnitude_prune(w, 0.0).size == 0


def test_dropout_adjust_eq2():
    # Han et al. 2015 Eq. 2: D_r = D_o sqrt(C_ir / C_io)
    assert dropout_adjust(0.5, 9, 100) == pytest.approx(0.15)
    assert dropout_adjust(0.5, 100, 100) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        dropout_adjust(0.5, 1, 0)


# -- k-means ----------------------------------------------------------------------------------

def test_kmeans_linear_init_finds_separated_clusters():
    x = np.array([0.0, 0.1, -0.1, 10.0, 10.1, 9.9, 20.0])
    r = kmeans_1d(x, 3)
    assert np.allclose(r.centroids, [0.0, 10.0, 20.0])
    assert list(r.counts) == [3, 3, 1]
    assert r.sse == pytest.approx(4 * 0.01)


def test_kmeans_is_linear_initialised_and_deterministic():
    x = np.random.default_rng(3).uniform(-1, 1, 5000)
    one = kmeans_1d(x, 8, max_iter=1)
    # one Lloyd step from centroids spaced evenly over [min, max]: means of the 8 equal-width bins
    edges = np.linspace(x.min(), x.max(), 8)
    mids = (edges[1:] + edges[:-1]) / 2
    lab = np.searchsorted(mids, x, side="right")
    assert np.allclose(one.centroids, [x[lab == i].mean() for i in range(8)])
    a, b = kmeans_1d(x, 8), kmeans_1d(x, 8)
    assert np.array_equal(a.centroids, b.centroids) and a.sse <= one.sse


def test_kmeans_sampled_fit_assigns_every_weight_to_nearest_centroid():
    x = np.random.default_rng(4).standard_normal(50_000).astype(np.float32)
    r = kmeans_1d(x, 16, fit_sample=5_000, seed=7)
    assert r.fitted_on == 5_000 and r.labels.size == x.size and r.counts.sum() == x.size
    nearest = np.abs(x[:, None].astype(np.float64) - r.centroids[None, :]).argmin(axis=1)
    assert np.array_equal(nearest, r.labels.astype(np.int64))


# -- Huffman ----------------------------------------------------------------------------------

def test_huffman_textbook_distribution():
    # p = 0.4, 0.2, 0.2, 0.1, 0.1: every optimal prefix code averages 2.2 bits
    counts = [40, 20, 20, 10, 10]
    assert coded_bits(counts) == 220


def test_huffman_dyadic_meets_entropy_exactly():
    counts = [8, 4, 2, 1, 1]                     # probabilities 1/2 .. 1/16: L = H = 1.875
    assert list(code_lengths(counts)) == [1, 2, 3, 4, 4]
    assert coded_bits(counts) / sum(counts) == pytest.approx(entropy_bits(counts)) == pytest.approx(1.875)


def test_huffman_degenerate_alphabets():
    assert coded_bits([0, 7, 0]) == 7             # a lone symbol still costs one bit
    assert coded_bits([0, 0]) == 0
    assert list(code_lengths([3, 0, 5])) == [1, 0, 1]
    assert table_bits(32) == 256


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=2, max_size=40))
def test_huffman_bounds_and_kraft(counts):
    used = [c for c in counts if c > 0]
    lengths = code_lengths(counts)
    if len(used) < 2:
        return
    total = sum(used)
    avg = coded_bits(counts) / total
    h = entropy_bits(counts)
    assert h - 1e-9 <= avg < h + 1
    assert sum(2.0 ** -int(l) for l, c in zip(lengths, counts) if c) == pytest.approx(1.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=2, max_size=5))
def test_huffman_is_optimal_against_brute_force(counts):
    # the cheapest prefix code over all length vectors that satisfy Kraft's inequality
    best = min(sum(c * l for c, l in zip(counts, ls))
               for ls in itertools.product(range(1, len(counts) + 1), repeat=len(counts))
               if sum(2.0 ** -l for l in ls) <= 1.0)
    assert coded_bits(counts) == best


# -- XNOR-Net ----------------------------------------------------------------------------------

def test_xnor_speedup_formula():
    # CONVENTIONS.md Sec. 5: c = 256, 3x3 -> 64 * 2304 / 2368 = 62.27
    assert xnor_speedup(256, 9) == pytest.approx(64 * 2304 / 2368)
    assert xnor_speedup(256, 9) == pytest.approx(62.27, abs=0.01)
    s = [xnor_speedup(c, 9) for c in (3, 16, 64, 256, 1024)]
    assert all(a < b < 64 for a, b in zip(s, s[1:]))


def test_binary_layer_cost_counts():
    # a 3x3 conv, 64 -> 128 channels, 28x28 output
    weights, out = 128 * 64 * 9, 128
    macs = weights * 28 * 28
    x = binary_layer_cost(weights, out, macs, "xnor")
    assert x["weight_bits"] == weights + 32 * out
    assert x["xnor_popcount_words"] == out * 28 * 28 * math.ceil(64 * 9 / 64)
    assert x["nonbinary_ops"] == out * 28 * 28
    assert macs / x["hp_equiv_after"] == pytest.approx(xnor_speedup(64, 9))
    bw = binary_layer_cost(weights, out, macs, "weights")
    assert bw["op_saving"] == pytest.approx(2 * macs / (macs + out * 28 * 28))
    assert 1.9 < bw["op_saving"] < 2.0           # the lecture's "~2x" for binary weights
