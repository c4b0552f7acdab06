"""Variants predicted per second by ``costlab.search`` against a plain loop over
``costlab.analyze(spec, resolution=r, device=D)``, measured in the same run.

1. mobilenet_v2 width 0.35:1.4:0.05 x resolution 96:224:32 (110 variants) on arm:
   * baseline: ``costlab.analyze(..., device='arm')`` for every variant (a trace + counts +
     the latency pass each);
   * cold: the first ``search`` in the process (every variant traced once: mobilenet_v2 has
     no block decomposition, so nothing is shared between its variants);
   * warm: the same grid again with another budget (per-spec features cached), on another
     device with the same fusion rules (gpu: the same features, other coefficients), and
     on a device with other fusion rules (cpu: features recomputed from the cached graphs).
2. the FBNet space (``--space``): baseline = analyze loop on 40 architectures; cold = the
   first 2,000 random architectures (the ~110 distinct blocks traced on the way); warm =
   2,000 other architectures (blocks cached, every architecture new).

Every search result is compared with ``analyze`` on a few variants (max relative
difference printed). Target (issue 14): >= 500 variants/s warm on mobilenet_v2.

    python benchmarks/bench_search.py
"""
from __future__ import annotations

import time

import costlab
from costlab.search import search

GRID = {"width": "0.35:1.4:0.05", "resolution": "96:224:32"}


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def max_rel(result, device: str, k: int = 5) -> float:
    worst = 0.0
    for v in result.variants[:: max(1, len(result.variants) // k)]:
        ref = costlab.analyze(v["spec"], input_shape=[v["input_shape"]], device=device).totals["latency_ms"]
        worst = max(worst, abs(v["latency_ms"] - ref) / ref)
    return worst


def row(name: str, n: int, seconds: float, base_rate: float, check: str = "") -> str:
    rate = n / seconds
    return f"{name:<44} {n:>6} {seconds:>8.2f} {rate:>10.1f} {rate / base_rate:>8.1f}x  {check}".rstrip()


def mobilenet() -> float:
    from costlab.search import knob_grid, variant_spec

    costlab.analyze("mobilenet_v2", device="arm")                   # torch warm-up, outside the timings
    entry, variants, _ = knob_grid("mobilenet_v2", GRID)
    specs = [(variant_spec(entry, {k: v for k, v in x.items() if k != "resolution"}), x["resolution"])
             for x in variants]
    _, tb = timed(lambda: [costlab.analyze(s, resolution=r, device="arm") for s, r in specs])
    base = len(specs) / tb
    print(f"{'mobilenet_v2 width x resolution':<44} {'n':>6} {'s':>8} {'variants/s':>10} {'vs loop':>9}")
    print(row("baseline: analyze(..., device='arm') loop", len(specs), tb, base))
    cold, tc = timed(lambda: search("mobilenet_v2", GRID, device="arm", budget_ms=30))
    print(row("search, cold (first in the process)", len(cold.variants), tc, base,
              f"max rel. diff vs analyze {max_rel(cold, 'arm'):.1e}"))
    warm, tw = timed(lambda: search("mobilenet_v2", GRID, device="arm", budget_ms=50, objective="params"))
    print(row("search, warm: same device, other budget", len(warm.variants), tw, base))
    gpu, tg = timed(lambda: search("mobilenet_v2", GRID, device="gpu", budget_ms=5))
    print(row("search, warm: other device, same fusion (gpu)", len(gpu.variants), tg, base,
              f"max rel. diff {max_rel(gpu, 'gpu'):.1e}"))
    cpu, tcpu = timed(lambda: search("mobilenet_v2", GRID, device="cpu", budget_ms=30))
    print(row("search, warm: other fusion rules (cpu)", len(cpu.variants), tcpu, base,
              f"max rel. diff {max_rel(cpu, 'cpu'):.1e}"))
    rate = len(warm.variants) / tw
    print(f"warm rate {rate:,.0f} variants/s ({'meets' if rate >= 500 else 'misses'} the >= 500/s target); "
          f"cold {len(cold.variants) / tc:,.1f}/s vs the loop's {base:,.1f}/s")
    return rate


def fbnet() -> None:
    from costlab.search import sample_space

    specs = sample_space("fbnet", 40, seed=99)
    _, tb = timed(lambda: [costlab.analyze(s, device="arm") for s in specs])
    base = len(specs) / tb
    print(f"\n{'FBNet space (--space N), arm':<44} {'n':>6} {'s':>8} {'variants/s':>10} {'vs loop':>9}")
    print(row("baseline: analyze loop", len(specs), tb, base))
    cold, tc = timed(lambda: search("fbnet", {}, device="arm", budget_ms=30, space=2000, seed=1))
    print(row("search --space 2000, cold (blocks traced)", len(cold.variants), tc, base,
              f"max rel. diff {max_rel(cold, 'arm'):.1e}"))
    warm, tw = timed(lambda: search("fbnet", {}, device="arm", budget_ms=30, space=2000, seed=2))
    print(row("search --space 2000, warm (new archs)", len(warm.variants), tw, base,
              f"max rel. diff {max_rel(warm, 'arm'):.1e}"))


if __name__ == "__main__":
    mobilenet()
    fbnet()
