"""``costlab`` command line: thin wrappers over the library.

Exit codes: 0 ok, 1 findings with ``--fail-on``, 2 bad usage or input (one line on
stderr, never a traceback, never a partial output file).
"""
from __future__ import annotations

import sys

import click

from .render import FORMATS, OutputError, check_output_path, write_output
from .zoo.registry import SpecError


class UserError(click.ClickException):
    exit_code = 2


def _fail(msg: str) -> None:
    raise UserError(msg)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="costlab")
def cli() -> None:
    """costlab: what a neural network really costs on a device, and why."""


def _dtype_option(f):
    return click.option("--dtype", type=click.Choice(["float32", "float16", "int8"]), default="float32",
                        show_default=True, help="element size used for MAC bytes")(f)


@cli.command()
@click.argument("model")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=check_output_path,
              help="write to FILE (atomically) instead of stdout")
@click.option("--depth", type=click.IntRange(min=0), default=None,
              help="roll layers up to module depth N (0 = whole model)")
@click.option("--resolution", type=int, default=None, help="input side length (default: the paper's)")
@click.option("--input-shape", default=None, help="full input shape, e.g. 1x3x96x96 (several: a,b)")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="batch size with --resolution")
@_dtype_option
@click.option("--guidelines", "with_guidelines", is_flag=True,
              help="add a G1-G4 findings column (see costlab guidelines) and 'findings' to the JSON")
@click.option("--device", default=None,
              help="predict latency: arm, gpu, cpu, a profile name in profiles/ or a profile file")
def analyze(model, fmt, output, depth, resolution, input_shape, batch, dtype, with_guidelines, device):
    """Per-layer and total params, MACs, FLOPs, element ops, MAC bytes and activations.

    MODEL is a zoo name with optional knobs (mobilenet_v1:width=0.75), or a user
    model as file.py:factory or package.module:factory.
    """
    from .api import analyze as _analyze
    from .render_report import render
    from .spec import resolve

    resolved = resolve(model)
    if resolution is None and input_shape is None and resolved.entry is None:
        click.echo("costlab: no --input-shape given for a user model; using 1x3x224x224", err=True)
        resolution = 224
    report = _analyze(resolved, input_shape=input_shape, resolution=resolution, dtype=dtype, batch=batch)
    if report.totals.get("params_unused"):
        click.echo(f"costlab: warning: {report.totals['params_unused']:,} parameters are never used by the "
                   "traced forward and are not in the totals", err=True)
    if report.unsupported:
        click.echo("costlab: warning: unsupported ops counted as 0: "
                   + ", ".join(f"{u['op']} x{u['count']}" for u in report.unsupported), err=True)
    extra: list[str] = []
    if device:
        from .latency.predict import predict
        from .latency.profile import load_profile

        predict(report, load_profile(device))
        extra.append("latency_ms")
        for note in report.extras.get("latency", {}).get("notes", []):
            click.echo(f"costlab: note: {note}", err=True)
    if with_guidelines:
        from .guidelines import check, layer_findings, summary_line

        result = check(report)
        report.layers["findings"] = layer_findings(report, result)
        gd = result.to_dict(report.model)
        report.extras["findings"] = gd["findings"]
        report.extras["guidelines"] = gd["summary"]
        extra.append("findings")
    text = render(report, fmt, depth, extra_columns=extra)
    if with_guidelines and fmt in ("table", "markdown"):
        text = text.rstrip("\n") + "\n" + summary_line(result) + "\n"
    write_output(text, output)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=check_output_path)
def zoo(fmt, output):
    """List the zoo: every model, its knobs with defaults and allowed values, its paper."""
    import json

    import pandas as pd

    from .render import markdown_table, text_table, to_csv
    from .zoo.registry import list_models

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


@cli.command()
@click.argument("name")
@click.option("-o", "--out-dir", type=click.Path(file_okay=False), default="reports", show_default=True,
              help="folder the reports are written to")
@click.option("--measure", is_flag=True, help="also measure on this machine where a report supports it")
def reproduce(name, out_dir, measure):
    """Regenerate a paper reproduction under reports/ (NAME, or 'all'; 'list' to list)."""
    import os
    from pathlib import Path

    from .reproduce import list_reproductions

    reps = {r.name: r for r in list_reproductions()}
    if name == "list":
        for r in reps.values():
            click.echo(f"{r.name:28s} {r.help}")
        return
    if name != "all" and name not in reps:
        import difflib

        close = difflib.get_close_matches(name, list(reps), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        _fail(f"unknown reproduction '{name}'{hint} (known: all, {', '.join(reps)})")
    if not os.path.isdir(out_dir):
        _fail(f"output folder '{out_dir}' does not exist; create it or pass -o DIR")
    chosen = list(reps.values()) if name == "all" else [reps[name]]
    for r in chosen:
        click.echo(f"costlab: reproducing {r.name} ...", err=True)
        summary = r.fn(Path(out_dir), measure=measure)
        click.echo(f"{r.name}: {summary}")


# Commands of the other capabilities live in their own modules (costlab/cli_*.py), each
# exporting COMMANDS = [click commands]; they are added here.
def _add_command_modules() -> None:
    import importlib
    import pkgutil

    import costlab

    for m in sorted(pkgutil.iter_modules(costlab.__path__), key=lambda m: m.name):
        if m.name.startswith("cli_"):
            mod = importlib.import_module(f"costlab.{m.name}")
            for cmd in getattr(mod, "COMMANDS", []):
                cli.add_command(cmd)


_add_command_modules()


def main(argv: list[str] | None = None) -> int:
    """Console entry point: one-line errors, exit 2 on bad input, never a traceback."""
    from .latency.profile import ProfileError
    from .spec import InputError
    from .tracer import TraceError

    try:
        rv = cli.main(args=argv, prog_name="costlab", standalone_mode=False)
        return int(rv) if isinstance(rv, int) else 0
    except click.exceptions.Abort:
        click.echo("costlab: aborted", err=True)
        return 130
    except click.ClickException as exc:
        # usage errors: one line, with the fix, exit 2
        msg = exc.format_message().strip().replace("\n", " ")
        click.echo(f"costlab: error: {msg}", err=True)
        return exc.exit_code if isinstance(exc, UserError) else 2
    except (SpecError, InputError, TraceError, OutputError, ProfileError) as exc:
        click.echo(f"costlab: error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("costlab: interrupted", err=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
