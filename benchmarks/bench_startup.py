"""Start-up time of the CLI against ``python -c "import torch"``, paired in one run (issue 22 item 10).

Each round runs, in this order, ``python -c "import torch"``, ``costlab analyze lenet5`` and
``costlab --help`` as fresh processes (the same interpreter running the console script's code,
``from costlab.entry import main``), so all three see the same machine load and disk cache. Per command: the
median, min and max over ``--repeats`` rounds (default 7; the first, warm-up round is not counted);
the ratios are of the medians, and of each round's pair (their min .. max) to show the spread.
Targets: analyze / import torch <= 1.3, --help / import torch <= 1.1.

    python benchmarks/bench_startup.py [--repeats 7]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

ENTRY = "import sys; from costlab.entry import main; sys.exit(main())"    # what the console script runs
COMMANDS = {
    "import torch": [sys.executable, "-c", "import torch"],
    "costlab analyze lenet5": [sys.executable, "-c", ENTRY, "analyze", "lenet5"],
    "costlab --help": [sys.executable, "-c", ENTRY, "--help"],
}
TARGETS = {"costlab analyze lenet5": 1.3, "costlab --help": 1.1}


def _time(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    if args.repeats < 5:
        ap.error("--repeats: at least 5 rounds")
    for cmd in COMMANDS.values():          # warm-up round: disk cache, .pyc files
        _time(cmd)
    runs: dict[str, list[float]] = {k: [] for k in COMMANDS}
    for _ in range(args.repeats):
        for name, cmd in COMMANDS.items():
            runs[name].append(_time(cmd))
    base = runs["import torch"]
    print(f"{args.repeats} rounds, each: {', '.join(COMMANDS)} (fresh processes, {sys.executable})")
    print(f"{'command':24s} {'median s':>9s} {'min s':>7s} {'max s':>7s}  {'ratio':>6s}  {'pairs min..max':>15s}  target")
    ok = True
    for name, ts in runs.items():
        med = statistics.median(ts)
        line = f"{name:24s} {med:9.2f} {min(ts):7.2f} {max(ts):7.2f}"
        if name in TARGETS:
            ratio = med / statistics.median(base)
            pairs = [t / b for t, b in zip(ts, base)]
            met = ratio <= TARGETS[name]
            ok &= met
            line += (f"  {ratio:5.2f}x  {min(pairs):6.2f}..{max(pairs):5.2f}x  <= {TARGETS[name]}x "
                     f"{'met' if met else 'NOT met'}")
        print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
