"""What the numbers of a compression rest on: the report's notes (weights source, sampled
k-means fits, pruning-rate source, layers Huffman coding skipped) and its conventions."""
from __future__ import annotations

from typing import Any

from .settings import VALUE_BITS
from .tables import PRUNE_TABLES


def compression_notes(layer_notes: list[str], source: str, sampled: list[str], fit_sample: int | None,
                      prune_table: str | None, rows: list[dict[str, Any]], binarized: bool = False) -> list[str]:
    notes = list(layer_notes)
    if source == "init" and not binarized:      # sign bits + one alpha per filter: no weight value matters
        notes.insert(0, "sizes come from freshly initialised weights: their histograms (and so the "
                        "pruning pattern, the codebook and the Huffman gains) differ from trained ones; "
                        "pass --weights FILE for a trained checkpoint")
    if sampled:
        notes.append(f"k-means codebooks fitted on a seeded sample of {fit_sample:,} weights for "
                     f"{len(sampled)} large layer(s) ({', '.join(sampled[:3])}{', ...' if len(sampled) > 3 else ''}); "
                     "every weight is then assigned to its nearest centroid")
    if prune_table:
        notes.append(f"pruning rates: {PRUNE_TABLES[prune_table][1]}")
    skipped = [r["name"] for r in rows if r.get("huffman_applied") is False]
    if skipped:
        notes.append(f"Huffman coding not applied to {len(skipped)} layer(s) ({', '.join(skipped[:3])}"
                     f"{', ...' if len(skipped) > 3 else ''}): with its code tables it would not be smaller "
                     "than the fixed-length codes")
    return notes


def conventions(binarize_variant: str | None) -> dict[str, str]:
    out = {
        "dense": f"{VALUE_BITS} bits per parameter (fp32); buffers (BN running stats) not counted",
        "pruned": "magnitude pruning per layer (largest |w| kept); sparse storage: 32-bit values + relative "
                  "index of index_bits bits per entry, filler zeros when a gap exceeds 2^index_bits "
                  "(Deep Compression Sec. 2); csr_numbers = 2a + n + 1 (a non-zeros, n rows = filters)",
        "quantized": "k = 2^bits shared weights per layer by 1-D k-means with linear init; codes of bits bits "
                     "(+ index bits when sparse) per entry + codebook k x 32 bits; one code reserved for 0 "
                     "when the layer has fillers",
        "huffman": "Huffman codes from the layer's actual histograms of weight codes and index differences, "
                   "plus one byte per alphabet symbol for each code table; a layer keeps its fixed-length codes when "
                   "Huffman is no smaller (huffman_applied = false)",
        "bias": "biases and non-conv/linear parameters stay 32-bit in every stage",
        "macs_pruned": "macs x weight density (dense input activations); flop_pct_act also multiplies by the "
                       "paper's Act% of the layer's input (Han et al. 2015 FLOP% column)",
        "mac_bytes": "memory access cost of the layer (ShuffleNet V2), with the weights read as stored "
                     "after pruning (mac_bytes_pruned) or after all stages (mac_bytes_compressed)",
        "bytes": "bits rounded up to whole bytes per layer; MB = 1e6 bytes, MiB = 2^20 bytes",
    }
    if binarize_variant:
        out["binarize"] = ("sign bit per weight + one fp32 alpha = mean|W| per filter; first/last layer "
                           "kept in full precision unless --keep-full none; XNOR speed-up "
                           "S = 64 c N_W / (c N_W + 64)")
    return out
