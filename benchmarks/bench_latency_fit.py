"""Cost of calibrating the shipped profiles: tracing their samples vs fitting + validating.

Prints seconds for each phase and the ratio fit/trace (the peer is the tracing of the
same samples in the same run). Run: python benchmarks/bench_latency_fit.py
"""
from __future__ import annotations

import time

from costlab.calibrate import fit, sources
from costlab.blocks import _graph, _sample_features


def main() -> None:
    names = sources.buildable()
    t0 = time.perf_counter()
    built = {n: sources.build(n) for n in names}
    t_build = time.perf_counter() - t0
    _graph.cache_clear()
    _sample_features.cache_clear()
    t0 = time.perf_counter()
    for d in built.values():
        fit.profile_data(d)                      # traces every sample once
    t_trace = time.perf_counter() - t0
    t0 = time.perf_counter()
    for d in built.values():
        fit.fit_profile(d, progress=False)       # features cached: NNLS + both leave-one-outs
    t_fit = time.perf_counter() - t0
    n = sum(len(d["samples"]) for d in built.values())
    print(f"profiles: {', '.join(names)} ({n} samples)")
    print(f"build from source data (incl. MFLOPs matching traces): {t_build:6.2f} s")
    print(f"trace all samples (cold cache):                         {t_trace:6.2f} s")
    print(f"fit + leave-one-network/family-out, all profiles:       {t_fit:6.2f} s")
    print(f"ratio fit / trace: {t_fit / t_trace:.2f}")


if __name__ == "__main__":
    main()
