"""The external check of issue 22: library models counted two ways, as a spec string through the
command line and as an object the user built on CPU and passed to ``costlab.analyze``.

For every torchvision model of ``torchvision.models.list_models()`` (classification, detection,
segmentation, video, optical flow, quantization), a list of timm models across its families and a
list of transformers model types (``hf:``), each model is counted

  spec    ``costlab analyze torchvision:NAME --format json`` (run in-process through
          ``costlab.cli.main``, with the spec's default input; no ``--input-shape``)
  object  the model built on CPU by the library's own call (``torchvision.models.get_model``,
          ``timm.create_model``, ``transformers.AutoModel.from_config``), passed to
          ``costlab.analyze(model, input_shape=...)`` with the input a user would give it (the
          spec's default input, so the two MAC counts compare); afterwards every parameter and
          buffer (device, dtype, bytes), training flag and hook must be as it was

each in a forked child with a time and memory limit. Per model: ok / fail / crash per path, MACs of
both, the one-line error, seconds. A *crash* is a traceback (an exception that is not a
``CostlabError``, out of the CLI or the API), an error message of more than one line or a module
left changed by the analysis; a *spec-only failure* is a model whose object path counts and whose
spec path does not; a *MAC disagreement* is a model both paths count with different MACs.

    python benchmarks/library_models.py -o /tmp/library_models.csv
    python benchmarks/library_models.py --libs timm --models convit_tiny,convit_small

Needs torchvision, timm and transformers; nothing is downloaded (weights=None, random init).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time

TIMM = """resnet18 resnet50 resnext50_32x4d seresnet50 resnest50d res2net50_26w_4s regnetx_002 regnety_004
regnetz_b16 efficientnet_b0 tf_efficientnet_b0 efficientnetv2_rw_s mobilenetv2_100 mobilenetv3_large_100
mobilenetv3_small_100 mobilenetv4_conv_small mnasnet_100 fbnetc_100 ghostnet_100 lcnet_050 mixnet_s
densenet121 dla34 dpn68 hrnet_w18_small inception_v3 xception41 repvgg_a0 cspdarknet53 convnext_tiny
convnextv2_atto vit_tiny_patch16_224 deit_tiny_distilled_patch16_224 beit_base_patch16_224
swin_tiny_patch4_window7_224 swinv2_tiny_window8_256 cait_xxs24_224 coat_lite_tiny convit_tiny convit_small
crossvit_tiny_240 levit_128s mobilevit_xxs mobilevitv2_050 efficientformer_l1 efficientformerv2_s0
edgenext_xx_small pvt_v2_b0 twins_svt_small poolformer_s12 mixer_b16_224 resmlp_12_224 xcit_nano_12_p16_224
maxvit_tiny_tf_224 coatnet_0_rw_224 fastvit_t8 repvit_m1 tiny_vit_5m_224 nfnet_l0 rexnet_100 tresnet_m
eva02_tiny_patch14_224 vit_small_r26_s32_224 botnet26t_256 halonet26t gcvit_xxtiny pit_ti_224 hiera_tiny_224
davit_tiny efficientvit_b0""".split()

SMALL_LM = "num_hidden_layers=2"          # a 7B default config, two of its layers: fits a CPU build
HF = {t: "" for t in """bert roberta distilbert albert electra deberta-v2 mobilebert funnel xlnet gpt2 gpt_neo opt
bloom t5 bart mbart pegasus marian vit deit beit swin convnext convnextv2 resnet regnet efficientnet
mobilenet_v2 mobilevit segformer dinov2 levit yolos detr whisper wav2vec2 hubert speech_to_text bit
clip_vision_model""".split()}
HF.update({t: SMALL_LM for t in ("llama", "mistral", "qwen2", "phi", "gemma")})


# -- the object path: what a user writes ---------------------------------------------------------

def tv_object(name: str):
    """torchvision: ``get_model(name)`` without any weights, and the input its family takes."""
    import inspect

    import torchvision.models as tvm

    builder = tvm.get_model_builder(name)
    no_weights = {p: None for p in inspect.signature(builder).parameters if "weights" in p}
    model = tvm.get_model(name, **no_weights)
    family = builder.__module__
    if family.startswith("torchvision.models.video"):
        side = 112 if family.endswith(".resnet") else 224        # the weights' crop size
        return model, [(1, 3, 16, side, side)]
    if family.startswith("torchvision.models.optical_flow"):
        return model, [(1, 3, 224, 224), (1, 3, 224, 224)]        # two frames
    return model, [(1, 3, 224, 224)]        # the spec's default, so MACs compare on one input


def timm_object(name: str):
    import timm

    model = timm.create_model(name, pretrained=False)
    return model, [(1,) + tuple(model.pretrained_cfg.get("input_size", (3, 224, 224)))]


def hf_object(name: str, knobs: str):
    """transformers: a config of that type (the same small override as the spec), the model from it,
    inputs by the model's own main input name (a user reads it off the model card)."""
    import transformers
    from costlab.spec import InputShape

    kw = {}
    for part in filter(None, knobs.split(",")):
        k, _, v = part.partition("=")
        kw[k] = int(v)
    config = transformers.AutoConfig.for_model(name, **kw)
    model = transformers.AutoModel.from_config(config)
    main = model.main_input_name
    if main == "pixel_values":
        size = getattr(config, "image_size", 224)
        h, w = (size, size) if isinstance(size, int) else tuple(size) if isinstance(size, (list, tuple)) else (224, 224)
        shapes = [InputShape((1, getattr(config, "num_channels", 3), h, w), None, main)]
    elif main == "input_values":
        shapes = [InputShape((1, 16000), None, main)]
    elif main == "input_features" and hasattr(config, "num_mel_bins"):
        shapes = [InputShape((1, config.num_mel_bins, 2 * config.max_source_positions), None, main)]
    elif main == "input_features":
        shapes = [InputShape((1, 128, config.input_feat_per_channel * config.input_channels), None, main)]
    else:
        limit = getattr(config, "max_position_embeddings", None)
        tokens = min(128, limit) if isinstance(limit, int) and limit > 0 else 128    # xlnet says -1
        shapes = [InputShape((1, tokens), "int64", main)]
    if config.is_encoder_decoder:
        shapes.append(InputShape((1, 128), "int64", "decoder_input_ids"))
    return model, shapes


