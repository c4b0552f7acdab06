"""costlab beside fvcore and torch's ``FlopCounterMode``: per op type and in total, every
difference explained by the convention that causes it.

The three counters disagree by design, not by error:

* **MAC vs FLOP**: ``torch.utils.flop_counter.FlopCounterMode`` counts a multiply-accumulate
  as 2 FLOPs; fvcore counts it as one "flop" (= costlab's MACs).
* **What is counted**: torch counts conv / matmul / attention only; fvcore also counts batch
  norm (2 per element, 1 without affine), layer / group norm (5 per element, 4 without
  affine), nearest (1) and bilinear (4 per output element) 2-D upsampling and adaptive average
  pooling (1 per input element) into its total, and skips activations, adds, pooling and
  copies (ignored, or listed in its ``unsupported_ops``); costlab keeps all of those in
  ``elem_ops``, outside MACs.
* **Unsupported ops**: an op fvcore has no handle for is counted 0 there (``aten::mean``,
  ``aten::scaled_dot_product_attention``, ``aten::lstm`` ...), and it says so.
* **Attribution**: costlab and fvcore both give a shared module's work to its first name
  (fvcore's "owner" mode); totals do not depend on it.

For every op type the expected fvcore and torch numbers are computed from costlab's own
graph under those conventions; a tool whose number differs from its expectation without a
listed cause is an **unexplained** difference (``costlab crosscheck`` exits 1).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import torch

from . import ops
from .api import count
from .spec import Resolved, input_shapes_for, resolve
from .tracer import call_model, unfused_kernels, zero_inputs

MAC_GROUPS = ("conv", "matmul")
_MATMUL_WORDS = ("linear", "addmm", "matmul", "bmm", "mm", "einsum", "mv", "dot", "attention", "lstm", "gru",
                 "rnn", "trilinear")


def group_of_name(name: str) -> str:
    """The op type of an op name from any of the three tools (``aten.addmm.default``,
    ``aten::batch_norm``, fvcore's ``conv``)."""
    base = name.replace("aten::", "").replace("aten.", "").split(".")[0].lstrip("_")
    if base.startswith("upsample"):          # before the matmul words: upsample_bilinear2d is no matmul
        return "upsample"
    if "conv" in base:
        return "conv"
    if any(w in base for w in _MATMUL_WORDS):
        return "matmul"
    if "batch_norm" in base:
        return "batch_norm"
    if base.endswith(("layer_norm", "group_norm", "instance_norm")):
        return "norm"
    if base.startswith("adaptive_avg_pool") or base == "mean":
        return "global_pool"
    return base


def _group_of_node(node) -> str:
    """The op type of one of costlab's nodes, in the tools' words (:func:`group_of_name`)."""
    kind, cat = ops.kind_of(node.op), ops.category_of(node.op)
    if cat == "mac":
        return "conv" if ops.is_conv(kind) else "matmul"
    kind = ops.label_of(kind)          # the tools name max and avg pooling, nearest and bilinear upsampling alike
    if kind in ("batch_norm", "upsample"):
        return kind
    if kind in ("layer_norm", "group_norm"):
        return "norm"
    if cat == "global_pool":
        return "global_pool"
    return kind if kind != "unsupported" else group_of_name(node.op)


def _fvcore_expected(node, macs: int) -> int:
    """What fvcore counts for one of costlab's nodes (fvcore/nn/jit_handles.py)."""
    g, name = _group_of_node(node), node.op
    if g in MAC_GROUPS:
        return macs
    if g == "batch_norm":
        return node.inputs[0].numel * (2 if len(node.inputs) >= 5 else 1)
    if g == "norm":
        return node.inputs[0].numel * (5 if len(node.inputs) >= 2 else 4)
    if name.startswith(("aten.upsample_nearest2d", "aten.upsample_bilinear2d")):
        return node.outputs[0].numel * (1 if "nearest" in name else 4)
    if name.startswith("aten._adaptive_avg_pool2d") or name.startswith("aten.mean"):
        return node.inputs[0].numel
    return 0


@dataclass
class Row:
    op_type: str
    costlab_macs: int = 0
    costlab_elem_ops: int = 0
    fvcore: int | None = None
    fvcore_expected: int = 0
    torch: int = 0
    torch_expected: int = 0
    reasons: list[str] = field(default_factory=list)
    explained: bool = True
    uncounted: list[str] = field(default_factory=list)   # ops costlab has no formula for (counted 0)


@dataclass
class CrossCheck:
    model: str
    input_shape: list
    rows: list[Row]
    totals: Row
    fvcore_status: str            # 'ok', 'not installed', or 'failed: ...'
    fvcore_unsupported: dict[str, int]

    @property
    def unexplained(self) -> list[Row]:
        return [r for r in self.rows + [self.totals] if not r.explained]

    def to_dict(self) -> dict[str, Any]:
        rows = [r.__dict__ for r in self.rows]
        return {"model": self.model, "input_shape": self.input_shape, "fvcore": self.fvcore_status,
                "fvcore_unsupported": self.fvcore_unsupported, "rows": rows, "totals": self.totals.__dict__,
                "unexplained": [r.op_type for r in self.unexplained]}


def _run_torch(model, inputs) -> dict[str, int]:
    from torch.utils.flop_counter import FlopCounterMode

    flags = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with torch.no_grad(), unfused_kernels(), FlopCounterMode(display=False) as fc:
            model(*inputs)
    finally:
        for m, t in flags:
            m.training = t
    out: dict[str, int] = {}
    for op, n in fc.get_flop_counts().get("Global", {}).items():
        g = group_of_name(str(op))
        out[g] = out.get(g, 0) + int(n)
    return out


def fvcore_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("fvcore") is not None


class _Keywords(torch.nn.Module):
    """Both counters call ``model(*inputs)`` (fvcore's jit trace can only): this passes the inputs
    named in their shapes (``hf:`` ``decoder_input_ids``) as keywords."""

    def __init__(self, model, shapes):
        super().__init__()
        self.model, self.shapes = model, list(shapes)

    def forward(self, *inputs):
        return call_model(self.model, inputs, self.shapes)


def _run_fvcore(model, inputs) -> tuple[dict[str, int] | None, dict[str, int], str]:
    if not fvcore_available():
        return None, {}, "not installed"
    from fvcore.nn import FlopCountAnalysis

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    flags = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with torch.no_grad(), unfused_kernels():
            fca = FlopCountAnalysis(model, tuple(inputs) if len(inputs) != 1 else inputs[0])
            fca.unsupported_ops_warnings(False)
            fca.uncalled_modules_warnings(False)
            by_op = dict(fca.by_operator())
            unsupported = {str(k): int(v) for k, v in fca.unsupported_ops().items()}
    except Exception as exc:  # noqa: BLE001  (fvcore's jit trace fails on some models: report it)
        # one line, whole: torch.jit's messages break lines inside a parenthesis
        first = " ".join(str(exc).split())
        first = first if len(first) <= 240 else first[:239] + "…"
        return None, {}, f"failed: {type(exc).__name__}: {first or '(no message)'}"
    finally:
        for m, t in flags:
            m.training = t
    out: dict[str, int] = {}
    for op, n in by_op.items():
        g = group_of_name(op)
        out[g] = out.get(g, 0) + int(n)
    return out, unsupported, "ok"


def _explain(row: Row, fv_skipped: list[str], fv_ok: bool) -> None:
    """Fill ``row.reasons`` / ``row.explained`` from the tools' numbers and expectations. An op
    costlab did not count is never explained (issue 22 item 5): its 0 is not a convention."""
    if row.uncounted:
        row.explained = False
        row.reasons.append(f"costlab does not count {', '.join(sorted(set(row.uncounted)))} (no formula: 0 here, "
                           "listed in the report's unsupported ops)")
    mac = row.op_type in MAC_GROUPS or row.op_type == "total"
    if row.torch == row.torch_expected:
        row.reasons.append("torch = 2 x MACs (a multiply-accumulate is 2 FLOPs)" if mac and row.torch
                           else "torch counts conv / matmul / attention only" if not mac else "torch = 0 = 2 x MACs")
    else:
        row.explained = False
        row.reasons.append(f"torch {row.torch:,} != 2 x MACs {row.torch_expected:,}: no known cause")
    if not fv_ok:
        return
    if row.fvcore == row.fvcore_expected:
        if mac:
            row.reasons.append("fvcore = MACs (one 'flop' per multiply-accumulate)" if row.op_type != "total" else
                               "fvcore = MACs + the batch norm / norm / upsample / adaptive-pool element counts "
                               "it adds to its total")
        elif row.fvcore:
            row.reasons.append(f"fvcore counts {row.op_type} element ops in its total (its per-element convention); "
                               "costlab keeps them in elem_ops")
        else:
            row.reasons.append("fvcore does not count it (ignored or unsupported op)")
    elif fv_skipped and (row.fvcore or 0) < row.fvcore_expected:
        row.reasons.append(f"fvcore skipped unsupported {', '.join(fv_skipped)} (counted 0 there)")
    else:
        row.explained = False
        row.reasons.append(f"fvcore {row.fvcore:,} != expected {row.fvcore_expected:,}: no known cause")


def crosscheck(model_or_spec, input_shape=None, *, resolution: int | None = None, batch: int = 1,
               name: str | None = None) -> CrossCheck:
    """costlab, fvcore (when installed) and torch's FlopCounterMode on one model, per op type."""
    resolved = model_or_spec if isinstance(model_or_spec, Resolved) else (
        Resolved(name or type(model_or_spec).__name__, model_or_spec, None, {})
        if isinstance(model_or_spec, torch.nn.Module) else resolve(model_or_spec, device="cpu"))
    shapes = input_shapes_for(resolved, input_shape, resolution, batch)
    report = count(resolved, shapes, name=name)
    rows: dict[str, Row] = {}
    per_node = report.layers.set_index("node")
    for node in report.graph.nodes:
        if node.id not in per_node.index:
            continue
        c = per_node.loc[node.id]
        g = _group_of_node(node)
        r = rows.setdefault(g, Row(g))
        r.costlab_macs += int(c["macs"])
        r.costlab_elem_ops += int(c["elem_ops"])
        r.fvcore_expected += _fvcore_expected(node, int(c["macs"]))
        r.torch_expected += 2 * int(c["macs"])
        if ops.category_of(node.op) == "unsupported":
            r.uncounted.append(node.op)
    inputs = zero_inputs(resolved.model, shapes)
    model = _Keywords(resolved.model, shapes) if any(getattr(s, "name", None) for s in shapes) else resolved.model
    tq = _run_torch(model, inputs)
    fv, fv_unsupported, status = _run_fvcore(model, inputs)
    for g in set(tq) | set(fv or {}):
        rows.setdefault(g, Row(g))
    skipped = {g: [] for g in rows}
    for op in fv_unsupported:
        skipped.setdefault(group_of_name(op), []).append(op)
    for g, r in rows.items():
        r.torch = tq.get(g, 0)
        r.fvcore = (fv or {}).get(g, 0) if fv is not None else None
        _explain(r, skipped.get(g, []), fv is not None)
    tot = Row("total", costlab_macs=sum(r.costlab_macs for r in rows.values()),
              costlab_elem_ops=sum(r.costlab_elem_ops for r in rows.values()),
              fvcore=sum((fv or {}).values()) if fv is not None else None,
              fvcore_expected=sum(r.fvcore_expected for r in rows.values()),
              torch=sum(tq.values()), torch_expected=sum(r.torch_expected for r in rows.values()),
              uncounted=[op for r in rows.values() for op in r.uncounted])
    _explain(tot, sorted(fv_unsupported), fv is not None)
    order = sorted(rows.values(), key=lambda r: (r.op_type not in MAC_GROUPS, -r.costlab_macs, -r.costlab_elem_ops))
    return CrossCheck(report.model, [list(s) for s in shapes], order, tot, status, fv_unsupported)
