"""One row per compressible layer: its storage after each stage (prune, quantize, Huffman,
or binarize) and its compute and memory access after pruning; plus the row of every
parameter outside conv/linear weights. Conventions: :mod:`costlab.compress.api`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import huffman as hf
from .binarize import binary_layer_cost
from .layers import Layer
from .pruning import dropout_adjust, magnitude_prune
from .quantize import kmeans_1d
from .settings import VALUE_BITS
from .storage import RelativeIndex, csr_numbers, relative_index
from .weights import as_numpy


def ceil8(bits: int) -> int:
    return (int(bits) + 7) // 8


@dataclass
class Plan:
    """What to do to each layer (values per layer path)."""
    keep: dict[str, float]                 # fraction of weights kept
    act_pct: dict[str, float]              # the paper's Act% of the layer's output (prune tables)
    qbits: dict[str, int]                  # bits per shared weight
    ibits: dict[str, int]                  # relative-index bits
    huffman: bool
    binarize: str | None                   # 'weights' | 'xnor' | None
    full_precision: set[str]               # layers not binarized
    drop_for: dict[str, tuple[str, float]]  # layer -> (dropout path, rate) after it
    fit_sample: int | None
    seed: int


@dataclass
class LayerRows:
    rows: list[dict[str, Any]] = field(default_factory=list)
    bin_layers: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sampled: list[str] = field(default_factory=list)   # layers whose k-means fitted on a sample


@dataclass
class _Sparse:
    """A layer's weights after the pruning stage."""
    pruned: bool
    b_idx: int
    vals: np.ndarray
    entries: int
    fillers: int
    bits: int                              # storage bits after pruning (bias included)
    ri: RelativeIndex | None = None


def layer_rows(layers: list[Layer], tensors: dict, params: dict[str, int], plan: Plan, desc: str,
               progress: bool = False) -> LayerRows:
    """The rows of every compressible layer, in execution order."""
    from tqdm import tqdm

    out = LayerRows()
    act_in = 1.0
    it = tqdm(layers, desc=desc, unit="layer", disable=None if progress else True, leave=False)   # None: tty only
    for lay in it:
        it.set_postfix_str(lay.path[-30:], refresh=False)
        w = as_numpy(tensors[lay.weight_name]).reshape(-1)
        n = w.size
        bias_n = params.get(lay.bias_name, 0) if lay.bias_name else 0
        rec: dict[str, Any] = {"name": lay.path, "kind": lay.kind, "type": lay.module_type,
                               "shape": list(lay.shape), "params": n + bias_n, "weights": n}
        if plan.binarize:
            _binarized(lay, w, bias_n, plan, rec, out.bin_layers)
        else:
            act_in = _compressed(lay, w, bias_n, plan, rec, act_in, out)
        out.rows.append(rec)
    return out


def _binarized(lay: Layer, w: np.ndarray, bias_n: int, plan: Plan, rec: dict, bin_layers: list) -> None:
    """Binarization stage: sign bits + one alpha per filter, or full precision."""
    n = w.size
    bias_bits = VALUE_BITS * bias_n
    dense_bits = VALUE_BITS * n + bias_bits
    binarized = lay.path not in plan.full_precision
    rec["binarized"] = binarized
    if binarized:
        cost = binary_layer_cost(n, lay.out, lay.macs, plan.binarize)
        cost["alpha_mean"] = float(np.abs(w).mean())   # mean of the per-filter alphas
        qbits_total = cost["weight_bits"] + bias_bits
        bin_layers.append({"name": lay.path, "macs": lay.macs, **cost})
    else:
        qbits_total = dense_bits
    rec.update(nonzero=n + bias_n, weights_nonzero=n, keep=1.0, fillers=0, bits=1 if binarized else VALUE_BITS,
               index_bits=None,
               dense_bytes=ceil8(dense_bits), pruned_bytes=ceil8(dense_bits),
               quantized_bytes=ceil8(qbits_total), huffman_bytes=ceil8(qbits_total),
               csr_numbers=None, macs=lay.macs, mac_bytes=lay.mac_bytes)


def _compressed(lay: Layer, w: np.ndarray, bias_n: int, plan: Plan, rec: dict, act_in: float,
                out: LayerRows) -> float:
    """Pruning, quantization and Huffman stages of one layer; returns the Act% of the next
    layer's input."""
    n = w.size
    bias_bits = VALUE_BITS * bias_n
    dense_bits = VALUE_BITS * n + bias_bits
    sp = _prune(lay, w, plan, bias_bits, dense_bits, out.notes)
    nonzero = int(sp.vals.size)
    rec.update(nonzero=nonzero + bias_n, weights_nonzero=nonzero, keep=nonzero / n if n else 1.0,
               fillers=sp.fillers,
               bits=plan.qbits.get(lay.path), index_bits=sp.b_idx if sp.pruned else None,
               csr_numbers=csr_numbers(nonzero, lay.out) if sp.pruned else None)
    q = plan.qbits.get(lay.path)
    wsym, codebook_bits, quant_bits = _quantize(lay, sp, q, nonzero, bias_bits, plan, rec, out.sampled)
    huff_bits = _huffman(sp, q, wsym, codebook_bits, quant_bits, bias_bits, plan, rec)
    rec.update(dense_bytes=ceil8(dense_bits), pruned_bytes=ceil8(sp.bits),
               quantized_bytes=ceil8(quant_bits), huffman_bytes=ceil8(huff_bits))
    return _compute(lay, rec, nonzero, n, sp.bits, huff_bits, bias_bits, plan, act_in)


