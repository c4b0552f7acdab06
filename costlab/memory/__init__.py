"""The memory pass: the activation memory a model needs under its schedule, the arena a runtime
plans for it, and the weights it stores.

``memory_pass(report)`` reads ``report.graph`` (never traces, never formats) and returns a
:class:`MemoryResult` of plain numbers:

* ``weight_bytes``: every parameter at the dtype's element size;
* ``peak_activation_bytes``: the live peak in the traced order, as torch materialises the
  tensors (:mod:`.lifetimes`, rules ``traced``) and the step that sets it (``peak_layer``);
* ``layer_peak_bytes``: the largest working set when a microcontroller runtime executes the
  model layer by layer (rules ``mcu``: batch norm folded and activations fused in place,
  depthwise convs in place unless ``inplace_depthwise=False``); MCUNet's figure;
* ``arena_bytes``: TFLite's greedy-by-size offset plan of the traced buffers (:mod:`.arena`),
  ``fragmentation`` = arena / live peak - 1;
* ``converted_arena_bytes``: the same plan over the buffers a converter leaves (BN folded,
  activations fused): TensorFlow Lite Micro's non-persistent arena (:mod:`.tflm` checks it);
* ``best_order_peak_bytes``: the live peak of the best execution order found (:mod:`.order`).

Patch-based inference (MCUNetV2) is :func:`costlab.memory.patch.patch_plan`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .. import ops
from ..errors import InputError
from ..report import Report
from .arena import TFLM_ALIGNMENT, greedy_by_size
from .lifetimes import Lifetimes, build
from .order import best_order
from .patch import NotPatchable, PatchResult, best_split, patch_plan

__all__ = ["MemoryResult", "memory_pass", "build", "Lifetimes", "patch_plan", "best_split", "PatchResult",
           "conventions", "step_names"]


def conventions(dtype: str, inplace_depthwise: bool, align: int) -> dict[str, str]:
    b = ops.dtype_bytes(dtype)
    return {
        "bytes": f"{b} byte(s) per element ({dtype}) for floating tensors; integer tensors at their own size; "
                 "KB = 1024 bytes",
        "weight_bytes": f"every parameter read by the forward (each shared one once) x {b}; integer ones (a "
                        "quantized file's int8 weights, int32 biases) at their own size",
        "peak_activation_bytes": "live peak in the traced order: a tensor lives from the op that writes it to its "
                                 "last reader; views alias their base; ops flagged in place (relu_) reuse their input; "
                                 "the model input counts; graph outputs live to the end",
        "layer_peak_bytes": "layer-by-layer working set (MCU runtimes, MCUNet's TinyEngine): each op's inputs + "
                            "output + what stays live across it; batch norm and activations run in place on their "
                            "input; " + ("depthwise convs in place: max(in, out) + one output channel"
                                         if inplace_depthwise else "depthwise convs not in place"),
        "arena_bytes": f"greedy-by-size offset plan of the traced buffers (TFLite Micro's GreedyMemoryPlanner), "
                       f"each buffer rounded up to {align} bytes",
        "converted_arena_bytes": "the same plan over the buffers a converter leaves (batch norm folded, activations "
                                 "fused): the non-persistent arena TensorFlow Lite Micro allocates",
        "best_order_peak_bytes": "lowest live peak over execution orders found: exact dynamic program per cell "
                                 "(between points every schedule passes), greedy with a lower bound where a cell "
                                 "has too many orders; never above the traced order",
    }


@dataclass
class MemoryResult:
    model: str
    input_shape: list
    dtype: str
    weight_bytes: int
    peak_activation_bytes: int
    peak_layer: str
    layer_peak_bytes: int
    layer_peak_layer: str
    arena_bytes: int
    fragmentation: float
    converted_arena_bytes: int
    best_order_peak_bytes: int
    best_order_exact: bool
    best_order_lower_bound: int
    best_order_changed: bool
    inplace_depthwise: bool
    layers: list[dict[str, Any]]
    conventions: dict[str, str]
    extra: dict[str, Any] = field(default_factory=dict)     # budget, patch plan (added by callers)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        extra = d.pop("extra")
        d.update(extra)
        return d


def step_names(report: Report) -> dict[int, tuple[str, str]]:
    """node id -> (row name, op label) from the report's layers."""
    df = report.layers
    return {int(n): (str(name), str(op)) for n, name, op in zip(df["node"], df["name"], df["op"])}


