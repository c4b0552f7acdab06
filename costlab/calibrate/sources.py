"""Build the shipped profiles' samples from published measurements.

The data files live in ``costlab/data/latency/`` (copied unchanged from the project's
reference data; ``SOURCES.md`` there names each file's origin and licence), so an
installed costlab rebuilds its profiles without the reference folder.

Every sample is a zoo spec + input shape costlab can build and trace. Rows that cannot
be matched to a zoo model are left out, and the profile's ``provenance.excluded`` says
which and why.

ShuffleNet V2 paper (Ma et al. 2018, arXiv:1807.11164), how its numbers are read:

* Table 8: GPU column = batches/s at batch 8 (caption, Fig. 1: "GPU results,
  batchsize = 8"), ARM column = images/s at batch 1; ``ms = 1000 / value`` per forward of
  the whole batch. Input 224 except ``*`` = 160 and ``**`` = 192. A row is used only if
  the zoo model's MACs are within 3% of the row's MFLOPs (the authors' own MobileNet v2
  0.15 / 0.6 / 0.75 variants are not, and are left out).
* Tables 1-4: ARM images/s at batch 1. The GPU "Batches/sec." columns cannot be batch 8:
  Table 2's g = 1, c = 512 network is 8.2 GMAC per image, so 437 batches/s of 8 images
  would be 28.7 TMAC/s = 57 TFLOP/s, five times a GTX 1080Ti's 11.3 TFLOP/s peak (Table 1
  x4, Table 4 c = 128 likewise). Read as batch 1 they give 1.3-3.8 TMAC/s (2.6-7.6
  TFLOP/s), plausible for cuDNN on large 1x1 convs. So the GPU micro-benchmark samples
  are batch 1 (``input_shape`` N = 1), the Table 8 GPU samples batch 8: the predictor's
  features scale with the batch, its per-op term does not.
"""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "latency"
PAPER = "Ma et al. 2018, ShuffleNet V2, arXiv:1807.11164"
MFLOPS_TOL = 0.03

# Table 8 row -> (zoo spec, input side). Rows not listed are not in the zoo.
TABLE8_ZOO: dict[str, tuple[str, int]] = {
    "ShuffleNet v2 0.5x (ours)": ("shufflenet_v2:width=0.5", 224),
    "ShuffleNet v2 1x (ours)": ("shufflenet_v2", 224),
    "ShuffleNet v2 1.5x (ours)": ("shufflenet_v2:width=1.5", 224),
    "ShuffleNet v2 2x (ours)": ("shufflenet_v2:width=2.0", 224),
    "0.25 MobileNet v1 [13]": ("mobilenet_v1:width=0.25", 224),
    "0.5 MobileNet v1 [13]": ("mobilenet_v1:width=0.5", 224),
    "0.75 MobileNet v1 [13]": ("mobilenet_v1:width=0.75", 224),
    "1.0 MobileNet v1 [13]": ("mobilenet_v1", 224),
    "0.4 MobileNet v2 [14] (our impl.)*": ("mobilenet_v2:width=0.4", 160),
    "0.15 MobileNet v2 [14] (our impl.)": ("mobilenet_v2:width=0.15", 224),
    "0.75 MobileNet v2 [14] (our impl.)**": ("mobilenet_v2:width=0.75", 192),
    "0.6 MobileNet v2 [14] (our impl.)": ("mobilenet_v2:width=0.6", 224),
    "1.0 MobileNet v2 [14]": ("mobilenet_v2", 224),
    "1.0 MobileNet v2 [14] (our impl.)": ("mobilenet_v2", 224),
    "1.4 MobileNet v2 [14]": ("mobilenet_v2:width=1.4", 224),
    "1.4 MobileNet v2 [14] (our impl.)": ("mobilenet_v2:width=1.4", 224),
    "ShuffleNet v1 0.5x (g=3) [15]": ("shufflenet_v1:width=0.5", 224),
    "ShuffleNet v1 1x (g=3) [15]": ("shufflenet_v1", 224),
    "ShuffleNet v1 1.5x (g=3) [15]": ("shufflenet_v1:width=1.5", 224),
    "ShuffleNet v1 2x (g=3) [15]": ("shufflenet_v1:width=2.0", 224),
}
NOT_IN_ZOO = {
    "PNASNet": "PNASNet-5 is not in the zoo",
    "DenseNet": "the paper's own DenseNet variants are not in the zoo",
    "Xception": "the paper's light-weight Xception variant is not the zoo's Xception (CONVENTIONS.md 2.7)",
    "IGCV": "IGCV2/IGCV3 are not in the zoo",
    "CondenseNet": "no speed given in the paper",
    "SE": "ShuffleNet v2 with SE blocks is not in the zoo",
    "NASNet": "NASNet-A is not in the zoo",
}

