"""``costlab advise``: concrete rewrites per guideline finding and expensive layer, each applied and
re-predicted on a device (a thin wrapper over :func:`costlab.advise.advise`)."""
from __future__ import annotations

import click

from .options import dtype_option, format_option, input_options, output_option, profile_option, user_input


@click.command("advise")
@click.argument("model")
@profile_option(required=True)
@click.option("--top", type=int, default=10, show_default=True,
              help="how many rewrites to list, largest predicted saving first")
@format_option()
@output_option()
@input_options()
@dtype_option
def advise(model, device, top, fmt, output, resolution, input_shape, batch, dtype):
    """What to change, and how much faster: for each G1-G4 finding and each of the most
    expensive layers, concrete rewrites (fewer groups at equal FLOPs, equal channel widths,
    merged branches, folded / fused / removed element-wise ops; zoo knobs where they do it)
    applied to the network and re-predicted on the device.

    \b
    costlab advise shufflenet_v1:groups=8 --device arm
    costlab advise mobilenet_v2 --device gpu --format json -o advice.json
    """
    from ..advise import advise as _advise
    from ..errors import UsageError
    from ..latency.profile import load_profile
    from ..present.advice import advice_text
    from ..present.output import write_output
    from ..spec import resolve

    if top < 1:
        raise UsageError(f"--top must be at least 1, got {top}")
    profile = load_profile(device)          # a bad profile fails before any tracing
    resolved = resolve(model)
    resolution = user_input(resolved, input_shape, resolution)
    result = _advise(resolved, profile, top=top, input_shape=input_shape, resolution=resolution, dtype=dtype,
                     batch=batch)
    for w in result.warnings:
        click.echo(f"costlab: warning: {w}", err=True)
    for n in result.notes:       # the same passes' notes as analyze prints, with the same word
        click.echo(f"costlab: note: {n}", err=True)
    write_output(advice_text(result.to_dict(), fmt), output)
