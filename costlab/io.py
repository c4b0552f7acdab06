"""Writing files: an atomic write (a temporary file renamed into place), or stdout.

Below every layer that writes (passes saving a profile, features writing a sweep, the CLI
and presentation): it imports only :mod:`costlab.errors`.
"""
from __future__ import annotations

import os
import sys
import tempfile

from .errors import OutputError


def no_folder(folder: str) -> str:
    """Why ``folder`` cannot hold an output file: it does not exist, or it is a file."""
    if os.path.exists(folder):
        return f"'{folder}' is a file, not a folder; choose another output path"
    return f"folder '{folder}' does not exist; create it first (mkdir -p {folder}) or choose another output path"


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
        raise OutputError(f"cannot write '{path}': {no_folder(folder)}")
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


def write_output(text: str, path: str | None) -> None:
    """stdout when ``path`` is None or '-', else an atomic write (temp file + rename)."""
    text = text if text.endswith("\n") else text + "\n"
    if path is None or path == "-":
        sys.stdout.write(text)
        return
    atomic_write(path, lambda f: f.write(text))
