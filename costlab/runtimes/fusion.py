"""A runtime's fusion rules, found from its own per-op output (not assumed).

For every fusion rule of costlab's latency features (:data:`costlab.latency.features.FUSION_RULES`)
there is one tiny probe model holding just that pattern (a conv then an activation, an add then
an activation, ...). The probe is converted and run through the runtime, and the runtime says
what ran:

* ONNX Runtime and OpenVINO: per-kernel profiles (:meth:`Session.op_times`) list which exported
  nodes each kernel covers; the rule holds when the pattern's second node is covered by the
  same kernel as its first (ORT: the optimised graph; OpenVINO: ``originalLayersNames``);
* LiteRT: the converted graph's op list is its kernel list (before XNNPACK, which takes the
  whole graph): the rule holds when the second op is not in the list (BN folded into the conv
  weights, the activation a ``fused_activation_function``).

``conv+bn`` also holds by export for every ONNX/TFLite runtime here: batch norm in eval mode is
folded into the conv weights by the exporter / converter (the probe shows no BatchNormalization).
"""
from __future__ import annotations

from functools import partial

import torch
import torch.nn as nn

from .base import Runtime


def _tail(y):
    """A last op no runtime fuses into the pattern (a runtime names a graph's last node after
    its output and may treat it apart)."""
    return torch.nn.functional.max_pool2d(y, 2)


class _ConvBn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8)

    def forward(self, x):
        return _tail(self.bn(self.conv(x)))


class _ConvAct(nn.Module):
    """A conv, then an activation (ReLU unless given)."""

    def __init__(self, act=torch.relu):
        super().__init__()
        self.conv, self.act = nn.Conv2d(8, 8, 3, padding=1), act

    def forward(self, x):
        return _tail(self.act(self.conv(x)))


class _LinearAct(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)

    def forward(self, x):
        return torch.softmax(torch.relu(self.fc(x.flatten(1)[:, :64])), 1)


