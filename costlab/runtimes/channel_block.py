"""A runtime's channel block for depthwise convolutions, found by timing probes (not assumed).

Some runtimes run a depthwise conv through a fast kernel only when its channel count is a
multiple of some block. Measured here (2026-12-07, 1 thread, AMD EPYC, `costlab bench
micro_conv:cin=C,cout=C,k=3,stride=1,groups=C --input-shape 1xCx28x28 --runs 41`): ONNX Runtime
1.32 took 0.097-0.102 ms at C = 58 and 62 and 0.026-0.035 ms at C = 48, 52, 56, 60, 64 (ShuffleNet
v2 x1's 58-channel stage-2 depthwise convs are ~3x slower per MAC than the rest of its network);
OpenVINO 2026.4 and LiteRT 2.3 showed no such pattern. (ORT's NCHWc graph transform takes a
grouped conv only when its output channels are a multiple of the NCHWc block:
``onnxruntime/core/optimizer/nchwc_transformer.cc``, ``TransformConv``, microsoft/onnxruntime at
0ef8ce5; the 4-channel pattern measured here is not that rule, which is why the block is measured,
not read off a source.)

:func:`discover_block` times 3x3 depthwise probes of :data:`PROBE_CHANNELS` channels at 28x28
and returns the block N whose pattern they show (every probe with C % N != 0 slow, every other
one not), which a profile records as the rule ``block:N``: its depthwise convs off the block are
then the latency class ``conv_dw_offblock`` (:mod:`costlab.latency.features`). No pattern, or no
slow probe: no rule.
"""
from __future__ import annotations

PROBE_CHANNELS = (64, 62, 60, 56, 48)
PROBE_SIDE = 28
CANDIDATES = (2, 4, 8, 16)
SLOW = 1.6            # a probe is slow at this many times the 64-channel probe's time per channel


def probe_spec(c: int) -> tuple[str, tuple[int, int, int, int]]:
    return f"micro_conv:cin={c},cout={c},k=3,stride=1,groups={c}", (1, c, PROBE_SIDE, PROBE_SIDE)


def block_from_times(ms: dict[int, float]) -> tuple[int | None, list[int]]:
    """(the block N the probe times show, or None; the slow channel counts). ``ms``: channels ->
    median ms; a probe is slow when its time per channel exceeds :data:`SLOW` x the 64-channel
    probe's (64 is a multiple of every candidate block)."""
    base = ms[64] / 64
    slow = sorted(c for c, t in ms.items() if t / c > SLOW * base)
    if not slow:
        return None, slow
    for n in CANDIDATES:
        if all((c % n != 0) == (c in slow) for c in ms):
            return n, slow
    return None, slow


def discover_block(runtime, *, threads: int = 1, runs: int = 21, clock: str = "auto") -> tuple[int | None, str]:
    """(the runtime's depthwise channel block or None, the evidence line)."""
    from .bench import measure_many

    rows = measure_many([probe_spec(c) for c in PROBE_CHANNELS], runtime, threads=threads, runs=runs, warmup=3,
                        clock=clock, chunk=len(PROBE_CHANNELS), progress=False)
    ms = {c: float(r["median_ms"]) for c, r in zip(PROBE_CHANNELS, rows)}
    block, slow = block_from_times(ms)
    times = ", ".join(f"{c}: {1000 * ms[c]:.1f} us" for c in PROBE_CHANNELS)
    verdict = (f"slow (> {SLOW:g}x the 64-channel time per channel): {', '.join(map(str, slow)) or 'none'}; "
               + (f"block:{block}" if block else "no channel block"))
    return block, f"3x3 depthwise at {PROBE_SIDE}x{PROBE_SIDE}, median of {runs}: {times}; {verdict}"
