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
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from ..spec import InputError, Resolved, resolve
from . import huffman as hf
from .binarize import binary_layer_cost, xnor_speedup
from .pruning import dropout_adjust, magnitude_prune
from .quantize import kmeans_1d
from .storage import csr_numbers, relative_index
from .tables import PRUNE_TABLES

VALUE_BITS = 32
DEFAULT_INDEX_BITS = {"conv": 8, "fc": 5}
KINDS = ("conv", "fc")
_CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
               nn.ConvTranspose3d)

STAGES = ("dense", "pruned", "quantized", "huffman")
LAYER_KEYS = ("name", "params", "nonzero", "dense_bytes", "pruned_bytes", "quantized_bytes",
              "huffman_bytes")


# ---------------------------------------------------------------------------------------
# the report

@dataclass
class CompressionReport:
    """Per-layer and total storage after each compression stage.

    ``layers``: one dict per conv/linear layer (execution order) plus ``(other
    parameters)``; ``totals``: sums and the final ratio; ``stages``: bytes after each stage
    and what each stage gained; ``notes``: what the numbers rest on (read them).
    """

    model: str
    settings: dict[str, Any]
    layers: list[dict[str, Any]]
    totals: dict[str, Any]
    stages: list[dict[str, Any]]
    notes: list[str]
    conventions: dict[str, str]
    binarize: dict[str, Any] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.layers)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "model": self.model,
            "settings": self.settings,
            "layers": self.layers,
            "totals": self.totals,
            "stages": self.stages,
            "notes": self.notes,
            "conventions": self.conventions,
        }
        if self.binarize is not None:
            d["binarize"] = self.binarize
        d.update(self.extras)
        return d

    def to_json(self, indent: int | None = 2) -> str:
        import json

        return json.dumps(self.to_dict(), indent=indent, default=_json_default)


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# ---------------------------------------------------------------------------------------
# layers of a model

@dataclass
class _Layer:
    path: str
    kind: str                  # 'conv' | 'fc'
    module_type: str
    weight_name: str
    bias_name: str | None
    shape: tuple[int, ...]
    out: int                   # filters / output features (rows of the CSR view)
    reg: int = 0               # registration order (named_modules)
    order: int = 10 ** 9       # first execution (trace order)
    macs: int = 0
    mac_bytes: int = 0

    @property
    def weights(self) -> int:
        return int(np.prod(self.shape))


def _layers_of(model: nn.Module) -> tuple[list[_Layer], dict[str, int], list[tuple[str, float, int]]]:
    """Compressible layers, every unique parameter (name -> numel), and dropout modules
    (path, p, registration index of the layer before it)."""
    seen: dict[int, str] = {}
    params: dict[str, int] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) not in seen:
            seen[id(p)] = name
            params[name] = p.numel()
    layers: list[_Layer] = []
    weight_ids: set[int] = set()
    dropouts: list[tuple[str, float, int]] = []
    for path, m in model.named_modules():
        if isinstance(m, nn.Dropout):
            dropouts.append((path, float(m.p), len(layers) - 1))
            continue
        if not isinstance(m, _CONV_TYPES + (nn.Linear,)):
            continue
        w = getattr(m, "weight", None)
        if not isinstance(w, nn.Parameter) or id(w) in weight_ids:
            continue
        weight_ids.add(id(w))
        b = getattr(m, "bias", None)
        kind = "fc" if isinstance(m, nn.Linear) else "conv"
        shape = tuple(int(d) for d in w.shape)
        out = shape[0] if not isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)) \
            else shape[1] * m.groups
        layers.append(_Layer(path, kind, type(m).__name__, seen[id(w)],
                             seen.get(id(b)) if isinstance(b, nn.Parameter) else None, shape, out,
                             reg=len(layers)))
    return layers, params, dropouts


# ---------------------------------------------------------------------------------------
# settings parsing

