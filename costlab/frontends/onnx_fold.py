"""Shapes for graphs whose sizes are computed at run time.

An export without constant folding (``do_constant_folding=False``, opset 11 ...) computes its
reshape targets from ``Shape`` nodes (``Shape -> Gather -> Unsqueeze -> Concat -> Reshape``), and a
scripted function can branch on a rank (``If`` on ``Equal(Gather(Shape(x)), 5)``: torch's
``local_response_norm``). ONNX shape inference propagates some of these values, not all. Here the
constant part of the graph is evaluated with ONNX's reference implementation
(``onnx.reference``) at the input sizes given: a ``Shape`` of a tensor whose shape is known is a
constant, a node of constants only is a constant, and an ``If`` whose condition is a constant is
replaced by the nodes of the branch it takes. Shape inference then runs again, until every
size is known or nothing more can be computed. A ``Loop`` / ``Scan``, or an ``If`` whose
condition depends on data, stays, and the builder refuses it in one line.
"""
from __future__ import annotations

import numpy as np

from .onnx_shapes import infer

_LIMIT = 4096          # constants of at most this many elements are evaluated and kept
_ROUNDS = 12
_DEFAULT = ("", "ai.onnx")


def _static(types, name) -> tuple | None:
    dims = types.get(name, (None, 0))[0]
    if dims is None or any(not isinstance(d, int) for d in dims):
        return None
    return dims


def _complete(nodes, types) -> bool:
    """Every node output has a static shape and no If is left."""
    for n in nodes:
        if n.op_type == "If":
            return False
        for o in n.output:
            if o and _static(types, o) is None:
                return False
    return True


def _seed(onnx, model) -> dict:
    values = {}
    for t in model.graph.initializer:
        n = 1
        for d in t.dims:
            n *= d
        if t.data_type in (6, 7) and n <= _LIMIT and t.data_location != 1:
            values[t.name] = onnx.numpy_helper.to_array(t)
    return values


def _inline(onnx, n, cond) -> list:
    """The nodes of the branch an If takes, renamed into the outer graph; Identity nodes give
    the branch's results the If's output names."""
    branch = next(a.g for a in n.attribute if a.name == ("then_branch" if cond else "else_branch"))
    prefix = f"{n.name or 'If'}/{'then' if cond else 'else'}/"
    local = {o for b in branch.node for o in b.output if o}
    out = []
    for b in branch.node:
        c = onnx.NodeProto()
        c.CopyFrom(b)
        del c.input[:]
        del c.output[:]
        c.input.extend(prefix + x if x in local else x for x in b.input)
        c.output.extend(prefix + x if x else x for x in b.output)
        c.name = b.name or f"{prefix}{b.op_type}"
        out.append(c)
    for res, name in zip(branch.output, n.output):
        src = prefix + res.name if res.name in local else res.name
        out.append(onnx.helper.make_node("Identity", [src], [name], name=f"{n.name}/result"))
    return out


def _axes(n, values) -> list | None:
    for a in n.attribute:
        if a.name == "axes":
            return list(a.ints)
    if len(n.input) > 1 and n.input[1]:
        return [int(x) for x in np.asarray(values[n.input[1]]).reshape(-1)]
    return None


def _native(n, values) -> list | None:
    """(Un)squeeze with an ``axes`` attribute (opsets < 13), which onnx.reference mis-reads."""
    x = np.asarray(values[n.input[0]])
    axes = _axes(n, values)
    if n.op_type == "Unsqueeze":
        rank = x.ndim + len(axes)
        for a in sorted(a % rank for a in axes):
            x = np.expand_dims(x, a)
        return [x]
    if axes is None:
        return [np.squeeze(x)]
    return [np.squeeze(x, axis=tuple(a % x.ndim for a in axes))]


def _evaluate(onnx, n, values, opsets) -> list | None:
    if n.op_type in ("Unsqueeze", "Squeeze"):
        return _native(n, values)
    if n.op_type == "ConstantOfShape":
        shape = values.get(n.input[0]) if n.input else None
        if shape is None or int(np.prod(shape)) > _LIMIT:
            return None
    try:
        from onnx.reference import ReferenceEvaluator

        feeds = {x: values[x] for x in n.input if x}
        res = ReferenceEvaluator(n, opsets=opsets).run(None, feeds)
    except Exception:  # noqa: BLE001  (an op the reference cannot run: left to shape inference)
        return None
    if any(np.asarray(r).size > _LIMIT for r in res):
        return None
    return [np.asarray(r) for r in res]


def _fold_round(onnx, nodes, types, values, opsets) -> tuple[list, bool]:
    changed = False
    out = []
    for n in nodes:
        outs = [o for o in n.output if o]
        if all(o in values for o in outs) or n.domain not in _DEFAULT:
            out.append(n)
            continue
        ins = [x for x in n.input if x]
        if n.op_type == "If" and ins[0] in values:
            out.extend(_inline(onnx, n, bool(np.asarray(values[ins[0]]).reshape(-1)[0])))
            changed = True
            continue
        if n.op_type in ("Shape", "Size") and _static(types, ins[0]) is not None:
            dims = np.array(_static(types, ins[0]), dtype=np.int64)
            if n.op_type == "Size":
                values[outs[0]] = np.array(int(np.prod(dims)), dtype=np.int64)
            else:
                attrs = {a.name: a.i for a in n.attribute}
                values[outs[0]] = dims[attrs.get("start", 0): attrs.get("end", len(dims)) or None] \
                    if "end" in attrs else dims[attrs.get("start", 0):]
            changed = True
        elif n.op_type == "Constant" or (ins and all(x in values for x in ins) and n.op_type not in ("Loop", "Scan")):
            res = _evaluate(onnx, n, values, opsets)
            if res is not None:
                values.update(zip(outs, res))
                changed = True
        out.append(n)
    return out, changed


def resolve(onnx, model, inputs, shapes) -> tuple[list, dict]:
    """(nodes, types) of ``model`` at ``shapes``: the nodes with every If of a constant condition
    replaced by its branch, and value name -> (dims, elem type) for every value."""
    nodes = list(model.graph.node)
    types = infer(onnx, model, inputs, shapes)
    if _complete(nodes, types):
        return nodes, types
    values = _seed(onnx, model)
    opsets = {o.domain: o.version for o in model.opset_import}
    for _ in range(_ROUNDS):
        nodes, changed = _fold_round(onnx, nodes, types, values, opsets)
        types = infer(onnx, model, inputs, shapes, nodes, {k: v for k, v in values.items()
                                                          if k not in {t.name for t in model.graph.initializer}})
        if not changed or _complete(nodes, types):
            break
    return nodes, types
