"""``costlab compare``: models side by side (also teacher vs student, and ensembles a+b+c);
a thin wrapper over :func:`costlab.compare.compare`."""
from __future__ import annotations

import click

from ..errors import UsageError
from ..present.compare import comparison_text
from ..present.output import write_output
from ..present.tables import FORMATS
from .options import check_output_path, profile_option, runtime_option


@click.command("compare")
@click.argument("models", nargs=-1, required=True)
@click.option("--resolution", type=int, default=None, help="input side length for every model (default: each paper's)")
@click.option("--input-shape", default=None, help="full input shape for every model, e.g. 1x3x224x224")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--dtype", type=click.Choice(["float32", "float16", "int8"]), default="float32", show_default=True,
              help="element size for MAC bytes and model size")
@profile_option()
@click.option("--columns", "columns", default=None,
              help="column groups to show, comma-separated (default: all whose options are given)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=check_output_path,
              help="write to FILE (atomically) instead of stdout")
@runtime_option
def compare_cmd(models, resolution, input_shape, batch, dtype, device, columns, fmt, output, runtime):
    """Models side by side: params, MACs, FLOPs, MAC bytes, activations, model size.

    Each MODEL is a zoo spec, a user model (file.py:factory), or an ensemble a+b+c
    counted as the sum of its members. The first MODEL is the reference of the 'rel'
    columns: put the teacher first to read the distillation trade-off.

    \b
    costlab compare resnet50 resnet18 resnet18+resnet34
    costlab compare teacher.py:big student.py:small --input-shape 1x3x32x32
    """
    from ..compare import compare

    if runtime and not device:
        raise UsageError("--runtime needs --device (a GPU host/device profile such as gpu-h200)")

    if device:   # refuse a bad profile before any model is analysed
        from ..latency.profile import load_profile

        load_profile(device)
    cmp = compare(list(models), input_shape=input_shape, resolution=resolution, dtype=dtype, batch=batch,
                  providers=columns.split(",") if columns else None, options={"device": device}, runtime=runtime, progress=True)
    for w in cmp.warnings:
        click.echo(f"costlab: warning: {w}", err=True)
    for n in cmp.notes:
        click.echo(f"costlab: note: {n}", err=True)
    write_output(comparison_text(cmp, fmt), output)