def _parse_spec(spec, layers: list[_Layer], what: str, cast, check) -> dict[str, Any]:
    """``0.9`` / ``'0.9'`` / ``'conv=0.65,fc=0.91'`` / ``'features.conv1=0.5'`` / dict ->
    value per layer path (layer key > kind key > bare value); layers without a value are
    left out."""
    if spec is None:
        return {}
    items: list[tuple[str | None, Any]] = []
    if isinstance(spec, Mapping):
        items = [(str(k), v) for k, v in spec.items()]
    elif isinstance(spec, (int, float)) and not isinstance(spec, bool):
        items = [(None, spec)]
    else:
        for part in str(spec).split(","):
            part = part.strip()
            if not part:
                continue
            key, eq, val = part.rpartition("=")
            items.append((key.strip() if eq else None, val.strip()))
    if not items:
        raise InputError(f"--{what}: empty setting; write a value (e.g. 0.9) or kind=value pairs "
                         "(conv=...,fc=...)")
    paths = [lay.path for lay in layers]
    default, by_kind, by_path = None, {}, {}
    for key, raw in items:
        try:
            value = cast(raw)
        except (TypeError, ValueError):
            raise InputError(f"--{what}: bad value {raw!r}" + (f" for '{key}'" if key else "")) from None
        msg = check(value)
        if msg:
            raise InputError(f"--{what}: {msg}, got {raw!r}" + (f" for '{key}'" if key else ""))
        if key is None or key in ("*", "all", "default"):
            default = value
        elif key in KINDS:
            by_kind[key] = value
        else:
            hits = [p for p in paths if p == key] or [p for p in paths if p.endswith("." + key)]
            if len(hits) != 1:
                some = ", ".join(paths[:4]) + (", ..." if len(paths) > 4 else "")
                why = "matches several layers" if hits else "is no layer or kind of this model"
                raise InputError(f"--{what}: '{key}' {why}; use conv=, fc=, a bare value for all "
                                 f"layers, or a layer path ({some})")
            by_path[hits[0]] = value
    out = {}
    for lay in layers:
        if lay.path in by_path:
            out[lay.path] = by_path[lay.path]
        elif lay.kind in by_kind:
            out[lay.path] = by_kind[lay.kind]
        elif default is not None:
            out[lay.path] = default
    return out


def _check_rate(v: float) -> str | None:
    return None if 0.0 <= v < 1.0 else "pruning rate (fraction of weights removed) must lie in [0, 1)"


def _check_bits(v: int) -> str | None:
    return None if 1 <= v <= 16 else "bits must lie in 1..16"


def _check_index(v: int) -> str | None:
    return None if 1 <= v <= 16 else "index bits must lie in 1..16"


def _int(raw) -> int:
    if isinstance(raw, float) and not raw.is_integer():
        raise ValueError
    return int(str(raw))


# ---------------------------------------------------------------------------------------
# weights

