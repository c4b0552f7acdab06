"""``costlab export``: models converted for a device's benchmark tool, with a manifest and a run
script (TFLite ``benchmark_model`` over adb for ``--runtime litert``); their logs come back to
``costlab calibrate --benchmark-logs``."""
from __future__ import annotations

import click

from .options import input_options


@click.command("export")
@click.argument("models", nargs=-1, required=True)
@click.option("--runtime", type=click.Choice(["litert", "onnx"]), required=True,
              help="litert: .tflite for TFLite's benchmark_model (costlab[litert]); onnx: the ONNX Runtime .onnx "
                   "export (costlab[ort])")
@click.option("-o", "--output", "folder", type=click.Path(file_okay=False), required=True,
              help="the export folder (new, empty, or an earlier export; --force for another folder)")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="--num_threads in run.sh")
@click.option("--runs", type=click.IntRange(min=1), default=50, show_default=True, help="--num_runs in run.sh")
@click.option("--warmup", type=click.IntRange(min=0), default=5, show_default=True, help="--warmup_runs in run.sh")
@input_options(batch=True, what="each model's default")
@click.option("--force", is_flag=True, help="write into a non-empty folder that is not an earlier export")
@click.option("-q", "--quiet", is_flag=True, help="no progress lines")
def export_cmd(models, runtime, folder, threads, runs, warmup, resolution, input_shape, batch, force, quiet):
    """Convert MODEL... for a device's benchmark tool: DIR/models/, DIR/manifest.csv (spec,
    input_shape, file, sha256) and DIR/run.sh, which measures every model and saves one
    benchmark_model log per model in DIR/logs/ (litert: TFLite's benchmark_model on an Android
    phone over adb, or LOCAL=1 for the LiteRT interpreter here; onnx: ONNX Runtime on the
    machine that runs it). Then: costlab calibrate --benchmark-logs DIR.

    \b
    costlab export mobilenet_v2:width=0.5 shufflenet_v2:width=0.5 --runtime litert -o phone
    costlab export "fbnet:arch=..." --runtime onnx --resolution 32 -o edge-box
    """
    from pathlib import Path

    from .. import __version__
    from ..runtimes import artifact, get_runtime, one_image_input, refuse_model_file
    from ..runtimes.export import RUNTIMES, check_folder, write_export
    from ..spec import input_shapes_for, resolve

    rt = get_runtime(RUNTIMES[runtime])
    rt.require()
    check_folder(Path(folder), force)           # before any conversion
    planned = []
    for spec in models:
        refuse_model_file(spec)
        resolved = resolve(spec, device="meta")
        shapes = input_shapes_for(resolved, input_shape, resolution, batch)
        planned.append((spec, one_image_input(shapes, spec, "export")))
    rows = []
    for i, (spec, shape) in enumerate(planned, start=1):
        if not quiet:
            click.echo(f"costlab: [{i}/{len(planned)}] {spec} at {'x'.join(map(str, shape))} for {rt.title} ...",
                       err=True)
        a = artifact(rt, spec, shape)
        rows.append({"spec": spec, "input_shape": shape, "path": a.path, "sha256": a.sha256})
    out = write_export(folder, rows, runtime, threads=threads, runs=runs, warmup=warmup, force=force,
                       version=__version__)
    click.echo(f"{len(rows)} model(s) -> {out}/models; manifest {out}/manifest.csv; run {out}/run.sh, then "
               f"costlab calibrate --benchmark-logs {out}")
