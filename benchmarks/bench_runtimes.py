"""Deployment-runtime profiles: held-out accuracy and the bench harness's agreement (issue 19).

Part A, agreement: for each runtime, ``costlab bench``'s median (costlab.runtimes.bench.bench) vs a
plain loop timed in the same process (``InferenceSession.run`` / ``infer()`` /
``Interpreter.invoke`` between two ``time.perf_counter`` calls), alternating three times each;
prints both medians and their ratio (target: within 5%).

Part B, accuracy: for each ``--profile RUNTIME=FILE`` (a profile ``costlab profile --target
RUNTIME`` wrote), the held-out networks below are timed through that runtime twice (the
noise floor: the second run as a "prediction" of the first), and predicted by
* the profile refitted without the network samples of the network's family
  (**leave-family-out, the headline**; ops and blocks are family-free micro specs and stay);
* the FLOPs-only line ``a*GMAC + c`` fitted on the profile's network samples, same folds;
* the shipped eager profile ``cpu-local`` times one factor fitted (least squares on relative
  error) on the same network samples, same folds;
* the profile as written (no refit), for reference.
Prints MAPE, share within 10%, Spearman and the signed mean per line, and the verdicts of the
issue (MAPE <= 10%, Spearman >= 0.95, below both other lines, within 2x of the noise floor).

Run (ORT: ~2-4 min per runtime besides the profile itself):
    python benchmarks/bench_runtimes.py --profile ort=ORT.json [--profile openvino=OV.json] [--runs 15]
    python benchmarks/bench_runtimes.py --agreement-only --runtimes ort,openvino

Part C, ``--unseen`` (needs torchvision): torchvision's mnasnet1_0, mobilenet_v3_large,
efficientnet_b0 and regnet_x_400mf (not in costlab's zoo) timed through the runtime beside 4 of
the profile's own networks and predicted by the profile as written (target: within 15%).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

HELD = ("mobilenet_v1:width=0.25", "mobilenet_v1:width=0.5", "mobilenet_v1",
        "mobilenet_v2:width=0.5", "mobilenet_v2",
        "shufflenet_v1:width=0.5", "shufflenet_v1",
        "shufflenet_v2:width=0.5", "shufflenet_v2", "shufflenet_v2:width=1.5",
        "squeezenet1_1", "resnet18", "googlenet", "proxylessnas_mobile", "fbnet",
        "cspresnet50", "nb201", "sv2bench_g3", "inception_v3", "vgg13", "lenet5", "xception")
AGREE = ("shufflenet_v2:width=0.5", "mobilenet_v2:width=0.5", "resnet18")
# networks costlab's zoo does not have (torchvision's; the "never seen" set)
UNSEEN = ("torchvision:mnasnet1_0", "torchvision:mobilenet_v3_large", "torchvision:efficientnet_b0",
          "torchvision:regnet_x_400mf")


def _plain_loop(rt: str, art, example, threads: int, runs: int) -> list[float]:
    """ms per call of the runtime's own API in a bare loop (no costlab code inside the loop)."""
    import numpy as np

    x = example.numpy()
    if rt == "ort":
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        sess = ort.InferenceSession(str(art.path), so, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        fn = lambda: sess.run(None, {name: x})  # noqa: E731
    elif rt == "openvino":
        import openvino as ov

        c = ov.Core().compile_model(str(art.path), "CPU", {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1,
                                                          "PERFORMANCE_HINT": "LATENCY",
                                                          "INFERENCE_PRECISION_HINT": "f32"})
        req = c.create_infer_request()
        req.set_input_tensor(ov.Tensor(x))
        fn = req.infer
    elif rt == "litert":
        from ai_edge_litert.interpreter import Interpreter

        it = Interpreter(model_path=str(art.path), num_threads=threads)
        it.allocate_tensors()
        d = it.get_input_details()[0]
        if x.ndim == 4 and tuple(d["shape"]) != x.shape:      # costlab converts with NHWC input
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        it.set_tensor(d["index"], x.astype(np.float32))
        fn = it.invoke
    else:
        import torch

        model = art.meta["model"]
        fn = lambda: model(example)  # noqa: E731
    for _ in range(5):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def agreement(runtimes, runs: int, alternations: int = 5) -> list[dict]:
    import torch

    from costlab.runtimes import artifact, build_model
    from costlab.runtimes.bench import bench

    torch.set_num_threads(1)
    rows = []
    for rt in runtimes:
        for spec in AGREE:
            b = build_model(spec)
            art = artifact(rt, spec, built=b)
            if rt == "torch":
                art.meta["model"] = b[1]
            ours, plain = [], []
            for _ in range(alternations):       # alternate, so drift lands on both
                ours.append(bench(spec, rt, runs=runs, warmup=5, clock="wall", op_profile=False)["median_ms"])
                with torch.inference_mode():
                    plain.append(statistics.median(_plain_loop(rt, art, b[2], 1, runs)))
            a, p = statistics.median(ours), statistics.median(plain)
            rows.append({"runtime": rt, "spec": spec, "bench_ms": a, "plain_ms": p, "ratio": a / p,
                         "bench_runs": ours, "plain_runs": plain})
            print(f"  {rt:9s} {spec:26s} costlab bench {a:8.3f} ms  plain loop {p:8.3f} ms  ratio {a / p:.3f} "
                  f"(bench medians {min(ours):.3f}-{max(ours):.3f}, plain {min(plain):.3f}-{max(plain):.3f})",
                  flush=True)
    return rows


def accuracy(runtime: str, path: str, runs: int, held=HELD) -> dict:
    """costlab.calibrate.validate.validate_runtime (what ``costlab validate --device PROFILE
    --measure`` runs for a runtime profile) on the held-out networks, plus the profile as written."""
    from costlab.blocks import predict_spec
    from costlab.calibrate.fit import metrics
    from costlab.calibrate.validate import validate_runtime
    from costlab.latency.profile import load_profile

    prof = load_profile(path)
    if (prof.machine or {}).get("runtime") != runtime:
        raise SystemExit(f"{path} was not measured through {runtime} (provenance.machine.runtime)")
    t0 = time.perf_counter()
    r = validate_runtime(prof, held, repeats=runs, progress=False)
    y = np.array([row["measured_ms"] for row in r["rows"]])
    plain = np.array([predict_spec(row["spec"], tuple(row["input_shape"]), prof) for row in r["rows"]])
    m = metrics(plain, y)
    m["signed_mean_pct"] = round(float(100 * np.mean((plain - y) / y)), 2)
    lofo = {k: r[k] for k in ("n", "mape", "within_10pct", "spearman", "signed_mean_pct")}
    return {"runtime": runtime, "profile": path, "n": r["n"], "families": r["families"],
            "measure_s": round(time.perf_counter() - t0, 1), "noise_floor": r["noise_floor"],
            "leave_family_out": lofo, "flops_only": r["baseline"], "eager_rescaled": r["eager_rescaled"],
            "profile_as_written": m, "network_weight": (prof.predictor or {}).get("network_weight"),
            "op_timing": ((prof.provenance or {}).get("op_timing") or {}).get("chosen", "interleaved"),
            "noise_median": r["noise_median"], "anchored": r.get("anchored"), "machine_speed": r.get("machine_speed"),
            "rows": [{"spec": row["spec"], "family": row["family"], "measured_ms": row["measured_ms"],
                      "again_ms": row["again_ms"], "lofo_ms": row["predicted_ms"], "flops_ms": row["baseline_ms"],
                      "eager_ms": row["eager_rescaled_ms"]} for row in r["rows"]]}


def unseen(runtime: str, path: str, runs: int, specs=UNSEEN) -> dict:
    """Networks not in costlab's zoo (torchvision's, random weights, 1x3x224x224) timed through the
    runtime in the same turns as 4 of the profile's own network samples (the speed anchors of
    ``validate --measure``), predicted by the profile as written (its samples hold none of them)."""
    from costlab.blocks import predict_spec
    from costlab.calibrate.grid import default_input_shape
    from costlab.calibrate.validate import _interleave, _speed, speed_anchors
    from costlab.latency.profile import load_profile
    from costlab.runtimes.bench import measure_many

    prof = load_profile(path)
    anc = speed_anchors(prof, 1)
    shape = (1, 3, 224, 224)
    items = [(s, shape if s in specs else default_input_shape(s)) for s in _interleave(list(specs), anc)]
    rows = measure_many(items, runtime, runs=runs, progress=False)
    speed = _speed(anc, rows)
    out = []
    for r in rows:
        if r["spec"] in specs:
            p = predict_spec(r["spec"], shape, prof)
            out.append({"spec": r["spec"], "measured_ms": r["median_ms"], "predicted_ms": round(p, 4),
                        "error_pct": round(100 * (p - r["median_ms"]) / r["median_ms"], 2),
                        "anchored_error_pct": round(100 * (p * speed["factor"] - r["median_ms"]) / r["median_ms"], 2)})
    return {"runtime": runtime, "profile": path, "speed": speed, "rows": out}


def _print_unseen(r: dict) -> None:
    print(f"\n{r['runtime']}: networks costlab's zoo lacks, predicted by {r['profile']} (as written); machine speed "
          f"now / at profiling {r['speed']['factor']:.3f}")
    for row in r["rows"]:
        ok = "yes" if abs(row["error_pct"]) <= 15 else "NO"
        print(f"  {row['spec']:34s} measured {row['measured_ms']:8.3f} ms  predicted {row['predicted_ms']:8.3f} ms  "
              f"error {row['error_pct']:+6.1f}% (anchored {row['anchored_error_pct']:+6.1f}%)  within 15%: {ok}")


def _print_acc(r: dict) -> None:
    print(f"\n{r['runtime']}: {r['n']} held-out networks of {r['families']} families, each timed twice "
          f"({r['measure_s']:.0f} s with the refits); profile {r['profile']} (as profiled: "
          + ("op timing and network weight: none chosen, the fit averages all of them (in every fold too)"
             if r.get("op_timing") == "mean" else
             f"network weight {r['network_weight']}, op timing {r.get('op_timing', 'interleaved')}; both re-chosen in each fold")
          + "); per-network spread (p90-p10)/median of the first run's repeats: "
          f"median {r['noise_median']}")
    print(f"  {'line':34s} {'MAPE %':>7s} {'within10 %':>10s} {'Spearman':>8s} {'signed %':>8s}")
    for key, label in (("leave_family_out", "profile, leave-family-out (headline)"),
                       ("flops_only", "FLOPs-only line, same folds"),
                       ("eager_rescaled", "eager cpu-local x k, same folds"),
                       ("anchored", "leave-family-out x machine speed"),
                       ("profile_as_written", "profile as written (no refit)"),
                       ("noise_floor", "noise floor (second run vs first)")):
        m = r.get(key)
        if not m:
            continue
        print(f"  {label:34s} {m['mape']:7.1f} {m['within_10pct']:10.0f} {m['spearman'] or float('nan'):8.3f} "
              f"{m['signed_mean_pct']:8.1f}")
    h, f, e, n = r["leave_family_out"], r["flops_only"], r["eager_rescaled"], r["noise_floor"]
    print(f"  verdicts: MAPE <= 10%: {'yes' if h['mape'] <= 10 else 'NO'}; Spearman >= 0.95: "
          f"{'yes' if (h['spearman'] or 0) >= 0.95 else 'NO'}; below FLOPs-only: {'yes' if h['mape'] < f['mape'] else 'NO'};"
          f" below rescaled eager: {'yes' if h['mape'] < e['mape'] else 'NO'}; within 2x the noise floor: "
          f"{'yes' if h['mape'] <= 2 * max(n['mape'], 1e-9) else 'NO'} ({h['mape']:.1f}% vs {n['mape']:.1f}%)")
    if r.get("machine_speed"):
        sp = r["machine_speed"]
        print(f"  machine speed now / at profiling: {sp['factor']:.3f} (spread {100 * sp['spread']:.0f}%; "
              + ", ".join(f"{a['spec']} {a['ratio']:.3f}" for a in sp["anchors"]) + ")")
    print("  per network (ms): spec, measured, again, leave-family-out, FLOPs-only, eager x k")
    for row in r["rows"]:
        print(f"    {row['spec']:26s} {row['measured_ms']:9.3f} {row['again_ms']:9.3f} {row['lofo_ms']:9.3f} "
              f"{row['flops_ms']:9.3f} {row['eager_ms']:9.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", action="append", default=[], metavar="RUNTIME=FILE")
    ap.add_argument("--runtimes", default=None, help="agreement: comma-separated (default: those of --profile, "
                                                     "else every installed one)")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--agreement-only", action="store_true")
    ap.add_argument("--accuracy-only", action="store_true")
    ap.add_argument("--alternations", type=int, default=5, help="agreement: bench / plain-loop alternations")
    ap.add_argument("--unseen", action="store_true", help="also time and predict torchvision's mnasnet1_0, "
                    "mobilenet_v3_large, efficientnet_b0, regnet_x_400mf (needs torchvision)")
    ap.add_argument("--json", default=None, help="write every figure to this JSON file")
    a = ap.parse_args()
    from costlab.runtimes import installed

    with open("/proc/loadavg") as f:
        print(f"load average at start: {' '.join(f.read().split()[:3])} (2-core machine; > 1.3 means busy)")
    profs = dict(p.split("=", 1) for p in a.profile)
    rts = a.runtimes.split(",") if a.runtimes else (list(profs) or [r for r in installed()])
    print("Part A: costlab bench vs a plain loop of the runtime's own API, same process, 1 thread, wall clock, "
          f"{a.runs} runs x {a.alternations} alternations, medians")
    out = {"agreement": [] if a.accuracy_only else agreement(rts, a.runs, a.alternations)}
    if not a.agreement_only:
        out["accuracy"] = []
        for rt, path in profs.items():
            r = accuracy(rt, path, a.runs)
            _print_acc(r)
            out["accuracy"].append(r)
            if a.unseen:
                u = unseen(rt, path, a.runs)
                _print_unseen(u)
                out.setdefault("unseen", []).append(u)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
