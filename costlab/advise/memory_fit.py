"""Does a model fit a memory budget (an MCU's SRAM), and what is the cheapest change that makes
it fit: a patch-based split of its first blocks (MCUNetV2: same weights, same accuracy, extra
MACs), a lower input resolution (same weights) or a narrower width (train again), the latter two
found by re-analysing the zoo model with its paper's knobs.

The budget is compared with the layer-by-layer peak (``layer_peak_bytes``: what an MCU runtime
executing layer by layer needs), at the dtype of the analysis.
"""
from __future__ import annotations

from typing import Any

from ..api import count
from ..memory import build, memory_pass
from ..memory.patch import PatchResult, patch_plan, split_candidates
from ..spec import Resolved, resolve

GRIDS = (2, 3, 4, 5, 6, 7, 8)
WIDTHS = (1.75, 1.5, 1.4, 1.3, 1.0, 0.75, 0.5, 0.35, 0.25, 0.1)


def cheapest_patch(report, budget: int, inplace_depthwise: bool = True) -> PatchResult | None:
    """Among the split points and n x n grids whose peak fits ``budget``, the one with the fewest
    extra MACs (then the lowest peak); None when none fits."""
    lt = build(report.graph, report.dtype, "mcu", inplace_depthwise)
    best = None
    for k in split_candidates(lt):
        shape = lt.graph.nodes[lt.steps[k]].outputs[0].shape
        for n in GRIDS:
            if n > min(shape[-2], shape[-1]):
                break
            r = patch_plan(lt, k, n)
            if r.peak_bytes <= budget and (best is None or (r.extra_macs, r.peak_bytes)
                                           < (best.extra_macs, best.peak_bytes)):
                best = r
    return best


def _spec(resolved: Resolved, **knobs: Any) -> str:
    values = dict(resolved.knobs, **knobs)
    return resolved.entry.name + (":" + ",".join(f"{k}={v}" for k, v in values.items()) if values else "")


def _peak(spec: str, dtype: str, inplace_depthwise: bool, resolution: int | None = None,
          input_shape=None) -> tuple[int, int]:
    rep = count(spec, input_shape, resolution=resolution, dtype=dtype)
    return memory_pass(rep, inplace_depthwise=inplace_depthwise, order=False).layer_peak_bytes, rep.totals["macs"]


def lower_resolution(resolved: Resolved, resolution: int, budget: int, dtype: str,
                     inplace_depthwise: bool = True, step: int = 16) -> dict | None:
    """The largest resolution (a multiple of ``step`` below ``resolution``) whose peak fits."""
    lo, hi = 1, (resolution - 1) // step          # candidates: k * step for k in [lo, hi]
    found = None
    while lo <= hi:                               # the peak grows with the resolution
        mid = (lo + hi) // 2
        peak, macs = _peak(resolved.name, dtype, inplace_depthwise, resolution=mid * step)
        if peak <= budget:
            found = {"change": f"resolution {resolution} -> {mid * step}", "spec": resolved.name,
                     "resolution": mid * step, "peak_bytes": peak, "macs": macs,
                     "cost": "same weights; accuracy drops with the resolution"}
            lo = mid + 1
        else:
            hi = mid - 1
    return found


def narrower(resolved: Resolved, resolution: int | None, budget: int, dtype: str,
             inplace_depthwise: bool = True) -> dict | None:
    """The widest ``width`` knob value below the current one whose peak fits."""
    knob = resolved.entry.knobs.get("width")
    if knob is None:
        return None
    now = float(resolved.knobs.get("width", knob.default))
    options = knob.choices or WIDTHS
    for w in sorted((float(x) for x in options if float(x) < now), reverse=True):
        if knob.low is not None and w <= knob.low:
            continue
        spec = _spec(resolved, width=w)
        peak, macs = _peak(spec, dtype, inplace_depthwise, resolution=resolution)
        if peak <= budget:
            return {"change": f"width {now:g} -> {w:g}", "spec": spec, "resolution": resolution,
                    "peak_bytes": peak, "macs": macs, "cost": "a different network: train it again"}
    return None


def fit_budget(report, result, budget_bytes: int, model: str | Resolved | None = None,
               resolution: int | None = None, inplace_depthwise: bool = True) -> dict[str, Any]:
    """Plain data: whether ``result`` (a :class:`~costlab.memory.MemoryResult` of ``report``)
    fits ``budget_bytes``, by how much, where, and the changes that make it fit."""
    peak = result.layer_peak_bytes
    out: dict[str, Any] = {"budget_bytes": int(budget_bytes), "fits": peak <= budget_bytes,
                           "over_bytes": int(peak - budget_bytes), "layer": result.layer_peak_layer,
                           "changes": []}
    if out["fits"]:
        return out
    macs = report.totals["macs"]
    p = cheapest_patch(report, budget_bytes, inplace_depthwise)
    if p is not None:
        name = result.layers[p.split_step]["name"]
        out["changes"].append({"change": f"patch-based: first steps up to {name} in {p.patches}x{p.patches} patches",
                               "spec": report.model, "resolution": resolution, "peak_bytes": p.peak_bytes,
                               "macs": macs + p.extra_macs,
                               "cost": f"same weights and accuracy; +{p.extra_macs / macs:.1%} MACs"})
    resolved = resolve(model) if isinstance(model, str) else model
    out["searched"] = "patch split, lower resolution, narrower width"
    if resolved is None or resolved.entry is None:     # a user model or file: its knobs are unknown
        out["searched"] = "patch split (resolution and width are searched for zoo models only)"
    if resolved is not None and resolved.entry is not None:
        res = resolution or resolved.entry.resolution
        for c in (lower_resolution(resolved, res, budget_bytes, report.dtype, inplace_depthwise),
                  narrower(resolved, resolution, budget_bytes, report.dtype, inplace_depthwise)):
            if c is not None:
                out["changes"].append(c)
    # cheapest: the patch split keeps the model; otherwise the change that keeps the most MACs
    out["changes"].sort(key=lambda c: (not c["change"].startswith("patch"), -c["macs"]))
    return out
