"""The block cache of prediction: zoo specs traced once, and their latency features composed
from their blocks.

**Samples.** A zoo spec at an input shape is traced once per process (:func:`sample_graph`,
``functools.lru_cache``); every fit, validation, search and sweep reads graphs and features
from here, so all granularities share one code path. :func:`predict_spec` predicts one with
its profile's form (:mod:`costlab.latency.forms`).

**Blocks.**
A search space has far fewer distinct blocks than architectures (FBNet: 110 distinct
(block, input shape) pairs behind 9^22 architectures), and costs compose by block
(:attr:`costlab.zoo.registry.ModelEntry.blocks`). So a spec is never traced whole when its
zoo entry declares a decomposition: :func:`spec_features` sums the per-class features of its
blocks (:func:`sample_features`, traced and cached once per
(spec, shape, dtype, fusion)); a spec without a decomposition is traced once (cached).

Whole-network features equal the sum of block features exactly when no fusion rule joins
an op of one block to the kernel of an op in the block before it (a rule applies to an op
whose *input* comes from the kernel it would join; a block traced alone starts from a graph
input, which joins nothing). Every block of the FBNet space starts with a convolution, which
joins no kernel under any rule, and the identity ``skip`` has no ops, so FBNet's block sums
equal its whole-network features under every fusion set (checked in ``tests/test_fewshot.py``).
A space whose blocks start with an activation or batch norm (pre-activation ResNets) would
differ under ``conv+act`` / ``conv+bn``: there the block sum counts that op as its own kernel.

:class:`SpecSet` holds many specs at once as block counts: linear features
(``features(rows)``), the per-kernel features of the ``max`` predictor form under given
coefficients (``regime_features``) and predictions (``predict``), all from the node arrays of
the distinct blocks. Predicting 5,000 FBNet architectures costs one sparse matrix product.
The per-kernel rule (``sum`` / ``max``) is the per-class form's
(:func:`costlab.latency.forms.per_class.kernel_ms`), not restated here.

This module sits beside search and sweep, above the facade: it traces (through
:func:`costlab.api.analyze`); the forms below it only compute.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import sparse

from .api import analyze
from .errors import CostlabError, InputError, SpecError, reworded
from .frontends import is_file_spec
from .ir import Graph
from .latency.features import CLASSES, FUSED_EXP, TERMS, feature_matrix, node_costs, own_kernels
from .latency.forms.per_class import kernel_ms
from .latency.predict import predict_graph
from .latency.profile import load_profile
from .spec import file_input_shape

NF = len(CLASSES) * len(TERMS)          # raw features per sample (class-major, term-minor)
_CIDX = {c: i for i, c in enumerate(CLASSES)}
_MAX_DEPTH = 4                           # blocks of blocks are expanded this deep at most


def _fusion_key(fusion) -> tuple[str, ...]:
    return tuple(sorted(set(fusion or ())))


@functools.lru_cache(maxsize=1024)
def _graph(spec: str, shape: tuple[int, ...]) -> tuple[Graph, float]:
    rep = analyze(spec, input_shape=[shape])
    return rep.graph, float(rep.totals["macs"])


@functools.lru_cache(maxsize=4096)
def _sample_features(spec: str, shape: tuple[int, ...], dtype: str, fusion: tuple[str, ...]):
    graph, macs = _graph(spec, shape)
    f = feature_matrix(node_costs(graph, dtype, fusion))
    f.setflags(write=False)
    return f, macs / 1e9


def sample_graph(spec: str, input_shape) -> tuple[Graph, float]:
    """(traced graph, total MACs) of zoo spec ``spec`` at ``input_shape`` (cached)."""
    return _graph(spec, tuple(int(x) for x in input_shape))


def sample_features(spec: str, input_shape, dtype: str = "float32", fusion=()) -> tuple[np.ndarray, float]:
    """(per-class features (classes x terms), total GMACs) of a zoo spec at ``input_shape``;
    traced once per process per (spec, shape)."""
    return _sample_features(spec, tuple(int(x) for x in input_shape), dtype, tuple(sorted(set(fusion or ()))))


def predict_spec(spec: str, input_shape, profile, runtime: str | None = None) -> float:
    """Predicted ms of zoo spec ``spec`` at ``input_shape`` (traced once per process), by the
    profile's form: the same number as ``costlab.analyze(spec, device=profile)`` before rounding."""
    profile = load_profile(profile)
    return float(predict_graph(sample_graph(spec, input_shape)[0], profile, runtime).total_ms)


