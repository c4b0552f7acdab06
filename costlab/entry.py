"""The ``costlab`` console script: loads the CLI, so that a Ctrl-C while the commands are
still being imported (torch alone takes seconds) ends as one line and exit 130, not a
traceback (:func:`costlab.cli.main` handles one that arrives later)."""
from __future__ import annotations

import sys

ABORTED = "costlab: aborted"


def _load():
    from .cli import main as cli_main

    return cli_main


def main(argv: list[str] | None = None) -> int:
    try:
        cli_main = _load()
    except KeyboardInterrupt:
        sys.stderr.write(ABORTED + "\n")
        return 130
    return cli_main(argv)
