"""``costlab`` command line: thin wrappers over the library.

Exit codes: 0 ok, 1 findings with ``--fail-on``, 2 bad usage or input (one line on
stderr, never a traceback, never a partial output file). Every user error is a
:class:`costlab.errors.CostlabError`, caught once, in :func:`main`.

The commands, one module each named after it (``cmd_<name>.py``), are listed in :data:`COMMANDS`; a new
command is a click command in its module plus one line here.
"""
from __future__ import annotations

import sys

import click

from ..errors import CostlabError
from .cmd_advise import advise
from .cmd_analyze import analyze
from .cmd_bench import bench_cmd
from .cmd_calibrate import calibrate
from .cmd_compare import compare_cmd
from .cmd_compress import compress_cmd
from .cmd_crosscheck import crosscheck_cmd
from .cmd_export import export_cmd
from .cmd_guidelines import guidelines
from .cmd_memory import memory_cmd
from .cmd_plot import plot
from .cmd_profile import profile
from .cmd_profiles import profiles
from .cmd_reproduce import reproduce
from .cmd_search import search_cmd
from .cmd_sweep import sweep_cmd
from .cmd_validate import validate
from .cmd_zoo import zoo
from .options import infer_format

COMMANDS = [analyze, zoo, guidelines, compare_cmd, compress_cmd, profiles, profile, calibrate, validate,
            plot, reproduce, crosscheck_cmd, search_cmd, sweep_cmd, advise, memory_cmd, bench_cmd, export_cmd]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="costlab")
def cli() -> None:
    """costlab: what a neural network really costs on a device, and why."""


for _cmd in COMMANDS:
    cli.add_command(infer_format(_cmd))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Console entry point: one-line errors, exit 2 on bad input, never a traceback."""
    try:
        args = list(sys.argv[1:] if argv is None else argv)
        rv = cli.main(args=args, prog_name="costlab", standalone_mode=False, obj={"argv": args})
        return int(rv) if isinstance(rv, int) else 0
    except click.exceptions.Abort:
        click.echo("costlab: aborted", err=True)
        return 130
    except click.ClickException as exc:
        # usage errors: one line, with the fix, exit 2
        msg = exc.format_message().strip().replace("\n", " ")
        click.echo(f"costlab: error: {msg}", err=True)
        return 2
    except CostlabError as exc:
        click.echo(f"costlab: error: {_one_line(exc)}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("costlab: aborted", err=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