def normalize_shape(input_shape) -> tuple[int, ...] | None:
    """``(1, 3, 32, 32)``, ``[[1, 3, 32, 32]]`` or ``'1x3x32x32'`` -> a tuple; ``None`` stays ``None``."""
    if input_shape is None:
        return None
    if isinstance(input_shape, str):
        from .spec import parse_input_shape

        shapes = parse_input_shape(input_shape)
        if len(shapes) != 1:
            raise InputError(f"one input shape expected, got '{input_shape}'")
        return tuple(shapes[0])
    shape = input_shape
    if isinstance(shape, (list, tuple)) and len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = shape[0]
    try:
        out = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise InputError(f"bad input shape {input_shape!r}: write dimensions, e.g. 1x3x224x224") from None
    if not out or any(d <= 0 for d in out):
        raise InputError(f"bad input shape {input_shape!r}: every dimension must be positive")
    return out


def default_shape(spec: str, batch: int = 1) -> tuple[int, ...]:
    """The zoo entry's input (its paper's resolution) with batch ``batch``; a model file's own."""
    from .zoo.registry import parse_spec

    if is_file_spec(spec):
        return file_input_shape(spec, batch=batch)

    entry, _ = parse_spec(spec)
    return (int(batch),) + tuple(entry.default_input_shape()[1:])


@functools.lru_cache(maxsize=1 << 16)
def _blocks(spec: str, shape: tuple[int, ...], depth: int = 0) -> tuple[tuple[str, tuple[int, ...]], ...]:
    from .zoo.registry import parse_spec

    if is_file_spec(spec):                 # a model file: traced (read) whole, as a spec without blocks
        return ((spec, shape),)
    entry, knobs = parse_spec(spec)
    if entry.blocks is None or depth >= _MAX_DEPTH:
        return ((spec, shape),)
    parts = entry.blocks(shape, **knobs)
    if not parts:
        raise SpecError(f"zoo entry '{entry.name}' declares an empty block decomposition for '{spec}'")
    out: list[tuple[str, tuple[int, ...]]] = []
    for bspec, bshape in parts:
        out.extend(_blocks(str(bspec), tuple(int(d) for d in bshape), depth + 1))
    return tuple(out)


