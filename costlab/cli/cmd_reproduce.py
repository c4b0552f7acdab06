"""``costlab reproduce``: regenerate the paper reproductions under reports/."""
from __future__ import annotations

import click

from .options import fail


@click.command()
@click.argument("name")
@click.option("-o", "--out-dir", type=click.Path(file_okay=False), default="reports", show_default=True,
              help="folder the reports are written to")
@click.option("--measure", is_flag=True, help="also measure on this machine where a report supports it")
@click.option("--from-csv", "from_csv", is_flag=True,
              help="rebuild reports that keep measurements in a CSV (guidelines-runtimes) from that CSV in the "
                   "output folder; never measures")
def reproduce(name, out_dir, measure, from_csv):
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
    if measure and from_csv:
        fail("--measure and --from-csv exclude each other: measure, or rebuild from the measured CSV")
    chosen = list(reps.values()) if name == "all" else [reps[name]]
    if from_csv and not any(r.from_csv for r in chosen):
        fail(f"--from-csv: '{name}' keeps no measured CSV; it applies to "
             f"{', '.join(r.name for r in reps.values() if r.from_csv)}")
    for r in chosen:
        click.echo(f"costlab: reproducing {r.name} ...", err=True)
        kw = {"from_csv": from_csv} if r.from_csv else {}
        summary = r.fn(Path(out_dir), measure=measure, **kw)
        click.echo(f"{r.name}: {summary}")
