"""Options every command shares, and the one input rule (presentation of the CLI only)."""
from __future__ import annotations

import os

import click

from ..errors import UsageError
from ..present.output import no_folder
from ..present.tables import FORMATS
from ..spec import default_input

DTYPES = ("float32", "float16", "int8")


def command_line() -> str:
    """The command as the user typed it (for provenance): ``costlab <args>``."""
    import shlex

    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    args = obj.get("argv") if isinstance(obj, dict) and obj.get("argv") is not None else []
    return "costlab " + shlex.join(args)


def fail(msg: str) -> None:
    """Stop the command: one line on stderr, exit 2 (caught in :func:`costlab.cli.main`)."""
    raise UsageError(msg)


def check_output_path(ctx, param, value):
    """click callback for ``-o FILE``: refuse a path whose folder does not exist before any
    work starts (the write itself stays atomic)."""
    if value is None or value == "-":
        return value
    if value == "":
        raise click.BadParameter("an empty file name; give a file, e.g. -o out.json", ctx=ctx, param=param)
    folder = os.path.dirname(os.path.abspath(value))
    if not os.path.isdir(folder) and _is_user_profiles(folder):
        os.makedirs(folder, exist_ok=True)      # the user profile folder need not exist yet
    if not os.path.isdir(folder):
        raise click.BadParameter(no_folder(folder), ctx=ctx, param=param)
    return value


def _is_user_profiles(folder: str) -> bool:
    from ..latency.profile import user_profiles_dir

    return os.path.abspath(folder) == os.path.abspath(str(user_profiles_dir()))


def output_option(help: str = "write to FILE (atomically) instead of stdout"):
    return click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
                        callback=check_output_path, help=help)


def format_option(choices=FORMATS):
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=choices[0], show_default=True)


def dtype_option(f):
    return click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
                        help="element size used for MAC bytes")(f)


def runtime_option(f):
    return click.option("--runtime", type=click.Choice(["eager", "cudagraph"]), default=None,
                        help="GPU host/device profiles: predict eager or CUDA-graph time "
                             "(default: the profile's own runtime)")(f)


def input_options(batch: bool = True, what: str = "the paper's"):
    """--resolution, --input-shape and (optionally) --batch."""
    def deco(f):
        if batch:
            f = click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
                             help="batch size with --resolution")(f)
        f = click.option("--input-shape", default=None, help="full input shape, e.g. 1x3x96x96 (several: a,b)")(f)
        f = click.option("--resolution", type=int, default=None, help=f"input side length (default: {what})")(f)
        return f
    return deco


def user_input(resolved, input_shape, resolution):
    """The one input rule: a user model given no input size runs at 1x3x224x224, said on stderr."""
    res, note = default_input(resolved, input_shape, resolution)
    if note:
        click.echo(f"costlab: {note}", err=True)
    return res


def warn_unsupported(report, prefix: str = "") -> None:
    if report.totals.get("params_unused"):
        click.echo(f"costlab: warning: {prefix}{report.totals['params_unused']:,} parameters are never used by "
                   "the traced forward and are not in the totals", err=True)
    if report.unsupported:
        click.echo(f"costlab: warning: {prefix}unsupported ops counted as 0: "
                   + ", ".join(f"{u['op']} x{u['count']}" for u in report.unsupported), err=True)
