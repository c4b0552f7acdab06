"""costlab beside onnx-tool on an ONNX file: per node, per op type and in total, every difference
explained by the convention that causes it (``costlab crosscheck model.onnx``).

onnx-tool (``onnx_tool.Model(path).graph``: ``shape_infer``, ``profile``; ``onnx_tool/node.py``,
``onnx_tool/graph.py``) differs from costlab by design:

* **MACs of conv / Gemm / MatMul / Einsum**: the same multiply-accumulates, plus one add per
  output element where the op has a bias (``ConvNode.profile``, ``GemmNode.profile``:
  ``ADD_MACS``), which costlab counts in ``elem_ops``; a ConvTranspose is output elements x
  weight[1:] there (the stride's inserted zeros multiplied too), input elements x weight here.
  Checked per node; anything else is **unexplained**.
* **Every other op**: onnx-tool puts its element work into MACs, weighted by its cost table
  (``ADD_MACS`` 1, ``DIV_MACS`` 4, ``EXP_MACS`` 32, ``SQRT_MACS`` 24 ...; batch norm, pooling per
  window element, Resize 4 per linear output); costlab keeps 1-per-operation element counts in
  ``elem_ops``, outside MACs. A convention, reported with both numbers.
* **Params**: onnx-tool counts every initializer a node reads (``Graph.profile``: ``initials``),
  Reshape targets, scalars and quantisation scales included; costlab leaves out those read only
  as shapes / axes / bounds / scales and rank-0 scalars. Explained when onnx-tool's count equals
  costlab's plus exactly those elements.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import warnings
from dataclasses import dataclass, field
from typing import Any

from . import ops
from .api import count
from .errors import InputError
from .spec import Resolved, input_shapes_for

BIAS_NOTE = "onnx-tool = MACs + the bias adds (costlab: elem_ops)"


def onnx_tool_available() -> bool:
    return importlib.util.find_spec("onnx_tool") is not None


@dataclass
class FileRow:
    op_type: str
    nodes: int = 0
    costlab_macs: int = 0
    costlab_elem_ops: int = 0
    onnx_tool: int = 0
    expected: int | None = None            # what onnx-tool must say (MAC ops), None = a convention
    reasons: list[str] = field(default_factory=list)
    explained: bool = True


@dataclass
class FileCrossCheck:
    model: str
    input_shape: list
    rows: list[FileRow]
    totals: FileRow
    params: dict[str, int]
    params_explained: bool
    mismatched_nodes: list[str]

    @property
    def unexplained(self) -> list[str]:
        out = [r.op_type for r in self.rows + [self.totals] if not r.explained]
        return out + ([] if self.params_explained else ["params"])

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "input_shape": self.input_shape, "tool": "onnx-tool",
                "rows": [r.__dict__ for r in self.rows], "totals": self.totals.__dict__, "params": self.params,
                "mismatched_nodes": self.mismatched_nodes, "unexplained": self.unexplained}


def _run_onnx_tool(path: str, inputs: dict) -> tuple[dict[str, int], dict[str, int]]:
    """onnx-tool's MACs per node name, and the initializers its params count (name -> elements)."""
    import numpy as np
    import onnx_tool
    from onnx_tool.tensor import volume

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        m = onnx_tool.Model(path, {"verbose": False})
        g = m.graph
        g.graph_reorder_nodes()
        g.shape_infer({k: np.zeros(s, dtype=dt) for k, (s, dt) in inputs.items()})
        g.profile()
    counted = {x for n in g.nodemap.values() for x in n.input if x in g.initials}
    # onnx-tool's own element count (onnx_tool/tensor.py volume: a rank-0 tensor counts 0)
    sizes = {x: int(volume(g.tensormap[x].get_shape())) for x in counted}
    return {k: int(round(n.macs[0])) for k, n in g.nodemap.items()}, sizes


def _params(report, tool_sizes: dict[str, int]) -> tuple[dict[str, Any], bool]:
    """costlab's and onnx-tool's params, by initializer: explained when onnx-tool counts every
    initializer costlab counts, and more only by initializers costlab does not count as params
    (shapes, axes, bounds, scales, rank-0 scalars)."""
    ours = {s.ref for n in report.graph.nodes for s in n.sources if s.kind == "param"}
    missing = sorted(ours - set(tool_sizes))
    extra = sorted(set(tool_sizes) - ours)
    extra_elements = sum(tool_sizes[x] for x in extra)
    data = {"costlab": int(report.totals["params"]), "onnx_tool": int(sum(tool_sizes.values())),
            "shape_and_scalar_elements": int(extra_elements), "shape_and_scalar_initializers": len(extra),
            "missing_in_onnx_tool": missing}
    return data, not missing and data["onnx_tool"] == data["costlab"] + extra_elements