def _prune(lay: Layer, w: np.ndarray, plan: Plan, bias_bits: int, dense_bits: int, notes: list[str]) -> _Sparse:
    """Pruning stage: magnitude pruning, sparse storage with relative indices and fillers."""
    n = w.size
    kp = plan.keep.get(lay.path, 1.0)
    b_idx = plan.ibits[lay.path]
    if kp < 1.0:
        pos = magnitude_prune(w, kp, plan.seed)
        ri = relative_index(pos, b_idx)
        entries, fillers = ri.entries, ri.fillers
        return _Sparse(True, b_idx, w[pos], entries, fillers, entries * (VALUE_BITS + b_idx) + bias_bits, ri)
    zeros = n - int(np.count_nonzero(w))
    if zeros >= n // 2 and n >= 64:
        notes.append(f"{lay.path}: {zeros / n:.0%} of its weights are already zero but it is stored "
                     "dense; pass --prune for it to store it sparse")
    return _Sparse(False, b_idx, w, n, 0, dense_bits)


def _quantize(lay: Layer, sp: _Sparse, q: int | None, nonzero: int, bias_bits: int, plan: Plan, rec: dict,
              sampled: list[str]) -> tuple[Any, int, int]:
    """Quantization stage (weight sharing): (code histogram, codebook bits, storage bits)."""
    if q is None:
        return None, 0, sp.bits
    k = 1 << q
    k_fit = k - 1 if sp.fillers > 0 else k
    km = kmeans_1d(sp.vals, max(1, k_fit), fit_sample=plan.fit_sample, seed=plan.seed)
    if km.fitted_on < nonzero:
        sampled.append(lay.path)
    wsym = km.counts if sp.fillers == 0 else np.concatenate([km.counts, [sp.fillers]])
    codebook_bits = k * VALUE_BITS
    quant_bits = sp.entries * (q + (sp.b_idx if sp.pruned else 0)) + codebook_bits + bias_bits
    rec.update(k=k, codes_used=int(np.count_nonzero(km.counts)) + (1 if sp.fillers else 0),
               kmeans_iterations=km.iterations, kmeans_fitted_on=km.fitted_on,
               quant_rmse=km.rmse)
    return wsym, codebook_bits, quant_bits


def _huffman(sp: _Sparse, q: int | None, wsym, codebook_bits: int, quant_bits: int, bias_bits: int, plan: Plan,
             rec: dict) -> int:
    """Huffman stage: storage bits (the fixed-length codes when Huffman is no smaller)."""
    if not (plan.huffman and (q is not None or sp.pruned)):
        return quant_bits
    entries = sp.entries
    hb = bias_bits + codebook_bits
    if q is not None:
        wcoded = hf.coded_bits(wsym)
        hb += wcoded + hf.table_bits(len(wsym))
        rec["weight_bits_huffman"] = wcoded / entries if entries else 0.0
    else:
        hb += entries * VALUE_BITS
    if sp.pruned:
        icoded = hf.coded_bits(sp.ri.gap_hist)
        hb += icoded + hf.table_bits(sp.ri.gap_hist.size)
        rec["index_bits_huffman"] = icoded / entries if entries else 0.0
    # an encoder keeps the fixed-length codes when Huffman (with its tables) is no smaller
    rec["huffman_applied"] = hb < quant_bits
    return min(hb, quant_bits)


def _compute(lay: Layer, rec: dict, nonzero: int, n: int, pruned_bits: int, huff_bits: int, bias_bits: int,
             plan: Plan, act_in: float) -> float:
    """Compute and memory access after pruning (and the dropout to retrain with); returns
    the Act% of the next layer's input."""
    density = nonzero / n if n else 1.0
    rec["macs"] = lay.macs
    rec["macs_pruned"] = int(round(lay.macs * density))
    rec["flop_pct"] = density if lay.macs else None
    if plan.act_pct:
        rec["flop_pct_act"] = density * act_in if lay.macs else None
        act_in = plan.act_pct.get(lay.path, 1.0)
    dense_w_bytes = 4 * n   # the trace counted weights at float32
    rec["mac_bytes"] = lay.mac_bytes
    rec["mac_bytes_pruned"] = lay.mac_bytes - dense_w_bytes + ceil8(pruned_bits - bias_bits) \
        if lay.mac_bytes else 0
    rec["mac_bytes_compressed"] = lay.mac_bytes - dense_w_bytes + ceil8(huff_bits - bias_bits) \
        if lay.mac_bytes else 0
    if lay.path in plan.drop_for:
        dpath, d_o = plan.drop_for[lay.path]
        rec["dropout"] = dpath
        rec["dropout_rate"] = d_o
        rec["dropout_rate_retrain"] = dropout_adjust(d_o, nonzero, n)
    return act_in


def other_row(layers: list[Layer], params: dict[str, int]) -> dict[str, Any] | None:
    """Parameters outside conv/linear weights (BN scale/shift, ...): dense 32-bit in every stage."""
    in_layers = {lay.weight_name for lay in layers} | {lay.bias_name for lay in layers if lay.bias_name}
    other = sum(v for k, v in params.items() if k not in in_layers)
    if not other:
        return None
    ob = ceil8(VALUE_BITS * other)
    return {"name": "(other parameters)", "kind": "other", "type": "", "shape": [],
            "params": other, "weights": 0, "nonzero": other, "weights_nonzero": 0, "keep": None,
            "fillers": 0,
            "bits": VALUE_BITS, "index_bits": None, "csr_numbers": None,
            "dense_bytes": ob, "pruned_bytes": ob, "quantized_bytes": ob, "huffman_bytes": ob,
            "macs": 0, "mac_bytes": 0}
