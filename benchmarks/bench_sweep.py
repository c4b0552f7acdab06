"""A 100,000-architecture FBNet sweep on two devices: one process, 2 local processes, and
local Ray (2 CPUs), each a fresh ``costlab sweep`` command (imports, tracing and writing
included), against a plain ``costlab.analyze(spec, device=D)`` loop measured in the same run
(on ``--plain`` architectures, extrapolated). Checks that the three outputs are identical,
and prints Ray's overhead over the local processes (and what ``ray.init`` alone costs).

Target (issue 14): 100,000 architectures on 2 local processes in <= 2 minutes.

    python benchmarks/bench_sweep.py [--n 100000] [--devices arm,gpu] [--plain 40] [--no-ray]
"""
from __future__ import annotations

import argparse
import filecmp
import importlib.util
import os
import subprocess
import sys
import tempfile
import time


def plain_rate(n: int, devices: list[str]) -> float:
    """(model, device) rows per second of a plain analyze loop."""
    import costlab
    from costlab.search import sample_space

    specs = sample_space("fbnet", n, seed=12345)
    costlab.analyze(specs[0], device=devices[0])               # warm-up
    t = time.perf_counter()
    for s in specs:
        for d in devices:
            costlab.analyze(s, device=d)
    return n * len(devices) / (time.perf_counter() - t)


def run_cli(args: list[str]) -> tuple[float, str]:
    exe = os.path.join(os.path.dirname(sys.executable), "costlab")
    t = time.perf_counter()
    p = subprocess.run([exe, "sweep"] + args, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if p.returncode:
        raise SystemExit(f"costlab sweep {' '.join(args)} failed: {p.stderr.strip()}")
    return dt, p.stdout.strip()


def ray_init_seconds() -> float:
    import ray

    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    dt = time.perf_counter() - t
    ray.shutdown()
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--devices", default="arm,gpu")
    ap.add_argument("--plain", type=int, default=40)
    ap.add_argument("--no-ray", action="store_true")
    a = ap.parse_args()
    devices = a.devices.split(",")
    rows = a.n * len(devices)
    base = plain_rate(a.plain, devices)
    print(f"FBNet sweep: {a.n:,} architectures x {len(devices)} devices ({a.devices}) = {rows:,} rows")
    print(f"{'run':<40} {'s':>8} {'rows/s':>10} {'vs loop':>9}")
    print(f"{'baseline: analyze loop (extrapolated)':<40} {rows / base:>8.0f} {base:>10.1f} {1:>8.1f}x")
    out = tempfile.mkdtemp(prefix="costlab-bench-sweep-")
    common = ["--space", "fbnet", "--n", str(a.n), "--seed", "0", "--device", a.devices]
    runs = [("costlab sweep --jobs 1", "one.csv", ["--jobs", "1"]),
            ("costlab sweep --jobs 2", "two.csv", ["--jobs", "2"])]
    if not a.no_ray and importlib.util.find_spec("ray") is not None:
        runs.append(("costlab sweep --backend ray (local, 2 CPUs)", "ray.csv", ["--backend", "ray"]))
    times = {}
    for name, fname, extra in runs:
        dt, line = run_cli(common + extra + ["-o", os.path.join(out, fname)])
        times[fname] = dt
        print(f"{name:<40} {dt:>8.1f} {rows / dt:>10.0f} {rows / dt / base:>8.0f}x")
    two = times["two.csv"]
    print(f"2 local processes: {two:.1f} s for {a.n:,} architectures "
          f"({'meets' if two <= 120 else 'misses'} the <= 2 min target); speed-up over 1 process "
          f"{times['one.csv'] / two:.2f}x")
    same = all(filecmp.cmp(os.path.join(out, "one.csv"), os.path.join(out, f), shallow=False) for f in times)
    print(f"outputs identical byte for byte: {'yes' if same else 'NO'}")
    if "ray.csv" in times:
        init = ray_init_seconds()
        over = times["ray.csv"] - two
        print(f"Ray overhead over 2 local processes: {over:+.1f} s ({times['ray.csv'] / two:.2f}x); "
              f"of which ray.init of a local instance alone: {init:.1f} s")


if __name__ == "__main__":
    main()
