"""Render a :class:`~costlab.compress.result.CompressionReport` as table, csv, json or markdown."""
from __future__ import annotations

import pandas as pd

from .tables import count, markdown_table, num, pct, text_table, to_csv
from ..compress.result import CompressionReport

CSV_COLUMNS = ["name", "kind", "type", "shape", "params", "weights", "weights_nonzero", "nonzero", "keep", "fillers", "bits",
               "index_bits", "k", "codes_used", "dense_bytes", "pruned_bytes", "quantized_bytes",
               "huffman_bytes", "weight_bits_huffman", "index_bits_huffman", "csr_numbers", "macs",
               "macs_pruned", "flop_pct", "flop_pct_act", "mac_bytes", "mac_bytes_pruned",
               "mac_bytes_compressed", "quant_rmse", "kmeans_iterations", "kmeans_fitted_on", "dropout",
               "dropout_rate", "dropout_rate_retrain", "binarized"]


def size_str(b: float) -> str:
    """Bytes in decimal units with MiB alongside for MB-sized values: '6.72 MB (6.41 MiB)'."""
    b = float(b)
    if b >= 1e6:
        return f"{b / 1e6:.2f} MB ({b / 2 ** 20:.2f} MiB)"
    if b >= 1e3:
        return f"{b / 1e3:.1f} KB ({b / 2 ** 10:.1f} KiB)"
    return f"{int(b)} B"


def _frame(r: CompressionReport) -> tuple[pd.DataFrame, list[str], set[str]]:
    df = pd.DataFrame(r.layers)
    if r.binarize is not None:
        by = {b["name"]: b for b in r.binarize["layers"]}
        df["bin"] = [("1-bit" if b is True else "fp32") if k != "other" else "-"
                     for b, k in zip(df.get("binarized", [None] * len(df)), df["kind"])]
        df["ratio"] = df["dense_bytes"] / df["quantized_bytes"]
        key = "speedup_paper" if r.settings["binarize"] == "xnor" else "op_saving"
        df["speedup"] = df["name"].map(lambda n: by[n].get(key) if n in by else None)
        cols = ["name", "kind", "weights", "bin", "dense_bytes", "quantized_bytes", "ratio", "macs", "speedup"]
        return df, cols, {"weights", "dense_bytes", "quantized_bytes", "ratio", "macs", "speedup"}
    df["ratio"] = df["dense_bytes"] / df["huffman_bytes"]
    df["kept"] = df["weights_nonzero"]
    cols = ["name", "kind", "weights", "keep", "kept", "fillers", "bits", "index_bits", "dense_bytes",
            "pruned_bytes", "quantized_bytes", "huffman_bytes", "ratio", "flop_pct"]
    if "flop_pct_act" in df:
        cols.append("flop_pct_act")
    return df, cols, {c for c in cols if c not in ("name", "kind")}


def _formatters() -> dict:
    def whole(v):
        return num(v, ".0f")

    return {
        "weights": count, "nonzero": count, "kept": count, "fillers": count, "dense_bytes": count,
        "pruned_bytes": count, "quantized_bytes": count, "huffman_bytes": count, "macs": count,
        "keep": pct, "flop_pct": pct, "flop_pct_act": pct, "bits": whole, "index_bits": whole,
        "ratio": lambda v: f"{float(v):.1f}x", "speedup": lambda v: num(v, ".1f", "x"),
    }


def _summary(r: CompressionReport) -> list[str]:
    t = r.totals
    s = r.settings
    lines = [f"model       {r.model}   input {'x'.join(map(str, s['input_shape'][0]))}   weights: {s['weights']}"
             + (f" ({s['weights_file']})" if s.get("weights_file") else f" (seed {s['seed']})"),
             f"params      {t['params']:,}   conv/linear weights {t['weights']:,}   kept {t['weights_nonzero']:,}"
             + (f"   pruning rate {t['pruning_rate']:.1f}x" if t["pruning_rate"] and t["weights_nonzero"] < t["weights"] else "")
             + (f"   filler zeros {t['fillers']:,}" if t.get("fillers") else "")]
    if t.get("macs_pruned") is not None and t["weights_nonzero"] < t["weights"]:
        line = (f"MACs        {t['macs']:,} -> {t['macs_pruned']:,} after pruning "
                f"(FLOP% {pct(t['flop_pct'])} with dense inputs")
        if t.get("flop_pct_act") is not None:
            line += f", {pct(t['flop_pct_act'])} with the paper's Act%"
        lines.append(line + ")")
        lines.append(f"MAC bytes   {t['mac_bytes']:,} -> {t['mac_bytes_pruned']:,} pruned -> "
                     f"{t['mac_bytes_compressed']:,} compressed (conv/linear layers)")
    lines.append("size by stage:")
    for st in r.stages:
        gain = f"   stage gain {st['gain']:.2f}x" if st["gain"] not in (None,) and st["stage"] != "dense" else ""
        lines.append(f"  {st['label']:<42s} {size_str(st['bytes']):>24s}  {st['ratio']:>7.2f}x{gain}")
    ratio = t["ratio"]
    lines.append(f"compressed  {size_str(t['compressed_bytes'])} = " + (
        f"{ratio:.1f}x smaller than dense fp32" if ratio and ratio >= 1 else
        f"{1 / ratio:.1f}x LARGER than dense fp32 (codebooks, indices or scales outweigh the savings on layers this small)"
        if ratio else "nothing stored"))
    if r.binarize is not None:
        b = r.binarize
        lines.append(f"binarized   {b['variant']}; full precision: {', '.join(b['full_precision_layers']) or 'none'}")
        lines.append(f"            memory saving {b['memory_saving_binarized_weights']:.1f}x on binarized weights, "
                     f"{b['memory_saving_model']:.1f}x on the model; high-precision op saving "
                     f"{b['conv_op_saving']:.1f}x on binarized layers, {b['model_op_saving']:.1f}x on the model")
    return lines


def compression_text(r: CompressionReport, fmt: str) -> str:
    if fmt == "json":
        return r.to_json()
    df, cols, right = _frame(r)
    if fmt == "csv":
        full = pd.DataFrame(r.layers)
        present = [c for c in CSV_COLUMNS if c in full.columns]
        out = full[present].copy()
        if "shape" in out:
            out["shape"] = out["shape"].map(lambda s: "x".join(map(str, s)) if s else "")
        return to_csv(out)
    fm = _formatters()
    if fmt == "markdown":
        parts = [f"## {r.model}: compressed size", "", "```", *_summary(r), "```", "",
                 markdown_table(df, cols, fm, right=right), ""]
        parts += [f"- {n}" for n in r.notes]
        parts += ["", "Conventions:", ""] + [f"- **{k}**: {v}" for k, v in r.conventions.items()]
        return "\n".join(parts) + "\n"
    if fmt == "table":
        parts = [text_table(df, cols, right, fm), "", *_summary(r)]
        parts += [f"note: {n}" for n in r.notes]
        parts.append("conventions: sizes in bytes; dense = 32 bits/parameter; --format json lists every convention")
        return "\n".join(parts) + "\n"
    raise ValueError(f"unknown format {fmt!r}")
