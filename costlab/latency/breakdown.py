"""Predicted latency per kernel (after fusion) and per latency class: inputs of the
latency plots and reports."""
from __future__ import annotations

import pandas as pd

from ..errors import ProfileError
from .features import node_costs
from .predict import graph_latencies_overhead, node_latencies
from .profile import Profile, load_profile

UNATTRIBUTED = "launch/sync (not per op)"


def kernel_latencies(graph, profile: Profile, costs) -> list[float]:
    """Predicted ms of each entry of ``costs`` (:func:`~costlab.latency.features.node_costs` of
    ``graph``; fused entries 0): a per-class profile's own kernel and layout-conversion rows
    apart, where :func:`node_latencies` sums a node's conversions into its own ms."""
    import numpy as np

    from .features import fused_work
    from .forms.per_class import _CIDX, coef_matrix, combine_of, kernel_ms

    pred = profile.require_fitted()
    own = [i for i, nc in enumerate(costs) if nc.fused_into is None]
    fw = fused_work(costs)
    t = kernel_ms(coef_matrix(pred), [_CIDX[costs[i].cls] for i in own], np.array([costs[i].gmac for i in own]),
                  np.array([costs[i].mb for i in own]), np.array([costs[i].mpix for i in own]), combine_of(pred),
                  np.array([0.0 if costs[i].reorder else fw.get(costs[i].node, 0.0) for i in own]))
    out = [0.0] * len(costs)
    for i, v in zip(own, t):
        out[i] = float(v)
    return out


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
    own_ms = kernel_latencies(report.graph, profile, costs) if any(nc.reorder for nc in costs) else None
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
        for nc, ms in zip(costs, kernel_latencies(report.graph, profile, costs)):
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
