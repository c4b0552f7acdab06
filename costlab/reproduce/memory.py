"""``costlab reproduce memory``: MCUNetV2's MobileNetV2 memory figures (Lin et al., NeurIPS 2021,
Fig. 1), the zoo's activation peaks at int8 and fp32 per resolution, where the best execution
order helps, and what TFLite Micro's arena comparison still needs."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..api import count
from ..memory import memory_pass, patch_summary
from . import register_reproduction
from .papers import figures_dir, md_table, write_csv, write_report

NAME = "memory"
PAPER = ("Lin, Chen, Cai, Gan, Han, *MCUNetV2: Memory-Efficient Patch-based Inference for Tiny Deep Learning*, "
         "NeurIPS 2021 (Fig. 1: MobileNetV2 int8 peak 1,372 KB layer by layer, 172 KB with 4x4 patches)")
PAPER_LAYER_KB = 1372
PAPER_PATCH_KB = 172
ZOO = ["mobilenet_v1", "mobilenet_v2", "proxylessnas_mobile", "shufflenet_v1", "shufflenet_v2", "squeezenet1_0",
       "googlenet", "resnet18", "resnet50", "inception_v3", "xception", "vgg16"]
RESOLUTIONS = (224, 160, 128, 96)


def _kb(n: int) -> str:
    return f"{n / 1024:,.1f}"


def _mcunet_section(out_dir: Path) -> tuple[list[str], str]:
    rep = count("mobilenet_v2", dtype="int8")
    m = memory_pass(rep)
    no_dw = memory_pass(rep, inplace_depthwise=False, order=False)
    p = patch_summary(rep, m, 4, "features.4")
    rows = [
        ("layer-by-layer peak, depthwise in place", m.layer_peak_bytes, PAPER_LAYER_KB, m.layer_peak_layer),
        ("layer-by-layer peak, depthwise not in place", no_dw.layer_peak_bytes, None, no_dw.layer_peak_layer),
        ("patch-based 4x4 up to features.4, then layer by layer", p["peak_bytes"], PAPER_PATCH_KB,
         f"patch stage {_kb(p['stage_peak_bytes'])} KB, rest {_kb(p['rest_peak_bytes'])} KB"),
        ("live peak in the traced order (torch eager, BN not folded)", m.peak_activation_bytes, None, m.peak_layer),
        ("greedy-by-size arena of the traced buffers", m.arena_bytes, None, f"{m.fragmentation:.1%} over live"),
    ]
    df = pd.DataFrame([{"figure": f, "costlab bytes": f"{b:,}", "costlab KB": _kb(b),
                        "paper KB": f"{pk:,}" if pk else "-",
                        "diff": f"{(b / 1024 - pk) / pk:+.1%}" if pk else "-", "where": w} for f, b, pk, w in rows])
    lines = ["## MobileNetV2 1.0-224, int8 (MCUNetV2 Fig. 1)", "",
             md_table(df, list(df.columns), right=["costlab bytes", "costlab KB", "paper KB", "diff"]), "",
             f"- 1,372 KB is exactly 112 x 112 x (16 + 96) = 1,404,928 bytes: the input and output of block 2's "
             f"1x1 expansion (`features.2.conv.0.0`), with batch norm folded, ReLU6 fused and depthwise convs run "
             f"in place (TinyEngine). Without in-place depthwise, block 2's stride-2 depthwise conv needs "
             f"112 x 112 x 96 + 56 x 56 x 96 = 1,505,280 bytes.",
             f"- Patch-based: the first blocks up to `features.4` (its output 28 x 28 x 32 = {p['split_bytes']:,} bytes "
             f"is held whole while 4 x 4 patches fill it) cost {p['extra_macs']:,} extra MACs "
             f"({p['overhead']:.1%} of the network) from overlapping receptive fields. The peak is then set after the "
             f"split, by block 5's depthwise conv at 28 x 28 x 192 in place plus one channel plus the 28 x 28 x 32 "
             f"shortcut: (192 + 1 + 32) x 784 = {p['rest_peak_bytes']:,} bytes = {_kb(p['rest_peak_bytes'])} KB; the paper "
             f"gives 172 KB. The input image is "
             f"held one patch region at a time, as the paper assumes (Fig. 3: decoded piece by piece).",
             "- The live peak in the traced order counts what torch eager materialises (each batch norm writes a new "
             "tensor); an MCU runtime folds it, which is the layer-by-layer figure.", ""]
    fig = _figure(m, p, out_dir)
    if fig:
        lines += [f"![MobileNetV2 int8 activation memory per step](figures/{fig}.png)", ""]
    return lines, f"MobileNetV2 int8: {m.layer_peak_bytes:,} bytes layer by layer (paper 1,372 KB), " \
                  f"{p['peak_bytes']:,} patch-based (paper 172 KB)"


def _figure(m, p, out_dir: Path) -> str | None:
    from ..present.memory import memory_figure
    from ..present.plots import save_png_svg

    names = [r["name"] for r in m.layers]
    series = [{"label": "layer by layer (MCU, depthwise in place)", "bytes": [r["layer_bytes"] for r in m.layers],
               "names": names},
              {"label": "patch-based 4x4 up to features.4", "bytes": p["live_bytes"], "names": names}]
    stem = "memory-mobilenet_v2-int8"
    fig = memory_figure(series, title="MobileNetV2 1.0-224 int8: activation memory per step (MCUNetV2 Fig. 1)",
                        budget=256 * 1024)
    save_png_svg(fig, figures_dir(out_dir) / stem)
    return stem


def _zoo_section() -> list[str]:
    rows = []
    for name in ZOO:
        for res in RESOLUTIONS:
            rep = count(name, resolution=res, dtype="int8")
            m8 = memory_pass(rep)
            m32 = memory_pass(rep, dtype="float32", order=False)
            rows.append({"model": name, "res": res, "weights int8 KB": _kb(m8.weight_bytes),
                         "layer peak int8 KB": _kb(m8.layer_peak_bytes), "live peak int8 KB": _kb(m8.peak_activation_bytes),
                         "arena int8 KB": _kb(m8.arena_bytes), "best order int8 KB": _kb(m8.best_order_peak_bytes),
                         "layer peak fp32 KB": _kb(m32.layer_peak_bytes), "live peak fp32 KB": _kb(m32.peak_activation_bytes),
                         "peak layer (MCU)": f"`{m8.layer_peak_layer}`"})
    df = pd.DataFrame(rows)
    num = [c for c in df.columns if c.endswith("KB")]
    return ["## The zoo's activation peaks per resolution", "",
            "KB = 1024 bytes. *layer peak*: layer by layer as an MCU runtime runs it (BN folded, activations fused, "
            "depthwise in place, residual adds accumulated in place); *live peak*: the traced order as torch "
            "materialises it; *arena*: TFLite Micro's greedy-by-size plan of those buffers (16-byte aligned); "
            "*best order*: the lowest live peak over execution orders found.", "",
            md_table(df, list(df.columns), right=num + ["res"]), ""]


def _order_section() -> list[str]:
    rows = []
    for name in ["googlenet", "inception_v3", "xception", "shufflenet_v1", "shufflenet_v2", "nb201", "resnet50"]:
        m = memory_pass(count(name, dtype="int8"))
        rows.append({"model": name, "traced KB": _kb(m.peak_activation_bytes), "best KB": _kb(m.best_order_peak_bytes),
                     "saved": f"{1 - m.best_order_peak_bytes / m.peak_activation_bytes:.1%}",
                     "exact per cell": "yes" if m.best_order_exact else "no (greedy)",
                     "lower bound KB": _kb(m.best_order_lower_bound)})
    df = pd.DataFrame(rows)
    return ["## Best execution order (int8, paper resolution)", "",
            "The order of each cell (between points every schedule passes) is solved exactly by a dynamic program "
            "over the sets of steps done; it is kept only when it lowers the peak. Most networks' peak is set in a "
            "chain (the stem), where no order helps; Xception's is set in an entry-flow block, where running the "
            "1x1 shortcut conv before the separable convs frees its input early.", "",
            md_table(df, list(df.columns), right=["traced KB", "best KB", "saved", "lower bound KB"]), ""]


TFLM_MODELS = ["lenet5", "mobilenet_v1", "mobilenet_v2", "proxylessnas_mobile", "squeezenet1_0", "squeezenet1_1",
               "resnet18", "resnet50", "inception_v3", "googlenet", "xception", "shufflenet_v2"]
TFLM_CSV = "memory-tflm.csv"


def _measure_tflm() -> pd.DataFrame:
    """Export each model to int8 .tflite and read TFLite Micro's allocation record."""
    from ..memory.tflm import NotConvertible, tflm_arena, to_tflite

    rows = []
    for name in TFLM_MODELS:
        rep = count(name, dtype="int8")
        m = memory_pass(rep, order=False)
        try:
            rec = tflm_arena(to_tflite(rep.graph))
        except NotConvertible as exc:
            rows.append({"model": name, "costlab_converted_arena": m.converted_arena_bytes, "tflm_head": -1,
                         "tflm_tail": -1, "tflm_persistent_buffers": -1, "tflm_tensor_structs": -1, "note": str(exc)})
            continue
        structs = sum(v for k, v in rec.items() if k not in ("total", "head", "tail", "Persistent buffer data"))
        rows.append({"model": name, "costlab_converted_arena": m.converted_arena_bytes, "tflm_head": rec["head"],
                     "tflm_tail": rec["tail"], "tflm_persistent_buffers": rec.get("Persistent buffer data", 0),
                     "tflm_tensor_structs": structs, "note": ""})
    return pd.DataFrame(rows)


