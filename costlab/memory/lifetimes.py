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
* ``converted`` (a model after a converter such as LiteRT's: batch norm folded and activations
  fused into the op before them when it is their input's only reader; nothing else in place, not
  even torch's in-place ops): the buffers TFLite Micro plans.
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

RULES = ("traced", "mcu", "converted")
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
    buffer_of: dict = field(default_factory=dict)   # value key (see value_key) -> buffer id

    @property
    def n(self) -> int:
        return len(self.steps)

    def live(self) -> np.ndarray:
        """Bytes live at each step (buffers alive at it, plus its scratch)."""
        if not self.n:
            return np.zeros(0, dtype=np.int64)
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


def value_key(s: Source, roots: list[tuple], free: list[bool]) -> tuple | None:
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
    fusable = ops.category_of(n.op) in _FUSED_CATEGORIES and bool(n.outputs) \
        and n.outputs[0].numel == n.inputs[0].numel
    if rules == "converted":      # a converter folds / fuses these; nothing else is in place
        return "fused" if fusable and len([s for s in n.sources if s.kind in ("node", "input")]) == 1 else None
    if n.inplace:
        return "inplace"
    if rules != "mcu" or not n.outputs:
        return None
    acts = [s for s in n.sources if s.kind in ("node", "input")]
    if len(acts) != 1:
        return None
    if fusable:
        return "fused"
    if inplace_depthwise and ops.conv_class(n) == "depthwise" and n.outputs[0].shape[0] == n.inputs[0].shape[0]:
        return "depthwise"
    return None


class _Builder:
    """Walks the steps once, giving each result a buffer (new, or its input's when it may
    overwrite it)."""

    def __init__(self, graph: Graph, fb: int, rules: str, inplace_depthwise: bool):
        self.g, self.fb, self.rules, self.inplace_dw = graph, fb, rules, inplace_depthwise
        self.free = ops.free_mask(graph)
        self.roots = graph.roots(self.free)
        self.steps = [n.id for n in graph.nodes if not self.free[n.id]]
        self.pos = {nid: i for i, nid in enumerate(self.steps)}
        # which steps read each value (to know whether a step is the last reader of its input)
        self.value_readers: dict[tuple, list[int]] = {}
        for i, nid in enumerate(self.steps):
            for s in graph.nodes[nid].sources:
                k = self.key(s)
                if k is not None:
                    self.value_readers.setdefault(k, []).append(i)
        self.out_keys = {self.key(s) for s in graph.outputs}
        self.buffers: list[Buffer] = []
        self.buf_of: dict[tuple, int] = {}
        self.values_in: dict[int, list[tuple]] = {}       # buffer -> the value keys written into it
        self.writer: dict[tuple, int] = {}                # value -> step that wrote it
        self.current_readers: dict[int, list[int]] = {}   # buffer -> readers of its current value
        m = len(self.steps)
        self.scratch, self.creates, self.writes = [0] * m, [-1] * m, [-1] * m
        self.reads: list[list[int]] = [[] for _ in range(m)]
        self.deps: list[list[int]] = [[] for _ in range(m)]
        self.out_bytes, self.in_bytes = [0] * m, [0] * m
        for i, t in enumerate(graph.inputs):
            self.new_buffer((("input", i), 0), 0, ops.tensor_bytes(t, fb), writer=False)

    def key(self, s: Source) -> tuple | None:
        return value_key(s, self.roots, self.free)

    def new_buffer(self, key: tuple, step: int, size: int, writer: bool = True) -> int:
        b = len(self.buffers)
        self.buffers.append(Buffer(b, key, [(step, size)], step))
        self.buf_of[key] = b
        self.values_in[b] = [key]
        if writer:
            self.writer[key] = step
        return b

    def read(self, i: int, n: Node) -> None:
        seen: list[int] = []
        for s, meta_in in zip(n.sources, n.inputs):
            k = self.key(s)
            if k is None:
                continue
            if k not in self.buf_of:      # a secondary result read by someone: its own buffer from its writer
                src = self.g.nodes[k[0][1]] if k[0][0] == "node" else None
                meta = src.outputs[k[1]] if src is not None and k[1] < len(src.outputs) else meta_in
                self.new_buffer(k, self.pos.get(k[0][1], i) if src is not None else 0, ops.tensor_bytes(meta, self.fb))
            b = self.buf_of[k]
            if k in self.writer and self.writer[k] not in self.deps[i] and self.writer[k] != i:
                self.deps[i].append(self.writer[k])
            if b not in seen:
                seen.append(b)
                self.in_bytes[i] += ops.tensor_bytes(meta_in, self.fb)
        self.reads[i] = seen

    def done_after(self, b: int, i: int) -> bool:
        """No step after ``i`` reads what buffer ``b`` holds, and it is not a graph output."""
        later = [r for vk in self.values_in[b] for r in self.value_readers.get(vk, []) if r > i]
        return not later and not any(vk in self.out_keys for vk in self.values_in[b])

    def overwrites(self, i: int, n: Node) -> int | None:
        """The buffer ``n`` writes its result over, if any."""
        why = _may_overwrite(n, self.rules, self.inplace_dw)
        acts = [self.key(s) for s in n.sources if s.kind in ("node", "input")]
        if why is None and self.rules == "mcu" and n.outputs:
            return self.accumulate(i, n, acts)
        if why is None or not acts or not n.outputs:
            return None
        b = self.buf_of[acts[0]]
        if why != "inplace" and not self.done_after(b, i):
            return None
        if why == "depthwise":
            self.scratch[i] = _plane_bytes(n, self.fb)
        return b

    def accumulate(self, i: int, n: Node, acts: list[tuple]) -> int | None:
        """MCU rules: a residual add runs in place on an input no later step reads, and a conv
        whose result (through in-place norms and activations) only feeds such an add accumulates
        into the add's other input (TinyEngine fuses the add into the conv)."""
        size = n.outputs[0].numel
        if ops.category_of(n.op) == "binary" and len(acts) == 2:
            for k in acts:
                b = self.buf_of[k]
                if self.buffers[b].size == ops.tensor_bytes(n.outputs[0], self.fb) and self.done_after(b, i):
                    return b
            return None
        if ops.kind_of(n.op) != "conv":
            return None
        key, j = (("node", n.id), 0), i
        while True:       # follow the result through single-reader in-place norms / activations
            readers = self.value_readers.get(key, [])
            if len(readers) != 1:
                return None
            j = readers[0]
            m = self.g.nodes[self.steps[j]]
            if ops.category_of(m.op) in _FUSED_CATEGORIES and m.outputs and m.outputs[0].numel == size:
                key = (("node", m.id), 0)
                continue
            break
        if ops.category_of(m.op) != "binary" or len(m.sources) != 2 or m.outputs[0].numel != size:
            return None
        other = [self.key(s) for s in m.sources if self.key(s) != key]
        if len(other) != 1 or other[0] not in self.buf_of:
            return None
        b = self.buf_of[other[0]]
        between = [r for vk in self.values_in[b] for r in self.value_readers.get(vk, []) if i <= r < j]
        if between or not self.done_after(b, j) or self.buffers[b].size != ops.tensor_bytes(n.outputs[0], self.fb):
            return None
        self.values_in[b] = []        # the shortcut is now summed into the conv's result
        return b

    def write(self, i: int, n: Node) -> None:
        size = ops.tensor_bytes(n.outputs[0], self.fb) if n.outputs else 0
        self.out_bytes[i] = size
        b = self.overwrites(i, n)
        if b is not None:
            # write-after-read: the readers of the value being overwritten run first
            self.deps[i] += [r for r in self.current_readers.get(b, []) if r != i and r not in self.deps[i]]
            self.buffers[b].chain.append((i, size))
            key = (("node", n.id), 0)
            self.buf_of[key] = b
            self.values_in[b].append(key)
            self.writer[key] = i
            self.current_readers[b] = []
            self.writes[i] = b
        elif n.outputs:
            b = self.new_buffer((("node", n.id), 0), i, size)
            self.creates[i] = self.writes[i] = b
        for r in self.reads[i]:
            self.buffers[r].last = max(self.buffers[r].last, i)
            self.buffers[r].readers.append(i)
            self.current_readers.setdefault(r, []).append(i)

    def run(self) -> Lifetimes:
        for i, nid in enumerate(self.steps):
            n = self.g.nodes[nid]
            self.read(i, n)
            self.write(i, n)
        last = max(len(self.steps) - 1, 0)
        for k in self.out_keys:
            if k in self.buf_of:
                self.buffers[self.buf_of[k]].last = last
                self.buffers[self.buf_of[k]].pinned = True
        return Lifetimes(self.g, self.rules, self.steps, self.buffers, self.scratch, self.creates, self.writes,
                         self.reads, self.deps, self.out_bytes, self.in_bytes, dict(self.buf_of))


def build(graph: Graph, dtype: str = "float32", rules: str = "traced", inplace_depthwise: bool = True
          ) -> Lifetimes:
    """The buffers of ``graph`` in its traced order under ``rules`` (``traced`` or ``mcu``);
    floating tensors take ``dtype``'s element size."""
    if rules not in RULES:
        raise ValueError(f"unknown memory rules {rules!r}; use {' or '.join(RULES)}")
    return _Builder(graph, ops.dtype_bytes(dtype), rules, inplace_depthwise).run()
