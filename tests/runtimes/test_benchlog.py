"""The TFLite benchmark_model log parser and writer (costlab.runtimes.benchlog): a real phone log
in the older format, logs in the newer format built as TensorFlow's / LiteRT's benchmark tool
prints them (the source files are cited in the module docstring), and writer -> parser."""
from __future__ import annotations

from pathlib import Path

import pytest

import costlab
from costlab.errors import InputError
from costlab.runtimes.benchlog import parse_log, parse_text, stats_line, write_log

REAL = Path(costlab.__file__).parent / "data" / "latency" / "proxylessnas_mobile_tflite_op_profile.txt"


def test_real_older_log_from_a_phone():
    lg = parse_log(REAL)
    assert lg.summary_format == "older"
    assert lg.inference_avg_us == 80670.2 and lg.init_us == 47967 and lg.warmup_avg_us == 83496.6
    assert lg.latency_ms == pytest.approx(80.6702)
    assert lg.latency_source == "average of the regular runs"
    assert lg.threads == 1 and lg.graph == "/data/local/tmp/model.tflite"
    assert lg.flags["Num runs"] == "100" and lg.flags["Warmup runs"] == "10"
    assert lg.flags["Input shapes"] == "1,224,224,3" and lg.flags["Use nnapi"] == "0"
    assert lg.warmup.count == 10 and lg.warmup.get("first") == 101052 and lg.warmup.get("std") == 5957
    assert lg.inference.count == 100 and lg.inference.get("avg") == 80670.2 and lg.inference.get("min") == 79589
    run = lg.table("Run Order")
    assert len(run.rows) == 77                       # 'Number of nodes executed: 77'
    first = run.rows[0]
    assert (first.node_type, first.start_ms, first.first_ms, first.avg_ms) == ("CONV_2D", 0.0, 3.1, 3.246)
    assert (first.percent, first.cdf_percent, first.mem_kb, first.times_called) == (4.026, 4.026, 0.0, 1)
    assert first.name == "[MNasNet/Conv/Relu6]"
    assert run.rows[-1].node_type == "RESHAPE" and run.rows[-1].cdf_percent == 100.0
    assert len(lg.table("Top by Computation Time").rows) == 10
    types = lg.by_node_type()
    assert types["CONV_2D"] == {"nodes": 42, "avg_ms": 59.262, "times_called": 42}
    assert types["DEPTHWISE_CONV_2D"]["nodes"] == 20 and set(types) == {
        "CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "AVERAGE_POOL_2D", "RESHAPE"}
    # the Run Order table sums to the same per-type times
    assert sum(r.avg_ms for r in run.rows if r.node_type == "ADD") == pytest.approx(0.248, abs=0.01)


T = "\t"


def _row(typ, first, avg, pct, cdf, name, times=1):
    return (f"{T}{typ:>40}{T}{first:>9.3f}{T}{avg:>9.3f}{T}{pct:>7.3f}%{T}{cdf:>7.3f}%{T}{0.0:>10.3f}{T}{times:>9}"
            f"{T}{name}")


HEADER = (f"{T}{'[node type]':>40}{T}{'[first]':>9}{T}{'[avg ms]':>9}{T}{'[%]':>8}{T}{'[cdf%]':>8}{T}{'[mem KB]':>10}"
          f"{T}{'[times called]':>9}{T}[Name]")
BAR = "=" * 30

# newer benchmark_model (INFO: prefixes, LogParams of the flags set, StatWithPercentiles,
# profile_summary_formatter's headings, XNNPACK's delegated op types with spaces, tsl's 40-wide type column)
NEW = "\n".join([
    "INFO: STARTING!",
    "INFO: Log parameter values verbosely: [0]",
    "INFO: Min num runs: [30]",
    "INFO: Num threads: [4]",
    "INFO: Min warmup runs: [3]",
    "INFO: Graph: [/data/local/tmp/costlab/mbv2.tflite]",
    "INFO: Enable op profiling: [1]",
    "INFO: #threads used for CPU inference: [4]",
    "INFO: Loaded model /data/local/tmp/costlab/mbv2.tflite",
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    "INFO: The input model file size (MB): 13.9782",
    "INFO: Initialized session in 41.299ms.",
    "INFO: Running benchmark for at least 3 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.",
    "INFO: count=19 first=27413 curr=26043 min=25943 max=27413 avg=26184.7 std=322 p5=25943 median=26101 p95=27413",
    "",
    "INFO: Running benchmark for at least 30 iterations and at least 1 seconds but terminate if exceeding 150 seconds.",
    "INFO: count=39 first=26023 curr=26083 min=25967 max=26210 avg=26047.9 std=44 p5=25980 median=26040 p95=26150",
    "",
    "INFO: Profiling Info for Benchmark Initialization:",
    f"{BAR} Run Order {BAR}",
    HEADER,
    _row("ModifyGraphWithDelegate", 11.2, 11.2, 90.0, 90.0, "ModifyGraphWithDelegate/0"),
    _row("AllocateTensors", 1.2, 1.2, 10.0, 100.0, "AllocateTensors/0"),
    "",
    "Timings (microseconds): count=1 curr=12400",
    "Memory (bytes): count=0",
    "2 nodes observed",
    "",
    "INFO: Operator-wise Profiling Info for Regular Benchmark Runs:",
    f"{BAR} Run Order {BAR}",
    HEADER,
    _row("Convolution (NHWC, F32) IGEMM", 0.472, 0.464, 60.0, 60.0, "Delegate/Convolution (NHWC, F32) IGEMM:0"),
    _row("Convolution (NHWC, F32) DWConv", 0.2, 0.21, 27.0, 87.0, "Delegate/Convolution (NHWC, F32) DWConv:1"),
    _row("Add (ND, F32)", 0.1, 0.1, 13.0, 100.0, "Delegate/Add (ND, F32):2"),
    "",
    f"{BAR} Top by Computation Time {BAR}",
    HEADER,
    _row("Convolution (NHWC, F32) IGEMM", 0.472, 0.464, 60.0, 60.0, "Delegate/Convolution (NHWC, F32) IGEMM:0"),
    "",
    "Number of nodes executed: 3",
    f"{BAR} Summary by node type {BAR}",
    f"{T}{'[Node type]':>40}{T}{'[count]':>9}{T}{'[avg ms]':>10}{T}{'[avg %]':>11}{T}{'[cdf %]':>11}{T}"
    f"{'[mem KB]':>10}{T}{'[times called]':>10}",
    f"{T}{'Convolution (NHWC, F32) IGEMM':>40}{T}{1:>9}{T}{0.464:>10.3f}{T}{60.0:>10.3f}%{T}{60.0:>10.3f}%{T}"
    f"{0.0:>10.3f}{T}{1:>9}",
    f"{T}{'Convolution (NHWC, F32) DWConv':>40}{T}{1:>9}{T}{0.210:>10.3f}{T}{27.0:>10.3f}%{T}{87.0:>10.3f}%{T}"
    f"{0.0:>10.3f}{T}{1:>9}",
    f"{T}{'Add (ND, F32)':>40}{T}{1:>9}{T}{0.100:>10.3f}{T}{13.0:>10.3f}%{T}{100.0:>10.3f}%{T}{0.0:>10.3f}{T}{1:>9}",
    "",
    "Timings (microseconds): count=39 first=770 curr=774 min=760 max=800 avg=774 std=5",
    "Memory (bytes): count=0",
    "3 nodes observed",
    "",
    "INFO: Inference timings in us: Init: 41299, First inference: 27413, Warmup (avg): 26184.7, Inference (avg): 26047.9",
    "INFO: Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the "
    "actual memory footprint of the model at runtime. Take the information at your discretion.",
    "INFO: Memory footprint delta from the start of the tool (MB): init=6.45 overall=9.38",
])


def test_newer_format_every_field():
    lg = parse_text(NEW, "new.log")
    assert lg.summary_format == "current"
    assert (lg.init_us, lg.first_us, lg.warmup_avg_us, lg.inference_avg_us) == (41299, 27413, 26184.7, 26047.9)
    assert lg.latency_ms == pytest.approx(26.040)            # the regular runs' median
    assert lg.latency_source == "median of the regular runs"
    assert lg.threads == 4 and lg.graph == "/data/local/tmp/costlab/mbv2.tflite"
    assert lg.flags["Enable op profiling"] == "1" and lg.flags["Min warmup runs"] == "3"
    assert lg.warmup.count == 19 and lg.warmup.get("median") == 26101
    s = lg.inference
    assert (s.count, s.get("first"), s.get("curr"), s.get("min"), s.get("max")) == (39, 26023, 26083, 25967, 26210)
    assert (s.get("avg"), s.get("std"), s.get("p5"), s.get("p95")) == (26047.9, 44, 25980, 26150)
    init = lg.table("Run Order", section="init")
    assert [r.node_type for r in init.rows] == ["ModifyGraphWithDelegate", "AllocateTensors"]
    run = lg.table("Run Order")
    assert [r.node_type for r in run.rows] == ["Convolution (NHWC, F32) IGEMM", "Convolution (NHWC, F32) DWConv",
                                               "Add (ND, F32)"]
    r0 = run.rows[0]
    assert (r0.start_ms, r0.first_ms, r0.avg_ms, r0.percent, r0.cdf_percent, r0.mem_kb, r0.times_called) == (
        None, 0.472, 0.464, 60.0, 60.0, 0.0, 1)
    assert r0.name == "Delegate/Convolution (NHWC, F32) IGEMM:0"
    assert len(lg.table("Top by Computation Time").rows) == 1
    assert lg.by_node_type()["Convolution (NHWC, F32) DWConv"] == {"nodes": 1, "avg_ms": 0.21, "times_called": 1}


def test_space_aligned_rows_csv_tables_and_stat_variants():
    # space-aligned (copied from a terminal), the CSV formatter, '(all same)', older 'curr= count=' order
    text = "\n".join([
        "Num threads: [2]",
        "curr=5000 count=3 min=4000 max=6000 avg=5000 std=816",
        "count=4 curr=7000(all same)",
        f"{BAR} Run Order {BAR}",
        "node type, first, avg_ms, %, cdf%, mem KB, times called, name",
        "CONV_2D, 1.5, 1.25, 75%, 75%, 0, 1, [conv1]:0",
        "ADD, 0.5, 0.4167, 25%, 100%, 0, 1, [add]:1",
        "",
    ])
    lg = parse_text(text, "x.log")
    assert lg.summary_format == "" and lg.threads == 2
    assert lg.warmup.get("avg") == 5000 and lg.inference.count == 4 and lg.inference.get("min") == 7000
    assert lg.latency_ms == 7.0
    assert [(r.node_type, r.avg_ms, r.name) for r in lg.table("Run Order").rows] == [
        ("CONV_2D", 1.25, "[conv1]:0"), ("ADD", 0.4167, "[add]:1")]
    assert lg.by_node_type()["CONV_2D"]["avg_ms"] == 1.25


def test_writer_parser_round_trip():
    times = [1.01, 1.2, 0.95, 1.1, 1.0, 0.99, 1.3]
    ops = [{"name": "conv1", "op_type": "Conv", "ms": 0.5}, {"name": "relu", "op_type": "Relu", "ms": 0.1},
           {"name": "conv2", "op_type": "Conv", "ms": 0.3}]
    doc = {"spec": "mobilenet_v2:width=0.5", "runtime": "ort", "threads": 2, "runs": 7, "warmup": 3,
           "times_ms": times, "first_ms": 2.5, "load_s": 0.0125, "artifact": "/tmp/m.onnx", "ops": ops}
    lg = parse_text(write_log(doc), "rt.log")
    assert lg.summary_format == "current" and lg.threads == 2 and lg.graph == "/tmp/m.onnx"
    assert lg.flags["Min num runs"] == "7" and lg.flags["Min warmup runs"] == "3"
    assert "costlab bench mobilenet_v2:width=0.5 --runtime ort" in lg.flags["Benchmark name"]
    assert lg.first_us == 2500 and lg.init_us == 12500
    us = sorted(round(t * 1e3) for t in times)
    assert lg.inference.count == 7 and lg.inference.get("min") == us[0] and lg.inference.get("max") == us[-1]
    assert lg.latency_ms == us[len(us) // 2] / 1e3
    assert lg.inference_avg_us == pytest.approx(sum(us) / len(us), rel=1e-5)
    run = lg.table("Run Order")
    assert [(r.node_type, r.avg_ms) for r in run.rows] == [("Conv", 0.5), ("Relu", 0.1), ("Conv", 0.3)]
    assert run.rows[-1].cdf_percent == pytest.approx(100.0)
    assert lg.by_node_type() == {"Conv": {"nodes": 2, "avg_ms": 0.8, "times_called": 2},
                                 "Relu": {"nodes": 1, "avg_ms": 0.1, "times_called": 1}}
    # without per-op times: no op tables, no 'Enable op profiling'
    lg2 = parse_text(write_log({**doc, "ops": None}), "rt2.log")
    assert lg2.tables == [] and "Enable op profiling" not in lg2.flags
    assert lg2.latency_ms == lg.latency_ms


def test_stats_line_matches_the_tool():
    assert stats_line([5, 5, 5]) == "count=3 curr=5(all same) p5=5 median=5 p95=5"
    assert stats_line([7], percentiles=False) == "count=1 curr=7"
    assert stats_line([1, 2, 3, 4], percentiles=False) == "count=4 first=1 curr=4 min=1 max=4 avg=2.5 std=1"


def test_log_without_timing_lines_names_the_file_and_the_line(tmp_path):
    p = tmp_path / "m.log"
    p.write_text("INFO: STARTING!\nINFO: Num threads: [1]\nINFO: Graph: [m.tflite]\nERROR: Failed to allocate\n")
    with pytest.raises(InputError) as e:
        parse_log(p)
    msg = str(e.value)
    assert str(p) in msg and "Inference timings in us" in msg and "\n" not in msg
    p.write_text("INFO: Inference timings in us: Init: 1, First inference: x, Warmup (avg): 2, Inference (avg): 3\n")
    with pytest.raises(InputError, match=r"m\.log line 1: 'First inference: x'"):
        parse_log(p)
    with pytest.raises(InputError, match="no such log file"):
        parse_log(tmp_path / "absent.log")
