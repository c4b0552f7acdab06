"""The latency pass: predicted ms from a traced report and a fitted profile (no re-tracing).

``predict(report, profile)`` returns a copy of ``report`` with a ``latency_ms`` column (one
value per op: an op fused into the kernel before it under the profile's fusion rules shows
0, its cost is in that kernel's row), ``latency_ms`` in the totals and a ``latency``
section: the JSON keys ``device`` (the profile name) and ``latency`` (profile, runtime,
fusion, held-out accuracy, and notes where the report's batch or dtype differ from the
profile's).
"""
from __future__ import annotations

import numpy as np

from .features import CLASSES, TERMS, node_costs
from .gpu import bound_of, is_gpu_profile, predict_graph, predict_program, program
from ..report import Column, Section
from ..errors import ProfileError

# how a kernel's terms combine: 'sum' t = a*G + b*MB + p*Mpix + c; 'max' t = max(c, a*G + b*MB + p*Mpix)
# (a per-kernel floor: the dispatch time of a small kernel, costlab.calibrate.fewshot)
COMBINES = ("sum", "max")
_KEYS = {"gmac": "ms_per_gmac", "mb": "ms_per_mb", "mpix": "ms_per_mpix", "ops": "ms_per_op"}


def coefficients(profile: dict) -> np.ndarray:
    """The predictor's (len(CLASSES), len(TERMS)) coefficient matrix."""
    pred = profile.get("predictor")
    if not pred:
        raise ProfileError(f"profile '{profile.get('name', '?')}' has no fitted predictor; "
                           f"run: costlab calibrate {profile.get('_path', profile.get('name', 'PROFILE'))}")
    cl = pred["classes"]
    return np.array([[float(cl[c].get(_KEYS[t], 0.0)) for t in TERMS] for c in CLASSES])


def node_latencies(report, profile: dict, runtime: str | None = None) -> dict[int, float]:
    """ms per graph node id of ``report`` (see :func:`graph_latencies`)."""
    if report.graph is None:
        raise ProfileError("this report has no graph (it was loaded, not traced); analyze the model again")
    return graph_latencies(report.graph, profile, runtime)


def graph_latencies(graph, profile: dict, runtime: str | None = None) -> dict[int, float]:
    """ms per graph node id (fused nodes: 0; under a GPU profile: each op's share of the
    runtime's total)."""
    return graph_latencies_overhead(graph, profile, runtime)[0]


def graph_latencies_overhead(graph, profile: dict, runtime: str | None = None) -> tuple[dict[int, float], float]:
    """(:func:`graph_latencies`, the ms of the total no node owns: a GPU profile's graph launch
    or eager sync; 0 for a per-class profile, whose total is its nodes' sum)."""
    if is_gpu_profile(profile):
        p = predict_graph(graph, profile, runtime)
        return {n.node: n.latency_ms for n in p.nodes}, float(p.overhead_ms)
    return _class_latencies(graph, profile), 0.0


def _class_latencies(graph, profile: dict) -> dict[int, float]:
    """ms per node under a per-class profile (fused nodes 0; the max form floors each kernel)."""
    coef = coefficients(profile)
    floor = (profile.get("predictor") or {}).get("combine", "sum") == "max"
    cidx = {c: i for i, c in enumerate(CLASSES)}
    out: dict[int, float] = {}
    for nc in node_costs(graph, profile.get("dtype", "float32"), profile.get("fusion", ())):
        if nc.fused_into is not None:
            out[nc.node] = 0.0
            continue
        a = coef[cidx[nc.cls]]
        work = a[0] * nc.gmac + a[1] * nc.mb + a[2] * nc.mpix
        out[nc.node] = float(max(a[3], work) if floor else work + a[3])
    return out


LATENCY = Column("latency_ms", header="latency ms", fmt="ms", relative=True,
                 help="predicted latency on the device profile (ms)")
HOST = Column("host_ms", header="host ms", fmt="ms", help="GPU profiles: the host's dispatch time of the op (ms)")
DEVICE = Column("device_ms", header="device ms", fmt="ms", help="GPU profiles: the op's kernel time on the GPU (ms)")