def spec_blocks(spec: str, input_shape=None) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(block spec, block input shape) pairs whose costs add up to ``spec`` at ``input_shape``
    (the zoo entry's decomposition, expanded recursively; ``((spec, shape),)`` without one).
    Raises :class:`~costlab.errors.SpecError` for an unknown spec or bad knob value."""
    shape = normalize_shape(input_shape) or default_shape(spec)
    return _blocks(spec, shape)


@functools.lru_cache(maxsize=1 << 16)
def _spec_features(spec: str, shape: tuple[int, ...], dtype: str, fusion: tuple[str, ...]):
    f = np.zeros((len(CLASSES), len(TERMS)))
    g = 0.0
    for bspec, bshape in _blocks(spec, shape):
        bf, bg = sample_features(bspec, bshape, dtype, fusion)
        f += bf
        g += bg
    f.setflags(write=False)
    return f, g


def spec_features(spec: str, input_shape=None, dtype: str = "float32", fusion=()) -> tuple[np.ndarray, float]:
    """(per-class features, shape ``(len(CLASSES), len(TERMS))``, and total GMACs) of zoo spec
    ``spec`` at ``input_shape`` (default: the entry's own input, batch 1), summed over the
    entry's blocks when it declares them (each block traced once per process), else traced
    whole once. The result is cached and read-only."""
    shape = normalize_shape(input_shape) or default_shape(spec)
    return _spec_features(spec, shape, dtype, _fusion_key(fusion))


@dataclass(frozen=True)
class BlockNodes:
    """The kernels of one block after fusion: latency class index and GMAC / MB / Mpix each."""

    cls: np.ndarray
    gmac: np.ndarray
    mb: np.ndarray
    mpix: np.ndarray
    fused: np.ndarray          # G elements of exponential activations fused into each kernel


@functools.lru_cache(maxsize=1 << 16)
def block_nodes(spec: str, shape: tuple[int, ...], dtype: str = "float32", fusion: tuple[str, ...] = ()) -> BlockNodes:
    """Per-kernel features of one (block spec, shape) after the fusion rules (cached)."""
    graph, _ = sample_graph(spec, shape)
    own, fx = own_kernels(node_costs(graph, dtype, fusion))
    arr = [np.array([_CIDX[nc.cls] for nc in own], dtype=np.int64),
           np.array([nc.gmac for nc in own], dtype=float),
           np.array([nc.mb for nc in own], dtype=float),
           np.array([nc.mpix for nc in own], dtype=float),
           fx]
    for a in arr:
        a.setflags(write=False)
    return BlockNodes(*arr)


def _at_item(exc: CostlabError, i: int, spec: str) -> CostlabError:
    """The same error kind, its message prefixed with the spec; ``.item`` = the item's index."""
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    out = reworded(exc, msg if spec in msg else f"{spec}: {msg}", SpecError)
    out.item = i
    return out


class SpecSet:
    """Many (spec, input shape) items as counts of distinct blocks.

    ``counts`` (sparse, items x blocks) says how often each distinct block occurs in each
    item; features and predictions of all items are products with per-block quantities, so
    a block shared by 5,000 architectures is computed once."""

    def __init__(self, items: Sequence[tuple[str, tuple[int, ...] | None]], dtype: str = "float32", fusion=(),
                 progress: bool = False):
        self.dtype = dtype
        self.fusion = _fusion_key(fusion)
        index: dict[tuple[str, tuple[int, ...]], int] = {}
        first: list[int] = []
        rows, cols = [], []
        for i, (spec, shape) in enumerate(items):
            try:
                keys = spec_blocks(spec, shape)
            except CostlabError as exc:
                raise _at_item(exc, i, spec) from None
            for key in keys:
                j = index.setdefault(key, len(index))
                if j == len(first):
                    first.append(i)
                rows.append(i)
                cols.append(j)
        self.n = len(items)
        self.blocks = list(index)
        B = len(self.blocks)
        self.counts = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(self.n, B))
        it = self.blocks
        if progress and B > 20:
            from tqdm import tqdm

            it = tqdm(self.blocks, desc="tracing distinct blocks", unit="block", leave=False, disable=None)
        lin = np.zeros((B, NF))
        gm = np.zeros(B)
        cls, g, mb, px, fx, owner = [], [], [], [], [], []
        for j, (bspec, bshape) in enumerate(it):
            try:
                f, bg = sample_features(bspec, bshape, dtype, self.fusion)
                nd = block_nodes(bspec, bshape, dtype, self.fusion)
            except CostlabError as exc:
                raise _at_item(exc, first[j], items[first[j]][0]) from None
            lin[j] = f.reshape(-1)
            gm[j] = bg
            cls.append(nd.cls)
            g.append(nd.gmac)
            mb.append(nd.mb)
            px.append(nd.mpix)
            fx.append(nd.fused)
            owner.append(np.full(len(nd.cls), j, dtype=np.int64))
        self.block_linear = lin
        self.block_gmac = gm
        cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt))
        self._cls, self._g, self._mb, self._px = cat(cls, np.int64), cat(g, float), cat(mb, float), cat(px, float)
        self._fx = cat(fx, float)
        self._owner = cat(owner, np.int64)
        self._linear = np.asarray(self.counts @ lin)
        self.gmac = np.asarray(self.counts @ gm).reshape(-1)

    # -- features ---------------------------------------------------------------------------

    def features(self, rows=None) -> np.ndarray:
        """Linear per-class features (items x len(CLASSES)*len(TERMS), class-major)."""
        return self._linear if rows is None else self._linear[rows]

    def _work(self, coef: np.ndarray) -> np.ndarray:
        c = np.asarray(coef, float).reshape(len(CLASSES), len(TERMS))
        return (c[self._cls, 0] * self._g + c[self._cls, 1] * self._mb + c[self._cls, 2] * self._px
                + c[_CIDX[FUSED_EXP], 0] * self._fx)

    def block_regime(self, coef: np.ndarray) -> np.ndarray:
        """Per-block features of the ``max`` form at ``coef``: a kernel whose floor
        (``ms_per_op``) exceeds its work counts 1 in its class's ``ops`` column and nothing else;
        any other kernel counts its GMAC / MB / Mpix and no op (blocks x features)."""
        c = np.asarray(coef, float).reshape(len(CLASSES), len(TERMS))
        floor = c[self._cls, 3] >= self._work(coef)
        up = ~floor
        B = len(self.blocks)
        nt = len(TERMS)
        base = self._owner * NF + self._cls * nt
        out = np.zeros(B * NF)
        for t, v in ((0, self._g), (1, self._mb), (2, self._px)):
            out += np.bincount(base[up] + t, weights=v[up], minlength=B * NF)
        ew = self._owner * NF + _CIDX[FUSED_EXP] * nt         # fused exponentials: their own work column
        out += np.bincount(ew[up], weights=self._fx[up], minlength=B * NF)
        out += np.bincount(base[floor] + 3, minlength=B * NF)
        return out.reshape(B, NF)

    def regime_features(self, coef: np.ndarray, rows=None) -> np.ndarray:
        m = self.counts if rows is None else self.counts[rows]
        return np.asarray(m @ self.block_regime(coef))

    def block_cost(self, coef: np.ndarray, combine: str = "sum") -> np.ndarray:
        """Predicted ms of each distinct block: its kernels' ms by the per-class rule."""
        t = kernel_ms(coef, self._cls, self._g, self._mb, self._px, combine, self._fx)
        return np.bincount(self._owner, weights=t, minlength=len(self.blocks))

    def predict(self, coef: np.ndarray, combine: str = "sum", rows=None) -> np.ndarray:
        """Predicted ms of the items (``rows``: a subset, by index)."""
        m = self.counts if rows is None else self.counts[rows]
        return np.asarray(m @ self.block_cost(coef, combine)).reshape(-1)


__all__ = ["spec_features", "spec_blocks", "block_nodes", "SpecSet", "normalize_shape", "default_shape", "NF",
           "sample_graph", "sample_features", "predict_spec"]
