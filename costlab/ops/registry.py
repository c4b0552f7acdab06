"""The op taxonomy: categories, kinds, the registry of aten ops, and the named predicates
passes ask instead of keeping their own lists of op names.

* an **op** is an aten name (``'aten.add.Tensor'``); each registered op has one **kind**;
* a **kind** (``'conv'``, ``'add'``, ``'batch_norm'``, ``'max_pool'`` ...) is what the IR
  stores on a node (``Node.kind``); each kind has exactly one **category** (:data:`KINDS`,
  checked at registration) and a **label**, the word tables print (``'pool'`` for both
  ``max_pool`` and ``avg_pool``);
* a **category** (:data:`CATEGORIES`) is the kind of work, all that latency classes
  (``costlab.latency.features.CLASS_OF_CATEGORY``) and guideline groups
  (``costlab.guidelines.lint.GROUP_OF_CATEGORY``) read; a test checks both map every one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..ir import Node

Formula = Callable[[Node], tuple[int, int]]  # node -> (macs, elem_ops)


# What kind of work an op does. Downstream passes read the category, never op names.
CATEGORIES = {
    "mac": "multiply-accumulate ops: conv, conv-transpose, linear, matmul, bmm",
    "norm": "batch / layer / group / RMS normalisation",
    "activation": "element-wise non-linearities (ReLU, ReLU6, sigmoid, GELU ...)",
    "binary": "element-wise arithmetic of two tensors (add, sub, mul, div, max, min)",
    "pointwise": "other element-wise math: exp, sqrt, comparisons, where, addcmul, training dropout",
    "pool_max": "max pooling over windows",
    "pool_avg": "average pooling over windows",
    "global_pool": "adaptive pooling and global mean (a reduction of the spatial positions)",
    "reduce": "other reductions and whole-axis ops: sum, amax, max/min over a dim, argmax, cumsum, norm, "
              "sort, top-k, FFT ...",
    "softmax": "softmax / log-softmax",
    "move": "data movement that G4 counts: concat, stack, contiguous copies (channel shuffle)",
    "layout": "other data movement: padding, fill, nearest upsampling",
    "resample": "interpolating upsampling (bilinear, bicubic)",
    "view": "free: views, splits, slices, eval-mode dropout (move no data)",
}


@dataclass(frozen=True)
class OpSpec:
    kind: str
    formula: Formula | None  # None = free (view / metadata)
    category: str = "view"
    reads: Callable[[Node, int], int] | None = None   # bytes read, when not every input whole
    label: str = ""          # the word tables print for the kind ('' = the kind itself)


_SPECS: dict[str, OpSpec] = {}
KINDS: dict[str, str] = {}          # kind -> its category, filled (and checked) by register()
_LABELS: dict[str, str] = {}        # kind -> its label, where it differs from the kind


def register(names: str | list[str], kind: str, formula: Formula | None = None, *, category: str,
             reads: Callable[[Node, int], int] | None = None, label: str | None = None):
    """Register ``formula`` for aten packets (``'aten.relu'``) or overloads
    (``'aten.add.Tensor'``) as ops of ``kind`` with its ``category`` (:data:`CATEGORIES`).
    ``formula=None`` declares the op free. An op name is registered once; a kind keeps one
    category and one label (``label``: the word tables print, default the kind)."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown op category {category!r}; known: {', '.join(CATEGORIES)}")
    if (formula is None) != (category == "view"):
        raise ValueError(f"{names}: free ops (formula None) and only they have category 'view'")
    if KINDS.get(kind, category) != category:
        raise ValueError(f"kind {kind!r} is {KINDS[kind]!r}, not {category!r}: an op doing other work is "
                         "another kind (give it its own kind, and a label if tables should print the same word)")
    if _LABELS.get(kind, label or kind) != (label or kind):
        raise ValueError(f"kind {kind!r} is labelled {_LABELS[kind]!r}, not {label!r}")
    for n in [names] if isinstance(names, str) else names:
        if n in _SPECS:
            raise ValueError(f"op {n!r} registered twice")
        _SPECS[n] = OpSpec(kind, formula, category, reads, label or "")
    KINDS[kind] = category
    if label and label != kind:
        _LABELS[kind] = label