def build_object(lib: str, name: str, knobs: str):
    return {"torchvision": lambda: tv_object(name), "timm": lambda: timm_object(name),
            "hf": lambda: hf_object(name, knobs)}[lib]()


def spec_of(lib: str, name: str, knobs: str) -> str:
    return f"{lib}:{name}" + (f":{knobs}" if knobs else "")


# -- one path in a child ---------------------------------------------------------------------------

def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def _spec_path(spec: str) -> dict:
    """``costlab analyze SPEC --format json -o FILE`` through the CLI's own entry point; its stderr
    is read back: a clean failure is exit 2 with one ``costlab: error:`` line."""
    from costlab.cli import main

    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    err = tempfile.TemporaryFile(mode="w+")
    saved = os.dup(2)
    os.dup2(err.fileno(), 2)
    try:
        try:
            rc = main(["analyze", spec, "--format", "json", "-o", out])
        except BaseException as exc:  # noqa: BLE001  (a traceback out of the CLI: a crash)
            import traceback

            traceback.print_exc()
            rc = f"traceback: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
    err.seek(0)
    text = err.read()
    if isinstance(rc, str):     # out of the memory limit is the harness's limit, not a crash
        return {"status": "limit" if "MemoryError" in rc or "can't allocate memory" in rc else "crash", "error": rc}
    errors = [ln for ln in text.splitlines() if ln.startswith("costlab: error:")]
    if rc != 0:
        return {"status": "fail" if rc == 2 and len(errors) == 1 else "crash",
                "error": (errors[0] if errors else _last_line(text))[:300]}
    with open(out) as f:
        doc = json.load(f)
    os.unlink(out)
    return {"status": "ok", "macs": doc["totals"]["macs"], "params": doc["totals"]["params"],
            "note": (doc.get("trace") or {}).get("mode", "")}


def _object_path(lib: str, name: str, knobs: str) -> dict:
    import costlab
    from costlab.errors import CostlabError

    try:
        model, shapes = build_object(lib, name, knobs)
    except Exception as exc:  # noqa: BLE001  (the library itself cannot build it: not costlab's)
        return {"status": "nobuild", "error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"}
    before = _state(model)
    try:
        r = costlab.analyze(model, input_shape=shapes)
    except CostlabError as exc:
        text = str(exc).strip()
        res = {"status": "crash" if "\n" in text else "fail", "error": " ".join(text.split())[:300]}
    except BaseException as exc:  # noqa: BLE001
        text = " ".join(str(exc).split())
        res = {"status": "limit" if isinstance(exc, MemoryError) or "can't allocate memory" in text else "crash",
               "error": f"traceback: {type(exc).__name__}: {text[:200]}"}
    else:
        res = {"status": "ok", "macs": r.totals["macs"], "params": r.totals["params"],
               "note": getattr(r.graph, "mode", "")}
    changed = _changed(before, _state(model))
    if changed:     # the user's module must be exactly as it was, whatever the analysis did
        res = {**res, "status": "crash", "error": f"model changed: {changed}; {res.get('error', '')}"}
    return res


