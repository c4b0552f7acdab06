"""``costlab sweep``: many models x many devices into a .parquet / .csv file, resumable, on
local processes or a Ray cluster; a thin wrapper over :func:`costlab.sweep.sweep`."""
from __future__ import annotations

import click

from ..errors import UsageError
from .options import check_output_path, profile_option

BACKENDS = ("local", "ray")      # costlab.sweep.BACKENDS (tests/test_sweep.py checks they agree)


def _devices(values) -> list[str]:
    out = [d.strip() for v in values for d in v.split(",") if d.strip()]
    if not out:
        raise UsageError("give at least one device: --device arm,gpu (or --device arm --device gpu)")
    return list(dict.fromkeys(out))


@click.command("sweep")
@click.argument("specs_file", required=False, type=click.Path(dir_okay=False))
@click.option("--space", default=None, help="sample a search space instead of a specs file: fbnet or nb201")
@click.option("--n", "n", type=click.IntRange(min=1), default=None, help="architectures to sample with --space")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of --space")
@click.option("--resolution", type=click.IntRange(min=1), default=None,
              help="input side of the --space architectures (default: the space's)")
@profile_option(required=True, multiple=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), callback=check_output_path,
              help="results file: .parquet (needs pyarrow) or .csv; rerunning resumes it")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="local worker processes (--backend local)")
@click.option("--backend", type=click.Choice(BACKENDS), default="local", show_default=True,
              help="local processes, or Ray tasks (pip install costlab[ray])")
@click.option("--ray-address", default=None,
              help="an existing Ray cluster (ray://HOST:10001 or HOST:6379); default: a local Ray instance")
@click.option("--chunk-size", type=click.IntRange(min=1), default=1000, show_default=True,
              help="models per chunk: the unit of work and of resuming")
def sweep_cmd(specs_file, space, n, seed, resolution, devices, output, jobs, backend, ray_address, chunk_size):
    """Predict many models on many devices into one table (one row per model x device).

    SPECS_FILE lists one zoo spec or model file (model.onnx, model.tflite) a line, optionally
    followed by a resolution or an input shape (fbnet:arch=... 1x3x32x32). A progress bar shows on a terminal. A run that stops
    keeps every finished chunk; the same command again predicts only what is missing (or what
    an edited profile predicts differently). The output holds the models x devices of this run only.

    \b
    costlab sweep --space fbnet --n 100000 --device arm,gpu -o fbnet.csv --jobs 2
    costlab sweep specs.txt --device arm,cpu -o results.parquet
    costlab sweep --space fbnet --n 100000 --device arm -o fbnet.csv --backend ray --ray-address HOST:6379
    """
    from ..sweep import partial_note, read_specs, space_items, sweep

    if (specs_file is None) == (space is None):
        raise UsageError("give either SPECS_FILE or --space S --n N")
    if space is not None and n is None:
        raise UsageError("--space needs --n N, the number of architectures to sample")
    if space is None and (n is not None or resolution is not None):
        raise UsageError("--n and --resolution go with --space; a specs file gives each model's input itself")
    if backend != "ray" and ray_address:
        raise UsageError("--ray-address goes with --backend ray")
    items = read_specs(specs_file) if specs_file else space_items(space, n, seed, resolution)
    try:
        summary = sweep(items, _devices(devices), output, jobs=jobs, backend=backend, ray_address=ray_address,
                        chunk_size=chunk_size)
    except (KeyboardInterrupt, Exception) as exc:
        from ..errors import CostlabError

        if not isinstance(exc, CostlabError):
            note = partial_note(output)
            if note:
                click.echo(f"costlab: {note}", err=True)
        raise
    for note in summary.notes:
        click.echo(f"costlab: note: {note}", err=True)
    click.echo(summary.line())