def memory_pass(report: Report, dtype: str | None = None, inplace_depthwise: bool = True,
                align: int = TFLM_ALIGNMENT, order: bool = True) -> MemoryResult:
    """Memory of ``report``'s graph at ``dtype`` (default: the report's)."""
    dtype = dtype or report.dtype
    g = report.graph
    if g is None:
        raise ValueError("the memory pass needs a report with its graph (costlab.api.count)")
    traced = build(g, dtype, "traced")
    mcu = build(g, dtype, "mcu", inplace_depthwise)
    live, layer = traced.live(), mcu.live()
    bufs = traced.buffers
    plan = greedy_by_size([b.size for b in bufs], [b.first for b in bufs], [b.last for b in bufs], align)
    conv = build(g, dtype, "converted").buffers
    converted = greedy_by_size([b.size for b in conv], [b.first for b in conv], [b.last for b in conv], align).arena
    best = best_order(traced) if order and len(live) else None
    names = step_names(report)
    rows = []
    for i, nid in enumerate(traced.steps):
        name, op = names.get(nid, (f"node{nid}", g.nodes[nid].kind))
        w = traced.writes[i]
        rows.append({"step": i, "name": name, "op": op,
                     "output_shape": list(g.nodes[nid].outputs[0].shape) if g.nodes[nid].outputs else [],
                     "output_bytes": traced.out_bytes[i], "live_bytes": int(live[i]), "layer_bytes": int(layer[i]),
                     "arena_offset": plan.offsets[w] if w >= 0 else -1})
    peak_i = int(live.argmax()) if len(live) else 0
    layer_i = int(layer.argmax()) if len(layer) else 0
    peak = _peak(traced, live)
    return MemoryResult(
        model=report.model, input_shape=report.input_shape, dtype=dtype,
        weight_bytes=weight_bytes(report, dtype),
        peak_activation_bytes=peak, peak_layer=rows[peak_i]["name"] if rows else NO_STEP,
        layer_peak_bytes=_peak(mcu, layer),
        layer_peak_layer=rows[layer_i]["name"] if rows else NO_STEP,
        arena_bytes=plan.arena, fragmentation=round(plan.fragmentation(peak), 6), converted_arena_bytes=converted,
        best_order_peak_bytes=best.peak if best else peak,
        best_order_exact=best.exact if best else not len(live),     # no steps: one order, exact
        best_order_lower_bound=best.lower_bound if best else 0,
        best_order_changed=bool(best and best.peak < peak),
        inplace_depthwise=inplace_depthwise, layers=rows,
        conventions=conventions(dtype, inplace_depthwise, align))


def weight_bytes(report: Report, dtype: str) -> int:
    """Every parameter the forward reads, each once: floating ones at ``dtype``'s size, integer ones
    (a quantized file's int8 weights, int32 biases) at their own, as activations are counted."""
    fb = ops.dtype_bytes(dtype)
    seen: dict = {}
    for n in report.graph.nodes if report.graph is not None else []:
        for src, t in zip(n.sources, n.inputs):
            if src.kind == "param" and src.ref not in seen:
                seen[src.ref] = t
    rest = int(report.totals.get("params", 0)) - sum(t.numel for t in seen.values())
    return sum(ops.tensor_bytes(t, fb) for t in seen.values()) + max(rest, 0) * fb


NO_STEP = "(model input)"     # the peak's place in a graph without steps (nn.Identity): its input


def _peak(lt: Lifetimes, live) -> int:
    """The live peak; in a graph without steps, its buffers (the model input, which is its output)."""
    return int(live.max()) if len(live) else sum(b.size for b in lt.buffers)


def peak_totals(report: Report) -> dict[str, int]:
    """``peak_activation_bytes`` and ``weight_bytes`` for analyze's totals (cheap: no plan, no order)."""
    lt = build(report.graph, report.dtype, "traced")
    return {"peak_activation_bytes": _peak(lt, lt.live()),
            "weight_bytes": weight_bytes(report, report.dtype)}


def split_step(result: MemoryResult, where: str) -> int:
    """The step a split names: a row name, or a module path (its last step)."""
    names = [r["name"] for r in result.layers]
    if where in names:
        return names.index(where)
    inside = [i for i, n in enumerate(names) if n.split(":")[0] == where or n.startswith(where + ".")]
    if not inside:
        raise InputError(f"no layer or module '{where}' in {result.model} (names as in the memory table, "
                         "e.g. features.4 or features.4.conv.2.1:batch_norm)")
    return inside[-1]


def patch_summary(report: Report, result: MemoryResult, patches: int | None, split: str | None = None,
                  inplace_depthwise: bool = True, max_overhead: float | None = None) -> dict[str, Any]:
    """Plain data of a patch-based plan: ``patches`` x ``patches`` (None: 2..8) up to ``split`` (a
    layer or module; None: the split with the lowest peak whose extra MACs stay within
    ``max_overhead``, a share of the network's MACs)."""
    lt = build(report.graph, result.dtype, "mcu", inplace_depthwise)
    grids = (patches,) if patches else (2, 3, 4, 5, 6, 7, 8)
    if split is None:
        p = best_split(lt, report.totals["macs"], grids=grids, max_overhead=max_overhead)
        if p is None:
            grid_name = f"{patches}x{patches}" if patches else "any"
            if max_overhead is not None:
                raise InputError(f"{result.model}: no split point for {grid_name} patches within {max_overhead:.1%} "
                                 "extra MACs; allow more with --max-overhead")
            raise InputError(f"{result.model}: no block output to split at for {grid_name} patches (one no larger "
                             "than its neighbours, before the first global pool, linear or reshape); name the last "
                             "layer to run patch by patch with --split LAYER (a name of the memory table)")
    else:
        if not patches:
            raise InputError("a split needs a grid: add --patches N")
        try:
            p = patch_plan(lt, split_step(result, split), patches)
        except NotPatchable as exc:
            raise InputError(f"cannot run {result.model} patch by patch up to '{split}': {exc}; choose another "
                             "--split: a block output (no shortcut crossing it) before the first global pool, "
                             "linear or reshape") from None
    macs = report.totals["macs"]
    return {"patches": p.patches, "split_layer": result.layers[p.split_step]["name"], "split_step": p.split_step,
            "peak_bytes": p.peak_bytes, "stage_peak_bytes": p.stage_peak_bytes, "rest_peak_bytes": p.rest_peak_bytes,
            "split_bytes": p.split_bytes, "stage_macs": p.stage_macs, "extra_macs": p.extra_macs,
            "overhead": round(p.extra_macs / macs, 6) if macs else 0.0, "live_bytes": p.live}
