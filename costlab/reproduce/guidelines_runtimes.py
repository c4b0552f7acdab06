"""``costlab reproduce guidelines-runtimes``: ShuffleNet V2's G1-G4 micro-benchmarks (Tables 1-4)
and its Table 8 networks measured through every deployment runtime installed here (PyTorch
eager, ONNX Runtime, OpenVINO, LiteRT/XNNPACK) at one thread, beside the paper's GPU and ARM
speeds: per table and runtime, does the guideline's ordering hold, and by how much.

Measuring (``--measure``) is slow (LiteRT converts each network in 5-50 s) and depends on the
machine, so it writes ``guidelines-runtimes.csv`` (one row per network x runtime) and the report
is built from that CSV: without ``--measure`` (``costlab reproduce all``) or with ``--from-csv``
nothing is measured and the shipped CSV gives a byte-identical report and figure.

The networks: Tables 1-4 at the paper's smallest ARM configuration in which every row builds
(Table 1 x1, Table 2 x2, Table 3 c=64, Table 4 c=32; batch 1, 56x56), and every Table 8 network
in the zoo (batch 1, at its Table 8 resolution). The report's analysis is in
:mod:`costlab.reproduce.guidelines_runtimes_report`.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from ..errors import UsageError
from . import register_reproduction
from .guidelines_runtimes_report import CSV, NAME, Row, shape_text, write
from .shufflenetv2 import TABLES, _read, bench_spec, table8_zoo

RUNS, WARMUP = 21, 3
CSV_COLUMNS = ["spec", "input", "runtime", "runtime_version", "status", "median_ms", "p10_ms", "p90_ms",
               "wall_median_ms", "runs", "warmup", "threads", "clock", "cpu_model", "date", "note", "runtime_s"]
# runtime_s: seconds this runtime took for all its networks (conversions, cached or not, and timing)


# the ARM column measured per table: the smallest networks where every row of the table builds
# (Table 2 x1 has g=8 with c=180, which 8 groups do not divide: x2 is the smallest complete column)
ARM_COLUMN = {"Table1": "x1", "Table2": "x2", "Table3": "c=64", "Table4": "c=32"}
# the paper's GPU column beside it: the same width multiplier (Tables 1-2), else the GPU's smallest
GPU_COLUMN = {"Table1": "x1", "Table2": "x2", "Table3": "c=128", "Table4": "c=32"}


def guideline_rows() -> list[Row]:
    """Tables 1-4: each row at the ARM column of :data:`ARM_COLUMN`, with the paper's ARM
    speed there and its GPU speed at :data:`GPU_COLUMN` (another network on Tables 3-4)."""
    arm: dict[tuple[str, str], dict] = {}
    gpu: dict[tuple[str, str], float] = {}
    for r in _read("shufflenetv2_tables.csv"):
        if r["table"] not in TABLES:
            continue
        key = (r["table"], r["row_label"])
        if r["platform"].startswith("ARM") and r["column"] == ARM_COLUMN[r["table"]]:
            arm[key] = r
        elif not r["platform"].startswith("ARM") and r["column"] == GPU_COLUMN[r["table"]]:
            gpu[key] = float(r["value"])
    out = []
    for (table, label), r in arm.items():
        spec, shape = bench_spec(table, label, r["config_for_x1"], r["column"])
        out.append(Row(table, label, r["column"], spec, tuple(shape), float(r["value"]), gpu.get((table, label))))
    return out


def table8_rows() -> list[Row]:
    """Table 8 rows whose network is in the zoo (batch 1 at the row's resolution)."""
    zoo = table8_zoo()
    out = []
    for r in _read("shufflenetv2_table8.csv"):
        if r["model"] not in zoo:
            continue
        spec, res = zoo[r["model"]]
        out.append(Row("Table8", r["model"], r["complexity_group"], spec, (1, 3, res, res),
                       float(r["arm_images_per_s"]) if r["arm_images_per_s"] else None,
                       float(r["gpu_batches_per_s"]) if r["gpu_batches_per_s"] else None, float(r["mflops"])))
    return out


def all_rows() -> list[Row]:
    return guideline_rows() + table8_rows()


def networks(rows: list[Row]) -> list[tuple[str, tuple[int, ...]]]:
    """The distinct (spec, input shape) pairs to measure, in table order."""
    return list(dict.fromkeys((r.spec, r.shape) for r in rows))


# -- measuring ------------------------------------------------------------------------------------

def _log(msg: str) -> None:
    print(f"costlab: {msg}", file=sys.stderr, flush=True)


def _prepare(rt, items):
    """Convert (cached) and load each item once; returns (ok items, {item: one-line reason})."""
    from ..runtimes import artifact, build_model
    from ..runtimes.base import first_line

    ok, failed = [], {}
    for spec, shape in items:
        try:
            built = build_model(spec, shape)
            art = artifact(rt, spec, shape, built=built)
            sess = rt.load(art, 1, model=built[1], example=built[2])
            sess.run()
            sess.close()
            ok.append((spec, shape))
        except Exception as exc:  # noqa: BLE001 - any failure of one network is that row's reason
            failed[(spec, shape)] = first_line(exc)
            _log(f"{rt.name}: {spec} not measured: {failed[(spec, shape)]}")
    return ok, failed


def measure_rows(items, runtimes, *, runs: int = RUNS, warmup: int = WARMUP, progress=True) -> pd.DataFrame:
    """Measure ``items`` ((spec, shape) pairs) through each runtime of ``runtimes`` at one
    thread; a network a runtime cannot convert or run is a 'not measured' row with the reason."""
    from ..latency.machine import cpu_model
    from ..runtimes import get_runtime
    from ..runtimes.bench import measure_many

    items = [(s, tuple(int(d) for d in sh)) for s, sh in items]
    date, cpu = time.strftime("%Y-%m-%d"), cpu_model()
    rows = []
    for name in runtimes:
        rt = get_runtime(name)
        rt.require()
        t0 = time.perf_counter()
        ok, failed = _prepare(rt, items)
        res = measure_many(ok, rt, threads=1, runs=runs, warmup=warmup, progress=progress,
                           desc=f"{NAME}: timing {name}") if ok else []
        got = dict(zip(ok, res))
        took = round(time.perf_counter() - t0, 1)
        base = {"runtime_s": took, "runtime": name, "runtime_version": rt.version(), "threads": 1, "cpu_model": cpu, "date": date,
                "warmup": warmup}
        for spec, shape in items:
            m = got.get((spec, shape))
            row = {"spec": spec, "input": shape_text(shape), **base}
            if m is None:
                row.update(status="not measured", runs=0, note=failed.get((spec, shape), "not measured"))
            else:
                row.update(status="measured", median_ms=m["median_ms"], p10_ms=m["p10_ms"], p90_ms=m["p90_ms"],
                           wall_median_ms=m.get("wall_median_ms"), runs=m["runs"], clock=m["clock"], note="")
            rows.append(row)
        _log(f"{name}: {len(ok)}/{len(items)} networks measured in {took:.0f} s")
    df = pd.DataFrame(rows, columns=CSV_COLUMNS)
    for c in ("median_ms", "p10_ms", "p90_ms", "wall_median_ms"):   # fixed precision: stable bytes
        df[c] = [None if v is None or v != v else round(float(v), 4) for v in df[c]]
    return df


def read_csv(path: Path) -> pd.DataFrame:
    """The measurements CSV, checked: one line naming the file and what is wrong."""
    try:
        df = pd.read_csv(path, keep_default_na=False, dtype=str)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise UsageError(f"cannot read '{path}': {str(exc).splitlines()[0]}") from None
    need = {"spec", "input", "runtime", "status", "median_ms", "p10_ms", "p90_ms"}
    if missing := sorted(need - set(df.columns)):
        raise UsageError(f"'{path}' is not a {NAME} CSV: no column {', '.join(missing)} "
                         f"(write one with 'costlab reproduce {NAME} --measure')")
    for c in ("median_ms", "p10_ms", "p90_ms"):
        try:
            df[c] = [float(v) if v != "" else float("nan") for v in df[c]]
        except ValueError:
            raise UsageError(f"'{path}': column {c} has a value that is not a number") from None
    bad = df[(df["status"] == "measured") & ~(df["median_ms"] > 0)]
    if len(bad):
        raise UsageError(f"'{path}': measured row {bad.iloc[0]['spec']} / {bad.iloc[0]['runtime']} has no "
                         "positive median_ms; mark it 'not measured' with the reason")
    return df


@register_reproduction(NAME, "ShuffleNet V2 G1-G4 micro-benchmarks and Table 8 through torch, ORT, OpenVINO and "
                             "LiteRT vs the paper's GPU/ARM orderings (reports/guidelines-runtimes.md, .csv)",
                       order=21, from_csv=True)
def reproduce_guidelines_runtimes(out_dir: Path, *, measure: bool = False, from_csv: bool = False) -> str:
    from ..runtimes import installed

    out_dir = Path(out_dir)
    path = out_dir / CSV
    if measure and from_csv:
        raise UsageError("--measure and --from-csv exclude each other: measure, or rebuild from the CSV")
    rows = all_rows()
    if measure:
        t0 = time.perf_counter()
        df = measure_rows(networks(rows), installed())
        _log(f"{NAME}: measured in {time.perf_counter() - t0:.0f} s")
        from .papers import write_csv

        write_csv(out_dir, NAME, df)
    elif not path.is_file():
        if from_csv:
            raise UsageError(f"no '{path}' to rebuild from: measure it with 'costlab reproduce {NAME} --measure' "
                             f"or pass -o to the folder holding {CSV}")
        return write(out_dir, rows, None)
    return write(out_dir, rows, read_csv(path))
