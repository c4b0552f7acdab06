"""Read an ONNX file without its weights.

costlab needs the graph, the initializers' names, types and dims, and the values of small
constants (shapes, bounds, scales), never the weights' values. Parsing a 100 MB ResNet-50 file
copies 100 MB of weights into protobuf objects; here the file is memory-mapped and its protobuf
wire format (https://protobuf.dev/programming-guides/encoding/) scanned down to
``ModelProto.graph`` (field 7) -> ``GraphProto.initializer`` (field 5) -> the data fields of each
``TensorProto`` (``float_data`` 4, ``int32_data`` 5, ``int64_data`` 7, ``raw_data`` 9,
``double_data`` 10, ``uint64_data`` 11; onnx/onnx.proto). Data fields longer than
:data:`KEEP_BYTES` are left out; everything else is copied as it is and parsed by protobuf. Only
the pages holding headers are read from disk.
"""
from __future__ import annotations

import mmap

KEEP_BYTES = 65536
_GRAPH, _INITIALIZER = 7, 5
_DATA_FIELDS = frozenset({4, 5, 7, 9, 10, 11})


class WireError(ValueError):
    """Not a well-formed protobuf message (truncated, or another format)."""


def _varint(buf, i: int, end: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= end or shift > 63:
            raise WireError("varint runs past the end")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def _encode(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _fields(buf, start: int, end: int):
    """(field number, wire type, field start, value start, value end) of each field."""
    i = start
    while i < end:
        s = i
        key, i = _varint(buf, i, end)
        field, wt = key >> 3, key & 7
        if wt == 0:
            _, j = _varint(buf, i, end)
            vs, ve = i, j
        elif wt == 1:
            vs, ve = i, i + 8
        elif wt == 2:
            n, vs = _varint(buf, i, end)
            ve = vs + n
        elif wt == 5:
            vs, ve = i, i + 4
        else:
            raise WireError(f"wire type {wt} (groups or garbage)")
        if ve > end or field == 0:
            raise WireError("a field runs past the end of its message")
        yield field, wt, s, vs, ve
        i = ve


def _message(buf, start: int, end: int, strip) -> bytes:
    """The message in ``buf[start:end]`` with ``strip(field, wt, vs, ve)`` deciding per field:
    ``None`` keeps it whole, ``b''`` drops it, other bytes replace its value."""
    out = bytearray()
    for field, wt, s, vs, ve in _fields(buf, start, end):
        new = strip(field, wt, vs, ve)
        if new is None:
            out += buf[s:ve]
        elif new:
            out += _encode((field << 3) | 2) + _encode(len(new)) + new
    return bytes(out)


def _tensor(buf):
    return lambda f, wt, vs, ve: b"" if f in _DATA_FIELDS and wt == 2 and ve - vs > KEEP_BYTES else None


def _graph(buf):
    def strip(f, wt, vs, ve):
        if f == _INITIALIZER and wt == 2 and ve - vs > KEEP_BYTES:
            return _message(buf, vs, ve, _tensor(buf)) or None
        return None
    return strip


def weightless_bytes(path: str) -> bytes:
    """The file's ModelProto, serialized, with its large initializer data left out."""
    with open(path, "rb") as f:
        try:
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:          # an empty file
            raise WireError("empty file") from None
    try:
        return _message(buf, 0, len(buf), lambda f, wt, vs, ve: (
            _message(buf, vs, ve, _graph(buf)) or None) if f == _GRAPH and wt == 2 else None)
    except IndexError:
        raise WireError("truncated") from None
    finally:
        buf.close()
