"""``costlab bench``: a model's measured latency through a deployment runtime (torch eager, ONNX
Runtime, OpenVINO, LiteRT), with the runtime's per-op times mapped to costlab's layers."""
from __future__ import annotations

import click

from .options import check_output_path, fail, input_options, profile_option


@click.command("bench")
@click.argument("model")
@click.option("--runtime", "runtime", type=click.Choice(["torch", "ort", "openvino", "litert"]), default="ort",
              show_default=True, help="torch = PyTorch eager; ort = ONNX Runtime (costlab[ort]); openvino "
                                      "(costlab[openvino]); litert = LiteRT/XNNPACK (costlab[litert])")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="intra-op threads of the runtime (1: the thread's CPU time is the clock)")
@input_options(batch=True, what="the model's default")
@click.option("--runs", type=click.IntRange(min=1), default=50, show_default=True, help="timed runs")
@click.option("--warmup", type=click.IntRange(min=0), default=5, show_default=True, help="untimed runs first")
@click.option("--dtype", type=click.Choice(["float32", "int8"]), default="float32", show_default=True,
              help="int8: ONNX Runtime static QDQ / LiteRT PT2E int8 with random calibration data")
@click.option("--clock", type=click.Choice(["auto", "thread", "wall"]), default="auto", show_default=True,
              help="auto: the thread's CPU time at --threads 1, else the wall clock")
@profile_option()
@click.option("--no-op-profile", is_flag=True, help="skip the runtime's per-op profile")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=check_output_path,
              help="write to FILE (atomically) instead of stdout")
@click.option("--log", "log", type=click.Path(dir_okay=False), default=None, callback=check_output_path,
              help="also write the measurement as a TFLite benchmark_model log (for calibrate --benchmark-logs)")
@click.option("--model-file", "model_file", type=click.Path(dir_okay=False), default=None,
              help="time this converted file (.onnx for ort/openvino, .tflite for litert; e.g. from costlab export) "
                   "instead of converting MODEL, which still names it")
def bench_cmd(model, runtime, threads, resolution, input_shape, batch, runs, warmup, dtype, clock, device,
              no_op_profile, fmt, output, log, model_file):
    """Measure MODEL's latency through a deployment runtime: median, p10, p90 of --runs
    inferences; per-op times (ONNX Runtime's profiler, OpenVINO's performance counters)
    beside costlab's predicted per-layer latency with --device.

    \b
    costlab bench mobilenet_v2 --runtime ort
    costlab bench shufflenet_v2 --runtime openvino --device cpu-local
    costlab bench mobilenet_v2 --runtime ort --dtype int8 --format json
    costlab bench mobilenet_v2 --runtime litert --log phone/logs/mobilenet_v2_1x3x224x224.log
    """
    from ..present.bench import bench_text
    from ..present.output import write_output
    from ..runtimes import get_runtime, one_image_input, refuse_model_file
    from ..runtimes.bench import bench
    from ..spec import input_shapes_for, resolve

    refuse_model_file(model)
    rt = get_runtime(runtime)
    rt.require()
    rt.check_dtype(dtype)
    if clock == "thread" and threads != 1:
        fail("--clock thread needs --threads 1 (worker threads' time would be missed); use --clock wall")
    profile = None
    if device is not None:
        from ..latency.profile import load_profile

        profile = load_profile(device)
    resolved = resolve(model, device="meta")
    shapes = input_shapes_for(resolved, input_shape, resolution, batch)
    shape = one_image_input(shapes, model, "bench")
    doc = bench(model, runtime, input_shape=shape, threads=threads, runs=runs, warmup=warmup, dtype=dtype,
                clock=clock, op_profile=not no_op_profile, model_file=model_file)
    if doc.get("ops"):
        _layers(doc, model, shape, profile)
    elif profile is not None:
        doc["profile"] = profile.name
    if log:
        from ..io import atomic_write
        from ..runtimes.benchlog import write_log

        text = write_log({**doc, "spec": model})
        atomic_write(log, lambda f: f.write(text))
    if fmt != "json":
        doc.pop("times_ms", None)
    write_output(bench_text(doc, fmt), output)


def _layers(doc: dict, model: str, shape, profile) -> None:
    from ..api import analyze
    from ..runtimes.base import OpTime
    from ..runtimes.layers import by_layer, map_kernels, predicted_by_module

    report = analyze(model, input_shape=[shape])
    modules = {n.module for n in report.graph.nodes}
    kernels = map_kernels([OpTime(o["name"], o["op_type"], o["ms"], tuple(o["covers"])) for o in doc["ops"]],
                          modules)
    for o, k in zip(doc["ops"], kernels):
        o["layer"] = k["layer"]
    predicted = predicted_by_module(report, profile) if profile is not None else None
    doc["layers"] = by_layer(kernels, predicted)
    doc["unmapped_kernels"] = sum(1 for k in kernels if k["layer"] is None)
    if profile is not None:
        doc["profile"] = profile.name
        doc["predicted_ms"] = float(sum(predicted.values()))
