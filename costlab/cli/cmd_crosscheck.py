"""``costlab crosscheck``: costlab beside fvcore and torch's FlopCounterMode, every difference
explained by its convention (exit 1 when one has no known cause)."""
from __future__ import annotations

import click

from .options import format_option, input_options, output_option, user_input


@click.command("crosscheck")
@click.argument("models", nargs=-1, required=True)
@format_option()
@output_option()
@input_options()
def crosscheck_cmd(models, fmt, output, resolution, input_shape, batch):
    """costlab, fvcore and torch's FlopCounterMode side by side, per op type and in total.

    Each difference is explained by its convention (torch counts 2 FLOPs per MAC; fvcore adds
    batch norm, norm, upsample and adaptive-pool element counts to its total and skips ops it
    has no handle for). Exit 1 when a difference has no known cause. fvcore comes with
    costlab[dev].

    \b
    Examples:
      costlab crosscheck mobilenet_v2 shufflenet_v2 --resolution 96
      costlab crosscheck my_net.py:build --input-shape 1x3x64x64 --format json
    """
    from ..crosscheck import crosscheck, fvcore_available
    from ..present.crosscheck import mixed_crosscheck_text
    from ..crosscheck_onnx import crosscheck_file
    from ..frontends import is_file_model, is_file_spec
    from ..present.output import write_output
    from ..spec import resolve

    if not fvcore_available() and not all(is_file_spec(m) for m in models):
        click.echo("costlab: fvcore is not installed; comparing with torch only "
                   "(pip install 'costlab[dev]' adds fvcore)", err=True)
    results, files, order = [], [], []
    for m in models:
        resolved = resolve(m, device="cpu")
        res = user_input(resolved, input_shape, resolution)
        if is_file_model(resolved.model):      # model.onnx: costlab beside onnx-tool (costlab.crosscheck_onnx)
            files.append(crosscheck_file(resolved, input_shape, resolution=res, batch=batch))
            order.append(files[-1])
        else:
            results.append(crosscheck(resolved, input_shape, resolution=res, batch=batch))
            order.append(results[-1])
    write_output(mixed_crosscheck_text(results, files, fmt, order), output)
    return 1 if any(r.unexplained for r in results + files) else 0
