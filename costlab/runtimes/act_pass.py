"""Activations a runtime fuses into a conv but applies as a second pass, found by timing probes.

A fused activation costs nothing of its own when the conv kernel applies it in registers before
storing its result. ONNX Runtime's MLAS does that only for ReLU: its NCHWc convolutions set
``MLAS_CONV_KERNEL_FLAG_RELU_ACTIVATION`` for ReLU and ``MLAS_CONV_KERNEL_FLAG_OTHER_ACTIVATION``
for anything else (Clip = ReLU6, HardSigmoid, LeakyRelu, ...), which ``DoActivation`` then applies
with ``MlasActivation`` over each finished output row (``onnxruntime/core/mlas/lib/snchwc.cpp``,
``ComputeKernelFlags`` and ``DoActivation``, microsoft/onnxruntime at d018c97). Measured here
(2026-12-07, ORT 1.32, 1 thread, the per-op profiler, `costlab bench micro_conv:cin=384,cout=384,
groups=384,act=A --input-shape 1x384x14x14 --runs 41`): the depthwise conv's kernel took 0.029 ms
with ReLU and 0.048 ms with ReLU6; at 96 channels, 112x112, stride 2: 0.108 and 0.169 ms. costlab
priced the fused ReLU6 at nothing, so MobileNet v2 (ReLU6 after 35 of its 52 convs) came out
28-39% low in the leave-family-out folds of a profile measured that day.

:func:`discover_passes` times, through the runtime's per-op profile, a 1x1 conv + ReLU followed
by a 3x3 depthwise conv (96 channels, 56x56) ending in ReLU6, in ReLU and in nothing. The
depthwise kernel's time over the 1x1 kernel's time in the same run (a ratio, so the machine's
speed between probes cancels) tells: a clamp is free in registers, so a ReLU6 kernel over
:data:`SLOW` x the larger of the other two shares means the runtime applies its non-ReLU
activations after the kernel, and the profile records ``pass:KIND`` for each kind of
:data:`PASS_KINDS` it fuses (their output elements are then fused work,
:mod:`costlab.latency.features`). ReLU6 alone decides, because a richer activation costs work
even in registers: OpenVINO 2026.4's hardswish made its depthwise kernel 1.1-1.3x slower here,
its ReLU6 0.92-1.09x, ORT 1.32's ReLU6 1.33-1.56x (every probe run, 2026-12-07). Found here:
ORT 1.32 all of them; OpenVINO none. A runtime without per-op times (LiteRT's Python
interpreter: XNNPACK applies a fused RELU6 as the output clamp of its micro-kernels) is not
probed.
"""
from __future__ import annotations

import statistics

import torch
import torch.nn as nn

#: the activations (costlab op kinds) a runtime applies after its kernels the way it applies ReLU6:
#: ONNX Runtime's FusedConv activations other than ReLU (and the exponentials, fused work anyway)
PASS_KINDS = ("hardtanh", "hardswish", "hardsigmoid", "leaky_relu")
PROBES = {"relu": torch.relu, "none": None, "relu6": torch.nn.functional.relu6}
CHANNELS, SIDE = 96, 56
SHAPE = (1, CHANNELS, SIDE, SIDE)
SLOW = 1.2           # a pass when ReLU6's depthwise share is this many times the others'
REPEATS = 5          # profiled runs of 20 inferences per probe, the probes interleaved


class _Probe(nn.Module):
    """A 1x1 conv + ReLU (the reference kernel), then a 3x3 depthwise conv + ``act``."""

    def __init__(self, act):
        super().__init__()
        self.stem = nn.Conv2d(CHANNELS, CHANNELS, 1)
        self.conv = nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1, groups=CHANNELS)
        self.act = act

    def forward(self, x):
        y = self.conv(torch.relu(self.stem(x)))
        return torch.nn.functional.max_pool2d(y if self.act is None else self.act(y), 2)


def _kernel_ms(ops, module: str) -> float | None:
    """Summed ms of the kernels mapped to ``module`` (:func:`costlab.runtimes.layers.map_kernels`:
    the ONNX exporter names nodes by module scope, '/conv/Conv')."""
    from .layers import map_kernels

    got = [k["ms"] for k in map_kernels(ops, {"conv", "stem"}) if k["layer"] == module]
    return sum(got) if got else None


def is_pass(shares: dict[str, float]) -> tuple[bool, float]:
    """(does ReLU6 run as a pass, the baseline share). ``shares``: probe name -> median depthwise
    / 1x1 kernel time of the 'relu6', 'relu' and 'none' probes."""
    base = max(shares["relu"], shares["none"])
    return shares["relu6"] > SLOW * base, base


def discover_passes(runtime, rules, *, threads: int = 1) -> tuple[list[str], str]:
    """(the ``pass:KIND`` rules, the evidence line), for a runtime whose rules fuse conv + act."""
    from . import probe_artifact

    if "conv+act" not in rules:
        return [], "not probed: the runtime fuses no activation into a conv"
    if not runtime.per_op:
        return [], f"not probed: {runtime.title} reports no per-op times"
    sessions = {}
    for name, act in PROBES.items():
        torch.manual_seed(0)
        art = probe_artifact(runtime, _Probe(act).eval(), SHAPE, f"activation pass probe {name}")
        sessions[name] = runtime.load(art, threads)
    shares: dict[str, list[float]] = {a: [] for a in PROBES}
    for _ in range(REPEATS):
        for name, s in sessions.items():
            ops = s.op_times(20) or []
            dw, ref = _kernel_ms(ops, "conv"), _kernel_ms(ops, "stem")
            if dw and ref:
                shares[name].append(dw / ref)
    for s in sessions.values():
        s.close()
    if not all(shares.values()):
        return [], "not probed: the per-op profile named no depthwise or 1x1 kernel"
    med = {a: statistics.median(v) for a, v in shares.items()}
    slow, base = is_pass(med)
    out = [f"pass:{k}" for k in PASS_KINDS if f"apart:{k}" not in rules] if slow else []
    text = ", ".join(f"{a} {med[a]:.3f}" for a in PROBES)
    return out, (f"3x3 depthwise kernel / 1x1 kernel ({CHANNELS} channels, {SIDE}x{SIDE}, median of {REPEATS} "
                 f"profiles of 20 runs): {text}; ReLU6 {med['relu6'] / base:.2f}x the larger of ReLU and none "
                 f"({'over' if slow else 'not over'} {SLOW:g}x): " + (", ".join(out) or "no pass"))
