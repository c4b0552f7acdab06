"""Text, CSV and JSON of ``costlab bench`` (a plain document in, text out)."""
from __future__ import annotations

import json

import pandas as pd

from .tables import ms, text_table, to_csv


def _layer_label(layer: str | None) -> str:
    """A layer's cell: its module path; '' is the model's own forward (a flatten written in it)."""
    if layer is None:
        return "(no costlab layer: layout, reorders)"
    return layer or "(the model's own forward)"


def bench_text(doc: dict, fmt: str = "table") -> str:
    if fmt == "json":
        return json.dumps(doc, indent=2)
    if fmt == "csv":
        keys = ("spec", "input_shape", "runtime", "runtime_version", "dtype", "threads", "median_ms", "p10_ms",
                "p90_ms", "runs", "warmup", "clock", "wall_median_ms", "convert_s", "cached", "cpu_model")
        row = {k: ("x".join(map(str, doc[k])) if k == "input_shape" else doc.get(k)) for k in keys}
        return to_csv(pd.DataFrame([row]))
    shape = "x".join(map(str, doc["input_shape"]))
    if doc.get("runtime_input_shape"):
        shape += f" (fed as {'x'.join(map(str, doc['runtime_input_shape']))}, NHWC)"
    lines = [f"{doc['spec']} {shape} through {doc['runtime_title']} {doc['runtime_version']} ({doc['dtype']}, "
             f"{doc['threads']} thread{'s' if doc['threads'] != 1 else ''}) on {doc['cpu_model']}",
             f"latency: median {ms(doc['median_ms'])} ms, p10 {ms(doc['p10_ms'])}, p90 {ms(doc['p90_ms'])} "
             f"over {doc['runs']} runs after {doc['warmup']} warm-up ({doc['clock']}; wall-clock median "
             f"{ms(doc['wall_median_ms'])} ms)",
             f"first inference {ms(doc['first_ms'])} ms, load {doc['load_s']:.2f} s, "
             + ("no conversion (eager)" if doc.get("artifact") is None else
                f"the given file, not converted here: {doc['model_file']} (sha256 {doc['sha256'][:16]}...)"
                if doc.get("model_file") else
                f"conversion {doc['convert_s']:.1f} s{' (cached)' if doc['cached'] else ''}: {doc['artifact']}")]
    if doc.get("quantization"):
        lines.append(f"int8: {doc['quantization']}")
    if doc.get("layers"):
        rows = doc["layers"]
        df = pd.DataFrame([{"layer": _layer_label(r["layer"]),
                            "kernels": r["kernels"], "ops": "+".join(r["op_types"]),
                            "measured ms": ms(r["measured_ms"]),
                            "predicted ms": ms(r.get("predicted_ms"))} for r in rows])
        cols = ["layer", "kernels", "ops", "measured ms"] + (["predicted ms"] if doc.get("profile") else [])
        total = sum(r["measured_ms"] for r in rows)
        lines += ["", f"per layer ({doc['per_op_source']}; {len(doc.get('ops', []))} kernels, "
                      f"sum {ms(total)} ms of a profiled run"
                      + (f"; predicted: profile '{doc['profile']}'" if doc.get("profile") else "") + "):",
                  text_table(df, cols, align_right={"kernels", "measured ms", "predicted ms"})]
        if doc.get("unmapped_kernels"):
            lines.append(f"{doc['unmapped_kernels']} kernel(s) map to no costlab layer (layout conversions the "
                         "runtime inserts, or names the exporter changed)")
    elif doc.get("per_op_source") is None and doc["runtime"] != "torch":
        lines += ["", f"per-op times: {doc['runtime_title']}'s Python API reports none; on a phone, TFLite's "
                      "benchmark_model --enable_op_profiling=true does (costlab export writes the script)"]
    return "\n".join(lines)
