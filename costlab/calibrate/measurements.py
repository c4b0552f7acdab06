"""A user's latency measurements: one CSV row per measured model.

Columns (a header line is required; order free; other columns are refused so that a typo
such as ``latency`` is not silently ignored):

============== ===========================================================================
``spec``        a zoo spec, e.g. ``mobilenet_v2:width=0.5`` or ``fbnet:arch=k3_e1|skip|...``, or a
                model file (``model.onnx``, ``model.tflite``; a path from the current folder)
``latency_ms``  the measured latency in milliseconds (a positive number)
``input_shape`` optional, e.g. ``1x3x224x224`` (default: the zoo entry's own input, a file's own)
``batch``       optional batch size (default 1; must match ``input_shape``'s first dimension)
``note``        optional free text, kept with the sample
============== ===========================================================================

Blank lines and lines starting with ``#`` (comments) are skipped, before or after the header.

Every problem is one :class:`~costlab.errors.InputError` line naming the file, the line and
the fix, e.g. ``m.csv line 7: latency_ms 'abc' is not a number; write milliseconds, e.g.
12.5``. Reading writes nothing.

Duplicates: rows with the same spec and input shape and the *same* latency are kept once
(the later copies are dropped, and :attr:`Measurements.dropped` says which lines); the same
model with *different* latencies is refused, naming both lines: average your repeats
before writing the file (costlab cannot tell a repeat from a mistake).
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CostlabError, InputError

REQUIRED = ("spec", "latency_ms")
OPTIONAL = ("input_shape", "batch", "note")
COLUMNS = REQUIRED + OPTIONAL


@dataclass(frozen=True)
class Measurement:
    """One measured model: zoo spec, input shape, latency (ms), where it came from."""

    spec: str
    input_shape: tuple[int, ...]
    latency_ms: float
    line: int = 0
    note: str = ""
    source: str = ""


@dataclass
class Measurements:
    """The rows of one measurements file, with the file's identity for provenance."""

    rows: list[Measurement]
    path: str = ""
    sha256: str = ""
    dropped: list[int] = field(default_factory=list)   # lines dropped as identical duplicates

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


def _fail(path: str, line: int | None, what: str) -> InputError:
    where = f"{path} line {line}" if line else path
    return InputError(f"{where}: {what}")


def _shape_text(shape) -> str:
    return "x".join(str(d) for d in shape)


def _check_spec(spec: str, shape: tuple[int, ...]) -> None:
    """Refuse an unknown spec or bad knob now (cheap: no trace; a block decomposition is
    expanded, which checks e.g. an FBNet arch string); a model file is read and its input
    checked against ``shape``."""
    from ..zoo.registry import parse_spec
    from ..blocks import spec_blocks
    from ..frontends import is_file_spec
    from ..spec import file_input_shape

    if is_file_spec(spec):
        file_input_shape(spec, shape)
        return
    parse_spec(spec)
    spec_blocks(spec, shape)


def _read_text(p: str, path: str | Path) -> tuple[bytes, str]:
    """The file's bytes and its UTF-8 text; refuses a missing, unreadable, non-UTF-8 or empty file."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise _fail(p, None, "no such file; give the path of your measurements CSV") from None
    except IsADirectoryError:
        raise _fail(p, None, "is a folder; give the path of your measurements CSV") from None
    except OSError as exc:
        raise _fail(p, None, f"cannot be read ({exc.strerror or exc}); check the path and its permissions") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise _fail(p, line, "is not UTF-8 text; save the file as UTF-8 CSV") from None
    if not text.strip():
        raise _fail(p, None, "is empty; write a header line 'spec,latency_ms' and one row per measured model")
    return data, text


def _header(p: str, line: int, rec: list[str]) -> list[str]:
    """The header's column names (lower case); refuses missing, unknown or repeated columns."""
    header = [c.strip().lower() for c in rec]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise _fail(p, line, f"missing column {', '.join(repr(m) for m in missing)} in the header "
                    f"{','.join(header)!r}; the header must name spec and latency_ms "
                    f"(optional: {', '.join(OPTIONAL)})")
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise _fail(p, line, f"unknown column {unknown[0]!r}; known columns: {', '.join(COLUMNS)}")
    dup = [c for c in header if header.count(c) > 1]
    if dup:
        raise _fail(p, line, f"column {dup[0]!r} appears twice in the header; keep one")
    return header


MIN_MS, MAX_MS = 1e-6, 1e9      # 1 ns to 11.6 days: a measured latency outside is a typo or a unit error


