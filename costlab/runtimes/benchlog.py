"""TFLite ``benchmark_model`` logs: read them (a phone's measurements) and write them (costlab's
local measurements in the same format, ``costlab bench --log``).

The format, from TensorFlow's / LiteRT's benchmark tool source:

* tensorflow/tensorflow @ 140b37d45b343b0bc3ab2ce7d49a0f3ae369c828,
  ``tensorflow/lite/tools/benchmark/benchmark_model.cc``, and google-ai-edge/LiteRT @
  7d88950ea445f5b671d18e64f9614aff397fde50, ``tflite/tools/benchmark/benchmark_model.cc``:
  ``LogParams`` echoes each flag as ``<description>: [<value>]`` (``Num threads: [1]``,
  ``Min num runs: [50]``, ``Min warmup runs: [1]``; newer tools only the flags set on the
  command line, plus ``Log parameter values verbosely: [0]``); ``Run`` prints ``Running
  benchmark for at least N iterations ...`` then the run statistics (warm-up first, then the
  regular runs) and, at the end, ``BenchmarkLoggingListener::OnBenchmarkEnd``'s summary
  ``Inference timings in us: Init: I, First inference: F, Warmup (avg): W, Inference (avg): A``.
* ``tensorflow/lite/tools/benchmark/benchmark_tflite_model.cc`` (tensorflow/tensorflow @
  0aa069c7491438d070d2318140c885a41eb26225): ``Graph: [...]`` is always echoed, ``Enable op
  profiling: [1]`` when set.
* The run statistics: ``Stat::OutputToStream`` and ``StatWithPercentiles::OutputToStream`` in
  ``third_party/xla/xla/tsl/util/stats_calculator.h`` (tensorflow/tensorflow @
  2b746b8f4fb2a9e0bdf482c5fc9ccef8939a6bcc): ``count=N first=F curr=C min=m max=M avg=A std=S``
  (``count=N curr=C(all same)`` when every run took the same time), newer tools add
  `` p5=.. median=.. p95=..``; older tools printed ``curr=`` before ``count=``.
* The op-profiling tables (``--enable_op_profiling=true``): ``StatsCalculator`` in
  ``third_party/xla/xla/tsl/util/stats_calculator.cc`` (same commit; formerly
  ``tensorflow/core/util/stats_calculator.cc``, tensorflow/tensorflow @
  82a294b6d71edee8ef0330a303367b91fc983587): ``============================== Run Order
  ==============================``, ``Top by Computation Time``, ``Summary by node type``
  (``Number of nodes executed: N`` before it), tab-separated columns ``[node type] [first]
  [avg ms] [%] [cdf%] [mem KB] [times called] [Name]`` (``[Node type] [count] [avg ms] [avg %]
  [cdf %] [mem KB] [times called]`` by type); CSV variant (``node type, first, avg_ms, ...``)
  with ``--op_profiling_output_mode=csv``. ``tflite/profiling/profile_summary_formatter.cc``
  (LiteRT @ 7d88950ea445f5b671d18e64f9614aff397fde50) heads the regular runs' tables with
  ``Operator-wise Profiling Info for Regular Benchmark Runs:`` (the initialisation's with
  ``Profiling Info for Benchmark Initialization:``), per subgraph ``Primary graph (name: ..)
  profile:`` / ``Subgraph (index: N, name: ..) profile:``, and ``Delegate internal:``.
  ``tflite/tools/logging.h``: newer tools prefix each line ``INFO: `` / ``WARN: `` / ``ERROR: ``.

Older tools (2018-2019; the ProxylessNAS log in ``costlab/data/latency`` is one) print
``Num runs: [..]``, ``Running benchmark for N iterations``, an extra ``[start]`` column in the
op tables, and ``Average inference timings in us: Warmup: W, Init: I, no stats: A`` (A is the
regular runs' average). Both are read.

**The latency a log gives** (:attr:`BenchLog.latency_ms`): the regular runs' median when the
statistics line has one (``median=``), else their average (the summary's ``Inference (avg)``,
the older ``no stats``, or the statistics line's ``avg=``).

:func:`parse_log` raises one :class:`~costlab.errors.InputError` line naming the file and the
line it expected; reading writes nothing. :func:`write_log` writes the newer format from
``costlab bench``'s JSON document (op tables only when the runtime gave per-op times).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

SUMMARY_EXPECTED = ("'Inference timings in us: Init: ..., First inference: ..., Warmup (avg): ..., "
                    "Inference (avg): ...' (or the older 'Average inference timings in us: ...')")
RUN_ORDER, TOP_TIME, TOP_MEMORY, BY_TYPE = "Run Order", "Top by Computation Time", "Top by Memory Use", \
    "Summary by node type"


@dataclass(frozen=True)
class RunStats:
    """One ``count=.. first=.. curr=.. min=.. max=.. avg=.. std=..`` line (microseconds)."""

    count: int
    values: dict = field(default_factory=dict)      # first, curr, min, max, avg, std, p5, median, p95

    def get(self, key: str):
        return self.values.get(key)


@dataclass(frozen=True)
class OpRow:
    """One row of an op-profiling table (times in ms, as printed)."""

    node_type: str
    first_ms: float | None
    avg_ms: float
    percent: float | None
    cdf_percent: float | None
    mem_kb: float | None
    times_called: int
    name: str = ""
    start_ms: float | None = None      # older tools only
    count: int | None = None           # 'Summary by node type' rows: nodes of this type


@dataclass(frozen=True)
class OpTable:
    title: str                 # Run Order, Top by Computation Time, Top by Memory Use, Summary by node type
    section: str               # run (regular runs), init (initialisation), delegate (delegate internal)
    subgraph: int
    rows: tuple[OpRow, ...]


@dataclass
class BenchLog:
    """What a ``benchmark_model`` log says. Times in microseconds as printed; ``latency_ms``."""

    path: str
    flags: dict[str, str]                      # echoed flag description -> value ('Num threads' -> '1')
    inference_avg_us: float | None = None
    init_us: float | None = None
    first_us: float | None = None
    warmup_avg_us: float | None = None
    warmup: RunStats | None = None
    inference: RunStats | None = None
    summary_format: str = ""                   # 'current' | 'older' | '' (statistics line only)
    tables: list[OpTable] = field(default_factory=list)

    @property
    def latency_ms(self) -> float:
        med = self.inference.get("median") if self.inference else None
        us = med if med is not None else self.inference_avg_us
        if us is None and self.inference is not None:
            us = self.inference.get("avg") if self.inference.get("avg") is not None else self.inference.get("curr")
        return float(us) / 1e3

    @property
    def latency_source(self) -> str:
        if self.inference is not None and self.inference.get("median") is not None:
            return "median of the regular runs"
        return "average of the regular runs"

    @property
    def threads(self) -> int | None:
        v = self.flags.get("Num threads") or self.flags.get("#threads used for CPU inference")
        try:
            return int(v) if v is not None else None
        except ValueError:
            return None

    @property
    def graph(self) -> str | None:
        return self.flags.get("Graph")

    def table(self, title: str, section: str = "run", subgraph: int = 0) -> OpTable | None:
        for t in self.tables:
            if t.title == title and t.section == section and t.subgraph == subgraph:
                return t
        return None

    def by_node_type(self) -> dict[str, dict]:
        """Per node type of the regular runs (primary graph): nodes, avg ms per inference,
        times called; from 'Summary by node type', else summed from 'Run Order'; {} without."""
        t = self.table(BY_TYPE)
        if t is not None:
            return {r.node_type: {"nodes": int(r.count or 0), "avg_ms": r.avg_ms, "times_called": r.times_called}
                    for r in t.rows}
        t = self.table(RUN_ORDER)
        out: dict[str, dict] = {}
        for r in (t.rows if t is not None else ()):
            e = out.setdefault(r.node_type, {"nodes": 0, "avg_ms": 0.0, "times_called": 0})
            e["nodes"] += 1
            e["avg_ms"] += r.avg_ms
            e["times_called"] += r.times_called
        return out


# -- reading -----------------------------------------------------------------------------------

_PREFIX = re.compile(r"^(?:INFO|WARN|WARNING|ERROR|DEBUG|VERBOSE):\s?")
_FLAG = re.compile(r"^(?P<desc>[A-Za-z#][^\[\]=]*?)\s*:\s*\[(?P<val>[^\]]*)\]\s*$")
_STAT_KEY = re.compile(r"\b(count|first|curr|min|max|avg|std|p5|median|p95)=(-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|-?nan|-?inf)",
                       re.IGNORECASE)
_TITLE = re.compile(r"^=+\s+(?P<title>.+?)\s+=+\s*$")
_NUM = r"(-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|-?nan|-?inf)"
_SUMMARY = re.compile(r"(?:^|\s)(Average inference timings in us|Inference timings in us):\s*(?P<rest>.*)$")


def _float(s: str) -> float:
    return float(s)


def _stats(line: str) -> RunStats | None:
    body = line.strip()
    if not (body.startswith("count=") or body.startswith("curr=")):
        return None
    vals = {k.lower(): _float(v) for k, v in _STAT_KEY.findall(body)}
    if "count" not in vals:
        return None
    n = int(vals.pop("count"))
    if "(all same)" in body or ("min" not in vals and "curr" in vals):
        for k in ("first", "min", "max", "avg"):
            vals.setdefault(k, vals["curr"])
        vals.setdefault("std", 0.0)
    return RunStats(n, vals)


def _summary(path: str, lineno: int, kind: str, rest: str) -> dict:
    """The summary line's fields (``Init``, ``First inference``, ``Warmup (avg)``, ``Inference (avg)``
    or the older ``Warmup``, ``Init``, ``no stats``/``Inference``) as floats (us)."""
    out = {}
    for part in rest.split(","):
        if ":" not in part:
            continue
        k, v = part.rsplit(":", 1)
        try:
            out[k.strip()] = float(v.strip())
        except ValueError:
            raise InputError(f"{path} line {lineno}: '{k.strip()}: {v.strip()}' in the timing summary is not a "
                             "number of microseconds") from None
    return out


def _columns(header: str) -> list[str]:
    if "[" in header:
        return [c.strip().lower() for c in re.findall(r"\[([^\]]+)\]", header)]
    return [c.strip().lower() for c in header.split(",")]


def _row_pattern(cols: list[str]) -> re.Pattern:
    """A row of a space- or tab-aligned table: the type (may hold spaces, e.g. XNNPACK's
    'Convolution (NHWC, F32) IGEMM'), one number per numeric column ('%' ones with '%'), the name."""
    parts = [r"^\s*(?P<c0>\S.*?)"]
    has_name = cols[-1] == "name"
    for i, c in enumerate(cols[1:-1] if has_name else cols[1:], start=1):
        parts.append(r"\s+" + _NUM.replace("(", f"(?P<c{i}>", 1) + ("%" if "%" in c else ""))
    parts.append(r"(?:\s+(?P<name>.*?))?\s*$" if has_name else r"\s*$")
    return re.compile("".join(parts), re.IGNORECASE)


def _op_row(cols: list[str], fields: dict[str, str], name: str) -> OpRow:
    def num(*keys):
        for k in keys:
            if fields.get(k) not in (None, ""):
                return float(fields[k].rstrip("%"))
        return None

    times = num("times called")
    count = num("count")
    return OpRow(fields[cols[0]].strip(), num("first"), num("avg ms", "avg_ms"), num("%", "avg %"),
                 num("cdf%", "cdf %"), num("mem kb"), int(times) if times is not None else 1, name.strip(),
                 num("start"), int(count) if count is not None else None)


def _parse_row(cols: list[str], pattern: re.Pattern, csv: bool, line: str) -> OpRow | None:
    if csv:
        parts = [p.strip() for p in line.split(",", len(cols) - 1)]
        if len(parts) < len(cols) - (1 if cols[-1] == "name" else 0):
            return None
        fields = dict(zip(cols, parts))
        try:
            return _op_row(cols, fields, fields.get("name", ""))
        except ValueError:
            return None
    m = pattern.match(line)
    if m is None:
        return None
    fields = {cols[0]: m.group("c0")}
    for i, c in enumerate(cols[1:], start=1):
        if f"c{i}" in m.groupdict():
            fields[c] = m.group(f"c{i}")
    return _op_row(cols, fields, m.groupdict().get("name") or "")


class _Reader:
    """Line-by-line state of one log."""

    def __init__(self, path: str):
        self.log = BenchLog(path, {})
        self.section, self.subgraph = "run", 0
        self.stats: list[RunStats] = []
        self.table: tuple[str, list[str], re.Pattern, bool, list[OpRow]] | None = None
        self.pending_title: str | None = None
        self.started = False        # a timing line seen: later 'x: [y]' lines are not flags

    def close_table(self) -> None:
        if self.table is not None:
            title, _, _, _, rows = self.table
            self.log.tables.append(OpTable(title, self.section, self.subgraph, tuple(rows)))
        self.table = None

    def context(self, line: str) -> bool:
        """Section / subgraph headings of the op-profiling output."""
        if line.startswith("Operator-wise Profiling Info for Regular Benchmark Runs"):
            self.section, self.subgraph = "run", 0
        elif line.startswith("Profiling Info for Benchmark Initialization"):
            self.section, self.subgraph = "init", 0
        elif line.startswith("Delegate internal"):
            self.section, self.subgraph = "delegate", 0
        elif line.startswith("Primary graph (name:"):
            self.subgraph = 0
        elif line.startswith("Subgraph (index:") and line.rstrip().endswith(":"):
            m = re.match(r"Subgraph \(index:\s*(\d+)", line)
            self.subgraph = int(m.group(1)) if m else 0
        else:
            return False
        return True

    def table_line(self, line: str) -> bool:
        m = _TITLE.match(line)
        if m:
            self.close_table()
            self.pending_title = m.group("title")
            return True
        if self.pending_title is not None:
            low = line.strip().lower()
            if low.startswith("[node type]") or low.startswith("node type,"):
                cols = _columns(line)
                csv = not low.startswith("[")
                self.table = (self.pending_title, cols, _row_pattern(cols), csv, [])
                self.pending_title = None
                return True
            self.pending_title = None
        if self.table is not None:
            if not line.strip():
                self.close_table()
                return True
            row = _parse_row(self.table[1], self.table[2], self.table[3], line)
            if row is not None:
                self.table[4].append(row)
                return True
            self.close_table()
        return False

    def feed(self, lineno: int, raw: str) -> None:
        line = _PREFIX.sub("", raw.rstrip("\r\n"))
        if self.table_line(line) or self.context(line):
            return
        st = _stats(line)
        if st is not None:
            self.stats.append(st)
            self.started = True
            return
        m = _SUMMARY.search(line)
        if m:
            self.summary(lineno, m.group(1), m.group("rest"))
            return
        if line.startswith("Running benchmark") or line.startswith("Initialized session"):
            self.started = True
        if not self.started:
            f = _FLAG.match(line.strip())
            if f:
                self.log.flags[f.group("desc").strip()] = f.group("val").strip()

    def summary(self, lineno: int, kind: str, rest: str) -> None:
        vals = _summary(self.log.path, lineno, kind, rest)
        lg = self.log
        if kind.startswith("Average"):
            lg.summary_format = "older"
            lg.warmup_avg_us, lg.init_us = vals.get("Warmup"), vals.get("Init")
            lg.inference_avg_us = vals.get("no stats", vals.get("Inference", vals.get("Inference (avg)")))
        else:
            lg.summary_format = "current"
            lg.init_us, lg.first_us = vals.get("Init"), vals.get("First inference")
            lg.warmup_avg_us, lg.inference_avg_us = vals.get("Warmup (avg)"), vals.get("Inference (avg)")
        if lg.inference_avg_us is None:
            raise InputError(f"{lg.path} line {lineno}: the timing summary has no inference average "
                             f"(expected {SUMMARY_EXPECTED})")
        self.started = True


def parse_text(text: str, path: str = "<log>") -> BenchLog:
    """Parse a ``benchmark_model`` log's text (see the module docstring)."""
    r = _Reader(path)
    lines = text.splitlines()
    for i, raw in enumerate(lines, start=1):
        r.feed(i, raw)
    r.close_table()
    lg = r.log
    # the benchmark runs' statistics lines: warm-up first, then the regular runs (the op
    # profiler's own 'Timings (microseconds): ...' lines are not among them: they carry a prefix)
    if len(r.stats) >= 2:
        lg.warmup, lg.inference = r.stats[0], r.stats[1]
    elif len(r.stats) == 1 and lg.summary_format:
        lg.warmup = r.stats[0]
    if lg.inference_avg_us is None and lg.inference is None:
        raise InputError(f"{path}: no timing lines in this benchmark_model log ({len(lines)} lines); expected a "
                         f"line {SUMMARY_EXPECTED}; rerun benchmark_model and save its whole output")
    ms = lg.latency_ms
    if not math.isfinite(ms) or ms <= 0:
        raise InputError(f"{path}: the regular runs' time {ms:g} ms is not a positive number; rerun benchmark_model")
    return lg


