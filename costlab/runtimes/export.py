"""``costlab export``: models for a phone's benchmark tool, and the folder it comes back as.

An export folder holds::

    models/<stem>.tflite|.onnx   the converted models (costlab.runtimes.artifact, cached by content hash)
    manifest.csv                 one row per model: spec, input_shape, file, sha256 (a '# costlab export'
                                 comment line first, with runtime, threads, runs, warmup)
    run.sh                       measures every model and saves logs/<stem>.log (see below)
    README.txt                   what to run, and what comes next
    logs/                        one TFLite benchmark_model log per model (written by run.sh)

``run.sh`` for ``--runtime litert`` pushes each ``.tflite`` with ``adb`` and runs TFLite's
``benchmark_model`` on the phone (``--graph --num_threads --warmup_runs --num_runs
--enable_op_profiling=true``); ``LOCAL=1 ./run.sh`` measures the same models here through the
LiteRT interpreter instead (``costlab bench --runtime litert --model-file models/F --log``). ONNX models have no
``benchmark_model``, and costlab does not read ``onnxruntime_perf_test``'s output: for
``--runtime onnx`` run.sh measures through ONNX Runtime on the machine that runs it
(``costlab bench --runtime ort --model-file models/F --log``, the same log format); copy the folder to the
device and run it there.

:func:`read_benchmark_logs` reads a folder back as :class:`~costlab.calibrate.measurements.Measurements`
(``costlab calibrate --benchmark-logs``, ``costlab validate --benchmark-logs``): every manifest
row needs its model file with the manifest's sha256, named after the row's spec and shape (in a
manifest costlab export wrote), and its log; every log needs its row.
Each problem is one :class:`~costlab.errors.InputError` line naming the file; nothing is written.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

from ..errors import InputError, UsageError
from .base import shape_text

RUNTIMES = {"litert": "litert", "onnx": "ort"}     # export name -> costlab runtime
COLUMNS = ("spec", "input_shape", "file", "sha256")
MARK = "# costlab export:"
OWN = ("models", "manifest.csv", "run.sh", "README.txt")


def stem_of(spec: str, shape: Sequence[int]) -> str:
    """A file name stem for (spec, shape): safe characters only, long specs shortened with a hash."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", spec.replace(":", "-").replace("=", "_")).strip("_.") or "model"
    if len(slug) > 60:
        slug = slug[:51] + "-" + hashlib.sha1(spec.encode()).hexdigest()[:8]
    return f"{slug}_{shape_text(shape)}"


def is_export(folder: Path) -> bool:
    m = folder / "manifest.csv"
    try:
        with m.open(encoding="utf-8") as f:
            return f.readline().startswith(MARK)
    except OSError:
        return False


def check_folder(folder: Path, force: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"-o {folder}: is a file; give a folder for the export")
    if folder.is_dir() and any(folder.iterdir()) and not is_export(folder) and not force:
        raise UsageError(f"-o {folder}: the folder is not empty and is not a costlab export; choose an empty or "
                         "new folder, or pass --force to write models/, manifest.csv, run.sh and README.txt into it")


# -- writing -----------------------------------------------------------------------------------

