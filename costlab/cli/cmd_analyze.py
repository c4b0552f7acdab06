"""``costlab analyze``: per-layer and total costs of a model, with predicted latency and G1-G4
findings on request (a thin wrapper over :func:`costlab.api.analyze`)."""
from __future__ import annotations

import click

from .options import (dtype_option, format_option, input_options, output_option, profile_option, runtime_option,
                      user_input, warn_unsupported)


@click.command()
@click.argument("model")
@format_option()
@output_option()
@click.option("--depth", type=click.IntRange(min=0), default=None,
              help="roll layers up to module depth N (0 = whole model)")
@input_options()
@dtype_option
@click.option("--guidelines", "with_guidelines", is_flag=True,
              help="add a G1-G4 findings column (see costlab guidelines) and 'findings' to the JSON")
@profile_option()
@runtime_option
def analyze(model, fmt, output, depth, resolution, input_shape, batch, dtype, with_guidelines, device, runtime):
    """Per-layer and total params, MACs, FLOPs, element ops, MAC bytes and activations.

    MODEL is a zoo name with optional knobs (mobilenet_v1:width=0.75), or a user
    model as file.py:factory or package.module:factory.
    """
    from ..api import analyze as _analyze
    from ..present.output import write_output
    from ..present.report import report_text
    from ..spec import resolve

    resolved = resolve(model)
    resolution = user_input(resolved, input_shape, resolution)
    report = _analyze(resolved, input_shape=input_shape, resolution=resolution, dtype=dtype, batch=batch,
                      device=device or None, guidelines=with_guidelines,
                      runtime=runtime)
    warn_unsupported(report)
    for s in report.sections.values():
        for note in s.notes:
            click.echo(f"costlab: note: {note}", err=True)
    write_output(report_text(report, fmt, depth), output)