# ncnn benchncnn model -> (zoo spec, input side); ncnn's .param graphs are checked by MACs.
NCNN_ZOO: dict[str, tuple[str, int]] = {
    "squeezenet": ("squeezenet1_1", 227),
    "mobilenet": ("mobilenet_v1", 224),
    "mobilenet_v2": ("mobilenet_v2", 224),
    "shufflenet": ("shufflenet_v1", 224),
    "shufflenet_v2": ("shufflenet_v2", 224),
    "googlenet": ("googlenet", 224),
    "resnet18": ("resnet18", 224),
    "alexnet": ("alexnet", 227),
    "vgg16": ("vgg16", 224),
    "resnet50": ("resnet50", 224),
}


def _family(spec: str) -> str:
    """The model family for ``--holdout family``: the zoo model's name (mobilenet_v1 and
    mobilenet_v2 are separate families, as in the profile contract)."""
    from ..zoo.registry import get_entry

    return get_entry(spec.split(":", 1)[0]).name


def _macs(spec: str, shape) -> float:
    from ..blocks import sample_graph

    return sample_graph(spec, shape)[1]


# -- ShuffleNet V2 Tables 1-4 -----------------------------------------------------------------

def _mult(col: str) -> int:
    return {"x1": 1, "x2": 2, "x4": 4}[col]


