"""``costlab`` command line: thin wrappers over the library.

Exit codes: 0 ok, 1 findings with ``--fail-on``, 2 bad usage or input (one line on
stderr, never a traceback, never a partial output file). Every user error is a
:class:`costlab.errors.CostlabError`, caught once, in :func:`main`.

The commands, one module each named after it (``cmd_<name>.py``), are listed in :data:`COMMANDS`; a new
command is a click command in its module plus one entry there (imported when it runs).
"""
from __future__ import annotations

import sys

import click

from ..errors import CostlabError
from .options import guard_inputs, infer_format

# command name -> "module:attribute" of its click command; a module loads when its command runs
# (or --help lists it), so ``costlab analyze`` imports none of the other seventeen
COMMANDS = {
    "analyze": "cmd_analyze:analyze", "zoo": "cmd_zoo:zoo", "guidelines": "cmd_guidelines:guidelines",
    "compare": "cmd_compare:compare_cmd", "compress": "cmd_compress:compress_cmd", "profiles": "cmd_profiles:profiles",
    "profile": "cmd_profile:profile", "calibrate": "cmd_calibrate:calibrate", "validate": "cmd_validate:validate",
    "plot": "cmd_plot:plot", "reproduce": "cmd_reproduce:reproduce", "crosscheck": "cmd_crosscheck:crosscheck_cmd",
    "search": "cmd_search:search_cmd", "sweep": "cmd_sweep:sweep_cmd", "advise": "cmd_advise:advise",
    "memory": "cmd_memory:memory_cmd", "bench": "cmd_bench:bench_cmd", "export": "cmd_export:export_cmd",
}


class _LazyGroup(click.Group):
    """A group whose commands are imported on first use (start-up: see :data:`COMMANDS`)."""

    def list_commands(self, ctx) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        if name not in self.commands:
            import importlib

            module, attr = COMMANDS[name].split(":")
            cmd = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
            if cmd.name != name:
                raise RuntimeError(f"costlab.cli.COMMANDS: {COMMANDS[name]} is the command {cmd.name!r}, not {name!r}")
            self.add_command(guard_inputs(infer_format(cmd)))
        return self.commands[name]


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="costlab")
def cli() -> None:
    """costlab: what a neural network really costs on a device, and why."""


def all_commands() -> list[click.Command]:
    """Every command, each loaded (what ``--help`` lists), in name order."""
    return [cli.get_command(None, name) for name in cli.list_commands(None)]


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
        ctx = getattr(exc, "ctx", None)
        if isinstance(exc, click.UsageError) and ctx is not None and "--help" not in msg:
            msg += f" (see '{ctx.command_path} --help')"      # click's own messages name no fix
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
