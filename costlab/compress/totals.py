"""Totals of a compression: sums over the layer rows, the bytes after each stage with what
each stage gained, and the binarization summary (memory and operation savings)."""
from __future__ import annotations

from typing import Any

from .binarize import xnor_speedup
from .layers import Layer
from .settings import VALUE_BITS
from .stages import ceil8

STAGES = ("dense", "pruned", "quantized", "huffman")
LAYER_KEYS = ("name", "params", "nonzero", "dense_bytes", "pruned_bytes", "quantized_bytes",
              "huffman_bytes")


def totals(rows: list[dict[str, Any]], binarize_variant: str | None, act_pct: dict[str, float]) -> dict[str, Any]:
    """Sums over the rows, the final ratio, and (without binarization) compute and memory
    access after pruning."""
    tot = {k: int(sum(r[k] for r in rows)) for k in ("params", "nonzero", "dense_bytes", "pruned_bytes",
                                                      "quantized_bytes", "huffman_bytes")}
    tot["weights"] = int(sum(r["weights"] for r in rows))
    tot["weights_nonzero"] = int(sum(r["weights_nonzero"] for r in rows))
    tot["fillers"] = int(sum(r.get("fillers") or 0 for r in rows))
    tot["compressed_bytes"] = tot["huffman_bytes"]
    # None, not inf, where nothing is left: JSON has no Infinity
    tot["ratio"] = tot["dense_bytes"] / tot["compressed_bytes"] if tot["compressed_bytes"] else None
    tot["pruning_rate"] = tot["weights"] / tot["weights_nonzero"] if tot["weights_nonzero"] else None
    macs = sum(r.get("macs") or 0 for r in rows)
    tot["macs"] = int(macs)
    if not binarize_variant:
        tot["macs_pruned"] = int(sum(r.get("macs_pruned") or 0 for r in rows))
        tot["flop_pct"] = tot["macs_pruned"] / macs if macs else None
        if act_pct:
            tot["flop_pct_act"] = (sum((r.get("flop_pct_act") or 0) * (r.get("macs") or 0) for r in rows)
                                   / macs if macs else None)
        tot["mac_bytes"] = int(sum(r.get("mac_bytes") or 0 for r in rows))
        tot["mac_bytes_pruned"] = int(sum(r.get("mac_bytes_pruned") or 0 for r in rows))
        tot["mac_bytes_compressed"] = int(sum(r.get("mac_bytes_compressed") or 0 for r in rows))
    return tot


def stage_rows(tot: dict[str, Any], keep: dict[str, float], qbits: dict[str, int], binarize_variant: str | None,
               huffman: bool) -> list[dict[str, Any]]:
    """Bytes after each applied stage, the ratio to dense and the gain over the stage before."""
    stages = []
    prev = None
    labels = {"dense": "dense fp32", "pruned": "pruned (sparse fp32 + relative index)",
              "quantized": "weight sharing (codes + codebook)", "huffman": "Huffman coding"}
    if binarize_variant:
        labels["quantized"] = "binarized (sign bits + alpha per filter)"
    applied = {"dense": True, "pruned": any(k < 1.0 for k in keep.values()),
               "quantized": bool(qbits) or bool(binarize_variant), "huffman": bool(huffman)}
    for st in STAGES:
        if not applied[st]:
            continue
        b = tot[f"{st}_bytes"]
        stages.append({"stage": st, "label": labels[st], "bytes": b,
                       "ratio": tot["dense_bytes"] / b if b else None,
                       "gain": (prev / b) if prev and b else None})
        prev = b
    return stages


def binarize_summary(rows: list[dict[str, Any]], bin_layers: list[dict[str, Any]], tot: dict[str, Any],
                     binarize_variant: str, full_precision: set[str], layers: list[Layer]) -> dict[str, Any]:
    """Memory saving of the binarized weights and of the model, and the operation saving
    (XNOR-Net speed-up formula, or the binary-weight network's adds for multiply-adds)."""
    by_path = {lay.path: lay for lay in layers}
    bl = bin_layers
    macs = sum(r.get("macs") or 0 for r in rows)
    mem_dense = sum(ceil8(VALUE_BITS * r["weights"]) for r in rows
                    if r.get("binarized"))
    mem_bin = sum(ceil8(r["weight_bits"]) for r in bl)
    binfo = {"variant": "XNOR-Net (binary weights and inputs)" if binarize_variant == "xnor"
             else "binary-weight network (BWN)",
             "full_precision_layers": sorted(full_precision, key=lambda p: by_path[p].order),
             "binarized_layers": len(bl),
             "memory_saving_binarized_weights": mem_dense / mem_bin if mem_bin else None,
             "memory_saving_model": tot["ratio"],
             "layers": bl}
    bmacs = sum(r["macs"] for r in bl)
    fp_macs = macs - bmacs
    if binarize_variant == "xnor":
        eq = sum(r["hp_equiv_after"] for r in bl)
        binfo["conv_op_saving"] = bmacs / eq if eq else None
        binfo["model_op_saving"] = macs / (fp_macs + eq) if (fp_macs + eq) else None
        binfo["xnor_popcount_words"] = int(sum(r["xnor_popcount_words"] for r in bl))
        binfo["speedup_formula"] = "S = 64 c N_W / (c N_W + 64) per layer; c N_W = weights per filter"
        binfo["speedup_example_c256_3x3"] = xnor_speedup(256, 9)
    else:
        hp_after = sum(r["hp_ops_after"] for r in bl)
        binfo["conv_op_saving"] = 2 * bmacs / hp_after if hp_after else None
        binfo["model_op_saving"] = (2 * macs) / (2 * fp_macs + hp_after) if (2 * fp_macs + hp_after) else None
    return binfo
