"""The counts pass and the :class:`Report` it produces."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import ops
from .ir import Graph

COLUMNS = ["name", "module", "op", "input_shapes", "output_shape", "params", "macs",
           "flops", "elem_ops", "mac_bytes", "activations"]
NUMERIC = ["params", "macs", "flops", "elem_ops", "mac_bytes", "activations"]


def conventions(dtype: str, trace_mode: str) -> dict[str, str]:
    return {
        "macs": "multiply-accumulates of conv, conv-transpose, linear, matmul, bmm "
                "(the papers' 'FLOPs' = 'Mult-Adds'); nothing else",
        "flops": "2 x macs",
        "elem_ops": "element operations outside macs: bias 1, batch norm 2, layer/group norm 4, "
                    "activation 1, add/mul 1, max/avg pool per window element, adaptive pool/mean "
                    "per input element, softmax 3, bilinear upsample 4 per output element; "
                    "cat/copy/pad/nearest upsample 0",
        "mac_bytes": f"memory access cost (ShuffleNet V2 Sec. 2): elements read (inputs and weights) "
                     f"+ elements written (result) x {ops.dtype_bytes(dtype)} bytes ({dtype}); "
                     "views are free; pooling indices not counted",
        "params": "nn.Parameters read by the forward, each shared one once; BN running stats "
                  "are buffers, reported apart (totals.buffers)",
        "activations": "elements of each op's result (views: 0)",
        "layers": "one row per executed op that computes or moves data; views/splits are free "
                  "and omitted (they stay in the IR)",
        "bn": "batch norm is reported as its own op (not folded into the conv)",
        "dropout": "eval mode: dropout is the identity and costs nothing",
        "trace": f"dispatch-level trace on {trace_mode} tensors, batch as given in input_shape",
    }


@dataclass
class Report:
    model: str
    input_shape: list[list[int]]
    dtype: str
    layers: pd.DataFrame
    totals: dict[str, int]
    unsupported: list[dict[str, Any]]
    conventions: dict[str, str]
    graph: Graph | None = field(default=None, repr=False)
    extras: dict[str, Any] = field(default_factory=dict)

    # -- views of the report -----------------------------------------------------------
    def rollup(self, depth: int | None) -> pd.DataFrame:
        """Layers summed per module path truncated to ``depth`` components (``None``: per op)."""
        if depth is None:
            return self.layers
        if depth < 0:
            raise ValueError("depth must be >= 0")
        df = self.layers
        if df.empty:
            return df

        def cut(path: str) -> str:
            if depth == 0:
                return "(model)"
            if not path:
                return "(root)"
            parts = path.split(".")
            return ".".join(parts[:depth]) if depth > 0 else "(model)"

        keys = df["module"].map(cut)
        numeric = NUMERIC + (["latency_ms"] if "latency_ms" in df.columns else [])
        groups: dict[str, dict[str, Any]] = {}
        for key, (_, row) in zip(keys, df.iterrows()):
            g = groups.get(key)
            if g is None:
                g = groups[key] = {"name": key, "module": key, "ops": [], "input_shapes": row["input_shapes"],
                                   "output_shape": row["output_shape"], **{c: 0 for c in numeric}}
            if row["op"] not in g["ops"]:
                g["ops"].append(row["op"])
            g["output_shape"] = row["output_shape"]
            for c in NUMERIC:
                g[c] += int(row[c])
            if "latency_ms" in numeric:
                g["latency_ms"] += float(row["latency_ms"])
        rows = []
        for g in groups.values():
            g["op"] = ",".join(g.pop("ops"))
            rows.append(g)
        return pd.DataFrame(rows, columns=COLUMNS + (["latency_ms"] if "latency_ms" in numeric else []))

    def to_dict(self, depth: int | None = None) -> dict[str, Any]:
        layers = self.rollup(depth)
        recs = []
        for rec in layers.to_dict(orient="records"):
            for c in NUMERIC:
                rec[c] = int(rec[c])
            if "latency_ms" in rec:
                rec["latency_ms"] = float(rec["latency_ms"])
            recs.append(rec)
        d: dict[str, Any] = {
            "model": self.model,
            "input_shape": self.input_shape if len(self.input_shape) > 1 else self.input_shape[0],
            "dtype": self.dtype,
            "conventions": self.conventions,
            "totals": self.totals,
            "layers": recs,
            "unsupported": self.unsupported,
        }
        d.update(self.extras)
        return d

    def to_json(self, depth: int | None = None, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(depth), indent=indent)


def count_graph(graph: Graph, model_name: str, dtype: str = "float32") -> Report:
    """Apply the op registry to every node of ``graph``."""
    fb = ops.dtype_bytes(dtype)
    rows = []
    unsupported: Counter[str] = Counter()
    names: Counter[str] = Counter()
    for node in graph.nodes:
        c = ops.count(node, fb)
        if c is None:
            unsupported[node.op] += 1
            c = {"macs": 0, "elem_ops": 0, "mac_bytes": 0, "activations": 0}
            label = f"UNSUPPORTED {node.op}"
        elif ops.is_free(node):
            continue
        else:
            label = ops.describe(node)
        kind = ops.kind_of(node.op)
        base = f"{node.module or '(root)'}:{kind if kind != 'unsupported' else node.op.split('.')[1]}"
        names[base] += 1
        name = base if names[base] == 1 else f"{base}#{names[base]}"
        rows.append({
            "name": name,
            "module": node.module,
            "op": label,
            "input_shapes": [list(t.shape) for t in node.inputs],
            "output_shape": list(node.outputs[0].shape) if node.outputs else [],
            "params": node.new_params,
            "macs": c["macs"],
            "flops": 2 * c["macs"],
            "elem_ops": c["elem_ops"],
            "mac_bytes": c["mac_bytes"],
            "activations": c["activations"],
            "node": node.id,
        })
    # parameters first read by a free op (rare: a view of a param feeding nothing counted)
    layers = pd.DataFrame(rows, columns=COLUMNS + ["node"])
    totals = {c: int(layers[c].sum()) if not layers.empty else 0 for c in NUMERIC}
    counted_params = totals["params"]
    free_params = sum(n.new_params for n in graph.nodes) - counted_params
    totals["buffers"] = int(sum(n.new_buffers for n in graph.nodes))
    if free_params:
        totals["params"] += free_params
    totals["params_unused"] = int(graph.params_unused)
    return Report(
        model=model_name,
        input_shape=[list(t.shape) for t in graph.inputs],
        dtype=dtype,
        layers=layers,
        totals=totals,
        unsupported=[{"op": k, "count": v} for k, v in sorted(unsupported.items())],
        conventions=conventions(dtype, graph.mode),
        graph=graph,
    )
