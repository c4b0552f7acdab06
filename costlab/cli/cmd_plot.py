"""``costlab plot``: FLOPs vs latency of several models, latency by op class, per-layer
MACs vs MAC bytes vs ms. Thin wrappers over :mod:`costlab.present.plots`."""
from __future__ import annotations

import click

from ..errors import UsageError
from .options import check_output_path, profile_option, runtime_option, user_input


def _profile(device: str) -> dict:
    from ..latency.profile import load_profile

    return load_profile(device)


def _analyze(model: str, resolution: int | None, input_shape: str | None, batch: int):
    """The one input rule (:func:`costlab.spec.input_shapes_for`): ``--input-shape`` carries its
    own batch; with ``--resolution`` or the paper's input, the batch is ``batch`` (the profile's)."""
    from ..api import analyze
    from ..spec import resolve

    resolved = resolve(model)
    resolution = user_input(resolved, input_shape, resolution)
    return analyze(resolved, input_shape=input_shape, resolution=resolution,
                   batch=1 if input_shape is not None else batch)


def _batch(report) -> int:
    return int(report.input_shape[0][0]) if report.input_shape and report.input_shape[0] else 1


def _predict(report, profile, runtime=None):
    from ..api import with_latency

    return with_latency(report, profile, runtime)


def _default_output(kind: str, device: str | None, model: str | None = None) -> str:
    parts = ["costlab", kind] + ([model.split(":")[0].replace("/", "_").replace(".py", "")] if model else []) \
        + ([device.replace("/", "_").replace(".json", "")] if device else [])
    return "-".join(parts) + ".png"


def _save(fig, output: str) -> None:
    from ..present.plots import PlotError, save_figure

    try:
        path = save_figure(fig, output)
    except PlotError as exc:
        raise UsageError(str(exc)) from None
    click.echo(f"costlab: wrote {path}", err=True)


def _check_output(output: str | None) -> None:
    """Refuse a bad -o before any work is done."""
    if output is None:
        return
    import os

    from ..present.plots import PlotError, format_of

    try:
        format_of(output)
    except PlotError as exc:
        raise UsageError(str(exc)) from None
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        from ..present.output import no_folder

        raise UsageError(f"cannot write '{output}': {no_folder(folder)}")


def _label(profile, runtime: str | None) -> str:
    """The profile's name, with the GPU runtime the figure predicts (eager / cudagraph)."""
    from ..present.plots import profile_label

    if not profile.form.runtimes:
        return profile_label(profile.name)
    return profile_label(profile.name, profile.form.runtime_of(profile, runtime))


def _options(kind: str, device_required: bool = True, default_input: str = "each model's paper input"):
    """--device, -o, --resolution, --input-shape and --runtime of every plot."""
    common = [
        profile_option(required=device_required),
        click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=check_output_path,
                     help=f"image file (.png, .svg or .pdf; written atomically); default costlab-{kind}-...png"),
        click.option("--resolution", type=int, default=None, help=f"input side length (default: {default_input})"),
        click.option("--input-shape", default=None,
                     help="full input shape, e.g. 1x3x160x160 (its first dimension is the batch; with --resolution "
                          "or the paper's input the batch is the profile's)"),
        runtime_option,
    ]

    def deco(f):
        for opt in reversed(common):
            f = opt(f)
        return f
    return deco


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def plot() -> None:
    """Plots: FLOPs vs latency, latency by op class, per-layer costs (PNG, SVG or PDF)."""


@plot.command("flops-latency")
@click.argument("models", nargs=-1, required=True)
@_options("flops-latency")
def flops_latency(models, device, output, resolution, input_shape, runtime):
    """MACs (the papers' FLOPs) vs predicted latency of MODELS on a device, with the
    profile's FLOPs-only model drawn as a line."""
    from tqdm import tqdm

    from ..present.plots import predicted_flops_latency_figure

    _check_output(output)
    profile = _profile(device)
    points, b = [], int(profile.batch)
    # disable=None: no bar unless stderr is a terminal
    for m in tqdm(models, desc="costlab plot flops-latency", unit="model", leave=False,
                  disable=True if len(models) < 3 else None):
        rep = _predict(_analyze(m, resolution, input_shape, int(profile.batch)), profile, runtime)
        b = _batch(rep)
        points.append({"name": rep.model, "macs": rep.totals["macs"] / b, "ms": rep.totals["latency_ms"]})
    base = profile.baseline or {}
    baseline = None
    if "ms_per_gmac" in base and "ms_const" in base:
        baseline = (float(base["ms_per_gmac"]) * b / 1e3, float(base["ms_const"]))
    fig = predicted_flops_latency_figure(points, device=profile.device, profile=_label(profile, runtime),
                                         batch=b, baseline=baseline)
    _save(fig, output or _default_output("flops-latency", device))


@plot.command("breakdown")
@click.argument("model")
@_options("breakdown")
def breakdown(model, device, output, resolution, input_shape, runtime):
    """Predicted latency of MODEL by op class (dense/pointwise/depthwise/group conv, linear,
    pooling, element-wise, data movement, other) on a device."""
    from ..latency.breakdown import class_breakdown
    from ..present.plots import predicted_breakdown_figure

    _check_output(output)
    profile = _profile(device)
    rep = _analyze(model, resolution, input_shape, int(profile.batch))
    fig = predicted_breakdown_figure(class_breakdown(rep, profile, runtime), model=rep.model,
                                     device=profile.device, profile=_label(profile, runtime),
                                     batch=_batch(rep))
    _save(fig, output or _default_output("breakdown", device, model))


@plot.command("layers")
@click.argument("model")
@_options("layers", device_required=False, default_input="the paper's input")
def layers(model, device, output, resolution, input_shape, runtime):
    """Per-layer MACs vs MAC bytes vs predicted ms of MODEL (execution order); without
    --device, MACs and MAC bytes only."""
    from ..present.plots import layers_figure

    _check_output(output)
    profile = _profile(device) if device else None
    rep = _analyze(model, resolution, input_shape, int(profile.batch) if profile else 1)
    if profile:
        from ..latency.breakdown import kernel_layers

        frame = kernel_layers(rep, profile, runtime)
    else:
        frame = rep.layers
    fig = layers_figure(frame, model=rep.model, device=profile.device if profile else "none",
                        profile=_label(profile, runtime) if profile else None, title=None,
                        kernels=profile is not None)
    _save(fig, output or _default_output("layers", device, model))
