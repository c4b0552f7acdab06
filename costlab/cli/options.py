"""Options every command shares, and the one input rule (presentation of the CLI only)."""
from __future__ import annotations

import os

import click

from ..errors import UsageError
from ..present.output import no_folder
from ..present.tables import FORMATS

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
    if read_only(value):
        raise click.BadParameter(f"'{value}' is a read-only file; costlab does not replace it (make it writable "
                                 "with chmod u+w, or choose another file)", ctx=ctx, param=param)
    return value


def read_only(path: str) -> bool:
    """An existing regular file without its owner's write bit (root could still replace it:
    costlab respects the bit, as editors do)."""
    import stat

    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and not st.st_mode & stat.S_IWUSR


def _is_user_profiles(folder: str) -> bool:
    from ..latency.profile import user_profiles_dir

    return os.path.abspath(folder) == os.path.abspath(str(user_profiles_dir()))


def output_option(help: str = "write to FILE (atomically) instead of stdout"):
    return click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
                        callback=check_output_path, help=help)


SUFFIX_FORMAT = {".csv": "csv", ".json": "json", ".md": "markdown", ".markdown": "markdown", ".txt": "table"}


def _format_help(choices) -> str:
    return f"{', '.join(choices)} (default: from the -o suffix .csv/.json/.md, else {choices[0]})"


def format_option(choices=FORMATS):
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=None, help=_format_help(choices))


def output_format(fmt: str | None, output: str | None, choices=FORMATS) -> str:
    """The one format rule: ``--format`` when given, else what ``-o``'s suffix says (``.csv``,
    ``.json``, ``.md``), else the first choice (``table``). A ``--format`` that contradicts
    the suffix is kept, with a warning (a table in ``x.json`` is rarely what was meant)."""
    by_suffix = SUFFIX_FORMAT.get(os.path.splitext(output or "")[1].lower())
    if by_suffix not in choices:
        by_suffix = None
    if fmt is None:
        return by_suffix or choices[0]
    if by_suffix and by_suffix != fmt and output not in (None, "-"):
        click.echo(f"costlab: warning: writing {fmt} to '{output}', whose suffix says {by_suffix}; "
                   f"drop --format {fmt} to write {by_suffix}", err=True)
    return fmt


def infer_format(cmd: click.Command) -> click.Command:
    """Give ``cmd``'s ``--format`` (when it also has ``-o``) the :func:`output_format` rule:
    its default becomes 'from the -o suffix', applied before the command body runs."""
    params = {p.name: p for p in cmd.params}
    fmt, out = params.get("fmt"), params.get("output")
    if fmt is None or out is None or cmd.callback is None:
        return cmd
    choices = tuple(getattr(fmt.type, "choices", FORMATS))
    if fmt.default is not None:
        fmt.default = None
        fmt.show_default = False
        fmt.help = _format_help(choices) + (f"; {fmt.help}" if fmt.help else "")
    body = cmd.callback

    def callback(*args, **kwargs):
        kwargs["fmt"] = output_format(kwargs.get("fmt"), kwargs.get("output"), choices)
        return body(*args, **kwargs)

    callback.__doc__, callback.__name__ = body.__doc__, getattr(body, "__name__", "callback")
    cmd.callback = callback
    return cmd


_OUTPUTS = {"output": "-o", "plot_path": "--plot"}
_MODEL_INPUTS = ("model", "models", "weights_file")     # not a profile: calibrate refits one in place


def _files_read(kwargs: dict) -> list[str]:
    """Existing files the MODEL arguments and ``--weights`` name: a model file, ``file.py`` of
    ``file.py:factory``, the members of an ensemble ``a+b``, a state dict."""
    found = []
    for key, value in kwargs.items():
        if key not in _MODEL_INPUTS:
            continue
        for s in value if isinstance(value, (tuple, list)) else [value]:
            if not isinstance(s, str):
                continue
            if key == "weights_file":
                found += [s] if os.path.isfile(s) else []
                continue
            for part in [s] + s.split("+"):
                part = part.strip()
                cands = [part.split(".py:")[0] + ".py"] if ".py:" in part else \
                    [part] if os.path.splitext(part)[1].lower() in (".onnx", ".tflite") else []
                found += [c for c in cands if os.path.isfile(c)]
    return found


def guard_inputs(cmd: click.Command) -> click.Command:
    """Refuse an output (``-o``, ``--plot``) that is a file the command reads (the model file, its
    weights): costlab never replaces its input. Groups: each subcommand."""
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            guard_inputs(sub)
        return cmd
    if cmd.callback is None or not any(p.name in _OUTPUTS for p in cmd.params) or \
            getattr(cmd.callback, "_guarded", False):
        return cmd
    body = cmd.callback

    def callback(*args, **kwargs):
        for key, flag in _OUTPUTS.items():
            path = kwargs.get(key)
            if not isinstance(path, str) or path == "-" or not os.path.exists(path):
                continue
            same = [f for f in _files_read(kwargs) if os.path.samefile(f, path)]
            if same:
                fail(f"{flag} '{path}' is a file this command reads ({same[0]}); costlab never replaces its "
                     "input: write to another file")
        return body(*args, **kwargs)

    callback.__doc__, callback.__name__ = body.__doc__, getattr(body, "__name__", "callback")
    callback._guarded = True
    cmd.callback = callback
    return cmd


def dtype_option(f):
    return click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
                        help="element size used for MAC bytes")(f)


# the one help text of --device: everywhere it names a device profile
PROFILE_HELP = ("device profile: arm, gpu or cpu (the default profile of that device class), a profile name "
                "(costlab profiles lists them) or a path to a profile .json")


def _check_profiles(ctx, param, value, required: bool = False):
    """click callback of ``--device``: a value that names no profile stops the command before
    any work, with the profile lookup's one-line error (did-you-mean, the known names); a
    required one that is missing, with the fix (click's own check says only 'Missing option'
    and, since click 8.3, lets a single one with default None through as None)."""
    if value is None or value == ():        # not given: nothing to load (the latency package stays unloaded)
        if required:
            raise click.UsageError("--device is required: name a device profile, e.g. --device arm (arm, gpu, "
                                   "cpu, or a name 'costlab profiles' lists, or a profile .json)", ctx=ctx)
        return value
    from ..latency.profile import resolve_profile_path

    for v in (value if isinstance(value, tuple) else () if value is None else (value,)):
        for name in (v.split(",") if param.multiple else [v]):
            if name.strip() or not param.multiple:
                resolve_profile_path(name)
    return value


def profile_option(*, required: bool = False, multiple: bool = False):
    """``--device PROFILE`` (always a device profile: a device class, a profile name or a path,
    with one help text), checked before the command runs. ``multiple``: repeatable and
    comma-separated, into ``devices``."""
    more = "; several: comma-separated or repeated" if multiple else ""
    import functools

    return click.option("--device", "devices" if multiple else "device", metavar="PROFILE", multiple=multiple,
                        default=None, callback=functools.partial(_check_profiles, required=required),
                        help=PROFILE_HELP + more + (" [required]" if required else ""))


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
    from ..spec import default_input

    res, note = default_input(resolved, input_shape, resolution)
    if note:
        click.echo(f"costlab: note: {note}", err=True)
    return res


def warn_unsupported(report, prefix: str = "") -> None:
    """The report's unused parameters and unsupported ops, as warnings on stderr."""
    from ..present.report import unsupported_warnings

    for w in unsupported_warnings(report):
        click.echo(f"costlab: warning: {prefix}{w}", err=True)
