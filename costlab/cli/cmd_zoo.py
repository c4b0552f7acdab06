"""``costlab zoo``: the models costlab builds by name."""
from __future__ import annotations

import click

from .options import format_option, output_option


@click.command()
@format_option()
@output_option()
def zoo(fmt, output):
    """List the zoo: every model, its knobs with defaults and allowed values, its paper."""
    from ..present.output import write_output
    from ..present.zoo import zoo_text
    from ..zoo.registry import list_models

    write_output(zoo_text(list_models(), fmt), output)