def parse_log(path: str | Path) -> BenchLog:
    """Read and parse the log file at ``path``; one-line :class:`InputError` on any problem."""
    p = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{p}: no such log file") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    return parse_text(data.decode("utf-8", errors="replace"), p)


# -- writing -----------------------------------------------------------------------------------

def _g(x: float) -> str:
    """A number as C++'s default ``ostream <<`` prints a double (6 significant digits)."""
    s = f"{x:.6g}"
    return s.replace("e+0", "e+").replace("e-0", "e-")


def _percentile(values: list[int], p: int) -> int:
    """``StatWithPercentiles::percentile``: the element at index ``n * p / 100`` of the sorted values."""
    s = sorted(values)
    return s[-1] if p == 100 else s[len(s) * p // 100]


def stats_line(times_us: list[int], percentiles: bool = True) -> str:
    """``StatWithPercentiles::OutputToStream`` of integer microseconds."""
    if not times_us:
        return "count=0"
    n = len(times_us)
    lo, hi = min(times_us), max(times_us)
    if lo == hi:
        text = f"count={n} curr={times_us[-1]}" + ("(all same)" if n > 1 else "")
    else:
        avg = sum(times_us) / n
        std = math.sqrt(max(0.0, sum(t * t for t in times_us) / n - avg * avg))
        text = (f"count={n} first={times_us[0]} curr={times_us[-1]} min={lo} max={hi} avg={_g(avg)} "
                f"std={int(std)}")
    if percentiles:
        text += (f" p5={_percentile(times_us, 5)} median={_percentile(times_us, 50)} "
                 f"p95={_percentile(times_us, 95)}")
    return text


def _field(width: int, text: str) -> str:
    """``InitField``: a tab, then the value right-aligned in ``width`` characters."""
    return "\t" + text.rjust(width)


def _op_table(title: str, rows: list[tuple[str, float, str]], total: float) -> list[str]:
    out = ["=" * 30 + f" {title} " + "=" * 30,
           "".join([_field(40, "[node type]"), _field(9, "[first]"), _field(9, "[avg ms]"), _field(8, "[%]"),
                    _field(8, "[cdf%]"), _field(10, "[mem KB]"), _field(9, "[times called]")]) + "\t[Name]"]
    cdf = 0.0
    for typ, ms, name in rows:
        pct = 100.0 * ms / total if total > 0 else 0.0
        cdf += pct
        out.append("".join([_field(40, typ), _field(9, f"{ms:.3f}"), _field(9, f"{ms:.3f}"),
                            _field(7, f"{pct:.3f}") + "%", _field(7, f"{cdf:.3f}") + "%",
                            _field(10, "0.000"), _field(9, "1")]) + "\t" + name)
    return out + [""]


def _by_type(rows: list[tuple[str, float, str]]) -> list[str]:
    agg: dict[str, list] = {}
    for typ, ms, _ in rows:
        e = agg.setdefault(typ, [0, 0.0])
        e[0] += 1
        e[1] += ms
    total = sum(v[1] for v in agg.values())
    out = [f"Number of nodes executed: {len(rows)}", "=" * 30 + f" {BY_TYPE} " + "=" * 30,
           "".join([_field(40, "[Node type]"), _field(9, "[count]"), _field(10, "[avg ms]"), _field(11, "[avg %]"),
                    _field(11, "[cdf %]"), _field(10, "[mem KB]"), _field(10, "[times called]")])]
    cdf = 0.0
    for typ, (n, ms) in sorted(agg.items(), key=lambda kv: -kv[1][1]):
        pct = 100.0 * ms / total if total > 0 else 0.0
        cdf += pct
        out.append("".join([_field(40, typ), _field(9, str(n)), _field(10, f"{ms:.3f}"),
                            _field(10, f"{pct:.3f}") + "%", _field(10, f"{cdf:.3f}") + "%", _field(10, "0.000"),
                            _field(9, str(n))]))
    return out + [""]


def op_profile_lines(ops: list[dict]) -> list[str]:
    """The regular runs' op-profiling tables (Run Order, Top by Computation Time, Summary by
    node type) from per-op mean times (``{"name", "op_type", "ms"}``; first = avg: costlab's
    runtimes report means only; memory 0 as the tool prints without memory tracking)."""
    rows = [(str(o.get("op_type") or "op"), float(o["ms"]), f"{o.get('name') or 'op'}:{i}")
            for i, o in enumerate(ops)]
    total = sum(ms for _, ms, _ in rows)
    top = sorted(rows, key=lambda r: -r[1])[:10]
    return (["Operator-wise Profiling Info for Regular Benchmark Runs:"] + _op_table(RUN_ORDER, rows, total)
            + _op_table(TOP_TIME, top, total) + _by_type(rows))


def write_log(doc: dict) -> str:
    """A ``benchmark_model`` log (newer format, ``INFO:`` lines) of ``costlab bench``'s JSON
    document ``doc`` (needs ``times_ms``; uses ``threads``, ``runs``, ``warmup``, ``first_ms``,
    ``load_s``, ``artifact``, ``runtime``, ``spec`` and, when present, ``ops``).

    costlab times the first inference, then runs ``warmup`` untimed inferences: the warm-up
    statistics line is that one first inference (count=1). The op tables appear only when the
    runtime gave per-op times; the profiler's own short summary (``Timings (microseconds):
    ...``) is left out (costlab keeps per-op means, not per-run totals)."""
    times = doc.get("times_ms")
    if not times:
        raise InputError("costlab bench --log needs the timed runs (times_ms) of the measurement")
    us = [max(1, int(round(t * 1e3))) for t in times]
    first_us = max(1, int(round(float(doc.get("first_ms") or times[0]) * 1e3)))
    init_us = int(round(float(doc.get("load_s") or 0.0) * 1e6))
    graph = doc.get("artifact") or f"({doc.get('runtime')}: no model file)"
    name = f"costlab bench {doc.get('spec', '')} --runtime {doc.get('runtime', '')} (local, not benchmark_model)"
    info = [
        "STARTING!",
        "Log parameter values verbosely: [0]",
        f"Min num runs: [{int(doc.get('runs', len(us)))}]",
        f"Num threads: [{int(doc.get('threads', 1))}]",
        f"Benchmark name: [{name}]",
        f"Min warmup runs: [{int(doc.get('warmup', 0))}]",
        f"Graph: [{graph}]",
    ]
    if doc.get("ops"):
        info.append("Enable op profiling: [1]")
    info += [f"Loaded model {graph}", f"Initialized session in {_g(init_us / 1e3)}ms.",
             "Running benchmark for at least 1 iterations and at least 0 seconds but terminate if exceeding "
             "150 seconds.", stats_line([first_us]) + "\n",
             f"Running benchmark for at least {len(us)} iterations and at least 0 seconds but terminate if "
             "exceeding 150 seconds.", stats_line(us) + "\n"]
    lines = [f"INFO: {ln}" for ln in info]
    if doc.get("ops"):
        prof = op_profile_lines(doc["ops"])
        lines.append(f"INFO: {prof[0]}")
        lines += prof[1:]
    avg = sum(us) / len(us)
    lines.append(f"INFO: Inference timings in us: Init: {init_us}, First inference: {first_us}, "
                 f"Warmup (avg): {_g(float(first_us))}, Inference (avg): {_g(avg)}")
    return "\n".join(lines) + "\n"


__all__ = ["BenchLog", "RunStats", "OpRow", "OpTable", "parse_log", "parse_text", "write_log", "stats_line",
           "op_profile_lines", "SUMMARY_EXPECTED"]
