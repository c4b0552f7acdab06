#!/usr/bin/env bash
# Build profiles/gpu-h100.json on a CUDA machine and report its held-out accuracy.
#
#   bash benchmarks/gpu_profile.sh            # from the repository root, on the GPU machine
#
# 1. `costlab profile --device cuda` measures the micro-benchmark grid (ops, blocks, and
#    the network samples of costlab.calibrate.measure.NETWORK_SAMPLES) at batch 1, 8, 32
#    and 64 with CUDA events (PyTorch eager fp32, cuDNN defaults) and fits the predictor.
# 2. Times the zoo networks of costlab.calibrate.validate.MEASURE_SPECS (none of them is a
#    profile sample) end to end at batch 1, 8, 32 and 64 and prints, per batch and over
#    all, the predictor's and the FLOPs-only baseline's MAPE, share within +-10% and
#    Spearman rank correlation (issue 5 target: MAPE <= 15% on these held-out networks).
# Writes profiles/gpu-h100.json, and gpu_validation.json + gpu_profile.log under $OUT
# when OUT is set (the device tool's output folder). Whole run: about 4-6 minutes on an
# H100 (hard limit 8 minutes: GPU_PROFILE_TIMEOUT seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}
NAME=${GPU_PROFILE_NAME:-gpu-h100}
LIMIT=${GPU_PROFILE_TIMEOUT:-480}
OUTDIR=${OUT:-.}
LOG="$OUTDIR/gpu_profile.log"
: > "$LOG"

"$PY" - <<'PYEOF' 2>&1 | tee -a "$LOG"
import torch, platform
assert torch.cuda.is_available(), "no CUDA device: run this on a GPU machine"
p = torch.cuda.get_device_properties(0)
print(f"device: {p.name}, {p.multi_processor_count} SMs; torch {torch.__version__}, CUDA {torch.version.cuda}, "
      f"cuDNN {torch.backends.cudnn.version()}; {platform.platform()}")
PYEOF

start=$(date +%s)
timeout "$LIMIT" "$PY" -c 'import sys; from costlab.cli import main; sys.exit(main(sys.argv[1:]))' \
    profile --device cuda -o "profiles/$NAME.json" 2>&1 | tr '\r' '\n' | grep -v "it/s\]\|rep/s\]\|fold/s\]\|sample/s\]" | tee -a "$LOG"
echo "profile: $(( $(date +%s) - start )) s" | tee -a "$LOG"
[ -n "${OUT:-}" ] && cp "profiles/$NAME.json" "$OUT/" || true

left=$(( LIMIT - ($(date +%s) - start) ))
[ "$left" -gt 30 ] || { echo "no time left for the validation (GPU_PROFILE_TIMEOUT=$LIMIT)" | tee -a "$LOG"; exit 1; }
timeout "$left" "$PY" - "profiles/$NAME.json" "$OUTDIR/gpu_validation.json" <<'PYEOF' 2>&1 | tee -a "$LOG"
import json, sys, time
from costlab.calibrate.fit import metrics
from costlab.latency.profile import load_profile
from costlab.calibrate.validate import MEASURE_SPECS, validate_measured

prof = load_profile(sys.argv[1])
rows, per_batch = [], {}
for b in (1, 8, 32, 64):
    t = time.time()
    r = validate_measured(prof, MEASURE_SPECS, batch=b, repeats=15, progress=False)
    per_batch[b] = {k: r[k] for k in ("n", "mape", "within_10pct", "spearman", "baseline")}
    for row in r["rows"]:
        row["batch"] = b
        rows.append(row)
    print(f"batch {b:2d}: n={r['n']} MAPE {r['mape']:.1f}% (FLOPs-only {r['baseline']['mape']:.1f}%), "
          f"within 10% {r['within_10pct']:.0f}%, Spearman {r['spearman']}, noise median "
          f"{100 * (r.get('noise_median') or float('nan')):.1f}%  [{time.time() - t:.0f} s]")
allm = metrics([x["predicted_ms"] for x in rows], [x["measured_ms"] for x in rows])
allb = metrics([x["baseline_ms"] for x in rows], [x["measured_ms"] for x in rows])
print(f"all batches: n={allm['n']} MAPE {allm['mape']:.1f}% (FLOPs-only {allb['mape']:.1f}%), "
      f"within 10% {allm['within_10pct']:.0f}%, Spearman {allm['spearman']}")
print(f"{'spec':28s} {'batch':>5s} {'measured':>9s} {'predicted':>9s} {'err':>7s} {'flops-only':>10s}")
for x in rows:
    print(f"{x['spec']:28s} {x['batch']:5d} {x['measured_ms']:9.3f} {x['predicted_ms']:9.3f} "
          f"{x['error_pct']:+6.1f}% {x['baseline_error_pct']:+9.1f}%")
out = {"profile": prof["name"], "device": prof["device"], "runtime": prof["runtime"], "specs": list(MEASURE_SPECS),
       "per_batch": per_batch, "all": {**allm, "baseline": allb}, "rows": rows,
       "command": "bash benchmarks/gpu_profile.sh"}
with open(sys.argv[2], "w") as f:
    json.dump(out, f, indent=1)
PYEOF
echo "total: $(( $(date +%s) - start )) s" | tee -a "$LOG"