def register_alias(names: str | list[str], of: str, formula: Formula | None = None) -> None:
    """Register ``names`` (another format's op names, e.g. ONNX's or TFLite's) as new names of
    the registered op ``of``: its kind, category, reads and label, and its formula unless
    ``formula`` replaces it (the same work counted another way, e.g. with a fused activation)."""
    spec = spec_of(of)
    if spec is None:
        raise ValueError(f"{names}: alias of {of!r}, which is not registered")
    register(names, spec.kind, spec.formula if formula is None else formula, category=spec.category,
             reads=spec.reads, label=spec.label or None)


def registered() -> dict[str, OpSpec]:
    """Every registered op name -> its spec (a copy)."""
    return dict(_SPECS)


def spec_of(op: str) -> OpSpec | None:
    """The spec for an overload name like ``'aten.add.Tensor'`` (overload first, then packet)."""
    s = _SPECS.get(op)
    if s is None:
        s = _SPECS.get(op.rsplit(".", 1)[0])
    return s


def kind_of(op: str) -> str:
    s = spec_of(op)
    return s.kind if s is not None else "unsupported"


def category_of(op: str) -> str:
    """The op's category (:data:`CATEGORIES`), or ``'unsupported'`` when it has no formula."""
    s = spec_of(op)
    return s.category if s is not None else "unsupported"


def label_of(kind: str) -> str:
    """The word tables print for ``kind`` (``'pool'`` for ``max_pool`` and ``avg_pool``)."""
    return _LABELS.get(kind, kind)


# -- named predicates over kinds (Node.kind): what passes ask instead of keeping name sets ------

def category(kind: str) -> str:
    """The category of ``kind`` (:data:`KINDS`), ``'unsupported'`` for a kind no op has."""
    return KINDS.get(kind, "unsupported")


def is_conv(kind: str) -> bool:
    """A convolution (any groups, transposed included; :func:`conv_class` tells them apart)."""
    return kind == "conv"


def is_gemm(kind: str) -> bool:
    """A plain matrix product: a linear layer (addmm) or matmul / mm / bmm / mv / dot / einsum
    (not a convolution, and not the fused attention or recurrent kernels)."""
    return kind in ("linear", "matmul")


def is_weight_layer(kind: str) -> bool:
    """A conv or linear layer: the layers a batch norm, bias or activation after them fuses into."""
    return kind in ("conv", "linear")


def is_norm(kind: str) -> bool:
    """Batch / layer / group / RMS normalisation (category ``norm``)."""
    return category(kind) == "norm"


def is_activation(kind: str) -> bool:
    """An element-wise non-linearity (category ``activation``)."""
    return category(kind) == "activation"


# element-wise kinds that evaluate an exponential (or erf / log) per element: compute-bound where
# ReLU, adds and norms are memory-bound (the latency classes price their elements as work)
_EXPONENTIAL = frozenset({"sigmoid", "silu", "gelu", "tanh", "elu", "selu", "celu", "mish", "softplus",
                          "log_sigmoid_forward", "exp", "erf", "log"})


def is_exponential(kind: str) -> bool:
    """An element-wise op of the exponential family (sigmoid, SiLU, GELU, tanh, exp, erf, log, ...)."""
    return kind in _EXPONENTIAL and category(kind) in ("activation", "pointwise")


_ARITH = {"add": "add", "sub": "add", "rsub": "add", "mul": "mul", "div": "mul",
          "maximum": "minmax", "minimum": "minmax"}


def arith_family(kind: str) -> str | None:
    """The family of an element-wise binary op: ``'add'`` (add, sub, rsub: a bias or a
    residual), ``'mul'`` (mul, div: a scaling), ``'minmax'`` (maximum, minimum); None for
    any other kind."""
    return _ARITH.get(kind) if category(kind) == "binary" else None
