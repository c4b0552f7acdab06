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
from ..report import Column, Section
from ..errors import ProfileError

_KEYS = {"gmac": "ms_per_gmac", "mb": "ms_per_mb", "mpix": "ms_per_mpix", "ops": "ms_per_op"}


def coefficients(profile: dict) -> np.ndarray:
    """The predictor's (len(CLASSES), len(TERMS)) coefficient matrix."""
    pred = profile.get("predictor")
    if not pred:
        raise ProfileError(f"profile '{profile.get('name', '?')}' has no fitted predictor; "
                           f"run: costlab calibrate {profile.get('_path', profile.get('name', 'PROFILE'))}")
    cl = pred["classes"]
    return np.array([[float(cl[c].get(_KEYS[t], 0.0)) for t in TERMS] for c in CLASSES])


def node_latencies(report, profile: dict) -> dict[int, float]:
    """ms per graph node id (fused nodes: 0)."""
    if report.graph is None:
        raise ProfileError("this report has no graph (it was loaded, not traced); analyze the model again")
    coef = coefficients(profile)
    cidx = {c: i for i, c in enumerate(CLASSES)}
    out: dict[int, float] = {}
    for nc in node_costs(report.graph, profile.get("dtype", "float32"), profile.get("fusion", ())):
        if nc.fused_into is not None:
            out[nc.node] = 0.0
            continue
        a = coef[cidx[nc.cls]]
        out[nc.node] = float(a[0] * nc.gmac + a[1] * nc.mb + a[2] * nc.mpix + a[3])
    return out


LATENCY = Column("latency_ms", header="latency ms", fmt="ms", relative=True,
                 help="predicted latency on the device profile (ms)")


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


def predict(report, profile: dict):
    """``report`` with predicted ``latency_ms`` per layer and in total (a new Report)."""
    lat = node_latencies(report, profile)
    total = round(float(sum(lat.values())), 4)
    val = profile.get("validation") or {}
    notes = _notes(report, profile)
    info = {
        "profile": profile["name"],
        "device": profile.get("device"),
        "runtime": profile.get("runtime"),
        "threads": profile.get("threads"),
        "batch": profile.get("batch"),
        "fusion": list(profile.get("fusion", ())),
        "predictor": (profile.get("predictor") or {}).get("form"),
        "held_out": {k: val.get(k) for k in ("holdout", "n", "mape", "within_10pct", "spearman") if k in val},
        "notes": notes,
    }
    section = Section("latency", data={"device": profile["name"], "latency": info},
                      lines=(f"latency     {total:.3f} ms ({profile['name']})",), notes=tuple(notes))
    return report.with_column(LATENCY, {n: round(v, 6) for n, v in lat.items()}, total=total, section=section)


def predict_baseline(gmac: float, profile: dict) -> float:
    """The profile's FLOPs-only baseline for ``gmac`` multiply-accumulates (x1e9)."""
    b = profile.get("baseline")
    if not b:
        raise ProfileError(f"profile '{profile.get('name')}' has no fitted baseline; run costlab calibrate")
    return float(b["ms_per_gmac"] * gmac + b["ms_const"])
