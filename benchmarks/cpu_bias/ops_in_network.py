"""Exp 2: per-op times alone vs inside the network (cache state), one process.
For each network: its leaf modules timed (a) inside the network (thread clock read by
forward pre/post hooks, per leaf, median over repeats), (b) alone, profile harness (chunks of 16
interleaved call by call, input written before each call), (c) alone, hot (burst of back-to-back
calls, the benchmark-loop regime). Sums over leaves, and the network's own time.
Usage: python benchmarks/cpu_bias/ops_in_network.py OUT.json NET [NET ...]"""
import copy, json, sys, time
import numpy as np
import torch
from costlab.calibrate.measure import (Case, CpuTimer, measurement_context, resolve_device, time_cases,
                                       measure_networks)
from costlab.spec import build_zoo
from costlab.calibrate.grid import default_input_shape

out, nets = sys.argv[1], sys.argv[2:]
dev = resolve_device("cpu")
res = {"load_start": open('/proc/loadavg').read().split()[:3]}
REPS = 15
for net in nets:
    shape = default_input_shape(net, 1)
    with measurement_context(dev, 1, True):
        model = build_zoo(net, device=dev).model.eval()
        x = torch.randn(shape)
        leaves = [(n, m) for n, m in model.named_modules() if len(list(m.children())) == 0]
        ins, t0s, per = {}, {}, {n: [] for n, _ in leaves}
        hooks = []
        for n, m in leaves:
            def pre(mod, inp, n=n):
                if n not in ins:
                    ins[n] = [i.shape for i in inp if torch.is_tensor(i)]
                t0s[n] = time.thread_time()
            def post(mod, inp, outp, n=n):
                per[n].append(time.thread_time() - t0s[n])
            hooks += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
        for _ in range(3):
            model(x)
        for v in per.values():
            v.clear()
        tnet_h = []
        for _ in range(REPS):
            c0 = time.thread_time(); model(x); tnet_h.append(time.thread_time() - c0)
        for h in hooks:
            h.remove()
        inside = {n: 1e3 * float(np.median(v)) for n, v in per.items() if v}
        timer = CpuTimer("thread")

        def mk(n, m):
            def make():
                mm = copy.deepcopy(m)
                xi = torch.randn(ins[n][0])
                def run():
                    return mm(xi)
                run.prepare = lambda: xi.add_(0.0)
                return run
            return make
        use = [(n, m) for n, m in leaves if n in ins and len(ins[n]) == 1 and n in inside]
        cases = [Case(n, mk(n, m)) for n, m in use]
        interleaved = time_cases(cases, timer=timer, repeats=REPS, chunk=16, progress=False)
        hot = time_cases(cases, timer=timer, repeats=REPS, chunk=1, burst=REPS, progress=False)
    netrow = measure_networks([net], repeats=REPS, progress=False)[0]
    names = [n for n, _ in use]
    r = {"net": net, "leaves": len(leaves), "timed_leaves": len(use),
         "network_ms": netrow["median_ms"], "network_hooked_ms": 1e3 * float(np.median(tnet_h)),
         "sum_inside_ms": sum(inside[n] for n in names),
         "sum_alone_interleaved_ms": sum(s["median_ms"] for s in interleaved),
         "sum_alone_hot_ms": sum(s["median_ms"] for s in hot),
         "per_leaf": [[n, type(m).__name__, inside[n], a["median_ms"], h["median_ms"]]
                      for (n, m), a, h in zip(use, interleaved, hot)]}
    print("%-26s net %.2f (hooked %.2f) | leaves in net %.2f, alone-interleaved %.2f (%.3f), alone-hot %.2f (%.3f)" % (
        net, r["network_ms"], r["network_hooked_ms"], r["sum_inside_ms"], r["sum_alone_interleaved_ms"],
        r["sum_alone_interleaved_ms"] / r["sum_inside_ms"], r["sum_alone_hot_ms"], r["sum_alone_hot_ms"] / r["sum_inside_ms"]), flush=True)
    res[net] = r
res["load_end"] = open('/proc/loadavg').read().split()[:3]
json.dump(res, open(out, "w"))