def _state(model) -> dict:
    """What an analysis must leave as it was: every parameter and buffer (device, dtype, bytes), the
    training flags and the hooks of every module, and torch's global module hooks."""
    import torch
    import torch.nn.modules.module as mm

    tensors = {}
    for k, v in list(model.named_parameters()) + list(model.named_buffers()):
        tensors[k] = (v.device.type, v.dtype, tuple(v.shape), _digest(v))
    hooks = [(n, m.training, len(m._forward_hooks), len(m._forward_pre_hooks)) for n, m in model.named_modules()]
    del torch
    return {"tensors": tensors, "modules": hooks,
            "global": (len(mm._global_forward_hooks), len(mm._global_forward_pre_hooks))}


def _digest(t) -> str:
    """A hash of a tensor's bytes (no copy of the model: a 1.5B-parameter model must fit twice in
    the memory limit otherwise)."""
    import hashlib

    import torch

    if t.device.type == "meta" or not t.numel():
        return ""
    return hashlib.blake2b(t.detach().contiguous().reshape(-1).view(torch.uint8).numpy()).hexdigest()


def _changed(a: dict, b: dict) -> str:
    if a["modules"] != b["modules"] or a["global"] != b["global"]:
        return "training flags or hooks"
    if a["tensors"].keys() != b["tensors"].keys():
        return "parameters or buffers added or removed"
    for k, (dev, dt, shape, t) in a["tensors"].items():
        dev2, dt2, shape2, t2 = b["tensors"][k]
        if (dev, dt, shape) != (dev2, dt2, shape2):
            return f"{k}: {dev} {dt} {list(shape)} -> {dev2} {dt2} {list(shape2)}"
        if t != t2:
            return f"{k}: values"
    return ""


def _child(path: str, lib: str, name: str, knobs: str, mem_gb: float, conn) -> None:
    import torch

    torch.set_num_threads(1)
    resource.setrlimit(resource.RLIMIT_AS, (int(mem_gb * 2**30),) * 2)
    try:
        res = _spec_path(spec_of(lib, name, knobs)) if path == "spec" else _object_path(lib, name, knobs)
    except MemoryError:
        res = {"status": "limit", "error": f"over {mem_gb:g} GB"}
    except BaseException as exc:  # noqa: BLE001
        res = {"status": "crash", "error": f"traceback: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"}
    conn.send(res)


def run_path(path: str, lib: str, name: str, knobs: str, limit_s: float, mem_gb: float) -> dict:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child, args=(path, lib, name, knobs, mem_gb, child), daemon=True)
    t0 = time.perf_counter()
    p.start()
    child.close()
    got = parent.poll(limit_s)
    res = None
    if got:
        try:
            res = parent.recv()
        except EOFError:
            pass
    if res is None:
        res = ({"status": "limit", "error": f"over {limit_s:g} s"} if p.is_alive() else
               {"status": "limit", "error": f"the child died (exit {p.exitcode}): likely out of memory"})
    if p.is_alive():
        p.kill()
    p.join()
    res["seconds"] = round(time.perf_counter() - t0, 1)
    return res


# -- the run ---------------------------------------------------------------------------------------

FIELDS = ["library", "model", "spec", "spec_status", "spec_macs", "spec_error", "spec_s", "spec_trace",
          "object_status", "object_macs", "object_error", "object_s"]


def models(libs: list[str], only: set[str] | None) -> list[tuple[str, str, str]]:
    out = []
    if "torchvision" in libs:
        import torchvision.models as tvm

        out += [("torchvision", n, "") for n in sorted(tvm.list_models())]
    if "timm" in libs:
        out += [("timm", n, "") for n in TIMM]
    if "hf" in libs:
        out += [("hf", t, k) for t, k in HF.items()]
    return [m for m in out if only is None or m[1] in only]


