"""Op registry: what each aten op costs, as pure formulas over a node's shapes.

One record per aten op: its kind, category and formulas (:mod:`.formulas`, where an op is
named), the taxonomy and the predicates passes ask (:mod:`.registry`: :data:`KINDS`,
:func:`is_norm`, :func:`arith_family` ...), and per-node results (:mod:`.costs`).

Every aten op the tracer can see is one of three things:

* **counted**: a registered formula gives its multiply-accumulates (``macs``) and its
  element operations (``elem_ops``); memory access cost is derived from its tensors;
* **free**: a view or metadata op that moves no data (``view``, ``transpose``,
  ``split``, eval-mode ``dropout`` ...): zero everything, by declaration;
* **unsupported**: no formula. It is never silently zero: the report lists it in its
  ``unsupported`` ledger with its count.

Counting semantics (also written into every report's ``conventions``):

* ``macs``: multiply-accumulates of conv / conv-transpose / linear / matmul / bmm (and mv,
  ``nn.Bilinear``, attention's two matmuls, recurrent cells) only, i.e. the papers' "FLOPs"
  = "Mult-Adds". ``flops = 2 * macs``.
* ``elem_ops``: element operations of everything else, per output element unless
  stated: bias add 1, batch norm 2 (scale and shift once folded), layer/group norm 4,
  activation 1, add/sub/mul/div 1, max/avg pool one per window element, adaptive pool
  and mean one per input element, softmax 3 (exp, sum, divide), bilinear upsample 4,
  nearest upsample, cat, copies and padding 0 (pure data movement, seen in MAC).
* ``mac_bytes``: memory access cost as in ShuffleNet V2 Sec. 2: elements read (each
  distinct tensor input, weights included) + elements written (the op's result), times
  the element size of the chosen dtype for floating tensors (the tensor's own size for
  integer tensors). Views cost nothing. Pooling indices are not counted.
* ``activations``: elements of the op's result (0 for views).
"""
from __future__ import annotations

from . import formulas  # noqa: F401  (registers every op)
from .costs import conv_class, count, describe, dtype_bytes, free_mask, is_free, tensor_bytes
from .registry import (CATEGORIES, KINDS, Formula, OpSpec, arith_family, category, category_of, is_activation,
                       is_conv, is_exponential, is_gemm, is_norm, is_weight_layer, kind_of, label_of, register, register_alias, registered,
                       spec_of)

__all__ = ["CATEGORIES", "KINDS", "Formula", "OpSpec", "arith_family", "category", "category_of", "conv_class",
           "count", "describe", "dtype_bytes", "free_mask", "is_activation", "is_conv", "is_exponential", "is_free", "is_gemm",
           "is_norm", "is_weight_layer", "kind_of", "label_of", "register", "register_alias", "registered", "spec_of",
           "tensor_bytes"]
