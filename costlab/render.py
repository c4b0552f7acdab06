"""Presentation, kept apart from analysis: tables, CSV, JSON, markdown; atomic writes."""
from __future__ import annotations

import io
import os
import tempfile
from typing import Any

import pandas as pd
from .errors import OutputError  # noqa: F401

FORMATS = ("table", "csv", "json", "markdown")




def human(n: float, unit: str = "") -> str:
    """1234567 -> '1.23M'."""
    n = float(n)
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.3g}{suffix}{unit}"
    return f"{n:.4g}{unit}"


def shape_str(shape) -> str:
    if not shape:
        return "-"
    if isinstance(shape[0], (list, tuple)):
        return " ".join(shape_str(s) for s in shape)
    return "x".join(str(d) for d in shape)


def text_table(df: pd.DataFrame, columns: list[str], align_right: set[str] | None = None,
               formatters: dict[str, Any] | None = None) -> str:
    """A plain fixed-width table (no dependency beyond pandas)."""
    formatters = formatters or {}
    align_right = align_right or set()
    cells = [[str(formatters.get(c, str)(v)) for c, v in zip(columns, row)]
             for row in df[columns].itertuples(index=False, name=None)]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def fmt(vals):
        return "  ".join(v.rjust(w) if c in align_right else v.ljust(w)
                         for v, w, c in zip(vals, widths, columns)).rstrip()

    lines = [fmt(columns), fmt(["-" * w for w in widths])]
    lines += [fmt(r) for r in cells]
    return "\n".join(lines)


def markdown_table(df: pd.DataFrame, columns: list[str], formatters: dict[str, Any] | None = None,
                   right: set[str] | None = None) -> str:
    formatters = formatters or {}
    right = right or set()
    out = ["| " + " | ".join(columns) + " |",
           "|" + "|".join("---:" if c in right else "---" for c in columns) + "|"]
    for row in df[columns].itertuples(index=False, name=None):
        out.append("| " + " | ".join(str(formatters.get(c, str)(v)).replace("|", "\\|")
                                     for c, v in zip(columns, row)) + " |")
    return "\n".join(out)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write, *, binary: bool = False) -> None:
    """Write ``path`` atomically: ``write(f)`` fills a temporary file in the same folder,
    which is renamed into place only when it is complete (a failed or interrupted write
    leaves no partial file and does not touch an existing one). Raises :class:`OutputError`
    with a one-line reason when the path cannot be written."""
    import stat

    try:
        st = os.stat(path)                   # follows symlinks
    except OSError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        # a device or pipe (/dev/stdout, a FIFO): there is nothing to swap atomically
        try:
            with (open(path, "wb") if binary else open(path, "w", encoding="utf-8", newline="")) as f:
                write(f)
        except OSError as exc:
            raise OutputError(f"cannot write '{path}': {exc.strerror or exc}") from None
        return
    target = os.path.realpath(path)          # write through a symlink, never replace it
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write '{path}': folder '{folder}' does not exist")
    if os.path.isdir(target):
        raise OutputError(f"cannot write '{path}': it is a folder; give a file name")
    mode = stat.S_IMODE(st.st_mode) if st is not None else None   # keep an existing file's permissions
    try:
        fd, tmp = tempfile.mkstemp(prefix=".costlab-", suffix=os.path.splitext(target)[1], dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write '{path}': {exc.strerror or exc}") from None
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")) as f:
            write(f)
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())   # mkstemp makes 0600
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write '{path}': {exc.strerror or exc}") from None
        raise


def check_output_path(ctx, param, value):
    """click callback for ``-o FILE``: refuse a path whose folder does not exist before any
    work starts (the write itself stays atomic)."""
    if value is None or value == "-":
        return value
    folder = os.path.dirname(os.path.abspath(value))
    if not os.path.isdir(folder):
        import click

        raise click.BadParameter(f"folder '{folder}' does not exist", ctx=ctx, param=param)
    return value


def write_output(text: str, path: str | None) -> None:
    """stdout when ``path`` is None or '-', else an atomic write (temp file + rename)."""
    text = text if text.endswith("\n") else text + "\n"
    if path is None or path == "-":
        import sys

        sys.stdout.write(text)
        return
    atomic_write(path, lambda f: f.write(text))


def to_csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()
