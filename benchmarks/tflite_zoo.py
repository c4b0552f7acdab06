"""Every zoo model through TFLite: converted with litert-torch (float, and int8 with PT2E
quantization for the models named by ``--int8``) and read back by costlab, against costlab's
own PyTorch trace of the same model.

Per model (default input): MACs of the file and of the trace (must be equal), params (file:
the constant tensors, BN folded by the converter), and for int8 files the int8 MAC layers and
the MAC bytes of the MAC layers (int8 operands: 1 byte per element, int32 bias 4) against the
trace's at ``--dtype int8``, the difference split by cause (:func:`int8_byte_gap`).

Needs litert-torch (``pip install litert-torch``; not a costlab extra). Conversion takes
2-60 s per model; the files are cached in ``--cache`` (default: a folder in the temp dir).

    python benchmarks/tflite_zoo.py [--models resnet18,mobilenet_v2] [--int8 mobilenet_v2,resnet18]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
import warnings

import torch

import costlab
from costlab import ops
from costlab.spec import build_zoo
from costlab.zoo.registry import list_models


def convert(model, shape, path: str, int8: bool = False) -> None:
    import litert_torch

    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        if not int8:
            litert_torch.convert(model, (x,)).export(path)
            return
        from litert_torch.quantize import pt2e_quantizer
        from litert_torch.quantize.quant_config import QuantConfig
        from torchao.quantization.pt2e import quantize_pt2e

        q = pt2e_quantizer.PT2EQuantizer().set_global(
            pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True))
        m = quantize_pt2e.prepare_pt2e(torch.export.export(model, (x,)).module(), q)
        m(x)                                           # calibrate once
        m = quantize_pt2e.convert_pt2e(m, fold_quantize=False)
        litert_torch.convert(m, (x,), quant_config=QuantConfig(pt2e_quantizer=q)).export(path)


def mac_layer_bytes(report) -> int:
    return int(sum(b for node, b in zip(report.layers["node"], report.layers["mac_bytes"])
                   if ops.category_of(report.graph.nodes[node].op) == "mac"))


def _mac_nodes(report) -> dict:
    """MAC layers keyed by (module, k-th MAC layer of that module): a file's FULLY_CONNECTED and the
    trace's matmul of a bias-free Linear are the same layer under two labels."""
    out, seen = {}, {}
    for name, node, b in zip(report.layers["name"], report.layers["node"], report.layers["mac_bytes"]):
        n = report.graph.nodes[int(node)]
        if ops.category_of(n.op) == "mac":
            k = seen[n.module] = seen.get(n.module, -1) + 1
            out[(n.module, k)] = (n, int(b))
    return out


def _parts(node, float_bytes: int) -> dict[str, int]:
    """A MAC layer's bytes by role: activation inputs, weights (parameters of 2+ dims), biases
    (1-d parameters) and outputs, each tensor at its own dtype (float ones at ``float_bytes``)."""
    from costlab.ops.costs import tensor_bytes

    out = {"input": 0, "weight": 0, "bias": 0, "output": 0}
    for src, t in zip(node.sources, node.inputs):
        role = ("bias" if len(t.shape) == 1 else "weight") if src.kind == "param" else "input"
        out[role] += tensor_bytes(t, float_bytes)
    out["output"] = sum(tensor_bytes(t, float_bytes) for t in node.outputs)
    return out


def int8_byte_gap(file, trace_int8) -> dict[str, int]:
    """MAC-layer bytes of an int8 file less the trace's at ``--dtype int8``, layer by layer (in order
    when both have the same MAC layers, else matched by module path), split by cause: ``bias`` (the file's int32 biases, 4 bytes each, where the trace has
    none, BN being separate, or 1 byte at int8), ``padded_input`` (a conv reading the output of an
    explicit ``PAD`` op: the padded tensor, where the trace's conv pads implicitly), and ``other``
    (anything else, unexplained); ``total`` is their sum."""
    f, t = _mac_nodes(file), _mac_nodes(trace_int8)
    same = [(n.kind, n.outputs[0].numel, _parts(n, 1)["weight"]) for n, _ in f.values()] == \
        [(n.kind, n.outputs[0].numel, _parts(n, 1)["weight"]) for n, _ in t.values()]
    if same:         # the same MAC layers in the same order: pair them so (a path litert-torch names
        t = dict(zip(f, t.values()))      # otherwise, a ModuleList's 'cells.0' as '0', still pairs)
    gap = {"total": 0, "bias": 0, "padded_input": 0, "other": 0}
    producer = {k: n for k, n in enumerate(file.graph.nodes)}
    for key, (_, bt) in t.items():
        if key not in f:                  # a trace layer the file names otherwise: unexplained
            gap["total"] -= bt
            gap["other"] -= bt
    for key, (nf, bf) in f.items():
        nt, bt = t.get(key, (None, 0))
        gap["total"] += bf - bt
        if nt is None:
            gap["other"] += bf
            continue
        pf, pt = _parts(nf, 4), _parts(nt, 1)
        src = nf.sources[0]
        padded = src.kind == "node" and producer[src.ref].op in ("tflite.PAD", "tflite.PADV2")
        gap["bias"] += pf["bias"] - pt["bias"]
        gap["padded_input" if padded else "other"] += pf["input"] - pt["input"]
        gap["other"] += (pf["weight"] - pt["weight"]) + (pf["output"] - pt["output"])
    return gap


