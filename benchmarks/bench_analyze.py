"""Speed of ``costlab.analyze`` (trace + all counts) against fvcore's FlopCountAnalysis.

Both run in the same process, on the same model objects (real CPU weights), best of
``--repeats`` runs each (default 5). Prints, per model, the two times and their ratio
(target: costlab / fvcore <= 0.5), then costlab's time per block on deep plain nets of
250, 500 and 1000 blocks (target: linear in depth, i.e. the per-block time stays flat).

    python benchmarks/bench_analyze.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import logging
import time

import torch
import torch.nn as nn
from fvcore.nn import FlopCountAnalysis

import costlab
from costlab.spec import build_zoo

logging.getLogger("fvcore").setLevel(logging.ERROR)


class DeepNet(nn.Module):
    """``blocks`` residual blocks of conv3x3-BN-ReLU at 16 channels, 32x32."""

    def __init__(self, blocks: int):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
            for _ in range(blocks))
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        for b in self.blocks:
            x = x + b(x)
        return self.head(x.mean((2, 3)))


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def fvcore_total(model, shape):
    fca = FlopCountAnalysis(model, torch.zeros(shape))
    fca.unsupported_ops_warnings(False)
    fca.uncalled_modules_warnings(False)
    return fca.total()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cases = [
        ("mobilenet_v2", build_zoo("mobilenet_v2", device="cpu").model.eval(), (1, 3, 224, 224)),
        ("shufflenet_v2", build_zoo("shufflenet_v2", device="cpu").model.eval(), (1, 3, 224, 224)),
        ("deep plain net, 500 blocks", DeepNet(500).eval(), (1, 3, 32, 32)),
    ]
    print(f"{'model':30s} {'costlab s':>10s} {'fvcore s':>10s} {'ratio':>7s}  target <= 0.50")
    ratios = []
    for name, model, shape in cases:
        costlab.analyze(model, shape)          # warm-up (imports, first-call caches)
        fvcore_total(model, shape)
        tc = best(lambda: costlab.analyze(model, shape), args.repeats)
        tf = best(lambda: fvcore_total(model, shape), args.repeats)
        ratios.append(tc / tf)
        print(f"{name:30s} {tc:10.3f} {tf:10.3f} {tc / tf:7.2f}")
    print(f"worst ratio {max(ratios):.2f} ({'meets' if max(ratios) <= 0.5 else 'MISSES'} the 0.5 target)")
    print()
    print(f"{'blocks':>7s} {'costlab s':>10s} {'ms/block':>9s}")
    per_block = []
    for n in (250, 500, 1000):
        m = DeepNet(n).eval()
        t = best(lambda: costlab.analyze(m, (1, 3, 32, 32)), args.repeats)
        per_block.append(t / n)
        print(f"{n:7d} {t:10.3f} {1000 * t / n:9.3f}")
    growth = per_block[-1] / per_block[0]
    print(f"per-block time at 1000 / at 250 blocks: {growth:.2f} (1.00 = linear; "
          f"{'linear within 25%' if 0.75 <= growth <= 1.25 else 'NOT linear'})")


if __name__ == "__main__":
    main()
