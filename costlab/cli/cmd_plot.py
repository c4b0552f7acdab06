"""``costlab plot``: FLOPs vs latency of several models, latency by op class, per-layer
MACs vs MAC bytes vs ms. Thin wrappers over :mod:`costlab.present.plots`."""
from __future__ import annotations

import click

from ..errors import UsageError
from .options import check_output_path, runtime_option, user_input


def _profile(device: str) -> dict:
    from ..latency.profile import load_profile

    return load_profile(device)


def _analyze(model: str, resolution: int | None, input_shape: str | None, batch: int):
    from ..api import analyze
    from ..spec import resolve

    resolved = resolve(model)
    resolution = user_input(resolved, input_shape, resolution)
    if input_shape is not None:
        from ..spec import InputShape, parse_input_shape

        shapes = parse_input_shape(input_shape)
        shapes = [InputShape((batch,) + tuple(s[1:]), s.dtype) for s in shapes]
        return analyze(resolved, input_shape=shapes)
    return analyze(resolved, resolution=resolution, batch=batch)


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
    if not profile.form.runtimes:
        return profile.name
    return f"{profile.name}, {runtime or profile.form.describe(profile)['runtime'] or 'eager'}"


def _batch_note(profile) -> str:
    b = int(profile.batch)
    return f"batch {b}" if b != 1 else "batch 1"


_common = [
    click.option("--device", "device", required=True,
                 help="arm, gpu, cpu, a profile name in profiles/ or a profile .json"),
    click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=check_output_path,
                 help="image file (.png, .svg or .pdf; written atomically); default costlab-<plot>-...png"),
    click.option("--resolution", type=int, default=None, help="input side length (default: each model's paper input)"),
    click.option("--input-shape", default=None, help="full input shape, e.g. 1x3x160x160 (batch: the profile's)"),
]


_common.append(runtime_option)


def _options(f):
    for opt in reversed(_common):
        f = opt(f)
    return f


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def plot() -> None:
    """Plots: FLOPs vs latency, latency by op class, per-layer costs (PNG, SVG or PDF)."""


@plot.command("flops-latency")
@click.argument("models", nargs=-1, required=True)
@_options
def flops_latency(models, device, output, resolution, input_shape, runtime):
    """MACs (the papers' FLOPs) vs predicted latency of MODELS on a device, with the
    profile's FLOPs-only model drawn as a line."""
    from tqdm import tqdm

    from ..present.plots import flops_latency_figure

    _check_output(output)
    profile = _profile(device)
    b = int(profile.batch)
    points = []
    # disable=None: no bar unless stderr is a terminal
    for m in tqdm(models, desc="costlab plot flops-latency", unit="model", leave=False,
                  disable=True if len(models) < 3 else None):
        rep = _predict(_analyze(m, resolution, input_shape, b), profile, runtime)
        points.append({"name": rep.model, "macs": rep.totals["macs"] / b, "ms": rep.totals["latency_ms"]})
    base = profile.baseline or {}
    baseline = None
    if "ms_per_gmac" in base and "ms_const" in base:
        baseline = (float(base["ms_per_gmac"]) * b / 1e3, float(base["ms_const"]))
    from ..present.plots import device_title

    fig = flops_latency_figure(points, device=profile.device, profile=_label(profile, runtime), baseline=baseline,
                               title=device_title(f"MACs (FLOPs) vs predicted latency, {_batch_note(profile)}",
                                                  profile.device, _label(profile, runtime)))
    if b != 1:
        ax = fig.axes[0]
        ax.set_ylabel(ax.get_ylabel().replace("latency (ms", f"predicted latency (ms per batch of {b}"))
        ax.set_xlabel(ax.get_xlabel().replace("MACs (", "MACs per image ("))
    _save(fig, output or _default_output("flops-latency", device))


@plot.command("breakdown")
@click.argument("model")
@_options
def breakdown(model, device, output, resolution, input_shape, runtime):
    """Predicted latency of MODEL by op class (dense/pointwise/depthwise/group conv, linear,
    pooling, element-wise, data movement, other) on a device."""
    from ..latency.breakdown import class_breakdown
    from ..present.plots import breakdown_figure, device_title

    _check_output(output)
    profile = _profile(device)
    rep = _analyze(model, resolution, input_shape, int(profile.batch))
    by = class_breakdown(rep, profile, runtime)
    total = sum(by.values())
    fig = breakdown_figure(by, model=rep.model, device=profile.device, profile=_label(profile, runtime),
                           title=device_title(f"{rep.model}: predicted latency by op class, total {total:.4g} ms "
                                              f"({_batch_note(profile)}; fused ops counted in their kernel's class)",
                                              profile.device, _label(profile, runtime)))
    _save(fig, output or _default_output("breakdown", device, model))


@plot.command("layers")
@click.argument("model")
@click.option("--device", "device", default=None,
              help="arm, gpu, cpu, a profile name or a profile .json (without: MACs and MAC bytes only)")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=check_output_path,
              help="image file (.png, .svg or .pdf; written atomically); default costlab-layers-...png")
@click.option("--resolution", type=int, default=None, help="input side length (default: the paper's input)")
@click.option("--input-shape", default=None, help="full input shape, e.g. 1x3x160x160")
@runtime_option
def layers(model, device, output, resolution, input_shape, runtime):
    """Per-layer MACs vs MAC bytes vs predicted ms of MODEL (execution order)."""
    from ..present.plots import layers_figure

    _check_output(output)
    profile = _profile(device) if device else None
    rep = _analyze(model, resolution, input_shape, int(profile.batch) if profile else 1)
    if profile:
        from ..latency.breakdown import kernel_layers

        frame = kernel_layers(rep, profile, runtime)
        title = None
    else:
        frame, title = rep.layers, None
    fig = layers_figure(frame, model=rep.model, device=profile.device if profile else "none",
                        profile=_label(profile, runtime) if profile else None, title=title,
                        kernels=profile is not None)
    _save(fig, output or _default_output("layers", device, model))


