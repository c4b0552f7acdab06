"""Activation buffers and their lifetimes over a schedule, read from the graph IR.

A *step* is one materialising node (a row of the report: views and free ops move no data and
take no step), in the traced execution order. A *buffer* is one piece of storage: the result
of a node, or a graph input, and everything written into it in place afterwards. It lives
from the step that first writes it to the step that last reads it (both included, as TFLite's
arena planner counts them); a graph output lives to the last step; the model input lives
from step 0.

Two sets of rules say which results share storage:

* ``traced`` (what torch eager materialises): views alias their base (:meth:`Graph.roots`),
  ops flagged in place (``relu_``, ``hardtanh_``, ``add_``) write into their first input;
  every other op writes a new buffer.
* ``mcu`` (a microcontroller runtime executing layer by layer, as MCUNet's TinyEngine):
  the traced rules, plus normalisation and activation ops run in place on their input
  when they are its last reader (batch norm folded, activations fused into the conv), and,
  with ``inplace_depthwise``, a depthwise conv that is its input's last reader writes its
  result over its input, holding max(in, out) plus a buffer of one output channel
  (TinyEngine's in-place depthwise convolution, Lin et al., MCUNet, NeurIPS 2020).

Only a node's first result is an activation unless another node reads its other results
(batch norm's saved statistics and pooling indices are never read in inference).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import ops
from ..ir import Graph, Node, Source

RULES = ("traced", "mcu")
_FUSED_CATEGORIES = ("norm", "activation")


@dataclass
class Buffer:
    """One piece of storage: ``chain`` lists ``(step, bytes)`` of each value written into it,
    the first by the step that creates it; ``last`` is the step of its last reader."""

    id: int
    key: tuple
    chain: list[tuple[int, int]]
    last: int
    readers: list[int] = field(default_factory=list)   # steps that read it (in-place writers too)
    pinned: bool = False                                 # a graph output: lives to the end

    @property
    def first(self) -> int:
        return self.chain[0][0]

    @property
    def size(self) -> int:
        return max(b for _, b in self.chain)


@dataclass
class Lifetimes:
    """Buffers of one schedule under one set of rules."""

    graph: Graph
    rules: str
    steps: list[int]                  # node id per step
    buffers: list[Buffer]
    scratch: list[int]                # extra bytes a step needs only while it runs
    creates: list[int]                # per step: the buffer it creates, -1 if none (in place)
    writes: list[int]                 # per step: the buffer its result is in, -1 if none
    reads: list[list[int]]            # per step: the buffers it reads
    deps: list[list[int]]             # per step: steps that must run before it
    out_bytes: list[int]              # per step: bytes of its result
    in_bytes: list[int]               # per step: bytes of its distinct activation inputs

    @property
    def n(self) -> int:
        return len(self.steps)

    def live(self) -> np.ndarray:
        """Bytes live at each step (buffers alive at it, plus its scratch)."""
        diff = np.zeros(self.n + 1, dtype=np.int64)

        def add(a: int, b: int, v: int) -> None:
            if a <= b and v:
                diff[a] += v
                diff[b + 1] -= v

        for buf in self.buffers:
            chain = buf.chain
            for j, (p, s) in enumerate(chain):
                if j:
                    add(p, p, max(chain[j - 1][1], s))
                start = p if j == 0 else p + 1
                end = chain[j + 1][0] - 1 if j + 1 < len(chain) else buf.last
                add(start, end, s)
        return np.cumsum(diff[:-1]) + np.asarray(self.scratch, dtype=np.int64)


def _value_key(s: Source, roots: list[tuple], free: list[bool]) -> tuple | None:
    """The stored value a node input reads: (root, output index)."""
    if s.kind == "input":
        return (("input", s.ref), 0)
    if s.kind != "node":
        return None
    if not free[s.ref]:
        return (("node", s.ref), s.index)
    return (roots[s.ref], 0)


def _plane_bytes(n: Node, fb: int) -> int:
    """Bytes of one output channel of a conv (the in-place depthwise scratch buffer)."""
    out = n.outputs[0]
    channels = out.shape[1] if len(out.shape) >= 3 else 1
    return ops.tensor_bytes(out, fb) // max(int(channels), 1)


def _may_overwrite(n: Node, rules: str, inplace_depthwise: bool) -> str | None:
    """Why ``n`` may write over its first input under ``rules`` (None: it may not)."""
    if n.inplace:
        return "inplace"
    if rules != "mcu" or not n.outputs:
        return None
    acts = [s for s in n.sources if s.kind in ("node", "input")]
    if len(acts) != 1:
        return None
    if ops.category_of(n.op) in _FUSED_CATEGORIES and n.outputs[0].numel == n.inputs[0].numel:
        return "fused"
    if inplace_depthwise and ops.conv_class(n) == "depthwise" and n.outputs[0].shape[0] == n.inputs[0].shape[0]:
        return "depthwise"
    return None


def build(graph: Graph, dtype: str = "float32", rules: str = "traced", inplace_depthwise: bool = True
          ) -> Lifetimes:
    """The buffers of ``graph`` in its traced order under ``rules`` (``traced`` or ``mcu``);
    floating tensors take ``dtype``'s element size."""
    if rules not in RULES:
        raise ValueError(f"unknown memory rules {rules!r}; use {' or '.join(RULES)}")
    fb = ops.dtype_bytes(dtype)
    free = ops.free_mask(graph)
    roots = graph.roots(free)
    steps = [n.id for n in graph.nodes if not free[n.id]]
    pos = {nid: i for i, nid in enumerate(steps)}
    # which steps read each value (to know whether a step is the last reader of its input)
    value_readers: dict[tuple, list[int]] = {}
    for i, nid in enumerate(steps):
        for s in graph.nodes[nid].sources:
            k = _value_key(s, roots, free)
            if k is not None:
                value_readers.setdefault(k, []).append(i)
    out_keys = {_value_key(s, roots, free) for s in graph.outputs}

    buffers: list[Buffer] = []
    buf_of: dict[tuple, int] = {}
    values_in: dict[int, list[tuple]] = {}       # buffer -> the value keys written into it
    writer: dict[tuple, int] = {}                # value -> step that wrote it
    current_readers: dict[int, list[int]] = {}   # buffer -> readers of its current value
    for i, t in enumerate(graph.inputs):
        k = (("input", i), 0)
        buf_of[k] = len(buffers)
        values_in[len(buffers)] = [k]
        buffers.append(Buffer(len(buffers), k, [(0, ops.tensor_bytes(t, fb))], 0))

    n_steps = len(steps)
    scratch = [0] * n_steps
    creates, writes = [-1] * n_steps, [-1] * n_steps
    reads: list[list[int]] = [[] for _ in range(n_steps)]
    deps: list[list[int]] = [[] for _ in range(n_steps)]
    out_bytes, in_bytes = [0] * n_steps, [0] * n_steps

    def new_buffer(key: tuple, step: int, size: int) -> int:
        b = len(buffers)
        buffers.append(Buffer(b, key, [(step, size)], step))
        buf_of[key] = b
        values_in[b] = [key]
        writer[key] = step
        return b

    for i, nid in enumerate(steps):
        n = graph.nodes[nid]
        seen: list[int] = []
        for s, meta_in in zip(n.sources, n.inputs):
            k = _value_key(s, roots, free)
            if k is None:
                continue
            if k not in buf_of:      # a secondary result read by someone: its own buffer from its writer
                wstep = pos.get(k[0][1], i) if k[0][0] == "node" else 0
                src = graph.nodes[k[0][1]] if k[0][0] == "node" else None
                meta = src.outputs[k[1]] if src is not None and k[1] < len(src.outputs) else n.inputs[0]
                new_buffer(k, wstep, ops.tensor_bytes(meta, fb))
            b = buf_of[k]
            if k in writer and writer[k] not in deps[i] and writer[k] != i:
                deps[i].append(writer[k])
            if b not in seen:
                seen.append(b)
                in_bytes[i] += ops.tensor_bytes(meta_in, fb)
        reads[i] = seen
        size = ops.tensor_bytes(n.outputs[0], fb) if n.outputs else 0
        out_bytes[i] = size
        why = _may_overwrite(n, rules, inplace_depthwise)
        first_key = next((_value_key(s, roots, free) for s in n.sources if s.kind in ("node", "input")), None)
        if why is not None and first_key is not None and why != "inplace":
            later = [r for vk in values_in[buf_of[first_key]] for r in value_readers.get(vk, []) if r > i]
            if later or any(vk in out_keys for vk in values_in[buf_of[first_key]]):
                why = None
        if why is not None and first_key is not None and n.outputs:
            b = buf_of[first_key]
            buf = buffers[b]
            # write-after-read: the readers of the value being overwritten run first
            deps[i] += [r for r in current_readers.get(b, []) if r != i and r not in deps[i]]
            buf.chain.append((i, size))
            key = (("node", nid), 0)
            buf_of[key] = b
            values_in[b].append(key)
            writer[key] = i
            current_readers[b] = []
            writes[i] = b
            if why == "depthwise":
                scratch[i] = _plane_bytes(n, fb)
        elif n.outputs:
            b = new_buffer((("node", nid), 0), i, size)
            creates[i] = writes[i] = b
        for b in seen:
            buffers[b].last = max(buffers[b].last, i)
            buffers[b].readers.append(i)
            current_readers.setdefault(b, []).append(i)
    last = max(n_steps - 1, 0)
    for k in out_keys:
        if k in buf_of:
            buffers[buf_of[k]].last = last
            buffers[buf_of[k]].pinned = True
    return Lifetimes(graph, rules, steps, buffers, scratch, creates, writes, reads, deps, out_bytes, in_bytes)
