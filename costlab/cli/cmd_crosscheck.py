"""``costlab crosscheck``: costlab beside fvcore and torch's FlopCounterMode, every difference
explained by its convention (exit 1 when one has no known cause)."""
from __future__ import annotations

import json

import click

from .options import format_option, input_options, output_option, user_input


def _rows_frame(results):
    import pandas as pd

    rows = []
    for res in results:
        for r in res.rows + [res.totals]:
            rows.append({"model": res.model, "op type": r.op_type, "costlab MACs": r.costlab_macs,
                         "costlab elem ops": r.costlab_elem_ops,
                         "fvcore": "-" if r.fvcore is None else r.fvcore, "torch FLOPs": r.torch,
                         "explained": "yes" if r.explained else "NO", "why": "; ".join(r.reasons)})
    return pd.DataFrame(rows)


def crosscheck_text(results, fmt: str) -> str:
    from ..present.tables import markdown_table, text_table, to_csv

    if fmt == "json":
        return json.dumps([r.to_dict() for r in results], indent=2) + "\n"
    df = _rows_frame(results)
    if fmt == "csv":
        return to_csv(df)
    cols = list(df.columns)
    num = {c: (lambda v: v if isinstance(v, str) else f"{v:,}") for c in ("costlab MACs", "costlab elem ops",
                                                                           "fvcore", "torch FLOPs")}
    right = {"costlab MACs", "costlab elem ops", "fvcore", "torch FLOPs"}
    table = markdown_table(df, cols, num, right=right) if fmt == "markdown" else text_table(df, cols, right, num)
    bad = sum(len(r.unexplained) for r in results)
    notes = [f"{r.model}: fvcore {r.fvcore_status}" for r in results if r.fvcore_status != "ok"]
    tail = [f"{bad} difference(s) without a known cause" if bad else
            "every difference explained by a convention (MACs vs FLOPs = 2 x MACs; what each tool counts; "
            "ops fvcore skips; attribution: costlab and fvcore give a shared module's work to its first name)"]
    return "\n".join([table, ""] + notes + tail) + "\n"


@click.command("crosscheck")
@click.argument("models", nargs=-1, required=True)
@format_option()
@output_option()
@input_options()
def crosscheck_cmd(models, fmt, output, resolution, input_shape, batch):
    """costlab, fvcore and torch's FlopCounterMode side by side, per op type and in total.

    Each difference is explained by its convention (torch counts 2 FLOPs per MAC; fvcore adds
    batch norm, norm, upsample and adaptive-pool element counts to its total and skips ops it
    has no handle for). Exit 1 when a difference has no known cause. fvcore comes with
    costlab[dev].

    \b
    Examples:
      costlab crosscheck mobilenet_v2 shufflenet_v2 --resolution 96
      costlab crosscheck my_net.py:build --input-shape 1x3x64x64 --format json
    """
    from ..crosscheck import crosscheck, fvcore_available
    from ..crosscheck_onnx import crosscheck_file
    from ..frontends import is_file_model, is_file_spec
    from ..present.output import write_output
    from ..spec import resolve

    if not fvcore_available() and not all(is_file_spec(m) for m in models):
        click.echo("costlab: fvcore is not installed; comparing with torch only "
                   "(pip install 'costlab[dev]' adds fvcore)", err=True)
    results, files = [], []
    for m in models:
        resolved = resolve(m, device="cpu")
        res = user_input(resolved, input_shape, resolution)
        if is_file_model(resolved.model):      # model.onnx: costlab beside onnx-tool (costlab.crosscheck_onnx)
            files.append(crosscheck_file(resolved, input_shape, resolution=res, batch=batch))
        else:
            results.append(crosscheck(resolved, input_shape, resolution=res, batch=batch))
    text = crosscheck_text(results, fmt) if results else ""
    if files:
        text += file_crosscheck_text(files, fmt)
    write_output(text, output)
    return 1 if any(r.unexplained for r in results + files) else 0


def file_crosscheck_text(results, fmt: str) -> str:
    from ..crosscheck_onnx import frame
    from ..present.tables import markdown_table, text_table, to_csv

    if fmt == "json":
        return json.dumps([r.to_dict() for r in results], indent=2) + "\n"
    df = frame(results)
    if fmt == "csv":
        return to_csv(df)
    cols = list(df.columns)
    nums = ("costlab MACs", "costlab elem ops", "onnx-tool MACs")
    num = {c: (lambda v: v if isinstance(v, str) else f"{v:,}") for c in nums}
    table = markdown_table(df, cols, num, right=set(nums)) if fmt == "markdown" else text_table(df, cols, set(nums), num)
    bad = [f"{r.model}: {', '.join(r.unexplained)}" for r in results if r.unexplained]
    tail = ([f"difference(s) without a known cause: {'; '.join(bad)}"] if bad else
            ["every difference explained: onnx-tool adds bias adds to conv/Gemm MACs, counts element work as "
             "MACs with its own op weights, and counts shape / scalar initializers as params"])
    return "\n".join([table, ""] + tail) + "\n"