def _tflm_section(out_dir: Path, measure: bool) -> tuple[list[str], str]:
    from ..memory.tflm import available

    path = Path(out_dir) / TFLM_CSV
    if measure and available():
        write_csv(out_dir, TFLM_CSV[:-4], _measure_tflm())
    head = ["## TFLite Micro's arena against the planned one", ""]
    if not path.is_file():
        return head + ["Not measured: run `costlab reproduce memory --measure` with `pip install costlab[tflm]`.", ""], ""
    df = pd.read_csv(path, keep_default_na=False)
    ok = df[df["tflm_head"] >= 0]
    show = pd.DataFrame({
        "model": ok["model"], "costlab arena (converted)": ok["costlab_converted_arena"].map("{:,}".format),
        "TFLM non-persistent (head)": ok["tflm_head"].map("{:,}".format),
        "diff": [f"{c / h - 1:+.1%}" for c, h in zip(ok["costlab_converted_arena"], ok["tflm_head"])],
        "TFLM persistent (tail)": ok["tflm_tail"].map("{:,}".format),
        "of which kernel buffers": ok["tflm_persistent_buffers"].map("{:,}".format),
        "tensor structs etc.": ok["tflm_tensor_structs"].map("{:,}".format)})
    within = int(sum(abs(c / h - 1) <= 0.10 for c, h in zip(ok["costlab_converted_arena"], ok["tflm_head"])))
    lines = head + [
        f"Measured by `costlab reproduce memory --measure` ({TFLM_CSV}): each model is written as an int8 `.tflite` "
        "(`costlab.memory.tflm.to_tflite`: batch norm folded, ReLU/ReLU6 fused, placeholder weights) and loaded in "
        "TFLite Micro's Python interpreter (`tflite-micro` 0.dev20261023), whose allocation record gives the "
        "non-persistent arena (activations and kernel scratch, planned by its `GreedyMemoryPlanner`) and the "
        "persistent tail. costlab plans the same buffers with the same algorithm"
        + (", and the two agree to the byte on every network" if (ok["costlab_converted_arena"] == ok["tflm_head"]).all()
           else "") + "; the tail is what an MCU needs on top: kernel buffers (per-channel multipliers and shifts) "
        "and tensor structs, quantization data and node structs.", "",
        md_table(show, list(show.columns), right=list(show.columns)[1:]), "",
        f"{within}/{len(ok)} networks within 10% of TFLite Micro's non-persistent arena."]
    skipped = df[df["tflm_head"] < 0]
    if len(skipped):
        lines += ["", "Not written to `.tflite` yet (the exporter covers conv, depthwise conv, linear, add, concat, "
                  "pooling, mean and reshape): " + "; ".join(f"{m} ({n})" for m, n in zip(skipped["model"], skipped["note"]))
                  + "."]
    return lines + [""], f"; TFLM arena: {within}/{len(ok)} within 10%"


@register_reproduction(NAME, "MCUNetV2's MobileNetV2 memory, the zoo's activation peaks, best orders "
                             "(reports/memory.md)", order=60)
def reproduce_memory(out_dir: Path, *, measure: bool = False) -> str:
    parts = [f"# Activation memory: peaks, arenas, orders, patches", "", f"Paper: {PAPER}.", "",
             f"Regenerated by `costlab reproduce {NAME}`; never edited by hand. Each figure: "
             "`costlab memory MODEL --dtype int8` (add `--patches 4 --split features.4` for the patch-based plan).", ""]
    lines, summary = _mcunet_section(out_dir)
    tflm, note = _tflm_section(out_dir, measure)
    parts += lines + tflm + _zoo_section() + _order_section()
    write_report(out_dir, NAME, parts)
    return summary + note
