"""``costlab analyze`` and ``costlab zoo``."""
from __future__ import annotations

import click

from .options import (dtype_option, format_option, input_options, output_option, runtime_option, user_input,
                      warn_unsupported)


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
@click.option("--device", default=None,
              help="predict latency: arm, gpu, cpu, a profile name in profiles/ or a profile file")
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


@click.command()
@format_option()
@output_option()
def zoo(fmt, output):
    """List the zoo: every model, its knobs with defaults and allowed values, its paper."""
    import json

    import pandas as pd

    from ..present.output import write_output
    from ..present.tables import markdown_table, text_table, to_csv
    from ..zoo.registry import list_models

    rows = []
    for e in list_models():
        knobs = []
        for k, kn in e.knobs.items():
            allowed = ("|".join(str(c) for c in kn.choices) if kn.choices
                       else f"{kn.low if kn.low is not None else ''}..{kn.high if kn.high is not None else ''}")
            knobs.append(f"{k}={kn.default} ({allowed})")
        rows.append({"model": e.name, "aliases": ",".join(e.aliases), "family": e.family,
                     "input": f"{e.in_channels}x{e.resolution}x{e.resolution}",
                     "knobs": "; ".join(knobs), "paper": e.paper})
    df = pd.DataFrame(rows, columns=["model", "aliases", "family", "input", "knobs", "paper"])
    if fmt == "json":
        text = json.dumps({"models": [
            {"name": e.name, "aliases": list(e.aliases), "family": e.family, "paper": e.paper,
             "resolution": e.resolution, "in_channels": e.in_channels,
             "knobs": {k: {"default": kn.default, "type": kn.type.__name__,
                           "choices": list(kn.choices) if kn.choices else None,
                           "low": kn.low, "high": kn.high, "help": kn.help} for k, kn in e.knobs.items()}}
            for e in list_models()]}, indent=2)
    elif fmt == "csv":
        text = to_csv(df)
    elif fmt == "markdown":
        text = markdown_table(df, list(df.columns))
    else:
        text = text_table(df, ["model", "input", "knobs", "paper"])
    write_output(text, output)
