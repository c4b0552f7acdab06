"""``costlab profile --target ort|openvino|litert``: a profile's samples measured through a
deployment runtime (the eager harness's grid, chunks and turns; :mod:`costlab.calibrate.measure`),
with the runtime's fusion rules (:mod:`costlab.runtimes.fusion`) and op samples corrected to how
they run inside a network; op samples are timed both interleaved and in bursts, and the predictor
is the mean of the fits under every timing and network weight (:mod:`costlab.runtimes.op_timing`)."""
from __future__ import annotations

import datetime as _dt
import time

from ..calibrate.grid import default_grid, granularity
from ..calibrate.measure import _TIMERS, NETWORK_CHUNK, _burst, _noise, _sample, op_order
from . import get_runtime
from .bench import boundary_share, machine, measure_many
from .act_pass import discover_passes
from .channel_block import discover_block
from .fusion import discover
from .layout_probe import discover_layout
from .op_timing import MODES, corrected, pick
from .prefetch import prefetch

_CALL_SPEC = "micro_act:c=1,act=relu"     # the smallest model: its median is the per-call cost


def measure_runtime_profile(runtime: str, pairs: list | None = None, *, grid: str = "default",
                            networks: bool = True, name: str, threads: int, repeats: int, warmup: int,
                     command: str | None, progress, clock: str, batch: int, seed: int, jobs: int = 1) -> dict:
    """``costlab profile --target RUNTIME``: :func:`costlab.calibrate.measure.measure_profile`'s
    samples through a deployment runtime (ONNX Runtime, OpenVINO, LiteRT):
    every sample converted (cached) and timed in the runtime with the same chunks and turns
    as the eager harness; the fusion rules found from the runtime's own per-op output
    (:mod:`costlab.runtimes.fusion`). Samples the runtime cannot convert are left out and
    listed in ``provenance.skipped``. ``jobs`` > 1: the samples not yet cached are converted
    first by that many worker processes (:func:`costlab.runtimes.prefetch.prefetch`), before
    anything is timed."""

    rt = get_runtime(runtime)
    rt.require()
    if pairs is None:
        pairs = default_grid(batches=(batch,), grid=grid, networks=networks)
    t0 = time.perf_counter()
    pre = prefetch(list(pairs) + [(_CALL_SPEC, (1, 1, 1, 1))], rt, jobs=jobs, progress=progress)
    convert_s = round(time.perf_counter() - t0, 1)
    fusion, evidence = discover(rt, threads=threads)
    block, evidence["block"] = discover_block(rt, threads=threads, clock=clock)
    if block:
        fusion = fusion + [f"block:{block}"]
    layout, evidence["layout"] = discover_layout(rt, threads=threads)
    if layout:
        fusion = fusion + [layout]
    passes, evidence["pass"] = discover_passes(rt, fusion, threads=threads)
    fusion = fusion + passes
    order, nets = op_order(pairs, seed)
    skipped: list = []
    arts: list = []          # the artifact of each measured row, in the rows' order
    common = dict(threads=threads, runs=repeats, warmup=warmup, clock=clock, progress=progress, skipped=skipped,
                  on_artifact=lambda spec, a: arts.append(a))
    samples, rows, call_ms, timing = _measure(rt, [pairs[i] for i in order], [pairs[i] for i in nets], common, arts,
                                              fusion=fusion)
    info = machine(rt, threads)
    info["clock"] = rows[0]["clock"] if rows else "thread"
    info["keep_freed_memory"] = True
    runtime_text = (f"{rt.title} {rt.version()} fp32 on CPU, {threads} thread(s)"
                    + (", INFERENCE_PRECISION_HINT f32" if rt.name == "openvino" else "")
                    + ("; all graph optimisations (ORT_ENABLE_ALL)" if rt.name == "ort" else "")
                    + ("; XNNPACK delegate" if rt.name == "litert" else ""))
    tname = _TIMERS[info["clock"]]
    method = (f"costlab profile --target {rt.name}: {len(samples)} samples (ops, blocks, networks) built from zoo "
              f"specs with random weights (seed 0), converted for {rt.title} (cached by content hash), one fixed "
              f"random-normal input; {warmup} warm-up calls; {repeats} timed calls; ops and blocks in chunks of 16 of "
              f"similar size, " + ("timed both interleaved call by call and in bursts of consecutive calls (stats."
                                   "median_ms, stats.burst_median_ms), latency_ms their geometric mean, the predictor the mean of the "
                                   "fits under every timing and network weight (provenance.op_timing, fit_options)"
                                   if timing else "interleaved call by call")
              + f", networks 4 taking turns; timer {tname}; latency_ms = median")
    noise = _noise([{"noise": r["noise"]} for r in rows]) if rows else {}
    return {
        "schema": "costlab.profile/1", "name": name,
        "device": f"{info['cpu_model']} ({info['logical_cpus']} logical CPUs), {info['platform']}",
        "device_class": "cpu", "runtime": runtime_text, "threads": int(threads), "batch": int(batch),
        "dtype": "float32", "fusion": fusion,
        "provenance": {
            "source": f"measured on this machine ({info['cpu_model']}) through {rt.title} {rt.version()}",
            "measured_by": f"costlab profile --target {rt.name}", "date": _dt.date.today().isoformat(),
            "method": method, "command": command or f"costlab profile --target {rt.name}", "machine": info,
            "wall_s": round(time.perf_counter() - t0, 1), "noise": noise,
            "conversion": {"jobs": pre["jobs"], "converted_first": pre["converted"], "seconds": convert_s},
            "fusion_evidence": evidence, "call_overhead_ms": round(call_ms, 6),
            "fit_options": {"network_weights": [1, 5, 20], "combine": "mean",
                            **({"op_timings": list(MODES)} if timing else {})},
            "sample_correction": ("op and block samples: latency_ms = (median - call_overhead_ms) x (1 - edge_share) "
                                  "(edge_share: the share of the runtime's per-op time in kernels that cover no exported "
                                  "node, its layout conversions: at the graph's edges, and in a block sample also "
                                  "inside it, which an nchwc rule prices in networks; stats.median_ms keeps the "
                                  "measured median), for each timing of "
                                  "provenance.op_timing before they are combined; networks as measured"
                                  if rt.per_op else "none (the runtime reports no per-op times)"),
            **({"op_timing": timing} if timing else {}),
            "skipped": [{"spec": sp, "reason": why} for sp, why in skipped],
        },
        "samples": samples,
    }


