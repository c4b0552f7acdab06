"""``costlab reproduce``: regenerate the paper reproductions under reports/."""
from __future__ import annotations

import click

from .options import fail


@click.command()
@click.argument("name")
@click.option("-o", "--out-dir", type=click.Path(file_okay=False), default="reports", show_default=True,
              help="folder the reports are written to")
@click.option("--measure", is_flag=True, help="also measure on this machine where a report supports it")
def reproduce(name, out_dir, measure):
    """Regenerate a paper reproduction under reports/ (NAME, or 'all'; 'list' to list)."""
    import os
    from pathlib import Path

    from ..reproduce import list_reproductions

    reps = {r.name: r for r in list_reproductions()}
    if name == "list":
        for r in reps.values():
            click.echo(f"{r.name:28s} {r.help}")
        return
    if name != "all" and name not in reps:
        import difflib

        close = difflib.get_close_matches(name, list(reps), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        fail(f"unknown reproduction '{name}'{hint} (known: all, {', '.join(reps)})")
    if not os.path.isdir(out_dir):
        from ..present.output import no_folder

        fail(f"output {no_folder(out_dir)}; create it or pass -o DIR")
    chosen = list(reps.values()) if name == "all" else [reps[name]]
    for r in chosen:
        click.echo(f"costlab: reproducing {r.name} ...", err=True)
        summary = r.fn(Path(out_dir), measure=measure)
        click.echo(f"{r.name}: {summary}")