class _BnAct(nn.Module):
    """A batch norm that cannot be folded (it follows an add), then an activation."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(8)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-1, 1)
            self.bn.running_var.uniform_(0.5, 2)

    def forward(self, x):
        return _tail(torch.relu(self.bn(x + 1.0)))


class _AddAct(nn.Module):
    def forward(self, x):
        return _tail(torch.relu(x + x.flip(1)))


class _ConvAdd(nn.Module):
    """A basic residual block, as inside a network: the shortcut is another conv's result, not
    the graph input (ONNX Runtime fuses the add into the conv only when both are in its blocked
    NCHWc layout, which a graph input is not), and not the fused conv's own input (OpenVINO
    fuses the add as an in-place sum into the shortcut's buffer, impossible while the conv
    still reads it); 32 channels (a multiple of every CPU's block)."""

    def __init__(self):
        super().__init__()
        self.stem, self.conv1 = nn.Conv2d(8, 32, 3, padding=1), nn.Conv2d(32, 32, 3, padding=1)
        self.conv = nn.Conv2d(32, 32, 3, padding=1)

    def forward(self, x):
        y = torch.relu(self.stem(x))
        return _tail(torch.relu(self.conv(torch.relu(self.conv1(y))) + y))


class _CatCopy(nn.Module):
    def forward(self, x):
        y = torch.cat([x, x.flip(1)], 1)
        b, c, h, w = y.shape
        return _tail(y.view(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w))


# activations beyond the ReLU family: when conv+act holds with ReLU but one of these does not join
# the conv's kernel, the profile gets the modifier 'apart:KIND' (ONNX Runtime 1.32 fuses hardswish
# into its NCHWc conv but runs SiLU as a QuickGelu kernel; TFLite fuses RELU / RELU6 / TANH only).
# ONNX exports SiLU as x * Sigmoid(x): the Mul is its last node.
ACT_PROBES = {"silu": (partial(_ConvAct, torch.nn.functional.silu), ("Conv", "Mul"), "MUL"),
              "hardswish": (partial(_ConvAct, torch.nn.functional.hardswish), ("Conv", "HardSwish"), "HARD_SWISH")}

# rule -> (probe, ONNX op types of the pattern's first and second node, TFLite op of the second)
PROBES = {
    "conv+bn": (_ConvBn, ("Conv", "BatchNormalization"), "BATCH_NORM"),
    "conv+act": (_ConvAct, ("Conv", "Relu"), "RELU"),
    "linear+act": (_LinearAct, ("Gemm", "Relu"), "RELU"),
    "bn+act": (_BnAct, ("BatchNormalization", "Relu"), "RELU"),
    "add+act": (_AddAct, ("Add", "Relu"), "RELU"),
    "conv+add": (_ConvAdd, ("Conv", "Add"), "ADD"),
    "cat+copy": (_CatCopy, ("Concat", "Transpose"), "TRANSPOSE"),
}
SHAPE = (1, 8, 16, 16)


def _kinds(path) -> dict[str, str]:
    """Exported node name (and output tensor name) -> ONNX op type."""
    import onnx

    out = {}
    for n in onnx.load(str(path)).graph.node:
        out[n.name] = n.op_type
        for t in n.output:
            out.setdefault(t, n.op_type)
    return out


def _rule_from_kernels(ops, first: str, second: str, kinds: dict[str, str]) -> tuple[bool, str]:
    """Did one kernel cover a node of type ``first`` and one of type ``second``? (OpenVINO
    appends '/WithoutBiases' to a conv it splits off its bias.)"""
    def kind(name: str) -> str:
        return kinds.get(name) or kinds.get(name.rsplit("/", 1)[0], "")

    own = [o for o in ops if any(kind(c) == second for c in o.covers)]
    for o in own:
        covered = {kind(c) for c in o.covers}
        if first in covered and second in covered:
            return True, f"kernel '{o.name}' ({o.op_type}) covers {', '.join(o.covers)}"
    if own:
        return False, f"'{second}' runs as its own kernel ({', '.join(o.name for o in own)})"
    if second in kinds.values():
        # in the export but covered by no kernel: the runtime rewrote it (e.g. a channel shuffle
        # into one ShuffleChannels kernel); it did not join the first op's kernel
        return False, f"'{second}' is in the export but no kernel reports it (rewritten by the runtime)"
    return True, f"no '{second}' node in the export (folded away by the exporter)"


def discover(runtime: Runtime, *, threads: int = 1) -> tuple[list[str], dict]:
    """(fusion rules that hold, per rule the evidence line), from the runtime's own output."""
    rules, evidence = [], {}
    for rule, probe in PROBES.items():
        held, evidence[rule] = _probe(runtime, rule, probe, threads)
        if held:
            rules.append(rule)
    # costlab's combined rule, when both parts hold
    if "conv+bn" in rules and "conv+act" in rules:
        rules.append("conv+bn+act")
    if "conv+act" in rules:
        others = {act: _probe(runtime, f"conv+{act}", probe, threads) for act, probe in ACT_PROBES.items()}
        for act, (held, line) in others.items():
            evidence[f"apart:{act}"] = line
            if not held:
                rules.append(f"apart:{act}")
    return rules, evidence


def _probe(runtime: Runtime, name: str, probe, threads: int) -> tuple[bool, str]:
    """(does the probe's second op join its first op's kernel, the evidence line)."""
    from . import probe_artifact
    from .litert_rt import graph_ops

    cls, (first, second), tfl = probe
    torch.manual_seed(0)
    art = probe_artifact(runtime, cls().eval(), SHAPE, f"fusion probe {name}")
    if runtime.name == "litert":
        names = graph_ops(art.path)
        return tfl not in names, f"converted graph ops: {' '.join(names)}"
    ops = runtime.load(art, threads).op_times(3) or []
    return _rule_from_kernels(ops, first, second, _kinds(art.path))
