"""The graph IR every pass reads: one node per executed op, in execution order.

A :class:`Node` records what the tracer saw at the torch dispatch level: the aten op,
the module that issued it (innermost module path, e.g. ``features.3.conv.1``), input
and output shapes and dtypes, which node produced each tensor input (data-flow edges),
which inputs were parameters or buffers, and whether the op only re-views memory
(view, reshape without copy, transpose, split) or materialises a result.

Nodes are plain data; formulas (:mod:`costlab.ops`) turn them into counts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TensorMeta:
    shape: tuple[int, ...]
    dtype: str  # torch dtype name without 'torch.', e.g. 'float32'

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= int(d)
        return n


@dataclass(frozen=True)
class Source:
    """Where a tensor input of a node comes from.

    ``kind`` is ``'node'`` (output ``index`` of node ``ref``), ``'input'`` (graph
    input number ``ref``), ``'param'`` / ``'buffer'`` (``ref`` is its qualified name),
    or ``'const'`` (a tensor created outside the model's parameters, e.g. a literal).
    """

    kind: str
    ref: Any
    index: int = 0


@dataclass
class Node:
    id: int
    op: str                       # aten overload, e.g. 'aten.convolution.default'
    kind: str                     # costlab op kind, e.g. 'conv', 'relu', 'view'
    module: str                   # innermost module path ('' = the root model)
    module_type: str              # class name of that module
    inputs: list[TensorMeta]      # tensor inputs, in argument order
    sources: list[Source]         # one per tensor input
    outputs: list[TensorMeta]     # tensor outputs
    args: dict[str, Any] = field(default_factory=dict)   # non-tensor arguments that formulas need
    is_view: bool = False         # True: aliases an input, moves no data
    inplace: bool = False         # True: writes into its first input
    new_params: int = 0           # parameter elements first used by this node (each counted once)
    new_buffers: int = 0          # buffer elements (BN running stats ...) first used here

    @property
    def output(self) -> TensorMeta | None:
        return self.outputs[0] if self.outputs else None

    @property
    def producers(self) -> list[int]:
        """Ids of the nodes whose outputs feed this node."""
        return [s.ref for s in self.sources if s.kind == "node"]


@dataclass
class Graph:
    nodes: list[Node]
    inputs: list[TensorMeta]
    outputs: list[Source]          # where the model's returned tensors come from
    params_total: int              # every nn.Parameter of the model (each once)
    buffers_total: int             # every buffer of the model
    params_unused: int             # parameters never read by the traced forward
    mode: str                      # 'meta', 'fake' or 'real': how tensors were traced
    module_types: dict[str, str] = field(default_factory=dict)  # path -> class name
    retraced: str = ""             # why a trace asked for meta tensors ran on real zero inputs ('' = it did not)

    def node(self, node_id: int) -> Node:
        return self.nodes[node_id]

    def consumers(self) -> dict[int, list[int]]:
        """node id -> ids of the nodes that read one of its outputs."""
        out: dict[int, list[int]] = {n.id: [] for n in self.nodes}
        for n in self.nodes:
            for p in n.producers:
                out[p].append(n.id)
        return out

    # -- data-flow helpers (every pass uses these; ``free`` is ops.free_mask(graph)) ---------
    def roots(self, free) -> list[tuple]:
        """Per node: the materialised tensor its output aliases, following views back:
        ``('node', id)`` of the op that wrote the data, or ``('input', i)`` for graph input i.
        A non-free node is its own root. (Nodes are in execution order, so one pass.)"""
        out: list[tuple] = []
        for n in self.nodes:
            root: tuple = ("node", n.id)
            if free[n.id]:
                s = next((s for s in n.sources if s.kind in ("node", "input")), None)
                if s is not None:
                    root = out[s.ref] if s.kind == "node" else ("input", s.ref)
            out.append(root)
        return out

    def source_root(self, source: Source, roots: list[tuple]) -> tuple | None:
        """The root (see :meth:`roots`) of a node input's source; ``None`` for parameters,
        buffers and constants."""
        if source.kind == "node":
            return roots[source.ref]
        if source.kind == "input":
            return ("input", source.ref)
        return None

    def readers(self, free, roots: list[tuple] | None = None) -> dict[tuple, set[int]]:
        """Materialised tensor (a root) -> ids of the non-free nodes that read it, directly
        or through views."""
        roots = self.roots(free) if roots is None else roots
        out: dict[tuple, set[int]] = {}
        for n in self.nodes:
            if free[n.id]:
                continue
            for s in n.sources:
                r = self.source_root(s, roots)
                if r is not None:
                    out.setdefault(r, set()).add(n.id)
        return out

    def output_roots(self, roots: list[tuple]) -> set[tuple]:
        """The materialised tensors the model returns."""
        return {r for r in (self.source_root(o, roots) for o in self.outputs) if r is not None}
