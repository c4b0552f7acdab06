"""``costlab memory``: weights, live activation peak, layer-by-layer working set, arena and best
order of a model, whether it fits a budget, and patch-based inference (MCUNetV2); a thin wrapper
over :func:`costlab.api.analyze_memory`."""
from __future__ import annotations

import math

import click

from .options import DTYPES, check_output_path, fail, input_options, user_input


@click.command("memory")
@click.argument("model")
@input_options(batch=False)
@click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
              help="bytes per element of activations and weights")
@click.option("--budget-kb", type=float, default=None, metavar="N",
              help="memory budget in KB (1024 bytes): fits or not, by how much, where, and the cheapest change")
@click.option("--no-inplace-depthwise", "no_inplace_dw", is_flag=True,
              help="layer-by-layer peak of a runtime without in-place depthwise convs")
@click.option("--patches", type=click.IntRange(min=1), default=None, metavar="N",
              help="patch-based inference (MCUNetV2): run the first blocks in N x N patches")
@click.option("--split", default=None, metavar="LAYER",
              help="with --patches: the last layer or module run patch by patch (default: lowest peak)")
@click.option("--max-overhead", type=float, default=None, metavar="SHARE",
              help="patch-based: the split and grid with the lowest peak whose extra MACs stay within SHARE of "
                   "the network's (0.1 = 10%); --patches fixes the grid")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, callback=check_output_path,
              help="write the live-memory figure (.png, .svg or .pdf)")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "markdown"]), default="table",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=check_output_path,
              help="write to FILE (atomically) instead of stdout")
def memory_cmd(model, resolution, input_shape, dtype, budget_kb, no_inplace_dw, patches, split, max_overhead,
               plot_path, fmt, output):
    """Activation memory: live peak in the traced order, layer-by-layer working set (MCU
    runtimes; MCUNet's convention), greedy arena, best execution order, weights.

    \b
    costlab memory mobilenet_v2 --dtype int8
    costlab memory mobilenet_v2 --dtype int8 --budget-kb 256
    costlab memory mobilenet_v2 --dtype int8 --patches 4 --split features.4
    costlab memory mobilenet_v2 --dtype int8 --max-overhead 0.1
    costlab memory googlenet --format json -o googlenet-memory.json
    """
    from ..api import analyze_memory
    from ..memory import patch_summary
    from ..present.memory import memory_figure, memory_text
    from ..present.output import write_output
    from ..spec import resolve

    if budget_kb is not None and not 0 < budget_kb < math.inf:
        fail(f"--budget-kb must be a positive number of KB, e.g. 256, got {budget_kb:g}")
    if split is not None and patches is None:
        fail("--split needs --patches N (the grid of patches)")
    if max_overhead is not None and not max_overhead >= 0:
        fail(f"--max-overhead takes a share >= 0 of the network's MACs, e.g. 0.1 for 10%, got {max_overhead:g}")
    if max_overhead is not None and split is not None:
        fail("--max-overhead chooses the split itself: drop --split (or --max-overhead)")
    if plot_path is not None and not plot_path.lower().endswith((".png", ".svg", ".pdf")):
        fail(f"cannot tell the image format of '{plot_path}': end it with .png, .svg or .pdf")
    resolved = resolve(model)
    resolution = user_input(resolved, input_shape, resolution)
    inplace = not no_inplace_dw
    report, result = analyze_memory(resolved, input_shape=input_shape, resolution=resolution, dtype=dtype,
                                    inplace_depthwise=inplace)
    if patches is not None or max_overhead is not None:
        result.extra["patch"] = patch_summary(report, result, patches, split, inplace, max_overhead)
    if budget_kb is not None:
        from ..advise.memory_fit import fit_budget

        result.extra["budget"] = fit_budget(report, result, int(budget_kb * 1024), resolved, resolution, inplace)
    d = result.to_dict()
    text = memory_text(d, fmt)
    if plot_path is not None:
        from ..present.plots import save_figure

        save_figure(memory_figure(_series(d), title=f"{d['model']} ({d['dtype']}): activation memory per step",
                                  budget=int(budget_kb * 1024) if budget_kb else None), plot_path)
    write_output(text, output)


def _series(d: dict) -> list[dict]:
    names = [r["name"] for r in d["layers"]]
    out = [{"label": "live (traced order)", "bytes": [r["live_bytes"] for r in d["layers"]], "names": names},
           {"label": "layer by layer (MCU)", "bytes": [r["layer_bytes"] for r in d["layers"]], "names": names}]
    if d.get("patch"):
        p = d["patch"]
        out.append({"label": f"patch-based {p['patches']}x{p['patches']}", "bytes": p["live_bytes"], "names": names})
    return out
