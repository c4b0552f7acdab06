"""A runtime's kernels mapped to costlab's layers (module paths), where names allow.

The ONNX exporter names each node after its module scope: ``/features/features.1/conv/
conv.0/Conv`` is module ``features.1.conv.0`` (the last dotted part of each scope segment,
joined; trailing segments that are not modules, such as ``Conv`` or OpenVINO's
``WithoutBiases``, are dropped until a module costlab traced is found). A kernel maps to the
module of the first exported node it covers (else of its own name); kernels that cover
nothing costlab traced (layout reorders) map to no layer and are listed as such.
"""
from __future__ import annotations

from typing import Iterable

from .base import OpTime


_MAC_OPS = ("Conv", "Gemm", "MatMul", "ConvTranspose")


def module_of(name: str, modules: set[str]) -> str | None:
    if not name.startswith("/"):      # not an exporter scope name (ORT's reorders, OpenVINO's own nodes)
        return None
    segs = [s for s in name.strip().split("/") if s]
    parts = [s.split(".")[-1] for s in segs]
    for end in range(len(parts), -1, -1):
        cand = ".".join(parts[:end])
        if cand in modules:
            return cand
    return None


def map_kernels(ops: Iterable[OpTime], modules: set[str]) -> list[dict]:
    """Per kernel: name, op_type, ms, and the costlab module it maps to (None: unmapped)."""
    out = []
    for o in ops:
        mod = None
        # a fused kernel is named after its conv / gemm: look there first
        covers = sorted(o.covers, key=lambda n: not n.rstrip("/").split("/")[-1].startswith(_MAC_OPS))
        for n in covers + [o.name]:
            mod = module_of(n, modules)
            if mod is not None:
                break
        out.append({"name": o.name, "op_type": o.op_type, "ms": o.ms, "layer": mod,
                    "covers": list(o.covers)})
    return out


def by_layer(kernels: list[dict], predicted: dict[str, float] | None = None) -> list[dict]:
    """Kernels summed per costlab layer, in first-seen order, with costlab's predicted ms
    beside (``predicted``: module -> ms); unmapped kernels together in one row (layer None)."""
    rows: dict[str | None, dict] = {}
    for k in kernels:
        r = rows.setdefault(k["layer"], {"layer": k["layer"], "kernels": 0, "measured_ms": 0.0, "op_types": []})
        r["kernels"] += 1
        r["measured_ms"] += k["ms"]
        if k["op_type"] not in r["op_types"]:
            r["op_types"].append(k["op_type"])
    out = [r for key, r in rows.items() if key is not None] + ([rows[None]] if None in rows else [])
    for r in out:
        r["predicted_ms"] = None if predicted is None else predicted.get(r["layer"])
    return out


def predicted_by_module(report, profile) -> dict:
    """costlab's predicted ms per module path (every node under it summed into the module
    the kernel names: the innermost module of each node). The layout conversions a profile's
    ``nchwc`` rule adds are kernels of no layer, as the runtime's reorders are: their sum is
    the entry ``None``, beside the runtime's unmapped kernels."""
    from ..latency.features import NCHWC, node_costs
    from ..latency.forms.per_class import entry_ms
    from ..latency.predict import node_latencies
    from ..latency.profile import load_profile

    profile = load_profile(profile)
    modules = {n.id: n.module for n in report.graph.nodes}
    costs = node_costs(report.graph, profile.dtype, profile.fusion) \
        if any(r.startswith(NCHWC) for r in profile.fusion) else []
    if any(nc.reorder for nc in costs):       # a per-class runtime profile: per kernel
        pairs = [(None if nc.reorder else modules.get(nc.node), ms)
                 for nc, ms in zip(costs, entry_ms(costs, profile.require_fitted())) if nc.node in modules]
    else:
        pairs = [(modules[nid], float(v)) for nid, v in node_latencies(report, profile).items() if nid in modules]
    out: dict = {}
    for mod, ms in pairs:
        out[mod] = out.get(mod, 0.0) + ms
    return out
