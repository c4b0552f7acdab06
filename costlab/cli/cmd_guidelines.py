"""``costlab guidelines``: ShuffleNet V2's G1-G4 as a linter (see :mod:`costlab.guidelines`)."""
from __future__ import annotations

import sys

import click

from ..guidelines import DEFAULT_THRESHOLDS, GUIDELINES
from ..errors import UsageError
from .options import (dtype_option, format_option, input_options, output_option, profile_option, runtime_option,
                      user_input, warn_unsupported)


def _parse_fail_on(text: str | None) -> list[str]:
    if text is None:
        return []
    if not text.strip(" ,"):
        raise UsageError("--fail-on is empty: it would check nothing; give G1, G2, G3, G4 (comma separated) or all")
    out: list[str] = []
    for part in text.split(","):
        p = part.strip().upper()
        if not p:
            continue
        if p == "ALL":
            out.extend(g for g in GUIDELINES if g not in out)
            continue
        if p not in GUIDELINES:
            raise UsageError(f"--fail-on: unknown guideline '{part.strip()}'; use G1, G2, G3, G4 "
                              "(comma separated) or all")
        if p not in out:
            out.append(p)
    return out


_TH_HELP = ", ".join(f"{k}={v}" for k, v in DEFAULT_THRESHOLDS.items())


@click.command("guidelines")
@click.argument("models", nargs=-1, metavar="MODEL [MODEL ...]")
@click.option("--compare", is_flag=True,
              help="compare several models: one row per model, one column per guideline")
@format_option()
@output_option()
@click.option("--fail-on", default=None, metavar="G1,G2,...",
              help="exit 1 when a model violates one of these guidelines (or 'all'); for CI")
@click.option("--threshold", "thresholds", multiple=True, metavar="KEY=VALUE",
              help=f"override a threshold (repeatable, or comma separated); defaults: {_TH_HELP}")
@input_options()
@dtype_option
@profile_option()
@runtime_option
def guidelines(models, compare, fmt, output, fail_on, thresholds, resolution, input_shape, batch, dtype, device,
               runtime):
    """ShuffleNet V2's guidelines G1-G4 with measured costs: findings, worst first.

    G1 equal channel width, G2 group convs, G3 fragmentation, G4 element-wise ops. Each
    finding's share is its part of the model's MAC bytes, or with --device of its predicted
    latency on that profile; a guideline is violated when the shares reach its threshold. MODEL is a zoo spec (shufflenet_v1:groups=8) or a
    user model (file.py:factory). With --compare, several MODELs side by side.
    """
    from ..api import analyze
    from ..guidelines import GuidelineError, check, parse_thresholds
    from ..present.output import write_output
    from ..present.guidelines import comparison_text, findings_text, violation_line
    from ..spec import resolve

    if not models:
        raise UsageError("give a MODEL (e.g. costlab guidelines mobilenet_v2), or --compare M1 M2 ...")
    if len(models) > 1 and not compare:
        raise UsageError(f"{len(models)} models given; pass --compare to compare them, or give one MODEL")
    if compare and len(models) < 2:
        raise UsageError("--compare needs at least two models, e.g. --compare shufflenet_v1 shufflenet_v2")
    fails = _parse_fail_on(fail_on)
    try:
        th = parse_thresholds(list(thresholds))
    except GuidelineError as exc:
        raise UsageError(f"--threshold: {exc}") from None

    results, reports = [], []
    bar = None
    if compare:
        from tqdm import tqdm

        bar = tqdm(total=len(models), desc="guidelines", unit="model", file=sys.stderr, leave=False,
                   disable=None)  # no bar when stderr is not a terminal
    try:
        for spec in models:
            if bar is not None:
                bar.set_postfix_str(spec)
            resolved = resolve(spec)
            res_ = user_input(resolved, input_shape, resolution)
            report = analyze(resolved, input_shape=input_shape, resolution=res_, dtype=dtype, batch=batch,
                             device=device, runtime=runtime)
            warn_unsupported(report, f"{report.model}: ")
            for note in (n for sec in report.sections.values() for n in sec.notes):
                click.echo(f"costlab: note: {report.model}: {note}", err=True)
            try:
                results.append(check(report, thresholds=th))
            except GuidelineError as exc:
                raise UsageError(f"{spec}: {exc}") from None
            reports.append(report)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()

    text = comparison_text(results, fmt) if compare else findings_text(results[0], fmt, reports[0])
    write_output(text, output)

    violated = [(r, g) for r in results for g in fails if r.summary[g]["violated"]]
    for r, g in violated:
        click.echo(violation_line(r, g), err=True)
    return 1 if violated else 0


