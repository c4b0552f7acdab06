"""Speed of ``costlab memory`` (trace, counts, memory pass: lifetimes under two rule sets, the
greedy arena and the best-order search) as a ratio to ``costlab analyze`` on the same model, both
run in this process through the CLI entry point, interleaved, best of ``--repeats`` each.
Target: the ratio stays below 2 on every zoo model.

    python benchmarks/bench_memory.py [--repeats 3] [--models mobilenet_v2,googlenet]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from costlab.cli import main

MODELS = ["mobilenet_v1", "mobilenet_v2", "proxylessnas_mobile", "shufflenet_v1", "shufflenet_v2",
          "squeezenet1_0", "googlenet", "resnet18", "resnet50", "inception_v3", "xception", "vgg16",
          "cspdarknet53", "fbnet", "nb201"]


def timed(args: list[str]) -> float:
    t = time.perf_counter()
    code = main(args)
    dt = time.perf_counter() - t
    if code != 0:
        raise SystemExit(f"costlab {' '.join(args)} exited {code}")
    return dt


def run(models: list[str], repeats: int) -> float:
    worst = 0.0
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.json")
        timed(["analyze", "lenet5", "-o", out])          # warm imports
        timed(["memory", "lenet5", "-o", out])
        print(f"{'model':<22s} {'analyze s':>10s} {'memory s':>10s} {'ratio':>7s}  spread (max/min per command)")
        for m in models:
            a, b = [], []
            for _ in range(repeats):
                a.append(timed(["analyze", m, "--format", "json", "-o", out]))
                b.append(timed(["memory", m, "--format", "json", "-o", out]))
            ratio = min(b) / min(a)
            worst = max(worst, ratio)
            print(f"{m:<22s} {min(a):>10.3f} {min(b):>10.3f} {ratio:>6.2f}x  analyze {max(a) / min(a):.2f}, "
                  f"memory {max(b) / min(b):.2f}")
    print(f"worst ratio {worst:.2f}x (target < 2x)")
    return worst


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--models", default=",".join(MODELS))
    ns = ap.parse_args()
    run(ns.models.split(","), ns.repeats)