def one(name: str, cache: str, int8: bool) -> dict:
    z = build_zoo(name, device="cpu")
    model = z.model.eval()
    shape = tuple(z.entry.default_input_shape(None))
    path = os.path.join(cache, f"{name}{'.int8' if int8 else ''}.tflite")
    t = time.time()
    if not os.path.exists(path):
        convert(model, shape, path, int8)
    seconds = time.time() - t
    trace = costlab.analyze(name)
    file = costlab.analyze(path)
    row = {"model": name, "int8": int8, "macs_trace": trace.totals["macs"], "macs_file": file.totals["macs"],
           "params_trace": trace.totals["params"], "params_file": file.totals["params"],
           "unsupported": {u["op"]: u["count"] for u in file.unsupported}, "seconds": round(seconds, 1)}
    if int8:
        sec = file.sections.get("quantized")
        row["int8_layers"] = len(sec.data["int8_layers"]) if sec else 0
        row["mac_layers"] = sec.values["mac_layers"] if sec else 0
        row["mac_layer_bytes_file"] = mac_layer_bytes(file)
        trace8 = costlab.analyze(name, dtype="int8")
        row["mac_layer_bytes_trace_int8"] = mac_layer_bytes(trace8)
        row["int8_gap"] = int8_byte_gap(file, trace8)
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="", help="comma-separated zoo names (default: every zoo model)")
    p.add_argument("--int8", default="", help="comma-separated zoo names to convert int8 too ('all': every one)")
    p.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "costlab-tflite-zoo"))
    a = p.parse_args()
    os.makedirs(a.cache, exist_ok=True)
    names = [m for m in a.models.split(",") if m] or [e.name for e in list_models()]
    int8 = names if a.int8 == "all" else [m for m in a.int8.split(",") if m]
    rows, failed = [], []
    for name, q in [(n, False) for n in names] + [(n, True) for n in int8]:
        try:
            r = one(name, a.cache, q)
        except Exception as exc:  # noqa: BLE001  (a conversion litert-torch cannot do)
            failed.append((name, q, f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"))
            print(f"{name:22s} {'int8 ' if q else 'float'} FAILED {failed[-1][2]}", flush=True)
            continue
        rows.append(r)
        same = "=" if r["macs_file"] == r["macs_trace"] else f"DIFF {r['macs_file'] - r['macs_trace']:+,}"
        extra = (f"  int8 layers {r['int8_layers']}/{r['mac_layers']}, MAC-layer bytes file {r['mac_layer_bytes_file']:,}"
                 f" vs trace at int8 {r['mac_layer_bytes_trace_int8']:,}: "
                 + ", ".join(f"{k} {v:+,}" for k, v in r["int8_gap"].items())) if q else ""
        uns = f"  unsupported {r['unsupported']}" if r["unsupported"] else ""
        print(f"{name:22s} {'int8 ' if q else 'float'} MACs {r['macs_file']:>15,} {same:>12s}  params file "
              f"{r['params_file']:>11,} trace {r['params_trace']:>11,}  ({r['seconds']} s){extra}{uns}", flush=True)
    for q in (False, True):
        part = [r for r in rows if r["int8"] == q]
        if part or any(f[1] == q for f in failed):
            eq = sum(r["macs_file"] == r["macs_trace"] for r in part)
            print(f"{'int8' if q else 'float'}: MACs equal for {eq} of {len(part)} converted models; "
                  f"{sum(f[1] == q for f in failed)} did not convert")
    return 0 if all(r["macs_file"] == r["macs_trace"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