def _manifest(rows: list[dict], meta: dict) -> str:
    buf = io.StringIO()
    buf.write(MARK + " " + " ".join(f"{k}={v}" for k, v in meta.items()) + "\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([r["spec"], shape_text(r["input_shape"]), r["file"], r["sha256"]])
    return buf.getvalue()


_HEAD = """#!/bin/sh
# Written by costlab export: {n} model(s) for {title}; threads={threads} runs={runs} warmup={warmup}.
# Saves one benchmark_model-format log per model in logs/<stem>.log; then:
#   costlab calibrate --benchmark-logs "$(dirname "$0")" --base arm --name my-phone
# THREADS=, RUNS=, WARMUP= override the counts above.
set -eu
cd "$(dirname "$0")"
THREADS="${{THREADS:-{threads}}}"; RUNS="${{RUNS:-{runs}}}"; WARMUP="${{WARMUP:-{warmup}}}"
COSTLAB="${{COSTLAB:-costlab}}"
mkdir -p logs
"""

_PHONE = """# On an Android phone (default): needs adb (Android platform-tools), USB debugging on, and TFLite's
# benchmark_model for the phone's ABI (the prebuilt android_aarch64_benchmark_model of
# https://ai.google.dev/edge/litert/models/measurement): BENCHMARK_MODEL=path/to/it ./run.sh pushes
# it; without BENCHMARK_MODEL it must already be at $REMOTE_DIR/benchmark_model on the phone.
# No phone: LOCAL=1 ./run.sh measures here through the LiteRT interpreter (costlab bench --log).
ADB="${ADB:-adb}"
REMOTE_DIR="${REMOTE_DIR:-/data/local/tmp/costlab}"
LOCAL="${LOCAL:-0}"
if [ "$LOCAL" != 1 ]; then
  "$ADB" shell mkdir -p "$REMOTE_DIR"
  if [ -n "${BENCHMARK_MODEL:-}" ]; then
    "$ADB" push "$BENCHMARK_MODEL" "$REMOTE_DIR/benchmark_model" >/dev/null
    "$ADB" shell chmod +x "$REMOTE_DIR/benchmark_model"
  fi
fi

run_one() {  # file stem spec input_shape
  if [ "$LOCAL" = 1 ]; then
    run_local "$@"; return
  fi
  "$ADB" push "models/$1" "$REMOTE_DIR/$1" >/dev/null
  if "$ADB" shell "$REMOTE_DIR/benchmark_model" --graph="$REMOTE_DIR/$1" --num_threads="$THREADS" \\
      --warmup_runs="$WARMUP" --num_runs="$RUNS" --enable_op_profiling=true > "logs/$2.log.part" 2>&1; then
    mv "logs/$2.log.part" "logs/$2.log"
  else
    mv "logs/$2.log.part" "logs/$2.log.failed"
    echo "run.sh: benchmark_model failed on $1 (see logs/$2.log.failed)" >&2
  fi
  "$ADB" shell rm -f "$REMOTE_DIR/$1"
}
"""

_LOCAL = """run_local() {{  # file stem spec input_shape: measured here, written in benchmark_model's log format
  "$COSTLAB" bench "$3" --runtime {runtime} --input-shape "$4" --model-file "models/$1" --threads "$THREADS" \\
      --runs "$RUNS" --warmup "$WARMUP" --log "logs/$2.log" > /dev/null
}}
"""

_ORT = """# ONNX models have no benchmark_model and costlab does not read onnxruntime_perf_test's output:
# this script measures each model through ONNX Runtime on the machine that runs it (costlab
# bench --runtime ort --log, the same log format). Copy this folder to the device and run it there
# (pip install 'costlab[ort]').
run_one() {  # file stem spec input_shape
  run_local "$@"
}
"""


def run_script(rows: list[dict], runtime: str, threads: int, runs: int, warmup: int) -> str:
    title = "TFLite benchmark_model (LiteRT)" if runtime == "litert" else "ONNX Runtime"
    text = _HEAD.format(n=len(rows), title=title, threads=threads, runs=runs, warmup=warmup)
    text += _LOCAL.format(runtime=RUNTIMES[runtime])
    text += _PHONE if runtime == "litert" else _ORT
    for r in rows:
        text += "run_one " + " ".join(shlex.quote(x) for x in (Path(r["file"]).name, r["stem"], r["spec"],
                                                                 shape_text(r["input_shape"]))) + "\n"
    return text + 'echo "run.sh: logs in $(pwd)/logs" >&2\n'


def readme(rows: list[dict], runtime: str, folder: str) -> str:
    tool = ("TFLite's benchmark_model on an Android phone over adb (LOCAL=1: the LiteRT interpreter here)"
            if runtime == "litert" else
            "ONNX Runtime on the machine that runs it (costlab bench --runtime ort --log; onnxruntime_perf_test's "
            "output is not read by costlab)")
    return (f"costlab export: {len(rows)} model(s) in models/, listed with their input shapes and sha256 in "
            f"manifest.csv.\n\n1. ./run.sh   measures each model with {tool},\n"
            "               saving one benchmark_model-format log per model in logs/<stem>.log.\n"
            f"2. costlab calibrate --benchmark-logs {folder} --base arm --name my-device\n"
            f"3. costlab validate --benchmark-logs {folder} --samples 8\n\n"
            "costlab checks that every manifest row has its model file (same sha256) and its log, and every log "
            "its row.\n")


def write_export(folder: str | Path, rows: list[dict], runtime: str, *, threads: int, runs: int, warmup: int,
                 force: bool = False, version: str = "") -> Path:
    """Write the export folder from ``rows`` (spec, input_shape, path (artifact), sha256): staged in a
    temporary folder beside it, then moved in, so an error leaves the folder as it was."""
    folder = Path(folder)
    check_folder(folder, force)
    parent = folder.resolve().parent
    if not parent.is_dir():
        raise UsageError(f"-o {folder}: the folder {parent} does not exist; create it first")
    seen: dict[str, str] = {}
    suffix = ".tflite" if runtime == "litert" else ".onnx"
    for r in rows:
        r["stem"] = stem_of(r["spec"], r["input_shape"])
        if r["stem"] in seen:
            raise UsageError(f"{r['spec']} at {shape_text(r['input_shape'])} is given twice (as '{seen[r['stem']]}' "
                             "too); give each model once")
        seen[r["stem"]] = r["spec"]
        r["file"] = f"models/{r['stem']}{suffix}"
    meta = {"runtime": runtime, "threads": threads, "runs": runs, "warmup": warmup, "costlab": version or "?"}
    stage = Path(tempfile.mkdtemp(prefix=".costlab-export-", dir=parent))
    try:
        (stage / "models").mkdir()
        for r in rows:
            shutil.copyfile(r["path"], stage / r["file"])
        (stage / "manifest.csv").write_text(_manifest(rows, meta), encoding="utf-8")
        script = stage / "run.sh"
        script.write_text(run_script(rows, runtime, threads, runs, warmup), encoding="utf-8")
        script.chmod(0o755)
        (stage / "README.txt").write_text(readme(rows, runtime, str(folder)), encoding="utf-8")
        folder.mkdir(exist_ok=True)
        for name in OWN:
            dest = folder / name
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            elif dest.exists() or dest.is_symlink():
                dest.unlink()
            os.replace(stage / name, dest)
        (folder / "logs").mkdir(exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write the export to {folder}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return folder


# -- reading -----------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _meta(first: str) -> dict:
    return dict(kv.split("=", 1) for kv in first[len(MARK):].split() if "=" in kv)


def read_manifest(folder: Path) -> tuple[list[dict], dict]:
    """The manifest's rows (spec, input_shape, file, sha256, line) and its '# costlab export' fields."""
    from ..blocks import normalize_shape

    m = folder / "manifest.csv"
    if not folder.is_dir():
        raise InputError(f"--benchmark-logs {folder}: no such folder; give the folder costlab export wrote")
    if not m.is_file():
        raise InputError(f"{m}: no such file; --benchmark-logs takes a folder written by costlab export "
                         "(manifest.csv, models/, logs/)")
    text = m.read_text(encoding="utf-8", errors="replace")
    meta = _meta(text.splitlines()[0]) if text.startswith(MARK) else {}
    reader = csv.reader(io.StringIO(text, newline=""))
    header, rows = None, []
    for rec in reader:
        line = reader.line_num
        if not rec or not "".join(rec).strip() or rec[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [c.strip().lower() for c in rec]
            if sorted(header) != sorted(COLUMNS):
                raise InputError(f"{m} line {line}: the header must be {','.join(COLUMNS)} (got {','.join(header)})")
            continue
        if len(rec) != len(header):
            raise InputError(f"{m} line {line}: {len(rec)} fields, the header has {len(header)}; quote a spec "
                             "that contains commas")
        f = {k: v.strip() for k, v in zip(header, rec)}
        try:
            shape = normalize_shape(f["input_shape"])
        except Exception as exc:  # noqa: BLE001 - one line naming the row
            raise InputError(f"{m} line {line}: input_shape {f['input_shape']!r}: {exc}") from None
        rows.append({**f, "input_shape": tuple(shape), "line": line})
    if not rows:
        raise InputError(f"{m}: no models listed; run costlab export again")
    return rows, meta


def _check_names(folder: Path, rows: list[dict], meta: dict) -> None:
    """In a manifest costlab export wrote, each row's file is named after its spec and input shape:
    a row whose spec or shape was edited would put one model's log under another's name."""
    if not meta:            # a hand-written manifest (no '# costlab export' line): any file names
        return
    for r in rows:
        want = stem_of(r["spec"], r["input_shape"])
        if Path(r["file"]).stem != want:
            raise InputError(f"{folder / 'manifest.csv'} line {r['line']}: {r['file']} is not the export of "
                             f"{r['spec']} at {shape_text(r['input_shape'])} (costlab export names that one "
                             f"{want}); the row's spec or input_shape was edited: put it back, or export again")


def _check_files(folder: Path, rows: list[dict]) -> None:
    m = folder / "manifest.csv"
    for r in rows:
        p = folder / r["file"]
        if not p.is_file():
            raise InputError(f"{m} line {r['line']}: {r['file']} is missing from {folder}; export again "
                             "(costlab export ... -o FOLDER) or delete the row")
        got = _sha256(p)
        if got != r["sha256"].lower():
            raise InputError(f"{m} line {r['line']}: {r['file']} has sha256 {got[:12]}..., the manifest says "
                             f"{r['sha256'][:12]}...; the file changed since the export: export again")


def _pair_logs(folder: Path, rows: list[dict]) -> dict[str, Path]:
    """manifest stem -> its log; refuses a row without a log and a log without a row."""
    logs = folder / "logs"
    found = {p.name[:-4]: p for p in sorted(logs.glob("*.log"))} if logs.is_dir() else {}
    stems = {Path(r["file"]).stem: r for r in rows}
    for stem, p in found.items():
        if stem not in stems:
            raise InputError(f"{p}: a log for no manifest row (no model '{stem}' in {folder / 'manifest.csv'}); "
                             "remove it or export that model too")
    for stem, r in stems.items():
        if stem not in found:
            raise InputError(f"{logs / (stem + '.log')}: no log for {r['spec']} (manifest line {r['line']}); "
                             "run run.sh (or costlab bench ... --log) for it, or delete the row")
    return found


def op_profile_summary(logs: dict[str, "object"]) -> dict:
    """Per node type over every log with op tables: models, nodes, ms (sum of per-model avg ms per
    inference) and share of all profiled op time (%)."""
    agg: dict[str, dict] = {}
    with_tables = 0
    for lg in logs.values():
        types = lg.by_node_type()
        with_tables += bool(types)
        for t, e in types.items():
            a = agg.setdefault(t, {"models": 0, "nodes": 0, "ms": 0.0})
            a["models"] += 1
            a["nodes"] += int(e["nodes"])
            a["ms"] += float(e["avg_ms"])
    total = sum(a["ms"] for a in agg.values())
    by_type = {t: {**a, "ms": round(a["ms"], 4), "share_pct": round(100 * a["ms"] / total, 2) if total else None}
               for t, a in sorted(agg.items(), key=lambda kv: -kv[1]["ms"])}
    return {"logs_with_op_tables": with_tables, "by_node_type": by_type}


def read_benchmark_logs(folder: str | Path):
    """``(Measurements, info)`` of an export folder with its logs (see the module docstring).
    ``info``: runtime, threads, tool (which log formats), op_profile (:func:`op_profile_summary`)."""
    from ..calibrate.measurements import Measurement, Measurements
    from .benchlog import parse_log

    folder = Path(folder)
    rows, meta = read_manifest(folder)
    _check_names(folder, rows, meta)
    _check_files(folder, rows)
    found = _pair_logs(folder, rows)
    logs = {stem: parse_log(p) for stem, p in found.items()}
    threads = {lg.threads for lg in logs.values() if lg.threads is not None}
    if len(threads) > 1:
        by = {t: next(s for s, lg in logs.items() if lg.threads == t) for t in sorted(threads)}
        raise InputError(f"{folder}/logs: the logs were measured with different thread counts "
                         f"({', '.join(f'{t} in {s}.log' for t, s in by.items())}); measure every model with the "
                         "same --num_threads")
    out, h = [], hashlib.sha256((folder / "manifest.csv").read_bytes())
    for r in rows:
        stem = Path(r["file"]).stem
        lg = logs[stem]
        h.update(found[stem].read_bytes())
        out.append(Measurement(r["spec"], tuple(r["input_shape"]), lg.latency_ms, r["line"],
                               f"benchmark_model log logs/{stem}.log ({lg.latency_source})", f"logs/{stem}.log"))
    formats = sorted({lg.summary_format or "statistics line" for lg in logs.values()})
    info = {"folder": str(folder), "runtime": meta.get("runtime"), "threads": threads.pop() if threads else None,
            "tool": "benchmark_model log format: " + ", ".join(formats), "logs": len(logs),
            "op_profile": op_profile_summary(logs)}
    return Measurements(out, str(folder), h.hexdigest()), info
