"""Every zoo model through ONNX: exported with torch.onnx.export and read back by costlab, against
costlab's own PyTorch trace of the same model.

Per model (default input) and export (legacy exporter, opset 17 and 11; BN folded = the eval
default, BN kept = ``do_constant_folding=False, training=TrainingMode.PRESERVE``; the dynamo
exporter with ``--dynamo``): MACs (must be equal), params (folded: the initializers; kept: the
model's parameters + BN running stats), element ops, MAC bytes and ``--device arm`` latency of
the kept export, with the op kinds whose element ops or MAC bytes differ.

    python benchmarks/onnx_zoo.py [--models resnet18,mobilenet_v2] [--dynamo] [--csv out.csv]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import warnings

import torch

import costlab
from costlab.spec import build_zoo, input_shapes_for
from costlab.zoo.registry import list_models


def randomize_bn(model: torch.nn.Module, seed: int = 0) -> None:
    """Distinct BN statistics and affine terms, so the exporter has no identical tensors to share."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-1, 1, generator=g)
                m.running_var.uniform_(0.5, 2, generator=g)
                if m.weight is not None:
                    m.weight.uniform_(0.5, 2, generator=g)
                    m.bias.uniform_(-1, 1, generator=g)


def export(model, shape, path, opset=17, keep_bn=False, dynamo=False) -> None:
    kw = dict(do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE) if keep_bn else {}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        if dynamo:
            torch.onnx.export(model, (torch.zeros(shape),), path, dynamo=True, opset_version=max(opset, 18),
                              external_data=False, optimize=True)
        else:
            torch.onnx.export(model, (torch.zeros(shape),), path, dynamo=False, opset_version=opset, **kw)


def by_kind(report, key: str) -> dict[str, int]:
    """Per op category (costlab.ops.CATEGORIES: GlobalAveragePool and torch's mean are both
    global_pool), summed over the layers."""
    from costlab import ops

    out: dict[str, int] = {}
    for node, v in zip(report.layers["node"], report.layers[key]):
        k = ops.category_of(report.graph.nodes[int(node)].op)
        out[k] = out.get(k, 0) + int(v)
    return out


def diff_kinds(a, b, key: str) -> str:
    da, db = by_kind(a, key), by_kind(b, key)
    parts = [f"{k}:{db.get(k, 0) - da.get(k, 0):+,}" for k in sorted(set(da) | set(db)) if da.get(k, 0) != db.get(k, 0)]
    return " ".join(parts)


def one_model(name: str, tmp: str, dynamo: bool, only: str | None = None) -> dict:
    resolved = build_zoo(name, device="cpu")
    model = resolved.model.eval()
    randomize_bn(model)
    shape = tuple(input_shapes_for(resolved, None, None)[0])
    ref = costlab.analyze(model, [shape], name=name)
    ref_ms = costlab.analyze(model, [shape], name=name, device="arm").totals["latency_ms"]
    buffers = sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
    row = {"model": name, "macs": ref.totals["macs"], "params": ref.totals["params"], "bn_stats": buffers}
    variants = [("f17", dict(opset=17)), ("k17", dict(opset=17, keep_bn=True)), ("f11", dict(opset=11)),
                ("k11", dict(opset=11, keep_bn=True))] + ([("dyn", dict(dynamo=True))] if dynamo else [])
    variants = [v for v in variants if only is None or v[0] in only.split(",")]
    for tag, kw in variants:
        path = os.path.join(tmp, f"{name}_{tag}.onnx")
        try:
            export(model, shape, path, **kw)
        except Exception as exc:  # noqa: BLE001  (an export the exporter refuses: reported)
            row[f"{tag}_macs"] = f"export failed: {type(exc).__name__}"
            continue
        try:
            rep = costlab.analyze(path)
        except Exception as exc:  # noqa: BLE001
            row[f"{tag}_macs"] = f"read failed: {exc}"
            continue
        finally:
            pass
        row[f"{tag}_macs"] = "=" if rep.totals["macs"] == ref.totals["macs"] else f"{rep.totals['macs'] - ref.totals['macs']:+,}"
        row[f"{tag}_params"] = rep.totals["params"]
        if tag.startswith("k"):
            row[f"{tag}_params_ok"] = rep.totals["params"] == ref.totals["params"] + buffers
            row[f"{tag}_elem"] = diff_kinds(ref, rep, "elem_ops") or "="
            row[f"{tag}_bytes"] = diff_kinds(ref, rep, "mac_bytes") or "="
            ms = costlab.analyze(path, device="arm").totals["latency_ms"]
            row[f"{tag}_arm"] = round(100 * (ms - ref_ms) / ref_ms, 3) if ref_ms else ms
        if tag == "dyn":
            row["dyn_unsupported"] = ",".join(u["op"] for u in rep.unsupported)
        os.remove(path)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=None)
    ap.add_argument("--dynamo", action="store_true")
    ap.add_argument("--csv", default=None)
    ap.add_argument("--only", default=None, help="variants to run, e.g. dyn or f17,k17")
    args = ap.parse_args(argv)
    names = args.models.split(",") if args.models else [e.name for e in list_models()]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            row = one_model(name, tmp, args.dynamo, args.only)
            rows.append(row)
            print(row, flush=True)
    tags = sorted({k[:-5] for r in rows for k in r if k.endswith("_macs") and k != "macs"})
    for t in tags:
        exact = [r["model"] for r in rows if r.get(f"{t}_macs") == "="]
        print(f"{t}: MACs exact for {len(exact)} of {len(rows)}", file=sys.stderr)
    if args.csv:
        import pandas as pd

        pd.DataFrame(rows).to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