def summarise(rows: list[dict], stream=sys.stdout) -> dict:
    p = lambda *a: print(*a, file=stream)  # noqa: E731
    libs = sorted({r["library"] for r in rows}, key=["torchvision", "timm", "hf"].index)
    p(f"\n{'library':12s} {'models':>6s} {'spec ok':>8s} {'object ok':>9s} {'crashes':>8s} "
      f"{'spec-only fail':>14s} {'MAC differ':>10s}")
    total = {}
    for lib in libs + ["all"]:
        rs = [r for r in rows if lib == "all" or r["library"] == lib]
        c = {"models": len(rs), "spec_ok": sum(r["spec_status"] == "ok" for r in rs),
             "object_ok": sum(r["object_status"] == "ok" for r in rs),
             "crashes": sum("crash" in (r["spec_status"], r["object_status"]) for r in rs),
             "spec_only": sum(r["spec_status"] != "ok" and r["object_status"] == "ok" for r in rs),
             "differ": sum(r["spec_status"] == r["object_status"] == "ok" and r["spec_macs"] != r["object_macs"]
                           for r in rs)}
        p(f"{lib:12s} {c['models']:6d} {c['spec_ok']:8d} {c['object_ok']:9d} {c['crashes']:8d} "
          f"{c['spec_only']:14d} {c['differ']:10d}")
        total[lib] = c
    for title, pick in (("crashes", lambda r: "crash" in (r["spec_status"], r["object_status"])),
                        ("spec-only failures", lambda r: r["spec_status"] != "ok" and r["object_status"] == "ok"),
                        ("MAC disagreements", lambda r: r["spec_status"] == r["object_status"] == "ok"
                         and r["spec_macs"] != r["object_macs"]),
                        ("both paths fail", lambda r: r["spec_status"] != "ok" and r["object_status"] != "ok")):
        picked = [r for r in rows if pick(r)]
        p(f"\n{title}: {len(picked)}")
        for r in picked:
            p(f"- {r['spec']}: spec {r['spec_status']} {r['spec_macs'] or ''} {r['spec_error']} | "
              f"object {r['object_status']} {r['object_macs'] or ''} {r['object_error']}")
    return total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--libs", default="torchvision,timm,hf", help="comma-separated: torchvision,timm,hf")
    ap.add_argument("--models", help="comma-separated model names (within --libs)")
    ap.add_argument("--limit-s", type=float, default=300.0, help="seconds per path (default 300)")
    ap.add_argument("--mem-gb", type=float, default=12.0, help="address-space limit per path (default 12)")
    ap.add_argument("-o", "--output", default="library_models.csv", help="CSV, one row per model")
    args = ap.parse_args(argv)
    import torch
    import costlab.api  # noqa: F401  (imported once, before forking)
    import costlab.cli  # noqa: F401

    libs = args.libs.split(",")
    versions = [f"torch {torch.__version__}"]
    for lib, mod in (("torchvision", "torchvision"), ("timm", "timm"), ("hf", "transformers")):
        if lib in libs:
            versions.append(f"{mod} {__import__(mod).__version__}")
    todo = models(libs, set(args.models.split(",")) if args.models else None)
    print(f"{', '.join(versions)}: {len(todo)} models, two paths each, {args.limit_s:g} s and "
          f"{args.mem_gb:g} GB per path", flush=True)
    rows = []
    with open(args.output, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for lib, name, knobs in todo:
            s = run_path("spec", lib, name, knobs, args.limit_s, args.mem_gb)
            o = run_path("object", lib, name, knobs, args.limit_s, args.mem_gb)
            row = {"library": lib, "model": name, "spec": spec_of(lib, name, knobs),
                   "spec_status": s["status"], "spec_macs": s.get("macs"), "spec_error": s.get("error", ""),
                   "spec_s": s["seconds"], "spec_trace": s.get("note", ""),
                   "object_status": o["status"], "object_macs": o.get("macs"),
                   "object_error": o.get("error", ""), "object_s": o["seconds"]}
            rows.append(row)
            w.writerow(row)
            f.flush()
            same = "" if row["spec_macs"] == row["object_macs"] else "  MACs differ"
            print(f"{row['spec']:42s} spec {s['status']:6s} {s['seconds']:6.1f}s  object {o['status']:7s} "
                  f"{o['seconds']:6.1f}s  {row['spec_macs'] or s.get('error', '')}"
                  f"{same if s['status'] == o['status'] == 'ok' else ''}", flush=True)
    buf = io.StringIO()
    summarise(rows, buf)
    print(buf.getvalue(), end="")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
