"""``costlab search``: the best variant of a model's knobs (or of a NAS space) under a latency
budget, with the Pareto front of latency vs MACs / params; a thin wrapper over
:func:`costlab.search.search`."""
from __future__ import annotations

import os

import click

from ..errors import UsageError
from ..present.search import RESOLUTION  # noqa: F401  (costlab.search's; tests/test_search.py checks they agree)
from ..present.tables import FORMATS
from .options import check_output_path, output_option, profile_option

# costlab.search's OBJECTIVES, here so that the CLI starts without importing the search
# machinery (scipy); tests/test_search.py checks they agree
OBJECTIVES = ("macs", "params", "-latency")


def parse_knob_options(values) -> dict[str, str]:
    """``('width=0.35:1.4:0.05', 'resolution=96:224:32')`` -> ``{'width': '0.35:1.4:0.05', ...}``."""
    out: dict[str, str] = {}
    for text in values:
        name, eq, raw = text.partition("=")
        if not eq or not name.strip():
            raise UsageError(f"--knob {text}: write NAME=lo:hi:step or NAME=a,b,c, e.g. --knob width=0.5:1.0:0.25")
        if name.strip() in out:
            raise UsageError(f"--knob {name.strip()} given twice; give each knob once")
        out[name.strip()] = raw.strip()
    return out


@click.command("search")
@click.argument("spec")
@click.option("--knob", "knobs", multiple=True, metavar="NAME=VALUES",
              help="a knob's values: lo:hi:step (inclusive) or a,b,c; 'resolution' is the input side (repeatable)")
@profile_option(required=True)
@click.option("--budget-ms", type=float, required=True, help="latency budget on the device (ms)")
@click.option("--objective", type=click.Choice(OBJECTIVES), default="macs", show_default=True,
              help="under the budget: the most MACs, the most params, or the least latency (-latency)")
@click.option("--space", type=click.IntRange(min=1), default=None, metavar="N",
              help="sample N distinct random architectures of the search space SPEC (fbnet, nb201)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of --space")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="table (default; csv/json/markdown when -o ends in .csv/.json/.md): the front and the choice; "
                   "csv: every variant with on_front and chosen columns; json: everything")
@output_option()
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, callback=check_output_path,
              help="plot latency vs MACs/params, the front and the choice (.png, .svg or .pdf)")
def search_cmd(spec, knobs, device, budget_ms, objective, space, seed, fmt, output, plot_path):
    """The best variant of SPEC under a latency budget, and the Pareto front.

    \b
    costlab search mobilenet_v2 --knob width=0.35:1.4:0.05 --knob resolution=96:224:32 --device arm --budget-ms 30
    costlab search shufflenet_v1 --knob groups=1,2,3,4,8 --knob width=0.5,1.0 --device gpu --budget-ms 5
    costlab search fbnet --space 5000 --device arm --budget-ms 30 --plot front.png
    """
    from ..present.output import write_output
    from ..present.plots import format_of, save_figure
    from ..present.search import search_text
    from ..search import search, search_figure

    if plot_path:
        format_of(plot_path)          # refuse a bad suffix before any work
        if output and os.path.abspath(output) == os.path.abspath(plot_path):
            raise UsageError(f"-o and --plot name the same file '{output}'; give the table and the figure "
                             "different files")
    result = search(spec, parse_knob_options(knobs), device=device, budget_ms=budget_ms, objective=objective,
                    space=space, seed=seed)
    if result.skipped:
        click.echo(f"costlab: warning: {len(result.skipped)} of {len(result.skipped) + len(result.variants)} "
                   f"variants could not be built and were left out (first: {result.skipped[0]['reason']})", err=True)
    if result.prediction != "blocks":
        click.echo(f"costlab: note: {result.device}'s predictor does not compose from blocks; "
                   "every variant was analysed whole (slower, same numbers)", err=True)
    result.require_best()
    write_output(search_text(result, fmt), output)
    if plot_path:
        save_figure(search_figure(result), plot_path)
