"""Calibration samples: a zoo spec at an input shape, traced once per process.

Profiles are calibrated on samples (ops, blocks, networks) named by zoo specs; every fit,
validation and source builder reads their features from here, so each (spec, shape) is
traced once (``functools.lru_cache``) and all granularities share one code path.
"""
from __future__ import annotations

import functools

import numpy as np

from ..api import analyze
from ..ir import Graph
from ..latency.features import feature_matrix, node_costs
from ..latency.gpu import is_gpu_profile, predict_graph
from ..latency.predict import coefficients, graph_latencies
from ..latency.profile import load_profile


@functools.lru_cache(maxsize=1024)
def _graph(spec: str, shape: tuple[int, ...]) -> tuple[Graph, float]:
    rep = analyze(spec, input_shape=[shape])
    return rep.graph, float(rep.totals["macs"])


@functools.lru_cache(maxsize=4096)
def _sample_features(spec: str, shape: tuple[int, ...], dtype: str, fusion: tuple[str, ...]):
    graph, macs = _graph(spec, shape)
    f = feature_matrix(node_costs(graph, dtype, fusion))
    f.setflags(write=False)
    return f, macs / 1e9


def sample_graph(spec: str, input_shape) -> tuple[Graph, float]:
    """(traced graph, total MACs) of zoo spec ``spec`` at ``input_shape`` (cached)."""
    return _graph(spec, tuple(int(x) for x in input_shape))


def sample_features(spec: str, input_shape, dtype: str = "float32", fusion=()) -> tuple[np.ndarray, float]:
    """(per-class features (classes x terms), total GMACs) of a zoo spec at ``input_shape``;
    traced once per process per (spec, shape)."""
    return _sample_features(spec, tuple(int(x) for x in input_shape), dtype, tuple(sorted(set(fusion or ()))))


def predict_spec(spec: str, input_shape, profile, runtime: str | None = None) -> float:
    """Predicted ms of zoo spec ``spec`` at ``input_shape`` (traced once per process)."""
    profile = load_profile(profile) if isinstance(profile, str) else profile
    if is_gpu_profile(profile):
        return predict_graph(sample_graph(spec, input_shape)[0], profile, runtime).total_ms
    if (profile.get("predictor") or {}).get("combine", "sum") == "max":   # per kernel: not linear in features
        return float(sum(graph_latencies(sample_graph(spec, input_shape)[0], profile).values()))
    f, _ = sample_features(spec, input_shape, profile.get("dtype", "float32"), profile.get("fusion", ()))
    return float((f * coefficients(profile)).sum())
