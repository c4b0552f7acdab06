"""``costlab validate``: held-out accuracy of a device profile's latency predictor beside a
FLOPs-only baseline (leave-one-out over its samples, timings on this machine, or a user's own
measurements)."""
from __future__ import annotations

import click

from ..errors import UsageError
from ..present.output import write_output
from ..present.tables import FORMATS
from ..present.validation import gpu_validation_text, validation_text
from .options import output_option, profile_option


@click.command("validate")
@profile_option()
@click.option("--measurements", default=None, metavar="FILE.csv",
              help="few-shot check on your own timings: fit on --samples random rows, predict the rest")
@click.option("--benchmark-logs", "benchmark_logs", default=None, metavar="DIR",
              help="few-shot check on TFLite benchmark_model logs (a costlab export folder), as --measurements")
@click.option("--base", default=None, metavar="PROFILE", help="with --measurements: the prior profile")
@click.option("--samples", type=click.IntRange(min=2), default=20, show_default=True,
              help="with --measurements: rows to fit on per repeat")
@click.option("--seed", type=int, default=0, show_default=True, help="with --measurements: the random splits' seed")
@click.option("--holdout", type=click.Choice(["network", "family"]), default="network", show_default=True,
              help="leave one network (every sample of its spec) or one model family out at a time")
@click.option("--measure", is_flag=True,
              help="time zoo networks on this machine (repeats, median, noise) and compare with the profile")
@click.option("--models", default=None,
              help="with --measure: comma-separated zoo specs (default: 13 zoo networks, see costlab.latency.validate)")
@click.option("--repeats", type=click.IntRange(min=1), default=None,
              help="with --measure: timed runs per network (default 21); with --measurements: random splits (default 10)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@output_option("write to FILE (atomically)")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar")
@click.option("--runtime", type=click.Choice(["eager", "cudagraph"]), default=None,
              help="GPU host/device profiles: validate eager or CUDA-graph times (default: the profile's runtime)")
@click.option("--predictor", "predictor_form", default=None, metavar="FORM",
              help="with --measurements: the predictor form to fit (default per-class; costlab.latency.forms.FORMS)")
@click.option("--form", type=click.Choice(["profile", "guide"]), default="profile", show_default=True,
              help="predictor form to hold out: the profile's, or the guide's pre-registered "
                   "a*MACs + b*bytes + c*ops per class (a robustness check)")
def validate(device, measurements, benchmark_logs, base, samples, seed, holdout, measure, models, repeats, fmt, output, quiet,
             runtime, predictor_form, form):
    """Held-out accuracy of a device profile: MAPE, share within +-10% and Spearman rank
    correlation of the predictor and of a FLOPs-only baseline fitted on the same data.

    \b
    Examples:
      costlab validate --device arm
      costlab validate --device arm --holdout family --format json
      costlab validate --device cpu --measure
      costlab validate --device gpu-h200 --runtime cudagraph
      costlab validate --measurements board.csv --samples 20 --repeats 10
      costlab validate --benchmark-logs phone --samples 8
    """
    if measurements and benchmark_logs:
        raise UsageError("give --measurements FILE.csv or --benchmark-logs DIR, not both")
    _unused(bool(measurements or benchmark_logs), holdout=holdout != "network", models=models is not None,
            runtime=runtime is not None, form=form != "profile", base=base is not None,
            predictor=predictor_form is not None, samples=_given("samples"), seed=_given("seed"))
    if measurements or benchmark_logs:
        if device or measure:
            raise UsageError(f"--{'measurements' if measurements else 'benchmark-logs'} checks your own timings; "
                             "drop --device / --measure (use --base PROFILE)")
        from .measurements import validate_measurements

        return validate_measurements(measurements or benchmark_logs, base, samples, repeats or 10, seed, fmt, output,
                                     quiet, predictor_form, benchmark_logs=bool(benchmark_logs))
    if not device:
        raise UsageError("give --device PROFILE (or --measurements FILE.csv for a few-shot check of your timings)")
    repeats = repeats or 21
    if repeats < 3:
        raise UsageError("--repeats with --measure: at least 3 timed runs")
    from ..latency.profile import load_profile

    prof = load_profile(device)
    if runtime and runtime not in prof.form.runtimes:
        raise UsageError(f"--runtime: profile '{prof.name}' is not a GPU host/device profile; drop --runtime")
    if prof.form.runtimes and not measure:
        from ..calibrate.gpu_profile import validate_gpu

        res = validate_gpu(prof, prof.form.runtime_of(prof, runtime), progress=not quiet)
        write_output(gpu_validation_text(res, fmt), output)
    elif measure:
        write_output(validation_text(_measured(prof, models, repeats, quiet), fmt), output)
    else:
        from ..calibrate.validate import validate as _validate

        res = _validate(prof, holdout, progress=not quiet, form=None if form == "profile" else form)
        write_output(validation_text(res, fmt), output)


def _measured(prof: dict, models: str | None, repeats: int, quiet: bool) -> dict:
    """``--measure``: time zoo networks on this machine and compare with the profile."""
    from ..calibrate.validate import MEASURE_SPECS, validate_measured
    from ..latency.machine import warn_if_other_machine
    from ..zoo.registry import parse_spec

    if prof.device_class == "arm":
        raise UsageError(f"--measure times this machine; profile '{prof.name}' describes an ARM device "
                         "(use --device cpu, or a profile measured here)")
    specs = [s.strip() for s in models.split(",") if s.strip()] if models else list(MEASURE_SPECS)
    for s in specs:
        parse_spec(s)
    warn_if_other_machine(prof)      # timings here against a profile from elsewhere
    from ..calibrate.validate import deployed_runtime, validate_runtime

    if deployed_runtime(prof) is not None:   # through its runtime, leave-family-out, noise floor
        return validate_runtime(prof, specs, repeats=repeats, progress=not quiet)
    return validate_measured(prof, specs, repeats=repeats, progress=not quiet)


def _given(name: str) -> bool:
    """Was option ``name`` given on the command line (not its default)?"""
    from click.core import ParameterSource

    return click.get_current_context().get_parameter_source(name) not in (ParameterSource.DEFAULT, None)


def _unused(own_timings: bool, **given: bool) -> None:
    """An option the chosen check does not read is refused, not ignored: --holdout, --models,
    --runtime and --form go with --device; --base, --predictor, --samples and --seed with
    --measurements / --benchmark-logs (random few-shot splits)."""
    with_device = ("holdout", "models", "runtime", "form")
    bad = [k for k, v in given.items() if v and ((k in with_device) == own_timings)]
    if not bad:
        return
    flags = ", ".join(f"--{k}" for k in bad)
    if own_timings:
        raise UsageError(f"{flags}: not read with --measurements / --benchmark-logs (random few-shot splits: "
                         "--samples, --repeats, --seed, --base, --predictor); drop it")
    raise UsageError(f"{flags}: goes with --measurements FILE.csv or --benchmark-logs DIR (a few-shot check of "
                     "your own timings), not --device; drop it")
