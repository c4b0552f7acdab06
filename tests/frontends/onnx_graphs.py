"""Small ONNX graphs built by hand with ``onnx.helper`` (shared by the frontend tests)."""
from __future__ import annotations

import zlib

import numpy as np

onnx = __import__("pytest").importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

F = TensorProto.FLOAT


def init(name, shape, dtype=np.float32, value=None):
    arr = np.asarray(value, dtype=dtype) if value is not None else \
        np.random.default_rng(zlib.crc32(name.encode())).standard_normal(shape).astype(dtype)
    return numpy_helper.from_array(arr.reshape(shape) if value is not None and shape is not None else arr, name)


def ints(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def model(nodes, inputs, outputs, inits=(), opset=17, check=True):
    """inputs / outputs: (name, shape[, elem type]) triples; shapes may hold symbolic names."""
    g = helper.make_graph(nodes, "g",
                          [helper.make_tensor_value_info(n, t[0] if t else F, s) for n, s, *t in inputs],
                          [helper.make_tensor_value_info(n, t[0] if t else F, s) for n, s, *t in outputs],
                          initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = min(m.ir_version, 8)
    if check:
        onnx.checker.check_model(m)
    return m


def save(m, path) -> str:
    onnx.save(m, str(path))
    return str(path)
