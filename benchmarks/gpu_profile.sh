#!/usr/bin/env bash
# Re-measure a CUDA GPU, rebuild its two-clock profile and validate it, in one run (< 8 minutes).
#
#   bash benchmarks/gpu_profile.sh            # from the repository root, on the GPU machine
#   GPU_PROFILE_NAME=gpu-h200 bash benchmarks/gpu_profile.sh     # overwrite the shipped profile instead
#
# 1. Measures (costlab.calibrate.measure.measure_profile on cuda, costlab/calibrate/measure_cuda.py)
#    every sample of default_grid at batch 1, 8, 32, 64 (ops, blocks, the NETWORK_SAMPLES networks)
#    and the held-out zoo networks (MEASURE_SPECS + xception, inception_v3, vgg16, cspresnet50 that are
#    not NETWORK_SAMPLES) at the same batches: per sample the eager time (CUDA events), the host's
#    dispatch time (wall clock, GPU idle at the start) and the CUDA-graph replay time, median / p10 / p90
#    of 15 after 3 untimed forwards. A sample whose graph capture fails keeps eager + host (graph_error).
# 2. Fits the two-clock model (costlab.calibrate.gpu_profile.fit_gpu_profile: forms chosen by
#    leave-one-network-out on the training rows only) and writes profiles/$NAME.json.
# 3. Validates: held-out networks per batch and over all, runtimes cudagraph and eager, FLOPs-only
#    beside, leave-one-network-out; and how the shipped profiles/gpu-h200.json predicts this session's
#    held-out networks (another session, maybe another machine).
# Writes profiles/$NAME.json; under $OUT (the device tool's output folder) when set: the profile,
# the raw samples, gpu_validation.json and gpu_profile.log. Hard limit GPU_PROFILE_TIMEOUT (480 s).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}
NAME=${GPU_PROFILE_NAME:-gpu-local}
LIMIT=${GPU_PROFILE_TIMEOUT:-480}
OUTDIR=${OUT:-.}
LOG="$OUTDIR/gpu_profile.log"
: > "$LOG"
start=$(date +%s)

timeout "$LIMIT" "$PY" - "$NAME" "$OUTDIR" <<'PYEOF' 2>&1 | tee -a "$LOG"
import json, platform, sys, time

import torch

assert torch.cuda.is_available(), "no CUDA device: run this on a GPU machine"
from costlab.calibrate.gpu_profile import fit_gpu_profile, fitted_from_profile, held_out, validate_gpu
from costlab.calibrate.fit_gpu import gpu_data
from costlab.calibrate.grid import NETWORK_SAMPLES, default_input_shape
from costlab.calibrate.measure import measure_profile, resolve_device
from costlab.calibrate.measure_cuda import measure_cuda_samples, noise_summary
from costlab.calibrate.validate import MEASURE_SPECS
from costlab.latency.profile import dumps_profile, load_profile, save_profile

name, outdir = sys.argv[1], sys.argv[2]
BATCHES = (1, 8, 32, 64)
EXTRA = ("xception", "inception_v3", "vgg16", "cspresnet50")
p = torch.cuda.get_device_properties(0)
print(f"device: {p.name}, {p.multi_processor_count} SMs; torch {torch.__version__}, CUDA {torch.version.cuda}, "
      f"cuDNN {torch.backends.cudnn.version()}; {platform.platform()}")

t = time.time()
d = measure_profile("cuda", name=name, batches=BATCHES, repeats=15, warmup=3, progress=False,
                    command=f"GPU_PROFILE_NAME={name} bash benchmarks/gpu_profile.sh")
held = [(s, default_input_shape(s, b)) for b in BATCHES for s in MEASURE_SPECS + EXTRA if s not in NETWORK_SAMPLES]
checks = measure_cuda_samples(held, resolve_device("cuda"), repeats=15, warmup=3, progress=False)
for s in checks:
    s["role"] = "check"
d["samples"] += checks
d["provenance"]["noise"] = noise_summary(d["samples"])
d["provenance"]["wall_s"] = round(time.time() - t, 1)
with open(f"{outdir}/{name}-samples.json", "w") as f:
    f.write(dumps_profile(d))
print(f"measured {len(d['samples'])} samples ({len(checks)} held out) in {time.time() - t:.0f} s; "
      f"noise {json.dumps(d['provenance']['noise'])}")

t = time.time()
fitted = fit_gpu_profile(d, progress=False)
save_profile(fitted, f"profiles/{name}.json")
if outdir != ".":
    save_profile(fitted, f"{outdir}/{name}.json")
print(f"fitted in {time.time() - t:.0f} s; chosen {fitted['predictor']['selection']['chosen']}")

def show(title, block):
    print(title)
    for b, m in list(block["per_batch"].items()) + [("all", block["all"])]:
        base = m["baseline"]
        print(f"  batch {b:>3}: n={m['n']:3d} MAPE {m['mape']:6.1f}% within10 {m['within_10pct']:5.1f}% "
              f"Spearman {m['spearman']}  | FLOPs-only MAPE {base['mape']:6.1f}% within10 {base['within_10pct']:5.1f}%")

out = {"profile": name, "device": fitted["device"], "runtime": fitted["runtime"]}
for runtime in ("cudagraph", "eager"):
    v = validate_gpu(fitted, runtime)
    show(f"{runtime}: held-out networks", v["held_out"])
    show(f"{runtime}: leave-one-network-out over the training networks", v["lono"])
    out[runtime] = v
try:
    shipped = load_profile("gpu-h200")
    f, _, _ = fitted_from_profile(shipped)
    data = gpu_data({**d, "samples": checks})
    base = shipped["baseline"]["per_batch"]
    for runtime in ("cudagraph", "eager"):
        h = held_out(data, f, base, runtime)
        show(f"shipped gpu-h200 on this session's held-out networks, {runtime}", h)
        out[f"shipped_gpu_h200_{runtime}"] = h
except Exception as exc:  # noqa: BLE001 - a comparison only
    print(f"(no comparison with the shipped gpu-h200 profile: {exc})")
with open(f"{outdir}/gpu_validation.json", "w") as f:
    json.dump(out, f, indent=1)
PYEOF
echo "total: $(( $(date +%s) - start )) s" | tee -a "$LOG"
