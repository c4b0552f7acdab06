"""``costlab calibrate``: refit a device profile's latency predictor, FLOPs-only baseline and
held-out validation (from its samples, a shipped profile's published source, or a user's own
measurements)."""
from __future__ import annotations

import os

import click

from ..errors import UsageError
from ..present.profiles import fit_summary_line
from .options import check_output_path


def _in_folder(folder, name: str) -> str:
    """``folder/name.json``, creating ``folder`` (the user profile folder need not exist yet)."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create profile folder '{folder}': {exc.strerror or exc}; pass -o FILE") from None
    return os.path.join(str(folder), f"{name}.json")


def _build(build: str, output: str | None, quiet: bool) -> None:
    """``--build NAME|all``: shipped profiles from their published source data, then fitted."""
    from ..calibrate import fit_any as fit_profile
    from ..calibrate import sources
    from ..latency.profile import check_writable, in_package, profiles_dir, save_profile, user_profiles_dir

    names = sources.buildable() if build == "all" else [build]
    for n in names:
        if n not in sources.buildable():
            import difflib

            close = difflib.get_close_matches(n, sources.buildable(), n=2)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UsageError(f"no source builder for '{n}'{hint} (known: all, {', '.join(sources.buildable())})")
    # the shipped profiles' source in a checkout; never into an installed package
    folder = user_profiles_dir() if in_package(profiles_dir()) else profiles_dir()
    if output and len(names) > 1:
        raise UsageError(f"-o names one file; with --build all the profiles go to {folder}/NAME.json")
    for n in names:
        click.echo(f"costlab: building {n} from its source data ...", err=True)
        d = fit_profile(sources.build(n), progress=not quiet)
        path = output or _in_folder(folder, n)
        check_writable(path)
        save_profile(d, path)
        click.echo(f"{fit_summary_line(d)} -> {path}")


def _refit(profile: str, output: str | None, quiet: bool) -> None:
    """PROFILE refitted from its samples: in place for a path outside the package, else to the
    user profile folder (or -o)."""
    from ..calibrate import fit_any as fit_profile
    from ..latency.profile import (check_writable, in_package, load_document, profiles_dir, resolve_profile_path,
                                   save_profile, user_profiles_dir)

    src = resolve_profile_path(profile)
    d = load_document(str(src), refit=True)
    given_as_path = profile.endswith(".json") or "/" in profile or os.sep in profile
    if output:
        path = output
    elif given_as_path and not in_package(src):
        path = str(src)
    else:   # a shipped profile (or one named): the refit goes beside the user's own profiles
        path = _in_folder(user_profiles_dir(), src.stem)
        click.echo(f"costlab: '{profile}' is {'a shipped profile' if src.parent == profiles_dir() else 'named'}; "
                   f"the refitted profile goes to {path} (found by name from now on)", err=True)
    check_writable(path)
    fitted = fit_profile(d, progress=not quiet)
    save_profile(fitted, path)
    click.echo(f"{fit_summary_line(fitted)} -> {path}")


def _json_output(ctx, param, value):
    """-o of a profile: a ``.json`` file (``--device PATH`` finds a profile file by that suffix:
    a fit written to ``x.csv`` could not be used)."""
    value = check_output_path(ctx, param, value)
    if value is not None and not value.lower().endswith(".json"):
        raise click.BadParameter(f"a profile is a JSON file: end the name with .json, e.g. -o "
                                 f"{os.path.splitext(os.path.basename(value))[0] or 'my-board'}.json", ctx=ctx, param=param)
    return value


@click.command("calibrate")
@click.argument("profile", required=False)
@click.option("--build", "build", default=None, metavar="NAME",
              help="rebuild a shipped profile from its published source data (arm-sd810, gpu-gtx1080ti, "
                   "arm-pixel1-tflite, arm-sd810-ncnn, or 'all'), then fit it")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=_json_output,
              help="a .json file to write here instead of back to PROFILE (a shipped profile, or one given by name, goes to "
                   "the user profile folder; with --build: the shipped profiles' folder in a checkout)")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar")
@click.option("--measurements", default=None, metavar="FILE.csv",
              help="fit a profile to your own timings: CSV with spec, latency_ms [, input_shape, batch, note]")
@click.option("--benchmark-logs", "benchmark_logs", default=None, metavar="DIR",
              help="fit a profile to TFLite benchmark_model logs: a folder written by costlab export "
                   "(manifest.csv, models/, logs/<stem>.log)")
@click.option("--base", default=None, metavar="PROFILE",
              help="with --measurements / --benchmark-logs: start from this profile's per-class costs (few samples: scale factors)")
@click.option("--name", default=None, help="with --measurements / --benchmark-logs: the new profile's name (default: the file's stem "
                   "or the folder's name)")
@click.option("--device-class", type=click.Choice(["arm", "gpu", "cpu"]), default=None,
              help="with --measurements: the kind of device (default: the base's, else cpu)")
@click.option("--predictor", "predictor_form", default=None, metavar="FORM",
              help="with --measurements: the predictor form to fit (default per-class; costlab.latency.forms.FORMS)")
def calibrate(profile, build, output, quiet, measurements, benchmark_logs, base, name, device_class, predictor_form):
    """Refit a profile's predictor, FLOPs-only baseline and held-out validation from its samples.

    PROFILE: arm, gpu, cpu, a profile name, or a path. A PROFILE given as a path outside the
    costlab package is replaced atomically; a shipped profile or one given by name is never
    overwritten: the refit goes to the user profile folder ($COSTLAB_PROFILES, default
    ~/.local/share/costlab/profiles), where it is found by name (or to -o FILE).

    \b
    Examples:
      costlab calibrate profiles/arm-sd810.json
      costlab calibrate --build arm-sd810          # from the ShuffleNet V2 paper's tables
      costlab calibrate --build all                # every shipped profile from its source
      costlab calibrate --measurements board.csv --base arm --name my-board
      costlab calibrate --benchmark-logs phone --base arm --name my-phone   # costlab export's folder
    """
    if measurements and benchmark_logs:
        raise UsageError("give --measurements FILE.csv or --benchmark-logs DIR, not both")
    if measurements or benchmark_logs:
        if profile or build:
            raise UsageError(f"--{'measurements' if measurements else 'benchmark-logs'} builds a new profile; "
                             "drop PROFILE / --build")
        from .measurements import calibrate_measurements

        return calibrate_measurements(measurements or benchmark_logs, base, name, device_class, output, quiet,
                                      predictor_form, benchmark_logs=bool(benchmark_logs))
    if base or name or device_class or predictor_form:
        raise UsageError("--base, --name, --device-class and --predictor go with --measurements FILE.csv "
                         "or --benchmark-logs DIR")
    if bool(profile) == bool(build):
        raise UsageError("give a PROFILE to refit or --build NAME to rebuild a shipped profile (not both)")
    if build:
        _build(build, output, quiet)
    else:
        _refit(profile, output, quiet)
