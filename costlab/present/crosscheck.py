"""costlab beside fvcore and torch's FlopCounterMode, per op type (``costlab crosscheck``;
presentation: reads the cross-check results' plain rows; imports no pass)."""
from __future__ import annotations

import json

import pandas as pd

from .tables import NONE, markdown_table, num, text_table, to_csv


def _op_row(model: str, r, lead: dict, tools: dict) -> dict:
    """One op type's row: costlab's counts, then the other tools' (``tools``), then the verdict."""
    return {"model": model, "op type": r.op_type, **lead, "costlab MACs": r.costlab_macs,
            "costlab elem ops": r.costlab_elem_ops, **tools,
            "explained": "yes" if r.explained else "NO", "why": "; ".join(r.reasons)}


def _rows_frame(results) -> pd.DataFrame:
    return pd.DataFrame([_op_row(res.model, r, {}, {"fvcore": NONE if r.fvcore is None else r.fvcore,
                                                    "torch FLOPs": r.torch})
                         for res in results for r in res.rows + [res.totals]])


def _table(df: pd.DataFrame, fmt: str, right: set[str]) -> str:
    """csv, markdown or a text table of ``df``; the ``right`` columns are counts with thousands separators."""
    if fmt == "csv":
        return to_csv(df)
    cols = list(df.columns)
    fm = {c: (lambda v: v if isinstance(v, str) else num(v, ",")) for c in right}
    return markdown_table(df, cols, fm, right=right) if fmt == "markdown" else text_table(df, cols, right, fm)


def crosscheck_text(results, fmt: str) -> str:
    """``results`` (one :class:`costlab.crosscheck.CrossCheck` per model) as table, markdown, csv or json."""
    if fmt == "json":
        return json.dumps([r.to_dict() for r in results], indent=2) + "\n"
    table = _table(_rows_frame(results), fmt, {"costlab MACs", "costlab elem ops", "fvcore", "torch FLOPs"})
    if fmt == "csv":
        return table
    bad = sum(len(r.unexplained) for r in results)
    notes = [f"{r.model}: fvcore {r.fvcore_status}" for r in results if r.fvcore_status != "ok"]
    tail = [f"{bad} difference(s) without a known cause" if bad else
            "every difference explained by a convention (MACs vs FLOPs = 2 x MACs; what each tool counts; "
            "ops fvcore skips; attribution: costlab and fvcore give a shared module's work to its first name)"]
    return "\n".join([table, ""] + notes + tail) + "\n"


# -- a model file beside onnx-tool (costlab.crosscheck_onnx) --------------------------------------

def _file_frame(results) -> pd.DataFrame:
    """One table row per op type and model, and one for params."""
    rows = []
    for res in results:
        rows += [_op_row(res.model, r, {"nodes": r.nodes}, {"onnx-tool MACs": r.onnx_tool})
                 for r in res.rows + [res.totals]]
        p = res.params
        rows.append({"model": res.model, "op type": "params", "nodes": "", "costlab MACs": p["costlab"],
                     "costlab elem ops": "", "onnx-tool MACs": p["onnx_tool"],
                     "explained": "yes" if res.params_explained else "NO",
                     "why": (f"onnx-tool also counts {p['shape_and_scalar_elements']:,} elements of "
                             f"{p['shape_and_scalar_initializers']} shape / scalar / scale initializers"
                             if p["shape_and_scalar_initializers"] else "the same count")
                            + (f"; it misses {', '.join(p['missing_in_onnx_tool'][:3])}" if p["missing_in_onnx_tool"] else "")})
    return pd.DataFrame(rows)


def file_crosscheck_text(results, fmt: str) -> str:
    """costlab beside onnx-tool for model files, in ``fmt``."""
    if fmt == "json":
        return json.dumps([r.to_dict() for r in results], indent=2) + "\n"
    table = _table(_file_frame(results), fmt, {"costlab MACs", "costlab elem ops", "onnx-tool MACs"})
    if fmt == "csv":
        return table
    bad = [f"{r.model}: {', '.join(r.unexplained)}" for r in results if r.unexplained]
    tail = ([f"difference(s) without a known cause: {'; '.join(bad)}"] if bad else
            ["every difference explained: onnx-tool adds bias adds to conv/Gemm MACs, counts element work as "
             "MACs with its own op weights, and counts shape / scalar initializers as params"])
    return "\n".join([table, ""] + tail) + "\n"


def mixed_crosscheck_text(results, files, fmt: str, order=None) -> str:
    """PyTorch models (beside fvcore and torch) and model files (beside onnx-tool) in one output:
    json one list and csv one table (the union of the columns, empty where a tool does not apply),
    in the models' ``order`` (a list of the results and files as given); table and markdown one
    table per kind."""
    order = order if order is not None else list(results) + list(files)
    if not files or not results:
        return crosscheck_text(results, fmt) if results else file_crosscheck_text(files, fmt)
    if fmt == "json":
        return json.dumps([r.to_dict() for r in order], indent=2) + "\n"
    if fmt == "csv":
        frames = {id(r): make([r]).astype(object) for rs, make in ((results, _rows_frame), (files, _file_frame))
                  for r in rs}
        df = pd.concat([frames[id(r)] for r in order], ignore_index=True)
        lead = ["model", "op type", "nodes", "costlab MACs", "costlab elem ops", "fvcore", "torch FLOPs",
                "onnx-tool MACs", "explained", "why"]
        df = df[[c for c in lead if c in df.columns]].astype(object).where(df.notna(), "")
        return to_csv(df)
    parts = ([crosscheck_text(results, fmt)] if results else []) + ([file_crosscheck_text(files, fmt)] if files else [])
    return "\n".join(parts)
