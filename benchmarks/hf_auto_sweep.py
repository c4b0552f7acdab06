"""Every model type of transformers' AutoModel mapping, built from its default config as an
``hf:TYPE`` spec and analysed by costlab (issue 22 item 4). Each type runs in a forked child
with a time limit (30 s: build + trace + count) and a memory limit; the summary counts the
types analysed and the rest by reason.

    python benchmarks/hf_auto_sweep.py                      # every type (long: ~630 types)
    python benchmarks/hf_auto_sweep.py --every 5            # a deterministic subset: every 5th type
    python benchmarks/hf_auto_sweep.py --types bert,t5,resnet --limit-s 30

Nothing is downloaded: configs are transformers' defaults, weights random (built on meta).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time


def _one(model_type: str, mem_gb: float, conn) -> None:
    import torch

    torch.set_num_threads(1)
    resource.setrlimit(resource.RLIMIT_AS, (int(mem_gb * 2**30),) * 2)
    try:
        from costlab.api import count

        r = count(f"hf:{model_type}")
        unsupported = sorted({str(u.get("op", u)) if isinstance(u, dict) else str(u) for u in r.unsupported})[:3]
        conn.send(("analysed", f"{r.totals['macs'] / 1e9:.2f} GMACs, {r.totals['params'] / 1e6:.1f} M params"
                   + (f"; unsupported: {', '.join(unsupported)}" if unsupported else "")))
    except MemoryError:
        conn.send(("memory", f"over {mem_gb:g} GB"))
    except BaseException as exc:  # noqa: BLE001
        text = " ".join(str(exc).split())
        kind = type(exc).__name__
        stage = ("needs a package" if isinstance(exc, ImportError) or "ImportError" in text else
                 "memory" if "can't allocate memory" in text else
                 "build" if kind == "SpecError" or "cannot build" in text else "trace")
        conn.send((stage, f"{kind}: {text[:160]}"))


def run(model_type: str, limit_s: float, mem_gb: float) -> tuple[str, str, float]:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_one, args=(model_type, mem_gb, child), daemon=True)
    t0 = time.perf_counter()
    p.start()
    child.close()
    got = parent.poll(limit_s)
    elapsed = time.perf_counter() - t0
    if got:
        try:
            status, detail = parent.recv()
        except EOFError:
            status, detail = "crash", "the child died without a result"
    else:
        status, detail = ("timeout", f"over {limit_s:g} s") if p.is_alive() else \
            ("crash", f"the child died (exit {p.exitcode}): likely out of memory")
    if p.is_alive():
        p.kill()
    p.join()
    return status, detail, elapsed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=1, help="only every N-th type of the sorted mapping")
    ap.add_argument("--offset", type=int, default=0, help="start at this index (with --every)")
    ap.add_argument("--types", help="comma-separated model types instead of the mapping")
    ap.add_argument("--limit-s", type=float, default=30.0, help="seconds per type (default 30)")
    ap.add_argument("--mem-gb", type=float, default=8.0, help="address-space limit per type (default 8)")
    args = ap.parse_args(argv)
    import torch  # noqa: F401  (imported once, before forking)
    import transformers
    from transformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES

    import costlab.api  # noqa: F401

    types = args.types.split(",") if args.types else sorted(MODEL_MAPPING_NAMES)[args.offset::args.every]
    print(f"transformers {transformers.__version__}, torch {torch.__version__}: {len(types)} of "
          f"{len(MODEL_MAPPING_NAMES)} AutoModel types (every {args.every}, offset {args.offset}), "
          f"{args.limit_s:g} s each", flush=True)
    results = {}
    for t in types:
        status, detail, s = run(t, args.limit_s, args.mem_gb)
        results[t] = (status, detail)
        print(f"{t:32s} {status:9s} {s:5.1f}s  {detail}", flush=True)
    by: dict[str, list[str]] = {}
    for t, (status, _) in results.items():
        by.setdefault(status, []).append(t)
    print("\nsummary: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(by.items(), key=lambda kv: -len(kv[1]))))
    for t, (status, detail) in results.items():
        if status != "analysed":
            print(f"- `{t}`: {status}: {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
