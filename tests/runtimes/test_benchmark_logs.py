"""A phone from its benchmark tool (issue 19 item 5), end to end on this machine: costlab export ->
costlab bench --log for each model (the local runtime stands in for the phone's benchmark_model)
-> costlab calibrate --benchmark-logs -> costlab validate --benchmark-logs; and every way the
folder can be wrong (one line, exit 2, nothing written).

The ONNX Runtime flow runs for real (CI installs the ort extra); the LiteRT flow skips where
litert-torch is absent."""
from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.measurement_boards import run

SHAPE = "1x16x16x16"
SPECS = ["micro_conv:cin=16,cout=8,k=3", "micro_conv:cin=16,cout=16,k=1", "micro_conv:cin=16,cout=32,k=3",
         "micro_conv:cin=16,cout=16,k=3,groups=16", "micro_conv:cin=16,cout=64,k=1", "micro_block_mbv2:c=16,cout=16",
         "micro_block_sv2:c=16", "micro_block_dwsep:c=16,cout=32", "micro_block_res:c=16,planes=16",
         "sv2bench_g4:c=16,units=2", "sv2bench_g2:c=16,groups=2,layers=2", "nb201_cell"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    old = os.environ.get("COSTLAB_CACHE")
    os.environ["COSTLAB_CACHE"] = str(tmp_path_factory.mktemp("artifact-cache"))
    yield
    if old is None:
        os.environ.pop("COSTLAB_CACHE", None)
    else:
        os.environ["COSTLAB_CACHE"] = old


def _manifest(folder: Path) -> list[dict]:
    lines = [ln for ln in (folder / "manifest.csv").read_text().splitlines() if not ln.startswith("#")]
    return list(csv.DictReader(lines))


def _flow(tmp_path, capsys, export_runtime: str, bench_runtime: str, specs: list[str]):
    folder = tmp_path / "phone"
    code, out, err = run(["export", *specs, "--runtime", export_runtime, "--input-shape", SHAPE, "-o", str(folder),
                          "--runs", "5", "--warmup", "1", "-q"], capsys)
    assert code == 0, err
    rows = _manifest(folder)
    assert [r["spec"] for r in rows] == specs and all(r["input_shape"] == SHAPE for r in rows)
    script = (folder / "run.sh").read_text()
    assert os.access(folder / "run.sh", os.X_OK)
    if shutil.which("sh"):
        assert subprocess.run(["sh", "-n", str(folder / "run.sh")]).returncode == 0      # valid shell
    for r in rows:
        stem = Path(r["file"]).stem
        assert (folder / r["file"]).is_file() and f"run_one {stem}" in script
        # as run.sh does: the exported file itself, timed (not a new conversion of the spec)
        code, out, err = run(["bench", r["spec"], "--runtime", bench_runtime, "--input-shape", SHAPE, "--runs", "5",
                              "--warmup", "1", "--model-file", str(folder / r["file"]), "--format", "json",
                              "--log", str(folder / "logs" / f"{stem}.log")], capsys)
        assert code == 0, err
        doc = json.loads(out)
        assert doc["sha256"] == r["sha256"] and doc["artifact"] == str(folder / r["file"]) and doc["cached"]
    assert '--model-file "models/$1"' in script
    return folder, rows, script


def _calibrate_and_validate(folder, capsys, name, n):
    prof = folder.parent / f"{name}.json"
    code, out, err = run(["calibrate", "--benchmark-logs", str(folder), "--name", name, "-o", str(prof), "-q"], capsys)
    assert code == 0, err
    assert f"{name}: {n} measurements" in out
    d = json.loads(prof.read_text())
    assert len(d["samples"]) == n and d["threads"] == 1
    logs = d["provenance"]["benchmark_logs"]
    assert logs["logs"] == n and logs["threads"] == 1
    code, out, err = run(["validate", "--benchmark-logs", str(folder), "--samples", "6", "--repeats", "2",
                          "--format", "json", "-q"], capsys)
    assert code == 0, err
    res = json.loads(out)
    assert res["samples"] == 6 and res["mape"] is not None and res["baseline"]["mape"] is not None
    return d


def test_export_bench_log_calibrate_validate_through_onnx_runtime(tmp_path, capsys, cache):
    folder, rows, script = _flow(tmp_path, capsys, "onnx", "ort", SPECS)
    assert "--runtime ort" in script and "onnxruntime_perf_test" in script and "$ADB" not in script
    d = _calibrate_and_validate(folder, capsys, "edge-ort", len(SPECS))
    ops = d["provenance"]["benchmark_logs"]["op_profile"]
    assert ops["logs_with_op_tables"] == len(SPECS) and ops["by_node_type"]["Conv"]["models"] == len(SPECS)
    assert d["runtime"].startswith("ONNX Runtime")
    # the measurements are the logs' regular-run medians
    from costlab.runtimes.benchlog import parse_log

    lg = parse_log(folder / "logs" / (Path(rows[0]["file"]).stem + ".log"))
    assert d["samples"][0]["latency_ms"] == pytest.approx(lg.latency_ms)
    assert d["samples"][0]["source"] == "logs/" + Path(rows[0]["file"]).stem + ".log"


@pytest.mark.skipif(importlib.util.find_spec("litert_torch") is None or importlib.util.find_spec("ai_edge_litert") is None,
                    reason="LiteRT (costlab[litert]) is not installed")
def test_export_bench_log_calibrate_validate_through_litert(tmp_path, capsys, cache):
    specs = SPECS[:10]
    folder, rows, script = _flow(tmp_path, capsys, "litert", "litert", specs)
    assert all(r["file"].endswith(".tflite") for r in rows)
    for flag in ("--graph=", "--num_threads=", "--warmup_runs=", "--num_runs=", "--enable_op_profiling=true",
                 "adb", "push"):
        assert flag in script
    d = _calibrate_and_validate(folder, capsys, "phone-litert", len(specs))
    # the Python interpreter has no per-op profiler: no op tables, said as such
    assert d["provenance"]["benchmark_logs"]["op_profile"]["logs_with_op_tables"] == 0
    assert d["runtime"].startswith("LiteRT")


# -- bad input ---------------------------------------------------------------------------------

def _fake_export(tmp_path, capsys, n=3) -> Path:
    """An export (ONNX, tiny) whose logs are written from a template (no timing needed)."""
    from costlab.runtimes.benchlog import write_log

    folder = tmp_path / "exp"
    code, _, err = run(["export", *SPECS[:n], "--runtime", "onnx", "--input-shape", SHAPE, "-o", str(folder), "-q"],
                       capsys)
    assert code == 0, err
    for i, r in enumerate(_manifest(folder)):
        (folder / "logs" / (Path(r["file"]).stem + ".log")).write_text(
            write_log({"spec": r["spec"], "runtime": "ort", "threads": 1, "runs": 3, "times_ms": [1.0 + i] * 3}))
    return folder


def _refused(capsys, args, *needles):
    code, out, err = run(args, capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("costlab: error: "), err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def _calibrate_refused(tmp_path, capsys, folder, *needles):
    prof = tmp_path / "p.json"
    _refused(capsys, ["calibrate", "--benchmark-logs", str(folder), "-o", str(prof), "-q"], *needles)
    _refused(capsys, ["validate", "--benchmark-logs", str(folder), "--samples", "2", "-q"], *needles)
    assert not prof.exists()


def test_bad_folders_are_refused_in_one_line(tmp_path, capsys, cache):
    folder = _fake_export(tmp_path, capsys)
    rows = _manifest(folder)
    stems = [Path(r["file"]).stem for r in rows]
    code, out, err = run(["calibrate", "--benchmark-logs", str(folder), "-o", str(tmp_path / "ok.json"), "-q"], capsys)
    assert code == 0, err                                 # the intact folder fits

    log0 = folder / "logs" / f"{stems[0]}.log"
    good = log0.read_text()
    log0.write_text("INFO: STARTING!\nINFO: Num threads: [1]\nERROR: Failed to invoke the interpreter\n")
    _calibrate_refused(tmp_path, capsys, folder, str(log0), "Inference timings in us")
    log0.write_text(good)

    log0.unlink()                                         # a row without its log
    _calibrate_refused(tmp_path, capsys, folder, f"{stems[0]}.log", "no log for", rows[0]["spec"])
    log0.write_text(good)

    stray = folder / "logs" / "resnet50_1x3x224x224.log"  # a log for no row
    stray.write_text(good)
    _calibrate_refused(tmp_path, capsys, folder, str(stray), "no manifest row")
    stray.unlink()

    model = folder / rows[1]["file"]                      # a changed model file
    data = model.read_bytes()
    model.write_bytes(data + b"\0")
    _calibrate_refused(tmp_path, capsys, folder, rows[1]["file"], "sha256", "line 4")
    model.unlink()                                        # a missing model file
    _calibrate_refused(tmp_path, capsys, folder, rows[1]["file"], "missing")
    model.write_bytes(data)

    manifest = folder / "manifest.csv"                   # two rows' specs swapped: each log would go to the
    text = manifest.read_text()                           # other model (was: fitted without a word)
    a, b = (f'"{r["spec"]}"' if "," in r["spec"] else r["spec"] for r in rows[:2])
    manifest.write_text(text.replace(a, "@").replace(b, a).replace("@", b))
    _calibrate_refused(tmp_path, capsys, folder, "line 3", "is not the export of", "edited")
    manifest.write_text(text.replace(f",{SHAPE},", ",1x16x32x32,", 1))    # a shape edited
    _calibrate_refused(tmp_path, capsys, folder, "line 3", "at 1x16x32x32")
    manifest.write_text(text)

    (folder / "manifest.csv").unlink()
    _calibrate_refused(tmp_path, capsys, folder, "manifest.csv", "costlab export")
    _calibrate_refused(tmp_path, capsys, tmp_path / "nowhere", "no such folder")


def test_mixed_thread_counts_are_refused(tmp_path, capsys, cache):
    from costlab.runtimes.benchlog import write_log

    folder = _fake_export(tmp_path, capsys)
    r = _manifest(folder)[2]
    (folder / "logs" / (Path(r["file"]).stem + ".log")).write_text(
        write_log({"spec": r["spec"], "runtime": "ort", "threads": 4, "runs": 3, "times_ms": [2.0] * 3}))
    _calibrate_refused(tmp_path, capsys, folder, "different thread counts", "same --num_threads")


def test_export_refuses_a_foreign_folder_and_writes_nothing_on_error(tmp_path, capsys, cache):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    _refused(capsys, ["export", SPECS[0], "--runtime", "onnx", "--input-shape", SHAPE, "-o", str(foreign)],
             "not empty", "--force")
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    # a model that cannot be built at this shape: nothing is created
    new = tmp_path / "new"
    _refused(capsys, ["export", SPECS[0], "micro_conv:cin=8", "--runtime", "onnx", "--input-shape", SHAPE, "-o",
                      str(new), "-q"], "micro_conv")
    assert not new.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".costlab-export-")]
    # an input dtype: the export is float32, so refused rather than dropped
    _refused(capsys, ["export", SPECS[0], "--runtime", "onnx", "--input-shape", SHAPE + ":float16", "-o", str(new),
                      "-q"], "drop ':float16'")
    assert not new.exists()
    # the same model twice
    _refused(capsys, ["export", SPECS[0], SPECS[0], "--runtime", "onnx", "--input-shape", SHAPE, "-o", str(new),
                      "-q"], "given twice")
    assert not new.exists()
    # --force writes beside the user's files; an earlier export is replaced without --force
    code, _, err = run(["export", SPECS[0], "--runtime", "onnx", "--input-shape", SHAPE, "-o", str(foreign),
                        "--force", "-q"], capsys)
    assert code == 0, err
    assert (foreign / "notes.txt").read_text() == "keep me"
    code, _, err = run(["export", SPECS[1], "--runtime", "onnx", "--input-shape", SHAPE, "-o", str(foreign), "-q"],
                       capsys)
    assert code == 0, err
    assert [r["spec"] for r in _manifest(foreign)] == [SPECS[1]] and len(list((foreign / "models").iterdir())) == 1
    shutil.rmtree(foreign)


def test_bench_model_file_of_the_wrong_kind_or_model_is_one_line(tmp_path, capsys, cache):
    folder = _fake_export(tmp_path, capsys)
    rows = _manifest(folder)
    f = str(folder / rows[0]["file"])
    for args, needle in ((["--runtime", "ort", "--model-file", str(tmp_path / "none.onnx")], "no such file"),
                         (["--runtime", "litert", "--model-file", f], "takes a .tflite file"),
                         (["--runtime", "ort", "--model-file", f, "--input-shape", "1x16x8x8"], "cannot run it on")):
        code, out, err = run(["bench", rows[0]["spec"], *args, "--runs", "2"], capsys)
        if code == 2 and "costlab[litert]" in err:      # litert absent: refused earlier, for that reason
            continue
        assert code == 2 and out == "" and needle in err and err.count("\n") == 1, err
