"""Predicting a search space: block-composed features vs a plain loop over costlab.analyze.

On the 5,000 FBNet architectures of HELP's latency data (``costlab/data/latency/``), with a
shipped profile (default ``arm-pixel1-tflite``), in one run:

* first run: every architecture through :func:`costlab.blocks.spec_features` with
  cold caches (the 110 distinct blocks are traced on the way), predicted ms = features x
  coefficients;
* warm: the same with the blocks cached but the per-spec cache cleared (what a new
  architecture of a known space costs);
* batch: :class:`costlab.blocks.SpecSet` over all 5,000 (blocks cached) + one
  product;
* plain loop: ``costlab.analyze(spec, input_shape, device=profile)`` (a full trace + the
  latency pass) on the first ``--plain`` architectures, its rate extrapolated.

The predictions of both ways are compared on the plain loop's architectures. Targets
(issue 11): >= 2,000 architectures/s warm, the first run of all 5,000 <= 60 s.

Run: python benchmarks/bench_fewshot.py [--profile NAME] [--plain 50]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

SHAPE = (1, 3, 32, 32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="arm-pixel1-tflite")
    ap.add_argument("--plain", type=int, default=50, help="architectures timed through costlab.analyze")
    args = ap.parse_args()

    import costlab
    from costlab import blocks
    from costlab.latency.forms.per_class import coef_matrix
    from costlab.latency.profile import load_profile
    from costlab.reproduce.latency_fewshot import load_table

    prof = load_profile(args.profile)
    coef = coef_matrix(prof.require_fitted())
    dtype, fusion = prof.dtype, tuple(prof.fusion)
    archs, _, _ = load_table()
    specs = [f"fbnet:arch={a}" for a in archs]
    n = len(specs)

    for cache in (blocks._graph, blocks._sample_features, blocks._blocks, blocks._spec_features,
                  blocks.block_nodes):
        cache.cache_clear()
    t0 = time.perf_counter()
    fast = np.array([float((blocks.spec_features(s, SHAPE, dtype, fusion)[0] * coef).sum()) for s in specs])
    t_first = time.perf_counter() - t0

    blocks._spec_features.cache_clear()
    blocks._blocks.cache_clear()
    t0 = time.perf_counter()
    warm = np.array([float((blocks.spec_features(s, SHAPE, dtype, fusion)[0] * coef).sum()) for s in specs])
    t_warm = time.perf_counter() - t0
    assert np.array_equal(fast, warm)

    blocks._blocks.cache_clear()
    t0 = time.perf_counter()
    ss = blocks.SpecSet([(s, SHAPE) for s in specs], dtype, fusion)
    batch = ss.predict(coef.reshape(-1), "sum")
    t_batch = time.perf_counter() - t0

    m = min(args.plain, n)
    costlab.analyze(specs[0], input_shape=SHAPE, device=prof)        # warm-up (imports, first trace)
    t0 = time.perf_counter()
    plain = np.array([float(costlab.analyze(s, input_shape=SHAPE, device=prof).totals["latency_ms"])
                      for s in specs[:m]])
    t_plain = time.perf_counter() - t0

    rate_plain = m / t_plain
    diff = float(np.max(np.abs(fast[:m] / plain - 1)))
    bdiff = float(np.max(np.abs(batch / fast - 1)))
    print(f"FBNet space: {n} architectures, {len(ss.blocks)} distinct blocks; profile {prof.name} "
          f"(fusion {', '.join(fusion) or 'none'})")
    print(f"{'way':46s} {'seconds':>9s} {'archs/s':>10s} {'vs plain':>9s}")
    rows = [("plain loop over costlab.analyze (extrapolated)", n / rate_plain, rate_plain),
            ("spec_features, first run (traces the blocks)", t_first, n / t_first),
            ("spec_features, warm (blocks cached)", t_warm, n / t_warm),
            ("SpecSet batch, warm (blocks cached)", t_batch, n / t_batch)]
    for name, sec, rate in rows:
        print(f"{name:46s} {sec:9.2f} {rate:10.0f} {rate / rate_plain:8.0f}x")
    print(f"plain loop timed on {m} architectures ({t_plain:.2f} s); largest difference between the two "
          f"predictions there: {100 * diff:.2g}% (batch vs per-spec: {100 * bdiff:.2g}%)")
    ok_warm, ok_first = n / t_warm >= 2000, t_first <= 60
    print(f"targets: warm >= 2000 archs/s: {'met' if ok_warm else 'MISSED'}; "
          f"first run of {n} <= 60 s: {'met' if ok_first else 'MISSED'}")


if __name__ == "__main__":
    main()
