"""Binarization cost model (Rastegari et al. 2016, XNOR-Net, arXiv:1603.05279).

Two variants of a conv/linear layer with ``out`` filters of ``c * N_W`` weights each
(``c`` input channels per group, ``N_W`` kernel area) applied at ``N_I`` output positions:

* **binary weights** (BWN): each weight is a sign bit, each filter keeps one full-precision
  scale ``alpha = mean(|W|)`` (its L1 norm / size). Storage: ``n`` bits + ``32 * out``.
  Arithmetic: every MAC becomes an addition or subtraction, plus one multiply by
  ``alpha`` per output: ``2 * MACs`` high-precision ops become ``MACs + out * N_I``
  (about 2x, the lecture's "~2x computation saving").
* **XNOR** (binary weights and inputs): a dot product of ``c * N_W`` signs is an XNOR
  followed by a popcount over ``ceil(c * N_W / 64)`` 64-bit words; the output is then
  scaled once (``alpha * K``): ``N_I`` non-binary operations per filter. With 64 binary
  operations per cycle, the paper's speed-up estimate over the high-precision convolution
  is ``S = c N_W N_I / (c N_W N_I / 64 + N_I) = 64 c N_W / (c N_W + 64)``: independent of
  ``N_I``, it grows with channels and filter size towards 64 (c=256, 3x3: 62.3x). The
  formula is as given in CONVENTIONS.md Sec. 5 (UNVERIFIED against the paper's Sec. 3.2);
  the abstract's "58x faster convolutional operations" and "32x memory savings" are
  verified. Computing ``K`` (the mean of |input| over channels, convolved with a
  ``N_W`` box filter) is not counted, as in the paper's estimate.

By the usual convention the first and the last layer stay in full precision (the network
sees real pixels and produces real logits); ``keep_full`` in :func:`costlab.compress.compress`.
"""
from __future__ import annotations

import math

WORD_BITS = 64


def xnor_speedup(c: int, n_w: int, word: int = WORD_BITS) -> float:
    """XNOR-Net speed-up estimate ``word c N_W / (c N_W + word)``."""
    if c <= 0 or n_w <= 0:
        raise ValueError("channels and filter size must be positive")
    cn = c * n_w
    return word * cn / (cn + word)


def binary_layer_cost(weights: int, out: int, macs: int, variant: str, word: int = WORD_BITS) -> dict:
    """Storage and operation counts of one binarized layer (see module doc).

    ``weights``: weight elements; ``out``: filters (output channels / features);
    ``macs``: the layer's full-precision MACs (so ``N_I = macs / weights``).
    """
    if variant not in ("weights", "xnor"):
        raise ValueError("variant is 'weights' or 'xnor'")
    per_filter = weights // out                      # c * N_W
    n_i = macs // weights if weights else 0          # output positions (x batch)
    outputs = out * n_i
    d = {
        "weight_bits": weights + 32 * out,           # sign bits + one fp32 alpha per filter
        "alphas": out,
        "filter_size": per_filter,
        "positions": n_i,
        "hp_ops_before": 2 * macs,                   # multiply + add per MAC
    }
    if variant == "weights":
        d["additions"] = macs
        d["multiplies"] = outputs
        d["hp_ops_after"] = macs + outputs
        d["op_saving"] = (2 * macs / (macs + outputs)) if macs else 1.0
    else:
        words = outputs * math.ceil(per_filter / word)
        d["binary_ops"] = macs                       # one XNOR per weight-input pair
        d["xnor_popcount_words"] = words
        d["nonbinary_ops"] = outputs                 # scaling by alpha * K
        d["speedup_paper"] = xnor_speedup(per_filter, 1, word) if per_filter else 1.0
        d["hp_equiv_after"] = macs / word + outputs  # the paper's cost units
    return d
