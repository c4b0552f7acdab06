"""Speed of an ONNX file's analysis against the PyTorch trace of the same model, in one run.

ResNet-50 (default) is exported once (legacy exporter, opset 17, BN folded: the eval default),
then ``costlab.analyze('resnet50.onnx')`` (read the file, shape inference, IR, counts) and
``costlab.analyze('resnet50')`` (build on meta, trace, counts) are each timed best of
``--repeats`` (default 5), interleaved so both see the same machine load. Target: ONNX / trace <= 1.

    python benchmarks/bench_onnx.py [--model resnet50] [--repeats 5]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

import costlab
from costlab.spec import build_zoo, input_shapes_for

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_zoo import export  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    resolved = build_zoo(args.model, device="cpu")
    shape = tuple(input_shapes_for(resolved, None, None)[0])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{args.model}.onnx")
        export(resolved.model.eval(), shape, path)
        size = os.path.getsize(path)
        costlab.analyze(path), costlab.analyze(args.model)    # warm imports and caches
        t_onnx, t_trace = [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            rep = costlab.analyze(path)
            t_onnx.append(time.perf_counter() - t)
            t = time.perf_counter()
            ref = costlab.analyze(args.model)
            t_trace.append(time.perf_counter() - t)
    assert rep.totals["macs"] == ref.totals["macs"]
    o, r = min(t_onnx), min(t_trace)
    print(f"{args.model}: ONNX file {size / 1e6:.1f} MB, {len(rep.graph.nodes)} nodes; "
          f"analyze(file) {o * 1000:.0f} ms, analyze(trace) {r * 1000:.0f} ms, ratio {o / r:.2f} (target <= 1)")
    for what, ts in (("file", t_onnx), ("trace", t_trace)):     # the spread of the timed runs
        q = np.percentile(np.array(ts) * 1000, [10, 50, 90])
        print(f"  {what}: {len(ts)} runs, wall clock, 1 process: p10 {q[0]:.0f} ms, median {q[1]:.0f} ms, p90 {q[2]:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
