"""ONNX shape inference on a weightless copy of a model, and module paths from node names."""
from __future__ import annotations

import ast

from ..errors import InputError

INSTALL = "pip install costlab[onnx]"


def onnx_module():
    try:
        import onnx
    except ImportError:
        raise InputError(f"reading ONNX files needs the onnx package, which is not installed: {INSTALL}") from None
    return onnx


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def dtype_name(onnx, elem_type: int) -> str:
    try:
        return onnx.helper.tensor_dtype_to_np_dtype(elem_type).name
    except Exception:  # noqa: BLE001  (undefined / string types)
        return "float32"


def dims_of(shape) -> list:
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in shape.dim]


# -- shape inference ----------------------------------------------------------------------------

_KEEP_VALUES = 64   # small integer initializers keep their values (shapes for data propagation)
_INT_TYPES = (6, 7, 12, 13)   # int32, int64, uint32, uint64
_KEEP_FLOATS = 8              # and tiny float ones (Resize scales, Clip bounds)


def _light_model(onnx, model, nodes, inputs: list, shapes, values: dict):
    """A weightless copy of ``model`` for shape inference: weights become typed graph inputs,
    the model's inputs take the sizes given, the constants already computed (``values``)
    replace the nodes that made them. ``model`` itself is not changed."""
    h = onnx.helper
    g = model.graph
    by_name = {v.name: v for v in g.input}
    new_inputs = [h.make_tensor_value_info(i.name, by_name[i.name].type.tensor_type.elem_type, list(s))
                  for i, s in zip(inputs, shapes)]
    kept, typed = [], []
    for t in g.initializer:
        numel = 1
        for d in t.dims:
            numel *= d
        if t.name in values:
            continue
        if numel <= (_KEEP_VALUES if t.data_type in _INT_TYPES else _KEEP_FLOATS) and t.data_location != 1:
            kept.append(t)
        else:
            typed.append(h.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    kept += [onnx.numpy_helper.from_array(v, name) for name, v in values.items()]
    live = [n for n in nodes if not all(o in values for o in n.output if o)]
    graph = h.make_graph(live, g.name or "g", new_inputs + typed, list(g.output), initializer=kept)
    light = h.make_model(graph, opset_imports=list(model.opset_import), ir_version=model.ir_version)
    light.functions.extend(model.functions)
    return light


def infer(onnx, model, inputs, shapes, nodes=None, values=None) -> dict[str, tuple[tuple, int]]:
    """value name -> (dims, ONNX elem type) after shape inference at ``shapes``."""
    values = values or {}
    light = _light_model(onnx, model, list(model.graph.node) if nodes is None else nodes, inputs, shapes, values)
    try:
        done = onnx.shape_inference.infer_shapes(light, check_type=False, strict_mode=False, data_prop=True)
    except Exception as exc:  # noqa: BLE001  (an inconsistent graph at these sizes)
        given = ",".join("x".join(map(str, s)) for s in shapes)
        raise InputError(f"ONNX shape inference failed at input {given}: {first_line(exc)}") from None
    out: dict[str, tuple[tuple, int]] = {}
    for v in list(done.graph.value_info) + list(done.graph.input) + list(done.graph.output):
        tt = v.type.tensor_type
        if tt.HasField("shape") or v.name not in out:
            out[v.name] = (tuple(dims_of(tt.shape)) if tt.HasField("shape") else None, tt.elem_type)
    for t in model.graph.initializer:
        out[t.name] = (tuple(t.dims), t.data_type)
    for name, v in values.items():
        out[name] = (tuple(int(d) for d in v.shape), onnx.helper.np_dtype_to_tensor_dtype(v.dtype))
    return out


# -- module paths -------------------------------------------------------------------------------

SCOPE = "scope"   # the module type of a legacy exporter's scope (its names carry no class)


def _listed(node, key: str) -> list | None:
    for p in node.metadata_props:
        if p.key == key:
            try:
                return list(ast.literal_eval(p.value))
            except (ValueError, SyntaxError):
                return None
    return None


def module_types(node) -> dict[str, str]:
    """Module path -> class name along a dynamo-exported node's scopes (its name-scope and
    class-hierarchy metadata, aligned); ``{}`` for other nodes."""
    scopes = _listed(node, "pkg.torch.onnx.name_scopes")
    classes = _listed(node, "pkg.torch.onnx.class_hierarchy")
    if not scopes or not classes or len(scopes) != len(classes):
        return {}
    return {s: str(c).rsplit(".", 1)[-1] for s, c in zip(scopes[:-1], classes[:-1])}


def module_of(node) -> str:
    """The torch module path a node came from: dynamo's name-scope metadata, or the legacy
    exporter's ``/a/a.0/b/Op`` name (module ``a.0.b``); ``''`` (the root) otherwise."""
    scopes = _listed(node, "pkg.torch.onnx.name_scopes")
    if scopes is not None:
        scopes = [s for s in scopes if s]
        # the last scope names the op itself ('relu', 'conv2d'), the one before it its module
        return scopes[-2] if len(scopes) >= 2 else ""
    name = node.name or ""
    if not name.startswith("/"):
        return ""
    path: list[str] = []
    for part in [p for p in name.split("/") if p][:-1]:
        # a container's child is scoped '<container>.<index>' after the container's own scope
        if path and part.startswith(path[-1] + "."):
            path[-1] = part
        else:
            path.append(part)
    return ".".join(path)