def sv2bench_rows(platform: str) -> tuple[list[dict], list[dict]]:
    """(samples, excluded) of Tables 1-4 for ``platform`` 'arm' or 'gpu' (both at batch 1)."""
    from ..zoo.sv2bench import g3_width

    out, excluded = [], []
    with open(DATA / "shufflenetv2_tables.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if r["table"] not in ("Table1", "Table2", "Table3", "Table4"):
            continue
        if (platform == "arm") != r["platform"].startswith("ARM"):
            continue
        value = float(r["value"])
        t, label, col = r["table"], r["row_label"], r["column"]
        if t == "Table1":
            c1, c2 = (int(x) for x in re.findall(r"\d+", r["config_for_x1"]))
            m = _mult(col)
            spec = f"sv2bench_g1:c1={c1 * m},ratio={c2 // c1}"
            cin = c1 * m
            ref = f"Table 1 c1:c2={label.split('=')[1]} {col}"
        elif t == "Table2":
            g = int(label.split("=")[1])
            c = int(r["config_for_x1"].split("=")[1]) * _mult(col)
            spec, cin = f"sv2bench_g2:c={c},groups={g}", c
            ref = f"Table 2 g={g} {col}"
            if c % g:
                excluded.append({"row": f"{ref} ({r['platform']})",
                                 "reason": f"c={c} is not divisible by g={g}: not buildable as a PyTorch group conv"})
                continue
        elif t == "Table3":
            c = int(col.split("=")[1])
            k = int(label.split("-")[0])
            arr = "parallel" if "parallel" in label else "series"
            spec = f"sv2bench_g3:c={c},fragments={k},arrangement={arr}"
            cin = g3_width(c, k, arr)
            ref = f"Table 3 {label} {col}"
        else:
            c = int(col.split("=")[1])
            relu = int("ReLU=yes" in label)
            sc = int("shortcut=yes" in label)
            spec, cin = f"sv2bench_g4:c={c},relu={relu},shortcut={sc}", c
            ref = f"Table 4 {label} {col}"
        out.append({
            "spec": spec, "input_shape": [1, cin, 56, 56], "granularity": "block", "family": "sv2bench",
            "latency_ms": round(1000.0 / value, 6),
            "source": f"{PAPER} {ref}: {r['value']} {r['unit']}" + (" (read as batch 1)" if platform == "gpu" else ""),
        })
    return out, excluded


# -- ShuffleNet V2 Table 8 --------------------------------------------------------------------

def table8_rows(platform: str) -> tuple[list[dict], list[dict]]:
    """(samples, excluded) of Table 8 for 'arm' (batch 1) or 'gpu' (batch 8)."""
    with open(DATA / "shufflenetv2_table8.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    col = "arm_images_per_s" if platform == "arm" else "gpu_batches_per_s"
    batch = 1 if platform == "arm" else 8
    samples: dict[tuple, dict] = {}
    excluded = []
    for r in rows:
        name = r["model"]
        if not r[col]:
            excluded.append({"row": name, "reason": "no speed in the paper"})
            continue
        if name not in TABLE8_ZOO:
            reason = next((v for k, v in NOT_IN_ZOO.items() if k in name), "not in the zoo")
            excluded.append({"row": name, "reason": reason})
            continue
        spec, res = TABLE8_ZOO[name]
        shape = [batch, 3, res, res]
        ours = _macs(spec, [1, 3, res, res]) / 1e6
        paper = float(r["mflops"])
        if abs(ours / paper - 1) > MFLOPS_TOL:
            excluded.append({"row": name, "reason": f"MFLOPs do not match: paper {paper:g}, zoo {spec} at {res}: "
                                                    f"{ours:.1f} ({100 * (ours / paper - 1):+.1f}%), the authors' own variant"})
            continue
        key = (spec, tuple(shape))
        value = float(r[col])
        src = f"{PAPER} Table 8 '{name}' ({paper:g} MFLOPs; zoo {ours:.1f}): {value:g} " + \
              ("images/s" if platform == "arm" else "batches/s of 8")
        if key in samples:
            prev = samples[key]
            if abs(prev["latency_ms"] / (1000.0 / value) - 1) > 1e-6:
                excluded.append({"row": name, "reason": "same zoo network as another row with a different speed"})
            else:
                prev["source"] += f"; same network and speed as '{name}'"
            continue
        samples[key] = {"spec": spec, "input_shape": shape, "granularity": "network", "family": _family(spec),
                        "latency_ms": round(1000.0 / value, 6), "source": src}
    return list(samples.values()), excluded


# -- ncnn benchncnn on Snapdragon 810 -------------------------------------------------------------

def ncnn_param_macs(path: Path) -> float:
    """MACs of an ncnn .param graph from its stored output shapes (conv, deconv, FC)."""
    macs = 0.0
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) < 4 or parts[0] not in ("Convolution", "ConvolutionDepthWise", "InnerProduct"):
            continue
        kv = {}
        shape = None
        for p in parts[4:]:
            if "=" not in p:
                continue
            k, v = p.split("=", 1)
            if k == "-23330":
                shape = [int(x) for x in v.split(",")]
            else:
                kv[k] = v
        wsize = float(kv.get("6", 0))
        if parts[0] == "InnerProduct":
            macs += wsize
        elif shape is not None:
            # -23330=count,dims,w,h,c for the (single) output blob
            dims, w = shape[1], shape[2]
            h = shape[3] if dims >= 2 else 1
            macs += wsize * w * h
    return macs


def ncnn_rows(device_pattern: str = "Snapdragon 810", threads: int = 1, powersave: int = 2) -> tuple[list[dict], list[dict]]:
    """ncnn fp32 CPU rows (gpu_device -1) of one device section, matched to zoo specs."""
    with open(DATA / "ncnn_benchmark_sd810.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    samples, excluded = [], []
    for r in rows:
        if device_pattern not in r["device_section"] or int(r["num_threads"]) != threads \
                or int(r["powersave"]) != powersave or int(r["gpu_device"]) != -1:
            continue
        model = r["model"]
        if model.endswith("_int8"):
            continue
        if model not in NCNN_ZOO:
            excluded.append({"row": f"ncnn {model}", "reason": "not in the zoo"})
            continue
        spec, res = NCNN_ZOO[model]
        param = DATA / "ncnn_params" / f"{model}.param"
        ours = _macs(spec, [1, 3, res, res])
        theirs = ncnn_param_macs(param)
        if abs(ours / theirs - 1) > MFLOPS_TOL:
            excluded.append({"row": f"ncnn {model}", "reason": f"MACs do not match ncnn's graph: {theirs / 1e6:.1f}M vs "
                                                               f"zoo {spec} {ours / 1e6:.1f}M"})
            continue
        samples.append({
            "spec": spec, "input_shape": [1, 3, res, res], "granularity": "network", "family": _family(spec),
            "latency_ms": float(r["avg_ms"]),
            "stats": {"min_ms": float(r["min_ms"]), "max_ms": float(r["max_ms"]), "mean_ms": float(r["avg_ms"]),
                      "repeats": int(r["loop_count"])},
            "source": f"Tencent/ncnn benchmark/README.md line {r['readme_line']}: benchncnn {model} "
                      f"({r['device_section'].split('(')[0].strip()}, {threads} thread, powersave {powersave}); "
                      f"ncnn graph {theirs / 1e6:.1f}M MACs, zoo {ours / 1e6:.1f}M",
        })
    return samples, excluded


# -- the shipped profiles ---------------------------------------------------------------------------

_PAPER_FUSION = ["conv+bn+act", "add+act", "cat+copy"]


def _base(name: str, **kw) -> dict:
    d = {"schema": "costlab.profile/1", "name": name}
    d.update(kw)
    return d


def build_arm_sd810() -> dict:
    micro, excl0 = sv2bench_rows("arm")
    nets, excl = table8_rows("arm")
    ncnn, excl2 = ncnn_rows()
    table8_specs = {s["spec"] for s in nets}
    for s in ncnn:
        # networks Table 8 also has stay outside the fit (same network, other runtime);
        # the dense-conv networks the paper lacks calibrate conv_dense (role train)
        s["role"] = "check" if s["spec"] in table8_specs else "train"
    return _base(
        "arm-sd810",
        device="Qualcomm Snapdragon 810 (Cortex-A57 big core), 1 thread",
        device_class="arm",
        runtime="ShuffleNet V2 authors' Neon-optimised library, full optimisation (tensor fusion) on",
        threads=1, batch=1, dtype="float32",
        fusion=list(_PAPER_FUSION),
        provenance={
            "source": f"{PAPER}: Tables 1-4 (ARM columns, benchmark networks built as sv2bench_* zoo entries) and "
                      f"Table 8 (ARM images/s); plus ncnn benchncnn single-thread big-core rows of the same SoC "
                      f"(Tencent/ncnn benchmark/README.md, BSD-3-Clause): GoogLeNet, ResNet-18/50 and VGG-16 as "
                      f"role=train samples (the paper has no large dense convs), MobileNet v1 and ShuffleNet v2 as "
                      f"role=check samples (Table 8 has them; another runtime)",
            "measured_by": "Ma et al. (paper authors); ncnn contributors for the ncnn rows",
            "date": "2018-07-30",
            "method": "published average of 100 runs, images/s converted to ms per image (1000 / value); "
                      "batch 1, single thread",
            "command": "costlab calibrate --build arm-sd810 -o profiles/arm-sd810.json",
            "data_files": "costlab/data/latency/shufflenetv2_tables.csv, shufflenetv2_table8.csv, "
                          "ncnn_benchmark_sd810.csv, ncnn_params/",
            "excluded": excl0 + excl + excl2,
        },
        notes=["Two runtimes on one SoC: the paper's tables give the efficient-network classes (pointwise, "
               "depthwise, group conv, shuffle); the paper has no large dense 3x3 convs, so conv_dense is "
               "calibrated mostly by ncnn's GoogLeNet/ResNet/VGG rows (role=train; ncnn uses Winograd 3x3 "
               "kernels). The headline validation is the Table 8 rows; the ncnn rows' held-out errors are "
               "reported apart (validation.by_holdout.*.train_rows). ncnn runs MobileNet v1 / ShuffleNet v2 "
               "14-40% faster than the paper's library (role=check rows)."],
        samples=micro + nets + ncnn,
    )


def build_gpu_gtx1080ti() -> dict:
    micro, excl0 = sv2bench_rows("gpu")
    nets, excl = table8_rows("gpu")
    return _base(
        "gpu-gtx1080ti",
        device="NVIDIA GeForce GTX 1080Ti",
        device_class="gpu",
        runtime="cuDNN 7.0 (benchmark mode) in the ShuffleNet V2 authors' framework, full optimisation (tensor fusion)",
        threads=1, batch=8, dtype="float32",
        fusion=list(_PAPER_FUSION),
        provenance={
            "source": f"{PAPER}: Tables 1-4 (GPU columns, read as batch 1, see costlab/calibrate/sources.py) and "
                      f"Table 8 (GPU batches/s at batch 8)",
            "measured_by": "Ma et al. (paper authors)",
            "date": "2018-07-30",
            "method": "published average of 100 runs, batches/s converted to ms per batch (1000 / value); "
                      "Table 8 at batch 8, Tables 1-4 at batch 1",
            "command": "costlab calibrate --build gpu-gtx1080ti -o profiles/gpu-gtx1080ti.json",
            "data_files": "costlab/data/latency/shufflenetv2_tables.csv, shufflenetv2_table8.csv",
            "excluded": excl0 + excl,
        },
        samples=micro + nets,
    )


def build_arm_sd810_ncnn() -> dict:
    nets, excl = ncnn_rows()
    return _base(
        "arm-sd810-ncnn",
        device="Qualcomm Snapdragon 810 (Cortex-A57 big core), 1 thread",
        device_class="arm",
        runtime="ncnn benchncnn (fp32, CPU, powersave=2: big cores)",
        threads=1, batch=1, dtype="float32",
        fusion=["conv+bn+act", "add+act"],
        provenance={
            "source": "Tencent/ncnn benchmark/README.md (BSD-3-Clause), Snapdragon 810 section, "
                      "benchncnn 4 1 2 -1 1 rows; graphs checked against ncnn's benchmark/*.param",
            "measured_by": "ncnn contributors",
            "date": "2026-11-26",
            "method": "benchncnn average of 4 loops, ms per image (README at ncnn commit a4d2ea1d, which does not "
                      "date its rows; date = when costlab copied them); network-level data only, so the predictor "
                      "is the reduced 2-parameter form (ms/GMAC + ms/MB, costlab/latency/fit.py)",
            "command": "costlab calibrate --build arm-sd810-ncnn -o profiles/arm-sd810-ncnn.json",
            "data_files": "costlab/data/latency/ncnn_benchmark_sd810.csv, ncnn_params/",
            "excluded": excl,
        },
        samples=nets,
    )


# -- ProxylessNAS lookup table + TF-Lite per-op profile (Pixel 1) ------------------------------

LUT_FILE = "lut_proxylessnas_mobile_trim.yaml"
TFLITE_FILE = "proxylessnas_mobile_tflite_op_profile.csv"
TFLITE_TOTAL_MS, TFLITE_STD_MS = 80.6702, 0.871   # benchmark_model: avg=80670.2 us std=871 (100 runs)


def read_lut(path: Path | None = None) -> dict[str, dict[str, float]]:
    """The flat ``key: {count, mean, var}`` YAML of ProxylessNAS's latency lookup table."""
    out: dict[str, dict[str, float]] = {}
    key = None
    for line in (path or DATA / LUT_FILE).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            key = line.strip().rstrip(":")
            out[key] = {}
        else:
            k, v = line.strip().split(":", 1)
            out[key][k.strip()] = float(v)
    return out


def _dims(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("x"))


def lut_rows() -> tuple[list[dict], list[dict]]:
    """One block-level sample per lookup-table entry."""
    samples, excluded = [], []
    for key, v in read_lut().items():
        parts = dict(p.split(":", 1) for p in key.split("-")[1:])
        kind = key.split("-", 1)[0]
        hi, wi, ci = _dims(parts["input"])
        if kind == "expanded_conv":
            ho, wo, co = _dims(parts["output"])
            stride = hi // ho
            spec = (f"proxyless_mbconv:cin={ci},cout={co},expand={parts['expand']},k={parts['kernel']},"
                    f"stride={stride},skip={parts['idskip']}")
        elif kind == "Conv":
            ho, wo, co = _dims(parts["output"])
            spec = f"proxyless_conv:cin={ci},cout={co},k=3,stride={hi // ho}"
        elif kind == "Conv_1":
            ho, wo, co = _dims(parts["output"])
            spec = f"proxyless_conv:cin={ci},cout={co},k=1,stride=1"
        elif kind == "Logits":
            spec = f"proxyless_logits:cin={ci},classes={parts['output']}"
        else:
            excluded.append({"row": f"LUT {key}", "reason": "unknown block kind"})
            continue
        samples.append({
            "spec": spec, "input_shape": [1, ci, hi, wi], "granularity": "block", "family": "proxyless_lut",
            "latency_ms": round(v["mean"], 6),
            "stats": {"mean_ms": round(v["mean"], 6), "std_ms": round(math.sqrt(max(v.get("var", 0.0), 0.0)), 6),
                      "repeats": int(v.get("count", 1))},
            "source": f"han-cai/files proxylessnas/mobile_trim.yaml '{key}'",
        })
    return samples, excluded


def _block_of(name: str) -> tuple[int, dict] | None:
    m = re.search(r"expanded_conv(?:_(\d+))?/up_(\d+)-ks_(\d+)-st_(\d+)-id_(\d+)/(\w+)", name)
    if not m:
        return None
    i = int(m.group(1) or 0)
    return i, {"expand": int(m.group(2)), "k": int(m.group(3)), "stride": int(m.group(4)),
               "skip": int(m.group(5)), "part": m.group(6)}


def tflite_op_rows() -> tuple[list[dict], list[dict]]:
    """One op-level sample per TF-Lite node of ProxylessNAS-Mobile (BN and ReLU6 are fused
    into the convs there, so a bare micro_conv has the same counted work)."""
    from ..zoo.proxylessnas import BLOCKS, LAST, STEM

    # shapes of each block: (input side, c_in, hidden, c_out, output side)
    geo = []
    side, c = 112, STEM
    for e, k, s, co, sk in BLOCKS:
        geo.append((side, c, c * e, co, side // s))
        side, c = side // s, co
    with open(DATA / TFLITE_FILE, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    samples, excluded = [], []
    for r in rows:
        name, typ, ms = r["name"], r["node_type"], float(r["avg_ms"])
        blk = _block_of(name)
        spec = shape = None
        if blk is not None:
            i, b = blk
            si, ci, hid, co, so = geo[i]
            e, k, s = BLOCKS[i][0], BLOCKS[i][1], BLOCKS[i][2]
            if (b["expand"], b["k"], b["stride"]) != (e, k, s):
                excluded.append({"row": name, "reason": "block parameters differ from the network's"})
                continue
            if typ == "CONV_2D" and b["part"] == "expand":
                spec, shape = f"micro_conv:cin={ci},cout={hid},k=1", [1, ci, si, si]
            elif typ == "DEPTHWISE_CONV_2D":
                spec, shape = f"micro_conv:cin={hid},cout={hid},k={k},stride={s},groups={hid}", [1, hid, si, si]
            elif typ == "CONV_2D" and b["part"] == "project":
                spec, shape = f"micro_conv:cin={hid},cout={co},k=1", [1, hid, so, so]
            elif typ == "ADD":
                spec, shape = f"micro_add:c={2 * co}", [1, 2 * co, so, so]
        elif name.endswith("/Conv/Relu6"):
            spec, shape = f"micro_conv:cin=3,cout={STEM},k=3,stride=2", [1, 3, 224, 224]
        elif "/Conv_1/" in name:
            spec, shape = f"micro_conv:cin={BLOCKS[-1][3]},cout={LAST},k=1", [1, BLOCKS[-1][3], 7, 7]
        elif typ == "AVERAGE_POOL_2D":
            spec, shape = f"micro_pool:c={LAST},kind=gap", [1, LAST, 7, 7]
        elif "Logits/Conv2d" in name:
            # a 1x1 conv on the pooled 1x1 map = the fully connected classifier
            spec, shape = f"micro_linear:cin={LAST},cout=1000", [1, LAST, 1, 1]
        if spec is None:
            excluded.append({"row": f"TF-Lite {typ} {name}", "reason": "a view (reshape) in costlab: no work counted"
                             if typ == "RESHAPE" else "not mapped to a zoo op"})
            continue
        samples.append({"spec": spec, "input_shape": shape, "granularity": "op", "family": "tflite_ops",
                        "latency_ms": ms, "stats": {"mean_ms": ms, "first_ms": float(r["first_ms"]), "repeats": 100},
                        "source": f"mit-han-lab/proxylessnas logs/proxyless_mobile_10_latency.txt node {r['order']} "
                                  f"{typ} {name}"})
    return samples, excluded


def build_arm_pixel1_tflite() -> dict:
    blocks, ex1 = lut_rows()
    op_samples, ex2 = tflite_op_rows()
    net = {"spec": "proxylessnas_mobile", "input_shape": [1, 3, 224, 224], "granularity": "network",
           "family": "proxylessnas_mobile", "latency_ms": TFLITE_TOTAL_MS,
           "stats": {"mean_ms": TFLITE_TOTAL_MS, "std_ms": TFLITE_STD_MS, "repeats": 100},
           "source": "mit-han-lab/proxylessnas logs/proxyless_mobile_10_latency.txt: benchmark_model "
                     "avg=80670.2 us over 100 runs (whole network)"}
    return _base(
        "arm-pixel1-tflite",
        device="Google Pixel 1 (Snapdragon 821), 1 thread (the ProxylessNAS paper's latency phone; "
               "the data files do not name it)",
        device_class="arm",
        runtime="TensorFlow Lite benchmark_model, float32, no NNAPI",
        threads=1, batch=1, dtype="float32",
        fusion=["conv+bn+act", "add+act"],
        provenance={
            "source": "ProxylessNAS (Cai et al. 2019, arXiv:1812.00332): per-block latency lookup table "
                      "han-cai/files proxylessnas/mobile_trim.yaml (72 entries) and the TF-Lite per-op profile "
                      "of ProxylessNAS-Mobile, mit-han-lab/proxylessnas logs/proxyless_mobile_10_latency.txt "
                      "(MIT licence)",
            "measured_by": "Cai et al. (ProxylessNAS authors)",
            "date": "2018-12-02",
            "method": "lookup table: mean of 'count' on-device runs per block; op profile: TF-Lite benchmark_model, "
                      "1 thread, 100 runs after 10 warm-up, average per node; the whole network 80.67 ms. "
                      "The table's blocks for ProxylessNAS-Mobile sum to 82.5 ms, so both come from the same phone.",
            "command": "costlab calibrate --build arm-pixel1-tflite -o profiles/arm-pixel1-tflite.json",
            "data_files": f"costlab/data/latency/{LUT_FILE}, {TFLITE_FILE}, proxylessnas_mobile_tflite_op_profile.txt",
            "excluded": ex1 + ex2,
        },
        notes=["Validation is at block level (only one whole network): leave-one-network-out holds out one "
               "lookup-table block at a time, with the TF-Lite ops (20 of the 72 blocks' own ops among them) "
               "still in training; --holdout family holds out the whole lookup table, so the predictor "
               "calibrated on the 76 TF-Lite ops and the network alone predicts all 72 blocks."],
        samples=op_samples + blocks + [net],
    )


# -- NVIDIA H200, PyTorch eager and CUDA graph (host and device times) ------------------------------

H200_FILE = "gpu_h200/gpu_decomp.csv"


def build_gpu_h200() -> dict:
    """The H200 profile: the grid rows fit the two-clock model (costlab.latency.forms.gpu), the zoo
    networks the grid does not have are role=check (held out, never fitted)."""
    import hashlib

    from .fit_gpu import h200_samples

    path = DATA / H200_FILE
    samples, excluded = h200_samples(path)
    return _base(
        "gpu-h200",
        device="NVIDIA H200 (132 SMs, 139.8 GiB), host Intel Xeon Processor (16 cores, virtual machine)",
        device_class="gpu",
        runtime="PyTorch 2.11.0+cu130 fp32, CUDA 13.0, cuDNN 9.19 (benchmark off, TF32 convs on); "
                "eager, or the same forward replayed as a CUDA graph",
        threads=1, batch=1, dtype="float32", fusion=[],
        provenance={
            "source": "gpu_decomp.csv measured by the project (shared/data/gpu_h200, copied to "
                      f"costlab/data/latency/{H200_FILE}): eager, host dispatch and CUDA-graph times of the "
                      "852 default_grid samples at batch 1/8/32/64 and of 20 zoo networks",
            "measured_by": "costlab project (gpu_decomp.py, costlab/data/latency/gpu_h200/gpu_decomp.py.txt)",
            "date": "2026-11-30",
            "method": "medians of 15 runs after 3 untimed: eager = one synced forward timed by CUDA events; "
                      "host = wall time for the forward call to return, GPU idle at its start; graph = replay "
                      "of the forward captured as a CUDA graph (CUDA events)",
            "command": "costlab calibrate --build gpu-h200 -o profiles/gpu-h200.json",
            "data_files": f"costlab/data/latency/{H200_FILE} (sha256 "
                          f"{hashlib.sha256(path.read_bytes()).hexdigest()})",
            "excluded": excluded,
        },
        notes=["Samples carry three times: latency_ms (eager), host_ms and graph_ms. The predictor is the "
               "two-clock model of costlab/latency/forms/gpu.py; role=check samples are the held-out zoo networks "
               "at batch 1/8/32/64."],
        samples=samples,
    )


BUILDERS = {
    "gpu-h200": build_gpu_h200,
    "arm-pixel1-tflite": build_arm_pixel1_tflite,
    "arm-sd810": build_arm_sd810,
    "gpu-gtx1080ti": build_gpu_gtx1080ti,
    "arm-sd810-ncnn": build_arm_sd810_ncnn,
}


def build(name: str) -> dict:
    """The unfitted profile ``name`` built from its source data."""
    if name not in BUILDERS:
        raise KeyError(name)
    return BUILDERS[name]()


def buildable() -> list[str]:
    return sorted(BUILDERS)
