"""The latency pass: predicted ms from a traced report and a fitted profile (no re-tracing).

``predict(report, profile)`` returns a copy of ``report`` with a ``latency_ms`` column (one
value per op: an op fused into the kernel before it under the profile's fusion rules shows
0, its cost is in that kernel's row), ``latency_ms`` in the totals and a ``latency``
section: the JSON keys ``device`` (the profile name) and ``latency`` (profile, runtime,
fusion, held-out accuracy, and notes where the report's batch or dtype differ from the
profile's). The profile's form (:mod:`costlab.latency.forms`) computes the numbers; a form
may add per-op columns (GPU: ``host_ms``, ``device_ms``) and section keys (GPU: ``bound``).
"""
from __future__ import annotations

from .forms import Prediction
from .profile import Profile, load_profile
from ..report import Column, Section
from ..errors import ProfileError

LATENCY = Column("latency_ms", header="latency ms", fmt="ms", relative=True,
                 help="predicted latency on the device profile (ms)")
EXTRA_COLUMNS = {
    "host_ms": Column("host_ms", header="host ms", fmt="ms", help="GPU profiles: the host's dispatch time of the op (ms)"),
    "device_ms": Column("device_ms", header="device ms", fmt="ms", help="GPU profiles: the op's kernel time on the GPU (ms)"),
}


def _graph(report):
    if report.graph is None:
        raise ProfileError("this report has no graph (it was loaded, not traced); analyze the model again")
    return report.graph


def predict_graph(graph, profile: Profile, runtime: str | None = None) -> Prediction:
    """The profile's form's prediction of a traced graph."""
    profile = load_profile(profile)
    profile.require_fitted()
    return profile.form.predict(graph, profile, runtime)


def node_latencies(report, profile: Profile, runtime: str | None = None) -> dict[int, float]:
    """ms per graph node id of ``report`` (see :func:`graph_latencies`)."""
    return graph_latencies(_graph(report), profile, runtime)


def graph_latencies(graph, profile: Profile, runtime: str | None = None) -> dict[int, float]:
    """ms per graph node id (fused nodes: 0; under a GPU profile: each op's share of the
    runtime's total)."""
    return dict(predict_graph(graph, profile, runtime).node_ms)


def graph_latencies_overhead(graph, profile: Profile, runtime: str | None = None) -> tuple[dict[int, float], float]:
    """(:func:`graph_latencies`, the ms of the total no node owns: a GPU profile's graph launch
    or eager sync; 0 for a per-class profile, whose total is its nodes' sum)."""
    p = predict_graph(graph, profile, runtime)
    return dict(p.node_ms), float(p.overhead_ms)


def _notes(report, profile: Profile, batch_note: bool) -> list[str]:
    notes = []
    shape = report.input_shape[0] if report.input_shape else []
    batch = int(shape[0]) if shape else 1
    if batch_note and batch != int(profile.batch):
        notes.append(f"batch {batch} differs from the profile's calibration batch {profile.batch}: "
                     "extrapolated by the per-class model")
    if report.dtype != profile.dtype:
        notes.append(f"report dtype {report.dtype}; latency uses the profile's {profile.dtype} "
                     "(the device runs that dtype)")
    return notes


def _info(profile: Profile, notes: list[str], p: Prediction) -> dict:
    return {
        "profile": profile.name,
        "device": profile.device,
        "runtime": p.runtime,
        "threads": profile.threads,
        "batch": profile.batch,
        "fusion": list(profile.fusion),
        "predictor": (profile.predictor or {}).get("form"),
        "held_out": profile.held_out(p.runtime if profile.form.runtimes else None),
        "notes": notes,
        **p.info,
    }


def predict(report, profile: Profile, runtime: str | None = None):
    """``report`` with predicted ``latency_ms`` per layer and in total (a new Report).
    ``runtime`` (GPU profiles: ``eager`` or ``cudagraph``; default the profile's own)."""
    graph = _graph(report)
    profile = load_profile(profile)
    p = predict_graph(graph, profile, runtime)
    # a GPU form models the batch itself (its clocks are fitted over batches): no batch note
    notes = _notes(report, profile, batch_note=not profile.form.runtimes)
    total = round(float(p.total_ms), 4)
    section = Section("latency", data={"device": profile.name, "latency": _info(profile, notes, p)},
                      notes=tuple(notes))
    out = report
    for key, values in p.columns.items():
        out = out.with_column(EXTRA_COLUMNS[key], {n: round(v, 6) for n, v in values.items()})
    return out.with_column(LATENCY, {n: round(v, 6) for n, v in p.node_ms.items()}, total=total, section=section)


def predict_baseline(gmac: float, profile: Profile) -> float:
    """The profile's FLOPs-only baseline for ``gmac`` multiply-accumulates (x1e9)."""
    profile = load_profile(profile)
    return profile.form.baseline_ms(profile, gmac, 1)