def _measure(rt, op_pairs: list, net_pairs: list, common: dict, arts: list, *, fusion) -> tuple:
    """(samples, measured rows, per-call ms, op-timing selection or None): the op and block samples
    timed interleaved and, where there are network samples, again in bursts (both kept: the
    fit averages over the timings, :func:`costlab.runtimes.op_timing.pick`), then the networks."""
    rows = measure_many(op_pairs, rt, chunk=16, burst=1, desc=f"profiling {rt.name} ops", **common)
    op_arts = list(arts)
    burst = None
    if rows and len(net_pairs) >= 2:      # the same ops in bursts of consecutive calls
        burst = measure_many(op_pairs, rt, chunk=16, burst=common["runs"], desc=f"profiling {rt.name} ops (bursts)",
                             **{**common, "skipped": [], "on_artifact": None})
    net_rows = []
    if net_pairs:
        net_rows = measure_many(net_pairs, rt, chunk=NETWORK_CHUNK, burst=_burst(common["runs"]),
                                desc=f"profiling {rt.name} networks", **common)
    call_ms = _call_overhead(rt, common["threads"], common["runs"], common["warmup"], common["clock"])
    shares = [boundary_share(rt, a, threads=common["threads"]) if rt.per_op else None for a in op_arts]
    nets_s = [_sample_of(r, None, call_ms) for r in net_rows]
    samples = [_sample_of(r, sh, call_ms) for r, sh in zip(rows, shares)]
    timing = None
    if burst is not None:
        by_key = {(b["spec"], tuple(b["input_shape"])): b for b in burst}
        for r, smp in zip(rows, samples):
            b = by_key.get((r["spec"], tuple(r["input_shape"])))
            smp["stats"]["burst_median_ms"] = round(b["median_ms"], 6) if b is not None else None
        picked, timing = pick({"fusion": fusion, "dtype": "float32"}, samples + nets_s)
        samples = picked[:len(samples)]
    return samples + nets_s, rows + net_rows, call_ms, timing


def _sample_of(r: dict, share: float | None, call_ms: float) -> dict:
    """A measured row as a profile sample. An op or block timed alone pays the runtime's
    per-call cost and the layout conversions at the graph's edges, which inside a network are
    paid once (per call) or not at all: both are taken out of every op and block sample (the
    share is of every kernel covering no exported node, so a block sample's conversions inside
    it go too; its features leave them out to match, :func:`costlab.calibrate.fit.profile_data`),
    ``(median - call) x (1 - edge share)`` (the edge share, from the runtime's per-op profile of
    that sample (:func:`boundary_share`), is a share of kernel time, which the per-call cost is
    not part of; the per-call cost is the median of the smallest model the runtime runs, a
    one-element ReLU), at least 5% of the median. ``share`` None: as measured."""
    smp = _sample({**{k: v for k, v in r.items() if v is not None}, "repeats": r["runs"], "number": 1})
    smp["stats"]["convert_s"] = r["convert_s"]
    smp["stats"]["noise"] = round(float(r["noise"]), 4)
    if share is not None and granularity(r["spec"]) != "network":
        # the share is of kernel time; the per-call cost is outside every kernel
        smp["latency_ms"] = round(corrected(r["median_ms"], share, call_ms), 6)
        smp["stats"]["edge_share"] = round(share, 4)
        smp["stats"]["call_overhead_ms"] = round(call_ms, 6)
    return smp


def _call_overhead(rt, threads: int, repeats: int, warmup: int, clock: str) -> float:
    """ms of one call of the smallest model (a ReLU of one element) through the runtime."""
    rows = measure_many([(_CALL_SPEC, (1, 1, 1, 1))], rt, threads=threads, runs=max(repeats, 21),
                        warmup=warmup, clock=clock, progress=False)
    return float(rows[0]["median_ms"])
