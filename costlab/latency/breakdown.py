"""Predicted latency per kernel (after fusion) and per latency class: inputs of the
latency plots and reports."""
from __future__ import annotations

import pandas as pd

from ..errors import ProfileError
from .features import node_costs
from .forms.per_class import entry_ms
from .predict import graph_latencies_overhead, node_latencies
from .profile import Profile, load_profile

UNATTRIBUTED = "launch/sync (not per op)"


def kernel_layers(report, profile: Profile, runtime: str | None = None):
    """The layers a device runs: one row per kernel after the profile's fusion rules
    (a conv with the BN and activation fused into it is one row, named
    ``conv+batch_norm+relu``), with its MACs, its memory access cost in bytes after fusion
    and its predicted ms. Input of :func:`layers_figure` with a profile."""
    if report.graph is None:
        raise ProfileError("this report has no graph (it was loaded, not traced); analyze the model again")
    profile = load_profile(profile)
    lat = node_latencies(report, profile, runtime)
    names = {int(n): (nm, op) for n, nm, op in zip(report.layers["node"], report.layers["name"], report.layers["op"])}
    costs = node_costs(report.graph, profile.dtype, profile.fusion)
    fused: dict[int, list[str]] = {}
    for nc in costs:
        if nc.fused_into is not None:
            fused.setdefault(nc.fused_into, []).append(names.get(nc.node, ("", "?"))[1])
    # a node charged a layout conversion: its kernel and the conversion are rows of their own
    own_ms = entry_ms(costs, profile.require_fitted()) if any(nc.reorder for nc in costs) else None
    rows = []
    for i, nc in enumerate(costs):
        if nc.fused_into is not None:
            continue
        name, op = names.get(nc.node, (f"node {nc.node}", "?"))
        if nc.reorder:
            name = f"{name.rsplit(':', 1)[0]}:reorder_{nc.reorder}"
        elif nc.node in fused:
            name = name.rsplit(":", 1)[0] + ":" + "+".join([op] + fused[nc.node])
        macs = 0.0 if nc.cls == "elementwise" else nc.gmac * 1e9     # its work term counts elements, not MACs
        rows.append({"name": name, "class": nc.cls, "macs": macs, "mac_bytes": nc.mb * 1e6,
                     "latency_ms": own_ms[i] if own_ms is not None else lat.get(nc.node, 0.0)})
    return pd.DataFrame(rows, columns=["name", "class", "macs", "mac_bytes", "latency_ms"])


def class_breakdown(report, profile: Profile, runtime: str | None = None) -> dict[str, float]:
    """Predicted ms per latency class (fused ops counted in their kernel's class); what the
    predictor's total holds beyond its ops (a CUDA graph's launch, eager sync) is one more
    entry, :data:`UNATTRIBUTED`, so the values add up to the predicted total."""
    if report.graph is None:
        raise ProfileError("this report has no graph (it was loaded, not traced); analyze the model again")
    profile = load_profile(profile)
    lat, overhead = graph_latencies_overhead(report.graph, profile, runtime)
    by: dict[str, float] = {}
    costs = node_costs(report.graph, profile.dtype, profile.fusion)
    if any(nc.reorder for nc in costs):     # nodes charged a layout conversion: per kernel
        for nc, ms in zip(costs, entry_ms(costs, profile.require_fitted())):
            if nc.fused_into is None:
                by[nc.cls] = by.get(nc.cls, 0.0) + ms
        return by
    for nc in costs:
        owner = nc.node if nc.fused_into is None else nc.fused_into
        if nc.fused_into is None:
            by[nc.cls] = by.get(nc.cls, 0.0) + lat.get(owner, 0.0)
    if overhead > max(1e-4 * (sum(by.values()) + overhead), 1e-6):   # a GPU's graph launch / eager sync
        by[UNATTRIBUTED] = overhead
    return by