def _latency(p: str, line: int, raw: str) -> float:
    try:
        lat = float(raw)
    except ValueError:
        raise _fail(p, line, f"latency_ms {raw!r} is not a number; write milliseconds, e.g. 12.5") from None
    if not math.isfinite(lat) or lat <= 0:
        raise _fail(p, line, f"latency_ms {raw!r} must be a positive number of milliseconds")
    if not MIN_MS <= lat <= MAX_MS:
        # a fit on relative error divides by it: 1e308 or 1e-308 overflow to inf
        raise _fail(p, line, f"latency_ms {raw!r} is not a plausible time (between {MIN_MS:g} and {MAX_MS:g} ms); "
                             "write milliseconds, e.g. 12.5")
    return lat


def _shape(p: str, line: int, f: dict[str, str], spec: str, check_specs: bool) -> tuple[int, ...]:
    """The row's input shape from ``input_shape`` / ``batch`` (or the zoo entry's own input);
    the spec checked when ``check_specs``."""
    from ..blocks import default_shape, normalize_shape

    batch = None
    if f.get("batch"):
        try:
            batch = int(f["batch"])
        except ValueError:
            batch = 0
        if batch <= 0:
            raise _fail(p, line, f"batch {f['batch']!r} must be a positive integer, e.g. 1")
    try:
        if f.get("input_shape"):
            shape = normalize_shape(f["input_shape"])
            if batch is not None and shape[0] != batch:
                raise _fail(p, line, f"batch {batch} disagrees with input_shape {f['input_shape']}; "
                            "give the batch as input_shape's first dimension (or drop one column)")
        else:
            shape = default_shape(spec, batch or 1)
        if check_specs:
            _check_spec(spec, shape)
    except InputError as exc:
        if str(exc).startswith(p):
            raise
        raise _fail(p, line, str(exc)) from None
    except CostlabError as exc:
        raise _fail(p, line, f"{exc} (spec {spec!r})") from None
    return shape


def _row(p: str, line: int, header: list[str], rec: list[str], check_specs: bool) -> Measurement:
    """One data row as a :class:`Measurement`; refuses a bad field count, spec, latency or shape."""
    if len(rec) > len(header):
        raise _fail(p, line, f"{len(rec)} fields but the header has {len(header)}; quote a spec that "
                    "contains commas (\"fbnet:arch=...\" or \"name:a=1,b=2\")")
    if len(rec) < len(header):
        raise _fail(p, line, f"{len(rec)} field{'s' if len(rec) != 1 else ''} but the header has {len(header)} "
                    f"({','.join(header)}); give every row a value for each column (an optional one may be "
                    f"empty: {','.join({'spec': 'lenet5', 'latency_ms': '1.5'}.get(c, '') for c in header)})")
    f = {k: v.strip() for k, v in zip(header, rec)}
    spec = f["spec"]
    if not spec:
        raise _fail(p, line, "empty spec; write a zoo spec such as mobilenet_v2:width=0.5")
    lat = _latency(p, line, f["latency_ms"])
    shape = _shape(p, line, f, spec, check_specs)
    return Measurement(spec, shape, lat, line, f.get("note", ""), f"{Path(p).name} line {line}")


def read_measurements(path: str | Path, *, check_specs: bool = True) -> Measurements:
    """Read and check a measurements CSV (see the module docstring). Raises
    :class:`~costlab.errors.InputError` with one line naming the file, the line and the fix."""
    p = str(path)
    data, text = _read_text(p, path)
    # skipinitialspace: '1.5, "fbnet:arch=..."' (a space after the comma) still reads the quoted spec
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    header: list[str] | None = None
    hline = 0
    rows: list[Measurement] = []
    seen: dict[tuple[str, tuple[int, ...]], Measurement] = {}
    dropped: list[int] = []
    try:
        for rec in reader:
            line = reader.line_num
            if not rec or all(not c.strip() for c in rec) or rec[0].lstrip().startswith("#"):
                continue          # blank lines and '# comments' (as in sweep's specs files)
            if header is None:
                header = _header(p, line, rec)
                hline = line
                continue
            m = _row(p, line, header, rec, check_specs)
            key = (m.spec, m.input_shape)
            if key in seen:
                prev = seen[key]
                if prev.latency_ms == m.latency_ms:
                    dropped.append(line)
                    continue
                raise _fail(p, line, f"{m.spec} at {_shape_text(m.input_shape)} was measured on line {prev.line} "
                            f"as {prev.latency_ms:g} ms and here as {m.latency_ms:g} ms; average your repeats "
                            "into one row")
            seen[key] = m
            rows.append(m)
    except csv.Error as exc:
        raise _fail(p, reader.line_num, f"is not valid CSV ({exc}); check the quoting") from None
    if header is None:
        raise _fail(p, None, "is empty; write a header line 'spec,latency_ms' and one row per measured model")
    if not rows:
        raise _fail(p, hline, "has a header but no measurements; add one row per measured model")
    return Measurements(rows, p, hashlib.sha256(data).hexdigest(), dropped)


__all__ = ["Measurement", "Measurements", "read_measurements", "COLUMNS"]