def load_weights(path: str | os.PathLike, model: nn.Module, model_name: str) -> dict[str, torch.Tensor]:
    """A state dict for ``model`` from ``path`` (``torch.load(weights_only=True)``), checked
    key by key and shape by shape; anything else is refused with a one-line InputError."""
    path = os.fspath(path)
    fix = f"save one with torch.save(model.state_dict(), '{path}')"
    if not os.path.isfile(path):
        raise InputError(f"weights file '{path}' does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  (any unpickling failure means: not a plain state dict)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read '{path}' as a weights-only torch file ({first}); {fix}") from None
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, Mapping) or not obj or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise InputError(f"'{path}' holds a {type(obj).__name__}, not a state dict (names -> tensors); {fix}")
    sd = dict(obj)
    if all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    expected = model.state_dict()
    params = {n for n, _ in model.named_parameters(remove_duplicate=False)}
    missing = [k for k in expected if k not in sd and k in params]
    unexpected = [k for k in sd if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing '{missing[0]}'" + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
        if unexpected:
            parts.append(f"unexpected '{unexpected[0]}'"
                         + (f" and {len(unexpected) - 1} more" if len(unexpected) > 1 else ""))
        raise InputError(f"'{path}' is not a state dict for {model_name}: {'; '.join(parts)}; {fix}")
    for k, t in sd.items():
        want = tuple(expected[k].shape)
        if tuple(t.shape) != want:
            fmt = lambda s: "x".join(str(d) for d in s) or "scalar"  # noqa: E731
            raise InputError(f"'{path}' is not a state dict for {model_name}: '{k}' is {fmt(t.shape)} "
                             f"in the file but {fmt(want)} in the model; {fix}")
    return sd


def _as_numpy(t: torch.Tensor) -> np.ndarray:
    """A float32 numpy view/copy of a tensor, never aliasing memory we could write."""
    a = t.detach().to("cpu", torch.float32).numpy()
    a.flags.writeable = False
    return a


# ---------------------------------------------------------------------------------------
# the pass

def _as_setting(v):
    """A setting as the user gave it, JSON-safe (per-layer values are in the layer rows)."""
    if v is None or isinstance(v, (int, float, str)):
        return v
    if isinstance(v, Mapping):
        return {str(k): x for k, x in v.items()}
    return str(v)


def _ceil8(bits: int) -> int:
    return (int(bits) + 7) // 8


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
    # -- settings that need no model (checked first: fail fast) ------------------------
    binarize_variant = None
    if binarize is not None:
        parts = {p.strip() for p in str(binarize).replace("+", ",").split(",") if p.strip()}
        if parts == {"weights"}:
            binarize_variant = "weights"
        elif parts == {"weights", "inputs"}:
            binarize_variant = "xnor"
        else:
            raise InputError(f"--binarize: write 'weights' (binary-weight network) or 'weights,inputs' "
                             f"(XNOR-Net), got {binarize!r}")
        if prune is not None or prune_table is not None or bits is not None or huffman:
            raise InputError("--binarize replaces pruning, quantization and Huffman coding; "
                             "drop --prune/--prune-table/--bits/--huffman")
    if prune is not None and prune_table is not None:
        raise InputError("give --prune or --prune-table, not both")

    if huffman and bits is None and prune is None and prune_table is None:
        raise InputError("--huffman codes quantized weights and sparse indices: add --bits (and/or --prune)")

    # -- the model and its weights ------------------------------------------------------
    if isinstance(model_or_spec, nn.Module):
        resolved = Resolved(name or type(model_or_spec).__name__, model_or_spec, None, {})
        spec_for_trace: Any = resolved
        source = "module"
    elif isinstance(model_or_spec, Resolved):
        resolved, spec_for_trace, source = model_or_spec, model_or_spec, "module"
    else:
        spec = str(model_or_spec)
        if weights is not None:
            resolved = resolve(spec)                      # zoo: meta build (no init cost)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                resolved = resolve(spec, device="cpu")
        spec_for_trace = spec if resolved.entry is not None else resolved
        source = "init"
    model = resolved.model
    model_name = name or resolved.name
    layers, params, dropouts = _layers_of(model)
    if not layers:
        raise InputError(f"{model_name} has no conv or linear layer with its own weight: nothing to compress")

    if weights is not None:
        sd = load_weights(weights, model, model_name)
        tensors = {k: sd[k] for k in params if k in sd}
        source = "file"
    else:
        named = dict(model.named_parameters(remove_duplicate=False))
        if any(named[k].device.type == "meta" for k in params):
            raise InputError(f"{model_name} lives on the meta device (no weight values); pass weights=FILE "
                             "or a model with real weights")
        tensors = {k: named[k] for k in params}

    keep: dict[str, float] = {}
    act_pct: dict[str, float] = {}
    if prune_table is not None:
        if prune_table not in PRUNE_TABLES:
            raise InputError(f"--prune-table: unknown table '{prune_table}' (known: {', '.join(PRUNE_TABLES)})")
        table, _src = PRUNE_TABLES[prune_table]
        rows = table.get(model_name)
        if rows is None:
            raise InputError(f"--prune-table {prune_table} has per-layer rates for {', '.join(table)} "
                             f"(zoo defaults), not for {model_name}; use --prune with per-layer values")
        paths = {lay.path for lay in layers}
        if set(rows) - paths:
            raise InputError(f"--prune-table {prune_table}: layers {sorted(set(rows) - paths)} not in {model_name}")
        keep = {p: v[0] for p, v in rows.items()}
        act_pct = {p: v[1] for p, v in rows.items()}
    else:
        keep = {p: 1.0 - r for p, r in _parse_spec(prune, layers, "prune", float, _check_rate).items()}
    qbits = _parse_spec(bits, layers, "bits", _int, _check_bits)
    ibits_given = _parse_spec(index_bits, layers, "index-bits", _int, _check_index)
    ibits = {lay.path: ibits_given.get(lay.path, DEFAULT_INDEX_BITS[lay.kind]) for lay in layers}
    if huffman and not qbits and not any(k < 1.0 for k in keep.values()):
        raise InputError("--huffman codes quantized weights and sparse indices: add --bits (and/or --prune)")

    # -- MACs per layer from the trace (one pass over the IR) -----------------------------
    from ..api import analyze

    report = analyze(spec_for_trace, input_shape=input_shape, resolution=resolution)
    by_path = {lay.path: lay for lay in layers}
    for i, row in enumerate(report.layers.itertuples(index=False)):
        lay = by_path.get(row.module)
        if lay is None or not row.macs:
            continue
        lay.order = min(lay.order, i)
        lay.macs += int(row.macs)
        lay.mac_bytes += int(row.mac_bytes)
    layers.sort(key=lambda lay: lay.order)

    full_precision: set[str] = set()
    if binarize_variant:
        executed = [lay for lay in layers if lay.order < 10 ** 9] or layers
        for item in keep_full:
            item = item.strip()
            if not item or item == "none":
                continue
            if item == "first":
                full_precision.add(executed[0].path)
            elif item == "last":
                full_precision.add(executed[-1].path)
            else:
                hits = [lay.path for lay in layers if lay.path == item or lay.path.endswith("." + item)]
                if len(hits) != 1:
                    raise InputError(f"--keep-full: '{item}' is no single layer of {model_name} "
                                     "(use first, last, none or a layer path)")
                full_precision.add(hits[0])

    # dropout -> the layer before it in registration order (the one whose outputs it drops)
    reg_order = [lay.path for lay in sorted(layers, key=lambda lay: lay.reg)]
    drop_for: dict[str, tuple[str, float]] = {}
    for dpath, p, before in dropouts:
        target = reg_order[before] if before >= 0 else (reg_order[0] if reg_order else None)
        if target is not None and target not in drop_for:
            drop_for[target] = (dpath, p)

    # -- per layer ------------------------------------------------------------------------
    from tqdm import tqdm

    rows_out: list[dict[str, Any]] = []
    bin_layers: list[dict[str, Any]] = []
    notes: list[str] = []
    sampled: list[str] = []
    act_in = 1.0
    it = tqdm(layers, desc=f"compress {model_name}", unit="layer", disable=not progress, leave=False)
    for lay in it:
        it.set_postfix_str(lay.path[-30:], refresh=False)
        w = _as_numpy(tensors[lay.weight_name]).reshape(-1)
        n = w.size
        bias_n = params.get(lay.bias_name, 0) if lay.bias_name else 0
        bias_bits = VALUE_BITS * bias_n
        dense_bits = VALUE_BITS * n + bias_bits
        rec: dict[str, Any] = {"name": lay.path, "kind": lay.kind, "type": lay.module_type,
                               "shape": list(lay.shape), "params": n + bias_n, "weights": n}
        if binarize_variant:
            binarized = lay.path not in full_precision
            rec["binarized"] = binarized
            if binarized:
                cost = binary_layer_cost(n, lay.out, lay.macs, binarize_variant)
                cost["alpha_mean"] = float(np.abs(w).mean())   # mean of the per-filter alphas
                qbits_total = cost["weight_bits"] + bias_bits
                bin_layers.append({"name": lay.path, "macs": lay.macs, **cost})
            else:
                qbits_total = dense_bits
            rec.update(nonzero=n + bias_n, weights_nonzero=n, keep=1.0, fillers=0, bits=1 if binarized else VALUE_BITS, index_bits=None,
                       dense_bytes=_ceil8(dense_bits), pruned_bytes=_ceil8(dense_bits),
                       quantized_bytes=_ceil8(qbits_total), huffman_bytes=_ceil8(qbits_total),
                       csr_numbers=None, macs=lay.macs, mac_bytes=lay.mac_bytes)
            rows_out.append(rec)
            continue

        kp = keep.get(lay.path, 1.0)
        pruned = kp < 1.0
        b_idx = ibits[lay.path]
        if pruned:
            pos = magnitude_prune(w, kp, seed)
            ri = relative_index(pos, b_idx)
            vals = w[pos]
            entries, fillers = ri.entries, ri.fillers
            pruned_bits = entries * (VALUE_BITS + b_idx) + bias_bits
        else:
            ri = None
            vals = w
            entries, fillers = n, 0
            pruned_bits = dense_bits
            zeros = n - int(np.count_nonzero(w))
            if zeros >= n // 2 and n >= 64:
                notes.append(f"{lay.path}: {zeros / n:.0%} of its weights are already zero but it is stored "
                             "dense; pass --prune for it to store it sparse")
        nonzero = int(vals.size)
        rec.update(nonzero=nonzero + bias_n, weights_nonzero=nonzero, keep=nonzero / n if n else 1.0,
                   fillers=fillers,
                   bits=qbits.get(lay.path), index_bits=b_idx if pruned else None,
                   csr_numbers=csr_numbers(nonzero, lay.out) if pruned else None)
        # -- quantization
        q = qbits.get(lay.path)
        wsym = None
        if q is not None:
            k = 1 << q
            k_fit = k - 1 if fillers > 0 else k
            km = kmeans_1d(vals, max(1, k_fit), fit_sample=fit_sample, seed=seed)
            if km.fitted_on < nonzero:
                sampled.append(lay.path)
            wsym = km.counts if fillers == 0 else np.concatenate([km.counts, [fillers]])
            codebook_bits = k * VALUE_BITS
            quant_bits = entries * (q + (b_idx if pruned else 0)) + codebook_bits + bias_bits
            rec.update(k=k, codes_used=int(np.count_nonzero(km.counts)) + (1 if fillers else 0),
                       kmeans_iterations=km.iterations, kmeans_fitted_on=km.fitted_on,
                       quant_rmse=km.rmse)
        else:
            codebook_bits = 0
            quant_bits = pruned_bits
        # -- Huffman
        if huffman and (q is not None or pruned):
            hb = bias_bits + codebook_bits
            if q is not None:
                wcoded = hf.coded_bits(wsym)
                hb += wcoded + hf.table_bits(len(wsym))
                rec["weight_bits_huffman"] = wcoded / entries if entries else 0.0
            else:
                hb += entries * VALUE_BITS
            if pruned:
                icoded = hf.coded_bits(ri.gap_hist)
                hb += icoded + hf.table_bits(ri.gap_hist.size)
                rec["index_bits_huffman"] = icoded / entries if entries else 0.0
            # an encoder keeps the fixed-length codes when Huffman (with its tables) is no smaller
            rec["huffman_applied"] = hb < quant_bits
            huff_bits = min(hb, quant_bits)
        else:
            huff_bits = quant_bits
        rec.update(dense_bytes=_ceil8(dense_bits), pruned_bytes=_ceil8(pruned_bits),
                   quantized_bytes=_ceil8(quant_bits), huffman_bytes=_ceil8(huff_bits))
        # -- compute and memory access after pruning
        density = nonzero / n if n else 1.0
        rec["macs"] = lay.macs
        rec["macs_pruned"] = int(round(lay.macs * density))
        rec["flop_pct"] = density if lay.macs else None
        if act_pct:
            rec["flop_pct_act"] = density * act_in if lay.macs else None
            act_in = act_pct.get(lay.path, 1.0)
        dense_w_bytes = 4 * n   # the trace counted weights at float32
        rec["mac_bytes"] = lay.mac_bytes
        rec["mac_bytes_pruned"] = lay.mac_bytes - dense_w_bytes + _ceil8(pruned_bits - bias_bits) \
            if lay.mac_bytes else 0
        rec["mac_bytes_compressed"] = lay.mac_bytes - dense_w_bytes + _ceil8(huff_bits - bias_bits) \
            if lay.mac_bytes else 0
        if lay.path in drop_for:
            dpath, d_o = drop_for[lay.path]
            rec["dropout"] = dpath
            rec["dropout_rate"] = d_o
            rec["dropout_rate_retrain"] = dropout_adjust(d_o, nonzero, n)
        rows_out.append(rec)

    # -- parameters outside conv/linear weights ----------------------------------------------
    in_layers = {lay.weight_name for lay in layers} | {lay.bias_name for lay in layers if lay.bias_name}
    other = sum(v for k, v in params.items() if k not in in_layers)
    if other:
        ob = _ceil8(VALUE_BITS * other)
        rows_out.append({"name": "(other parameters)", "kind": "other", "type": "", "shape": [],
                         "params": other, "weights": 0, "nonzero": other, "weights_nonzero": 0, "keep": None,
                         "fillers": 0,
                         "bits": VALUE_BITS, "index_bits": None, "csr_numbers": None,
                         "dense_bytes": ob, "pruned_bytes": ob, "quantized_bytes": ob, "huffman_bytes": ob,
                         "macs": 0, "mac_bytes": 0})

    # -- totals and stages -------------------------------------------------------------------
    tot = {k: int(sum(r[k] for r in rows_out)) for k in ("params", "nonzero", "dense_bytes", "pruned_bytes",
                                                          "quantized_bytes", "huffman_bytes")}
    tot["weights"] = int(sum(r["weights"] for r in rows_out))
    tot["weights_nonzero"] = int(sum(r["weights_nonzero"] for r in rows_out))
    tot["fillers"] = int(sum(r.get("fillers") or 0 for r in rows_out))
    tot["compressed_bytes"] = tot["huffman_bytes"]
    tot["ratio"] = tot["dense_bytes"] / tot["compressed_bytes"] if tot["compressed_bytes"] else float("inf")
    tot["pruning_rate"] = tot["weights"] / tot["weights_nonzero"] if tot["weights_nonzero"] else float("inf")
    macs = sum(r.get("macs") or 0 for r in rows_out)
    tot["macs"] = int(macs)
    if not binarize_variant:
        tot["macs_pruned"] = int(sum(r.get("macs_pruned") or 0 for r in rows_out))
        tot["flop_pct"] = tot["macs_pruned"] / macs if macs else None
        if act_pct:
            tot["flop_pct_act"] = (sum((r.get("flop_pct_act") or 0) * (r.get("macs") or 0) for r in rows_out)
                                   / macs if macs else None)
        tot["mac_bytes"] = int(sum(r.get("mac_bytes") or 0 for r in rows_out))
        tot["mac_bytes_pruned"] = int(sum(r.get("mac_bytes_pruned") or 0 for r in rows_out))
        tot["mac_bytes_compressed"] = int(sum(r.get("mac_bytes_compressed") or 0 for r in rows_out))
    stages = []
    prev = None
    labels = {"dense": "dense fp32", "pruned": "pruned (sparse fp32 + relative index)",
              "quantized": "weight sharing (codes + codebook)", "huffman": "Huffman coding"}
    if binarize_variant:
        labels["quantized"] = "binarized (sign bits + alpha per filter)"
    applied = {"dense": True, "pruned": any(k < 1.0 for k in keep.values()),
               "quantized": bool(qbits) or bool(binarize_variant), "huffman": bool(huffman)}
    for st in STAGES:
        if not applied[st]:
            continue
        b = tot[f"{st}_bytes"]
        stages.append({"stage": st, "label": labels[st], "bytes": b,
                       "ratio": tot["dense_bytes"] / b if b else None,
                       "gain": (prev / b) if prev and b else None})
        prev = b

    binfo = None
    if binarize_variant:
        bl = bin_layers
        mem_dense = sum(_ceil8(VALUE_BITS * r["weights"]) for r in rows_out
                        if r.get("binarized"))
        mem_bin = sum(_ceil8(r["weight_bits"]) for r in bl)
        binfo = {"variant": "XNOR-Net (binary weights and inputs)" if binarize_variant == "xnor"
                 else "binary-weight network (BWN)",
                 "full_precision_layers": sorted(full_precision, key=lambda p: by_path[p].order),
                 "binarized_layers": len(bl),
                 "memory_saving_binarized_weights": mem_dense / mem_bin if mem_bin else None,
                 "memory_saving_model": tot["ratio"],
                 "layers": bl}
        bmacs = sum(r["macs"] for r in bl)
        fp_macs = macs - bmacs
        if binarize_variant == "xnor":
            eq = sum(r["hp_equiv_after"] for r in bl)
            binfo["conv_op_saving"] = bmacs / eq if eq else None
            binfo["model_op_saving"] = macs / (fp_macs + eq) if (fp_macs + eq) else None
            binfo["xnor_popcount_words"] = int(sum(r["xnor_popcount_words"] for r in bl))
            binfo["speedup_formula"] = "S = 64 c N_W / (c N_W + 64) per layer; c N_W = weights per filter"
            binfo["speedup_example_c256_3x3"] = xnor_speedup(256, 9)
        else:
            hp_after = sum(r["hp_ops_after"] for r in bl)
            binfo["conv_op_saving"] = 2 * bmacs / hp_after if hp_after else None
            binfo["model_op_saving"] = (2 * macs) / (2 * fp_macs + hp_after) if (2 * fp_macs + hp_after) else None

    # -- settings, notes, conventions ----------------------------------------------------------
    settings: dict[str, Any] = {
        "prune": _as_setting(prune),
        "prune_table": prune_table,
        "bits": _as_setting(bits),
        "index_bits": _as_setting(index_bits) if index_bits is not None else "conv=8,fc=5 (default)",
        "huffman": bool(huffman),
        "binarize": binarize_variant,
        "keep_full": sorted(full_precision) if binarize_variant else None,
        "weights": source,
        "weights_file": os.fspath(weights) if weights is not None else None,
        "seed": seed,
        "kmeans": {"init": "linear", "fit_sample": fit_sample} if qbits else None,
        "value_bits": VALUE_BITS,
        "input_shape": report.input_shape,
    }
    if source == "init":
        notes.insert(0, "sizes come from freshly initialised weights: their histograms (and so the "
                        "pruning pattern, the codebook and the Huffman gains) differ from trained ones; "
                        "pass --weights FILE for a trained checkpoint")
    if sampled:
        notes.append(f"k-means codebooks fitted on a seeded sample of {fit_sample:,} weights for "
                     f"{len(sampled)} large layer(s) ({', '.join(sampled[:3])}{', ...' if len(sampled) > 3 else ''}); "
                     "every weight is then assigned to its nearest centroid")
    if prune_table:
        notes.append(f"pruning rates: {PRUNE_TABLES[prune_table][1]}")
    skipped = [r["name"] for r in rows_out if r.get("huffman_applied") is False]
    if skipped:
        notes.append(f"Huffman coding not applied to {len(skipped)} layer(s) ({', '.join(skipped[:3])}"
                     f"{', ...' if len(skipped) > 3 else ''}): with its code tables it would not be smaller "
                     "than the fixed-length codes")
    conventions = {
        "dense": f"{VALUE_BITS} bits per parameter (fp32); buffers (BN running stats) not counted",
        "pruned": "magnitude pruning per layer (largest |w| kept); sparse storage: 32-bit values + relative "
                  "index of index_bits bits per entry, filler zeros when a gap exceeds 2^index_bits "
                  "(Deep Compression Sec. 2); csr_numbers = 2a + n + 1 (a non-zeros, n rows = filters)",
        "quantized": "k = 2^bits shared weights per layer by 1-D k-means with linear init; codes of bits bits "
                     "(+ index bits when sparse) per entry + codebook k x 32 bits; one code reserved for 0 "
                     "when the layer has fillers",
        "huffman": "Huffman codes from the layer's actual histograms of weight codes and index differences, "
                   "plus one byte per alphabet symbol for each code table; a layer keeps its fixed-length codes when "
                   "Huffman is no smaller (huffman_applied = false)",
        "bias": "biases and non-conv/linear parameters stay 32-bit in every stage",
        "macs_pruned": "macs x weight density (dense input activations); flop_pct_act also multiplies by the "
                       "paper's Act% of the layer's input (Han et al. 2015 FLOP% column)",
        "mac_bytes": "memory access cost of the layer (ShuffleNet V2), with the weights read as stored "
                     "after pruning (mac_bytes_pruned) or after all stages (mac_bytes_compressed)",
        "bytes": "bits rounded up to whole bytes per layer; MB = 1e6 bytes, MiB = 2^20 bytes",
    }
    if binarize_variant:
        conventions["binarize"] = ("sign bit per weight + one fp32 alpha = mean|W| per filter; first/last layer "
                                   "kept in full precision unless --keep-full none; XNOR speed-up "
                                   "S = 64 c N_W / (c N_W + 64)")
    return CompressionReport(model_name, settings, rows_out, tot, stages, notes, conventions, binfo)

