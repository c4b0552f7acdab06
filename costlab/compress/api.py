"""``costlab.compress.compress``: what a network costs after pruning, weight sharing,
Huffman coding (Deep Compression) or binarization (XNOR-Net), layer by layer.

Pipeline per conv / linear layer (one weight tensor each, shared tensors once):

1. **prune** (Han et al. 2015): keep the largest-magnitude fraction of the weights
   (``prune`` = fraction removed, per layer, per kind ``conv``/``fc`` or for all; or a
   paper's per-layer table, ``prune_table='han2015'``). Stored sparse with relative
   indices of ``index_bits`` bits (default 8 for conv, 5 for fc, Deep Compression Sec. 2)
   and filler zeros; values stay 32-bit.
2. **quantize** (weight sharing): ``bits`` per stored weight, i.e. ``k = 2^bits`` shared
   values found by 1-D k-means with linear initialisation on the layer's (surviving)
   weights; the codebook (``k`` x 32 bits) is counted. When a layer needs filler zeros,
   one code is reserved for 0 and k-means fits ``k - 1`` centroids.
3. **huffman**: the quantized weight codes and the relative-index differences are Huffman
   coded from their actual histograms; code tables are counted (one byte per symbol).

Sizes are bits rounded up to whole bytes per layer; ``dense`` is 32 bits per parameter.
Biases and every parameter outside conv/linear weights (BN scale/shift, ...) stay dense
32-bit in every stage (a row ``(other parameters)``); buffers (BN running statistics) are
not model parameters and are not counted. Nothing here changes the model: weights are
read, never written.
"""
from __future__ import annotations

import os
from typing import Sequence

import torch.nn as nn

from ..frontends import is_file_model
from ..spec import InputError, Resolved
from .layers import add_trace, dropout_targets, keep_full_layers, layers_of
from .notes import compression_notes, conventions
from .result import CompressionReport
from .settings import (DEFAULT_INDEX_BITS, KINDS, VALUE_BITS, as_int, check_bits,
                       check_settings, index_bits_per_layer, parse_spec, pruning_rates, settings_record)
from .stages import Plan, layer_rows, other_row
from .totals import LAYER_KEYS, STAGES, binarize_summary, stage_rows, totals
from .weights import load_weights, resolve_model, weight_tensors

__all__ = ["CompressionReport", "compress", "load_weights", "VALUE_BITS", "DEFAULT_INDEX_BITS", "KINDS",
           "STAGES", "LAYER_KEYS"]


def compress(model_or_spec: str | nn.Module | Resolved, *, prune=None, prune_table: str | None = None,
             bits=None, index_bits=None, huffman: bool = False, binarize: str | None = None,
             keep_full: Sequence[str] = ("first", "last"), weights: str | os.PathLike | None = None,
             seed: int = 0, input_shape=None, resolution: int | None = None,
             fit_sample: int | None = 2_000_000, progress: bool = False,
             name: str | None = None) -> CompressionReport:
    """Storage (and compute) of a model after pruning, weight sharing and Huffman coding,
    or after binarization; see the module docstring for every convention.

    ``prune``: fraction of weights removed, ``0.9`` or ``'conv=0.65,fc=0.91'`` or per layer
    path; ``prune_table``: ``'han2015'`` (Han et al. 2015 Tables 2-5, for lenet_300_100,
    lenet5, alexnet, vgg16). ``bits``: bits per shared weight (``k = 2^bits``), same forms.
    ``index_bits``: relative-index bits (default conv=8, fc=5). ``huffman``: Huffman-code
    the quantized weights and index differences. ``binarize``: ``'weights'`` (binary-weight
    network) or ``'weights,inputs'`` (XNOR-Net); ``keep_full``: layers left in full
    precision (``'first'``, ``'last'``, layer paths). ``weights``: a state-dict file
    (``torch.load(weights_only=True)``); without it a zoo model is built with freshly
    initialised weights (``torch.manual_seed(seed)``), whose histograms differ from trained
    ones. ``fit_sample``: k-means fits on at most this many weights per layer (seeded
    sample), then assigns all. The model is never modified.
    """
    binarize_variant = check_settings(prune, prune_table, bits, huffman, binarize)
    resolved, spec_for_trace, source = resolve_model(model_or_spec, name, weights, seed)
    model = resolved.model
    model_name = name or resolved.name
    if is_file_model(model):
        raise InputError(f"{model_name}: compress works on a PyTorch model's weights; a model file is read by "
                         "analyze, guidelines, compare, advise, plot and crosscheck")
    layers, params, dropouts = layers_of(model)
    if not layers:
        raise InputError(f"{model_name} has no conv or linear layer with its own weight: nothing to compress")
    tensors, source = weight_tensors(model, model_name, params, weights, source)

    keep, act_pct = pruning_rates(prune, prune_table, layers, model_name)
    qbits = parse_spec(bits, layers, "bits", as_int, check_bits)
    ibits = index_bits_per_layer(index_bits, layers)
    if huffman and not qbits and not any(k < 1.0 for k in keep.values()):
        raise InputError("--huffman codes quantized weights and sparse indices: add --bits (and/or --prune)")

    report = add_trace(layers, spec_for_trace, input_shape, resolution)
    full_precision = keep_full_layers(layers, keep_full, model_name) if binarize_variant else set()
    if binarize_variant and all(lay.path in full_precision for lay in layers):
        raise InputError(f"--binarize: --keep-full {','.join(keep_full)} keeps every conv/linear layer of "
                         f"{model_name} in full precision, so nothing is binarized; pass --keep-full none "
                         "(or fewer layers)")
    plan = Plan(keep, act_pct, qbits, ibits, huffman, binarize_variant, full_precision,
                dropout_targets(layers, dropouts), fit_sample, seed)

    done = layer_rows(layers, tensors, params, plan, f"compress {model_name}", progress)
    rows = done.rows
    other = other_row(layers, params)
    if other is not None:
        rows.append(other)

    tot = totals(rows, binarize_variant, act_pct)
    stages = stage_rows(tot, keep, qbits, binarize_variant, huffman)
    binfo = binarize_summary(rows, done.bin_layers, tot, binarize_variant, full_precision, layers) \
        if binarize_variant else None
    settings = settings_record(prune=prune, prune_table=prune_table, bits=bits, index_bits=index_bits,
                               huffman=huffman, binarize_variant=binarize_variant, full_precision=full_precision,
                               source=source, weights=weights, seed=seed, fit_sample=fit_sample,
                               quantized=bool(qbits), input_shape=report.input_shape)
    notes = compression_notes(done.notes, source, done.sampled, fit_sample, prune_table, rows,
                              binarized=bool(binarize_variant))
    return CompressionReport(model_name, settings, rows, tot, stages, notes, conventions(binarize_variant), binfo)
