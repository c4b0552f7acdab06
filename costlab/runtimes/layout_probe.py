"""A runtime's blocked layout, read off its optimised graph of probe models (not assumed).

ONNX Runtime's CPU provider rewrites convolutions into its NCHWc layout and inserts
``ReorderInput`` / ``ReorderOutput`` nodes where tensors cross to ops without NCHWc kernels
(:mod:`costlab.latency.layout` replays that rewrite). Two numbers decide where: the block B
(``MlasNchwcGetBlockSize()``: 8 with AVX2, 16 with AVX-512) and the channel alignment A a
dense or depthwise conv needs to be padded up to the block. Both are read from the graph ORT
writes with ``SessionOptions.optimized_model_filepath`` (the graph it runs):

* B: a 1x1 conv of 36 output channels runs as an NCHWc conv whose weight has 36 channels
  rounded up to B (48 = block 16 on this AVX-512 EPYC, 2026-12-07, ORT 1.32);
* A: depthwise convs of :data:`ALIGN_PROBES` channels: those ORT converts are exactly those
  whose channels are multiples of A (4 here: 60, 64 and 72 converted; 57, 58 and 62 not).

:func:`discover_layout` returns the rule ``nchwc:B/A`` (None where the runtime writes no NCHWc
node: another runtime, or a CPU without MLAS's NCHWc kernels) and its evidence line.
"""
from __future__ import annotations

import os
import tempfile

ALIGN_PROBES = (57, 58, 60, 62, 64, 72)
BLOCKS = (4, 8, 16, 32, 64)
ALIGNS = (16, 8, 4, 2, 1)
_WIDTH = 36
_DOMAIN = "com.microsoft.nchwc"


def _dense(torch):
    return torch.nn.Sequential(torch.nn.Conv2d(32, _WIDTH, 1), torch.nn.ReLU(), torch.nn.Conv2d(_WIDTH, _WIDTH, 1))


def _depthwise(torch, c: int):
    return torch.nn.Sequential(torch.nn.Conv2d(c, c, 3, padding=1, groups=c), torch.nn.ReLU())


def optimized_graph(art, threads: int = 1):
    """The graph ONNX Runtime optimises ``art`` (an ONNX artifact) into (``GraphProto``)."""
    import onnx
    import onnxruntime as ort

    from .onnx_rt import _options

    with tempfile.TemporaryDirectory(prefix="costlab-ortopt-") as td:
        opt = os.path.join(td, "optimized.onnx")
        ort.InferenceSession(str(art.path), _options(threads, optimized=opt), providers=["CPUExecutionProvider"])
        return onnx.load(opt).graph


def _graph_of(runtime, model, shape, name: str, threads: int):
    import torch

    from . import probe_artifact

    torch.manual_seed(0)
    return optimized_graph(probe_artifact(runtime, model.eval(), shape, f"layout probe {name}"), threads)


def block_from_weight(padded: int, width: int = _WIDTH) -> int | None:
    """The block B whose round-up of ``width`` channels is ``padded`` (the smallest such)."""
    for b in BLOCKS:
        if -(-width // b) * b == padded:
            return b
    return None


def align_from(converted: dict[int, bool]) -> int | None:
    """The alignment A with ``c % A == 0`` exactly for the converted probes (None: no such A)."""
    for a in ALIGNS:
        if all((c % a == 0) == conv for c, conv in converted.items()):
            return a
    return None


def discover_layout(runtime, *, threads: int = 1) -> tuple[str | None, str]:
    """(``nchwc:B/A`` or None, the evidence line) for ``runtime`` (ONNX Runtime only)."""
    if runtime.name != "ort":
        return None, f"{runtime.title}: no blocked-layout probe (its own per-op output shows its layout kernels)"
    import torch

    g = _graph_of(runtime, _dense(torch), (1, 32, 8, 8), "dense", threads)
    inits = {i.name: tuple(i.dims) for i in g.initializer}
    convs = [n for n in g.node if n.domain == _DOMAIN and n.op_type == "Conv"]
    if not convs:
        return None, "no NCHWc node in ONNX Runtime's optimised graph of a 1x1 conv probe: no blocked layout"
    padded = [inits[n.input[1]][0] for n in convs if n.input[1] in inits and len(inits[n.input[1]]) == 4]
    block = block_from_weight(max(padded)) if padded else None
    if block is None:
        return None, f"NCHWc convs, but their weights ({padded}) show no block for {_WIDTH} channels"
    converted = {}
    for c in ALIGN_PROBES:
        gc = _graph_of(runtime, _depthwise(torch, c), (1, c, 8, 8), f"depthwise {c}", threads)
        converted[c] = any(n.domain == _DOMAIN and n.op_type == "Conv" for n in gc.node)
    align = align_from(converted)
    if align is None:
        return None, (f"NCHWc block {block}, but depthwise probes converted without a channel pattern "
                      f"({', '.join(f'{c}: {v}' for c, v in converted.items())})")
    return f"nchwc:{block}/{align}", (
        f"ONNX Runtime's optimised graph: a {_WIDTH}-channel conv padded to {max(padded)} (block {block}); depthwise "
        f"convs of {', '.join(str(c) for c, v in converted.items() if v)} channels in NCHWc, "
        f"{', '.join(str(c) for c, v in converted.items() if not v) or 'none'} not (alignment {align})")