def _tool_expected(node, macs: int, elem: int) -> int:
    """What onnx-tool says for a MAC node: costlab's MACs + the bias adds; for a ConvTranspose its
    own convention, output elements x weight[1:] (ConvTransposeNode.profile: it counts the
    stride's inserted zeros; costlab counts input elements x weight, the multiplies made)."""
    if node.args.get("transposed"):
        w = node.inputs[1]
        return node.outputs[0].numel * (w.numel // max(w.shape[0], 1)) + elem
    return macs + elem


def _group(node) -> str:
    return node.kind if node.kind != "unsupported" else node.op.split(".", 1)[-1]


def _compare_nodes(report, tool: dict[str, int]) -> tuple[dict[str, FileRow], list[str]]:
    rows: dict[str, FileRow] = {}
    bad: list[str] = []
    per_node = report.layers.set_index("node")
    for node in report.graph.nodes:
        if node.id not in per_node.index:
            continue
        c = per_node.loc[node.id]
        r = rows.setdefault(_group(node), FileRow(_group(node)))
        name = node.args.get("onnx_node", "")
        theirs = tool.get(name, 0)
        r.nodes += 1
        r.costlab_macs += int(c["macs"])
        r.costlab_elem_ops += int(c["elem_ops"])
        r.onnx_tool += theirs
        if node.kind == "rnn":       # onnx-tool adds the gates' element work, weighted: at least the MACs
            if theirs < int(c["macs"]):
                bad.append(f"{name or node.op}: onnx-tool {theirs:,} < MACs {int(c['macs']):,}")
        elif ops.category_of(node.op) == "mac":
            want = _tool_expected(node, int(c["macs"]), int(c["elem_ops"]))
            r.expected = (r.expected or 0) + want
            if theirs != want:
                bad.append(f"{name or node.op}: onnx-tool {theirs:,} != {want:,}")
    return rows, bad


def _explain(r: FileRow) -> None:
    if r.op_type == "rnn":
        r.explained = r.onnx_tool >= r.costlab_macs
        r.reasons.append("onnx-tool = the gates' MACs + their element work weighted as MACs (onnx_tool/node.py "
                         "LSTMNode, GRUNode, RNNNode)" if r.explained else
                         f"onnx-tool {r.onnx_tool:,} < the gates' MACs {r.costlab_macs:,}: no known cause")
    elif r.expected is not None:
        r.explained = r.onnx_tool == r.expected
        same = r.explained and r.onnx_tool == r.costlab_macs      # no bias: nothing to explain
        r.reasons.append("the same count (no bias adds)" if same else BIAS_NOTE if r.explained else
                         f"onnx-tool {r.onnx_tool:,} != MACs + bias adds {r.expected:,}: no known cause")
    elif r.onnx_tool:
        r.reasons.append("onnx-tool counts its element work as MACs with its own op weights "
                         "(onnx_tool/node.py); costlab: elem_ops, 1 per operation")
    else:
        r.reasons.append("onnx-tool counts 0 (data movement / views)")


def crosscheck_file(resolved: Resolved, input_shape=None, *, resolution: int | None = None,
                    batch: int = 1) -> FileCrossCheck:
    """costlab and onnx-tool on one ONNX file (``resolved.model`` an ``OnnxModel``)."""
    if getattr(resolved.model, "format", "onnx") != "onnx":
        raise InputError(f"{resolved.name}: crosscheck puts onnx-tool beside costlab, and no reference counter reads "
                         f"{resolved.model.format} files; crosscheck the PyTorch model or its ONNX export")
    if not onnx_tool_available():
        raise InputError("crosscheck of an ONNX file needs onnx-tool: pip install 'costlab[dev]' (or pip install onnx-tool)")
    shapes = input_shapes_for(resolved, input_shape, resolution, batch)
    report = count(resolved, shapes)
    inputs = {i.name: (tuple(s), i.dtype) for i, s in zip(resolved.model.inputs, shapes)}
    try:
        tool, tool_sizes = _run_onnx_tool(resolved.model.path, inputs)
    except Exception as exc:  # noqa: BLE001  (onnx-tool cannot read every graph: say so)
        raise InputError(f"onnx-tool failed on {resolved.name}: {type(exc).__name__}: "
                         f"{(str(exc).splitlines() or [''])[0][:160]}; it cannot read this graph, so there is "
                         f"nothing to cross-check: costlab analyze {resolved.model.path} counts it alone") from None
    rows, bad = _compare_nodes(report, tool)
    counted = {n.args.get("onnx_node") for n in report.graph.nodes}
    extra = sum(v for k, v in tool.items() if k not in counted)
    if extra:
        rows["(no costlab node)"] = FileRow("(no costlab node)", onnx_tool=extra,
                                            reasons=["nodes costlab folds as constants or views"])
    for r in rows.values():
        if r.op_type != "(no costlab node)":
            _explain(r)
    tot = FileRow("total", nodes=sum(r.nodes for r in rows.values()),
                  costlab_macs=report.totals["macs"], costlab_elem_ops=report.totals["elem_ops"],
                  onnx_tool=sum(tool.values()))
    tot.explained = all(r.explained for r in rows.values())
    tot.reasons.append("onnx-tool = MACs + bias adds + its weighted element work" if tot.explained
                       else "a MAC op differs without a known cause")
    params, params_ok = _params(report, tool_sizes)
    order = sorted(rows.values(), key=lambda r: (r.expected is None, -r.costlab_macs, -r.onnx_tool))
    return FileCrossCheck(report.model, [list(s) for s in shapes], order, tot, params, params_ok, bad)