def _notes(report, profile: dict) -> list[str]:
    notes = []
    shape = report.input_shape[0] if report.input_shape else []
    batch = int(shape[0]) if shape else 1
    if batch != int(profile.get("batch", 1)):
        notes.append(f"batch {batch} differs from the profile's calibration batch {profile.get('batch')}: "
                     "extrapolated by the per-class model")
    if report.dtype != profile.get("dtype", "float32"):
        notes.append(f"report dtype {report.dtype}; latency uses the profile's {profile.get('dtype')} "
                     "(the device runs that dtype)")
    return notes


def _info(profile: dict, notes: list[str], runtime: str | None) -> dict:
    val = profile.get("validation") or {}
    return {
        "profile": profile["name"],
        "device": profile.get("device"),
        "runtime": runtime or (profile.get("predictor") or {}).get("runtime") or profile.get("runtime"),
        "threads": profile.get("threads"),
        "batch": profile.get("batch"),
        "fusion": list(profile.get("fusion", ())),
        "predictor": (profile.get("predictor") or {}).get("form"),
        "held_out": {k: val.get(k) for k in ("holdout", "n", "mape", "within_10pct", "spearman") if k in val},
        "notes": notes,
    }


def _predict_gpu(report, profile: dict, runtime: str | None):
    """Host + device model (:mod:`costlab.latency.gpu`): per-op host ms, device ms and share
    of the runtime's total; the summary says which clock bounds the forward."""
    prog = program(report.graph, profile.get("dtype", "float32"), profile.get("fusion", ()))
    both = {rt: predict_program(prog, profile, rt) for rt in ("eager", "cudagraph")}   # the program built once
    rt = runtime or profile["predictor"].get("runtime", "eager")
    p = both[rt] if rt in both else predict_program(prog, profile, rt)   # refuses an unknown runtime
    bound = bound_of(prog, both["eager"], both["cudagraph"].total_ms)
    notes = [n for n in _notes(report, profile) if not n.startswith("batch")]
    info = _info(profile, notes, p.runtime)
    held = (((profile.get("validation") or {}).get("held_out") or {}).get(p.runtime) or {}).get("all")
    if held:   # the held-out accuracy of this runtime, not the profile's default one
        info["held_out"] = {"holdout": (profile.get("validation") or {}).get("holdout"),
                            **{k: held.get(k) for k in ("n", "mape", "within_10pct", "spearman")}}
    info.update({"host_ms": round(p.host_ms, 4), "device_ms": round(p.device_ms, 4), "bound": bound})
    total = round(p.total_ms, 4)
    section = Section("latency", data={"device": profile["name"], "latency": info}, notes=tuple(notes))
    out = report.with_column(HOST, {n.node: round(n.host_ms, 6) for n in p.nodes})
    out = out.with_column(DEVICE, {n.node: round(n.device_ms, 6) for n in p.nodes})
    return out.with_column(LATENCY, {n.node: round(n.latency_ms, 6) for n in p.nodes}, total=total, section=section)


def predict(report, profile: dict, runtime: str | None = None):
    """``report`` with predicted ``latency_ms`` per layer and in total (a new Report).
    ``runtime`` (GPU profiles: ``eager`` or ``cudagraph``; default the profile's own)."""
    if report.graph is None:
        raise ProfileError("this report has no graph (it was loaded, not traced); analyze the model again")
    if is_gpu_profile(profile):
        return _predict_gpu(report, profile, runtime)
    if runtime is not None and runtime != profile.get("runtime"):
        raise ProfileError(f"--runtime {runtime}: profile '{profile['name']}' is not a GPU host/device profile "
                           f"(its runtime: {profile.get('runtime')}); drop --runtime")
    lat = node_latencies(report, profile)
    total = round(float(sum(lat.values())), 4)
    notes = _notes(report, profile)
    section = Section("latency", data={"device": profile["name"], "latency": _info(profile, notes, None)},
                      notes=tuple(notes))
    return report.with_column(LATENCY, {n: round(v, 6) for n, v in lat.items()}, total=total, section=section)


def predict_baseline(gmac: float, profile: dict) -> float:
    """The profile's FLOPs-only baseline for ``gmac`` multiply-accumulates (x1e9)."""
    b = profile.get("baseline")
    if not b:
        raise ProfileError(f"profile '{profile.get('name')}' has no fitted baseline; run costlab calibrate")
    return float(b["ms_per_gmac"] * gmac + b["ms_const"])
