"""Predict many models on many devices, resumably, on local processes or a Ray cluster.

``sweep(items, ["arm", "gpu"], "results.parquet", jobs=2)`` predicts every (zoo spec, input
shape) of ``items`` on every device and writes one row per (model, device): ``spec``,
``input_shape``, ``device`` (the profile's name), ``latency_ms``, ``macs``, ``params``,
``error`` (empty, or why the model could not be built; ``macs`` and ``params`` are then
empty) and ``profile_hash`` (:func:`profile_hash` of the profile that predicted the row).

**One code path for every backend.** The items are cut into chunks; :func:`predict_chunk`
``(chunk, devices) -> rows`` predicts one chunk (:func:`costlab.search.predict_costs`: block
features x each profile's coefficients, each distinct block traced once per process) and
runs inline (``jobs=1``), as a task of a local ``ProcessPoolExecutor`` (``jobs=N``), or as
a Ray task (``backend='ray'``: ``ray.init(address=...)``, or a local instance when no address
is given and Ray is not initialised yet). The rows are the same whichever runs them.

**Resumable; a killed run loses nothing written.** Every finished chunk is committed at once
as its own part file in ``<output>.parts/`` (written to a temporary name, flushed, fsynced,
then renamed: a part is there whole or not at all). A run first reads what the output and
its parts already hold and predicts only the (model, device) pairs that are missing, or
whose row was predicted by other profile content (another ``profile_hash``: the profile file
was edited); at the end it writes exactly the requested (model, device) pairs into the output
file (atomically) and removes the parts: rows of other models or devices in an earlier output
are left out. Parts holding rows of other pairs are a killed run of another request, which
the run refuses to throw away (rerun that command, or remove the folder). The merged rows are
in a canonical order (the items' order, then the devices'), so the file does not depend on
chunking, jobs, backend or how often the run was resumed.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from .blocks import normalize_shape
from .errors import CostlabError, InputError, OutputError, SpecError, UsageError, reworded
from .frontends import is_file_spec
from .latency.profile import as_document, load_profile
from .search import predict_costs, sample_space
from .spec import file_input_shape
from .sweep_ray import RAY_HINT, _ray_module, check_reachable, ray_start_line, run_ray  # noqa: F401
from .zoo.registry import parse_spec

MAX_SPACE = 2_000_000        # architectures one --space sweep samples (about 6.5 kB each in memory)

COLUMNS = ["spec", "input_shape", "device", "latency_ms", "macs", "params", "error", "profile_hash"]
KEY = ["spec", "input_shape", "device"]
COUNTS = ["macs", "params"]
FORMATS = {".csv": "csv", ".parquet": "parquet"}
BACKENDS = ("local", "ray")
# floats read back exactly as written (pandas >= 3 does so by default and deprecates the option)
_ROUND_TRIP = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


# -- inputs -----------------------------------------------------------------------------------

def shape_text(shape: Sequence[int]) -> str:
    return "x".join(str(int(d)) for d in shape)


def _item(spec: str, size: str | None, where: str) -> tuple[str, tuple[int, ...]]:
    if is_file_spec(spec):      # model.onnx / model.tflite: its own input, or SIZE choosing its symbolic dims
        try:
            given = None if size is None else int(size) if size.isdigit() else normalize_shape(size)
            return spec, file_input_shape(spec, given)
        except CostlabError as exc:
            raise reworded(exc, f"{where}: {exc}") from None
    try:
        entry, _ = parse_spec(spec)
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None
    if size is None:
        return spec, tuple(entry.default_input_shape())
    if size.isdigit():
        return spec, tuple(entry.default_input_shape(int(size)))
    try:
        return spec, normalize_shape(size)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def read_specs(path: str | os.PathLike) -> list[tuple[str, tuple[int, ...]]]:
    """A specs file: one zoo spec or model file (``model.onnx``, ``model.tflite``, a path from the
    current folder) a line, optionally followed by a resolution (``160``) or an input shape
    (``1x3x160x160``; for a file: its symbolic dims); blank lines and ``#`` comments are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read specs file '{path}': {getattr(exc, 'strerror', None) or exc}") from None
    items = []
    for n, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split()
        if len(parts) > 2:
            raise InputError(f"{path}:{n}: write SPEC [RESOLUTION | NxCxHxW], got {line.strip()!r}")
        items.append(_item(parts[0], parts[1] if len(parts) == 2 else None, f"{path}:{n}"))
    if not items:
        raise InputError(f"specs file '{path}' lists no model; write one zoo spec a line")
    return items


def space_items(space: str, n: int, seed: int = 0, resolution: int | None = None) -> list[tuple[str, tuple]]:
    """``n`` distinct random architectures of ``space`` (``fbnet``, ``nb201``) at ``resolution``."""
    if n > MAX_SPACE:     # the specs are sampled and held up front: millions exhaust the memory
        raise UsageError(f"--n {n:,}: at most {MAX_SPACE:,} architectures in one sweep (the sampled specs are held "
                         f"in memory); sweep fewer, or sample them yourself into a specs file and sweep it in parts")
    specs = sample_space(space, n, seed)
    entry, _ = parse_spec(specs[0])
    return [(s, tuple(entry.default_input_shape(resolution))) for s in specs]


# -- the work ---------------------------------------------------------------------------------

def profile_hash(profile) -> str:
    """First 12 hex digits of the sha256 of the profile's canonical JSON (keys starting with
    ``_``, such as the file it was read from, left out): a row is reused only for the same hash."""
    body = {k: v for k, v in as_document(profile).items() if not str(k).startswith("_")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _counts(df: pd.DataFrame) -> pd.DataFrame:
    """``macs`` / ``params`` as int64, or as nullable Int64 (empty cells, not -1) where some
    model could not be built."""
    for c in COUNTS:
        col = pd.to_numeric(df[c])
        df[c] = col.astype("Int64") if col.isna().any() else col.astype("int64")
    return df


def predict_chunk(chunk: Sequence[tuple[str, Sequence[int]]], devices: Sequence) -> pd.DataFrame:
    """Rows (item-major, device-minor) of one chunk: the unit of work of every backend."""
    items = [(str(s), tuple(int(d) for d in shape)) for s, shape in chunk]
    devices = [load_profile(p) for p in devices]
    hashes = [profile_hash(p) for p in devices]
    costs = predict_costs(items, list(devices))
    names = [p.name for p in devices]
    n, m = len(items), len(names)
    err = [costs.skipped.get(i, "") for i in range(n)]
    bad = np.repeat([i in costs.skipped for i in range(n)], m).astype(bool)
    df = pd.DataFrame({
        "spec": np.repeat([s for s, _ in items], m).tolist(),
        "input_shape": np.repeat([shape_text(sh) for _, sh in items], m).tolist(),
        "device": names * n,
        "latency_ms": np.stack([costs.latency[d] for d in names], axis=1).reshape(-1) if n else [],
        "macs": pd.array(np.repeat(costs.macs, m), dtype="Int64"),
        "params": pd.array(np.repeat(costs.params, m), dtype="Int64"),
        "error": np.repeat(err, m).tolist(),
        "profile_hash": hashes * n,
    }, columns=COLUMNS)
    df.loc[bad, COUNTS] = pd.NA
    return _counts(df)


# -- the store: output file + committed parts --------------------------------------------------

def _has_parquet() -> bool:
    import importlib.util

    return any(importlib.util.find_spec(m) is not None for m in ("pyarrow", "fastparquet"))


class Store:
    """The output file and its ``<output>.parts/`` folder of committed chunks."""

    def __init__(self, output: str | os.PathLike):
        self.path = Path(output)
        self.fmt = FORMATS.get(self.path.suffix.lower())
        if self.fmt is None:
            raise UsageError(f"-o {output}: write results to a .parquet or .csv file")
        if self.fmt == "parquet" and not _has_parquet():
            raise UsageError(f"-o {output}: writing .parquet needs pyarrow (pip install pyarrow), "
                             "or give -o a .csv file")
        if not self.path.parent.is_dir():
            raise OutputError(f"cannot write '{output}': folder '{self.path.parent}' does not exist")
        if not os.access(self.path.parent, os.W_OK | os.X_OK):     # before any work (issue 22 item 6)
            raise OutputError(f"cannot write '{output}': folder '{self.path.parent}' is not writable; "
                              "choose another -o")
        self.parts = self.path.with_name(self.path.name + ".parts")
        self.index = self.path.with_name(f".{self.path.name}.sweep-index.json")
        self.run = f"{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.written = 0

    def ensure_parts(self) -> None:
        """The parts folder, or a one-line OutputError saying why it cannot be made."""
        try:
            self.parts.mkdir(exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot write '{self.path}': cannot make '{self.parts}' "
                              f"({exc.strerror or exc}); choose another -o") from None

    def _read(self, path: Path) -> pd.DataFrame:
        try:
            if self.fmt == "parquet":
                df = pd.read_parquet(path)
            else:
                df = pd.read_csv(path, dtype={c: str for c in KEY + ["error", "profile_hash"]},
                                 keep_default_na=False, na_values={c: ["", "NaN", "nan"] for c in
                                                                   ["latency_ms"] + COUNTS}, **_ROUND_TRIP)
        except Exception as exc:   # noqa: BLE001 -- any reader error means the same thing here
            raise InputError(f"cannot read '{path}' ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                             "it is not a costlab sweep output: choose another -o or remove it") from None
        missing = [c for c in COLUMNS[:-1] if c not in df.columns]
        if missing:
            raise InputError(f"'{path}' exists but is not a costlab sweep output (no column {missing[0]}); "
                             "choose another -o or remove it")
        if "profile_hash" not in df.columns:      # written before rows carried it: predicted again
            df["profile_hash"] = ""
        for c in ("error", "profile_hash"):
            df[c] = df[c].fillna("").astype(str)
        for c in COUNTS:                          # -1 was written for a model that could not be built
            df[c] = pd.to_numeric(df[c]).where(df["error"] == "")
        return df[COLUMNS]

    def _stat(self) -> list[int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return [st.st_size, st.st_mtime_ns]

    def done(self, request: str) -> dict | None:
        """The index of a finished run of ``request`` (:func:`request_key`) when the output is
        still exactly the file it describes (same size and mtime) and no part is pending; else
        ``None``. Reads only the small index, never the output."""
        if self.part_files():
            return None
        try:
            index = json.loads(self.index.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(index, dict) or index.get("version") != 1 or index.get("request") != request:
            return None
        stat = self._stat()
        return index if stat is not None and index.get("output") == stat else None

    def mark_done(self, request: str, rows: int, errors: int) -> None:
        """Record that the output holds exactly ``request``'s rows (best effort: a missing index
        only means the next run reads the output to find that out)."""
        stat = self._stat()
        if stat is None:
            return
        body = {"version": 1, "request": request, "rows": int(rows), "errors": int(errors), "output": stat}
        try:
            self.index.unlink(missing_ok=True)
            tmp = self.index.with_name(self.index.name + f".tmp-{self.run}")
            tmp.write_text(json.dumps(body), encoding="utf-8")
            os.replace(tmp, self.index)
        except OSError:
            pass

    def forget_done(self) -> None:
        try:
            self.index.unlink(missing_ok=True)
        except OSError:
            pass

    def part_files(self) -> list[Path]:
        if not self.parts.is_dir():
            return []
        return sorted(p for p in self.parts.iterdir() if p.name.startswith("part-") and p.suffix == "." + self.fmt)

    def output_rows(self) -> pd.DataFrame:
        return self._read(self.path) if self.path.exists() else _empty()

    def part_rows(self) -> pd.DataFrame:
        frames = [self._read(p) for p in self.part_files()]
        return pd.concat(frames, ignore_index=True) if frames else _empty()

    def existing(self) -> pd.DataFrame:
        """Every row the output and its committed parts hold (first occurrence of a key and
        profile hash wins)."""
        df = pd.concat([self.output_rows(), self.part_rows()], ignore_index=True)
        return df.drop_duplicates(KEY + ["profile_hash"], keep="first").reset_index(drop=True)

    def _write(self, df: pd.DataFrame, f) -> None:
        if self.fmt == "parquet":
            df.to_parquet(f, index=False)
        else:
            df.to_csv(f, index=False, lineterminator="\n")

    def commit(self, df: pd.DataFrame, index: int) -> Path:
        """Write one chunk's rows as a part, atomically (temporary name, fsync, rename)."""
        self.ensure_parts()
        final = self.parts / f"part-{self.run}-{index:06d}.{self.fmt}"
        tmp = self.parts / f".tmp-{final.name}"
        try:
            with open(tmp, "wb" if self.fmt == "parquet" else "w", **({} if self.fmt == "parquet" else
                                                                       {"encoding": "utf-8", "newline": ""})) as f:
                self._write(df, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException as exc:          # an interrupted write leaves no temporary file
            tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise OutputError(f"cannot write a part of '{self.path}' in '{self.parts}': "
                                  f"{exc.strerror or exc}") from None
            raise
        self.written += len(df)
        return final

    def merge(self, items: Sequence[tuple[str, tuple]], hashes: dict[str, str]) -> pd.DataFrame:
        """The requested pairs (``hashes``: device name -> profile hash) of output + parts -> the
        output file (atomically, canonical order); parts removed."""
        from .present.output import atomic_write

        df = self.existing()
        pos = {(s, shape_text(sh)): i for i, (s, sh) in enumerate(items)}
        dpos = {d: i for i, d in enumerate(hashes)}
        df = df[_requested(df, pos, hashes) & _fresh(df, hashes)].drop_duplicates(KEY)
        if len(df) != len(pos) * len(dpos):
            raise OutputError(f"internal error: {len(df)} rows for {len(pos)} models x {len(dpos)} devices; "
                              f"{resume_hint(self)}")
        df = df.assign(_i=[pos[k] for k in zip(df["spec"], df["input_shape"])], _d=df["device"].map(dpos))
        df = df.sort_values(["_i", "_d"], kind="stable").drop(columns=["_i", "_d"]).reset_index(drop=True)
        df = _counts(df)
        df["latency_ms"] = df["latency_ms"].astype(float)
        atomic_write(self.path, lambda f: self._write(df, f), binary=self.fmt == "parquet")
        for p in self.part_files():
            p.unlink()
        for p in self.parts.glob(".tmp-part-*") if self.parts.is_dir() else ():
            p.unlink(missing_ok=True)         # left by a run killed while writing a part
        try:
            self.parts.rmdir()
        except OSError:
            pass
        return df


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=float if c in ["latency_ms"] + COUNTS else str) for c in COLUMNS})


def _requested(df: pd.DataFrame, pos: dict, hashes: dict[str, str]) -> pd.Series:
    """Rows of a requested (model, device) pair (``pos``: (spec, shape text) -> index)."""
    return pd.Series([k in pos for k in zip(df["spec"], df["input_shape"])], index=df.index, dtype=bool) \
        & df["device"].isin(list(hashes))


def _fresh(df: pd.DataFrame, hashes: dict[str, str]) -> pd.Series:
    """Rows predicted by the profile content of this run (same profile hash)."""
    return df["profile_hash"] == df["device"].map(hashes)


# -- backends ---------------------------------------------------------------------------------

Task = tuple[list, list]          # (chunk of items, device profiles); Ray runs them in sweep_ray.py


def _exit_with_parent(parent: int) -> None:
    """Pool workers end when the sweep's process dies (killed: no one would ever collect them)."""
    import threading

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


_FORK_UNSAFE = ("jax", "tensorflow")


def _run_local(tasks: Sequence[Task], jobs: int) -> Iterator[tuple[int, pd.DataFrame]]:
    if jobs <= 1 or len(tasks) <= 1:
        for k, (chunk, devs) in enumerate(tasks):
            yield k, predict_chunk(chunk, devs)
        return
    # the first chunk runs here: it traces the distinct blocks, which forked workers inherit
    yield 0, predict_chunk(*tasks[0])
    import multiprocessing as mp

    # fork (workers inherit the traced blocks), unless the process has loaded a library that
    # is multithreaded and unsafe to fork (JAX, TensorFlow: a library user's session): then
    # spawn, which retraces the blocks in each worker but cannot deadlock
    unsafe = any(m in sys.modules for m in _FORK_UNSAFE)
    ctx = (mp.get_context("fork") if "fork" in mp.get_all_start_methods() and not unsafe
           else mp.get_context("spawn"))
    ex = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_exit_with_parent,
                             initargs=(os.getpid(),))
    try:
        futs = {ex.submit(predict_chunk, chunk, devs): k for k, (chunk, devs) in enumerate(tasks) if k}
        pending = set(futs)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in sorted(done, key=futs.get):
                yield futs[f], f.result()
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


# -- the sweep ---------------------------------------------------------------------------------

@dataclass
class SweepSummary:
    output: str
    rows: int               # rows in the output now
    computed: int           # rows this run predicted
    already: int            # rows of these models x devices that were there before
    errors: int             # rows whose model could not be built
    items: int
    devices: list[str]
    backend: str
    jobs: int
    seconds: float
    notes: list[str] = field(default_factory=list)   # rows predicted again, rows left out, for stderr
    untouched: bool = False  # nothing to do: the index said the output already holds every row; not read

    def line(self) -> str:
        nd = len(self.devices)
        if self.untouched:
            return (f"nothing to do: {self.output} already holds all {self.rows:,} rows ({self.items:,} models x {nd} "
                    f"device{'s' * (nd > 1)}: {', '.join(self.devices)})"
                    + (f", {self.errors:,} rows with errors" if self.errors else "") + "; left as it was")
        how = "Ray" if self.backend == "ray" else f"{self.jobs} local process"
        return (f"wrote {self.output}: {self.rows:,} rows ({self.items:,} models x {nd} device{'s' * (nd > 1)}: "
                f"{', '.join(self.devices)}); {self.computed:,} predicted in {self.seconds:.1f} s "
                f"({how}{'es' if self.backend == 'local' and self.jobs > 1 else ''}), "
                f"{self.already:,} already there" + (f"; {self.errors:,} rows with errors" if self.errors else ""))


def plan(items, names, existing: pd.DataFrame, chunk_size: int) -> list[tuple[list, tuple[str, ...]]]:
    """Chunks of the (item, devices) pairs not in ``existing``, grouped by the devices missing."""
    done = set(zip(existing["spec"], existing["input_shape"], existing["device"]))
    groups: dict[tuple[str, ...], list] = {}
    for spec, shape in items:
        st = shape_text(shape)
        missing = tuple(d for d in names if (spec, st, d) not in done)
        if missing:
            groups.setdefault(missing, []).append((spec, tuple(shape)))
    return [(its[i:i + chunk_size], devs) for devs, its in groups.items() for i in range(0, len(its), chunk_size)]


def request_key(items, hashes: dict[str, str]) -> str:
    """sha256 of what a run asks for: its (spec, input shape) items in order and its devices
    with their profile hashes (the index of a finished run is valid for this key only)."""
    h = hashlib.sha256(json.dumps(list(hashes.items())).encode("utf-8"))
    h.update("\n".join(f"{s}\t{shape_text(sh)}" for s, sh in items).encode("utf-8"))
    return h.hexdigest()


def _reuse(store: Store, items, hashes: dict[str, str]) -> tuple[pd.DataFrame, list[str], bool]:
    """The rows of the output and its parts this run can keep (requested pairs, same profile
    hash, one per pair), notes for stderr, and whether the output is already exactly them.
    Parts holding other pairs are a killed run of another request: refused, not thrown away."""
    pos = {(s, shape_text(sh)): i for i, (s, sh) in enumerate(items)}
    out, parts = store.output_rows(), store.part_rows()
    other = parts[~_requested(parts, pos, hashes)]
    if len(other):
        r = other.iloc[0]
        raise UsageError(f"'{store.parts}' holds {len(other):,} rows of a stopped sweep of other models or devices "
                         f"(e.g. {r['spec']} on {r['device']}): rerun that command to finish it, or remove "
                         f"the folder to start this one")
    rows = pd.concat([out, parts], ignore_index=True)
    req = _requested(rows, pos, hashes)
    fresh = req & _fresh(rows, hashes)
    keep = rows[fresh].drop_duplicates(KEY).reset_index(drop=True)
    kept = set(zip(keep["spec"], keep["input_shape"], keep["device"]))
    stale = rows[req & ~fresh].drop_duplicates(KEY)
    stale = stale[np.array([k not in kept for k in zip(stale["spec"], stale["input_shape"], stale["device"])],
                           dtype=bool)]
    notes = [f"profile {d} changed since the earlier run: {n:,} rows predicted again"
             for d, n in stale["device"].value_counts(sort=False).items()]
    dropped = int((~_requested(out, pos, hashes)).sum())
    if dropped:
        notes.append(f"{store.path} held {dropped:,} rows of other models or devices, left out: "
                     "the output holds the models x devices of this run only")
    exact = (store.path.exists() and not len(parts) and len(out) == len(keep) == len(pos) * len(hashes)
             and bool(_fresh(out, hashes).all()))
    return keep, notes, exact


def sweep(items: Sequence[tuple[str, Sequence[int]]], devices: Sequence[str | dict], output: str | os.PathLike, *,
          jobs: int = 1, backend: str = "local", ray_address: str | None = None, chunk_size: int = 1000,
          progress: bool | None = None, on_chunk: Callable[[int, pd.DataFrame], None] | None = None) -> SweepSummary:
    """Predict every item on every device into ``output`` (.parquet or .csv), resumably.

    ``on_chunk(index, rows)`` is called after each chunk is committed. A run that stops
    (killed, an error, ``on_chunk`` raising) keeps every committed chunk; the next run with
    the same output predicts only what is missing."""
    t0 = time.perf_counter()
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend '{backend}'; use one of {', '.join(BACKENDS)}")
    if jobs < 1 or chunk_size < 1:
        raise UsageError("--jobs and the chunk size must be at least 1")
    if not devices:
        raise UsageError("give at least one device, e.g. --device arm,gpu")
    profiles = [load_profile(d) for d in devices]
    names = list(dict.fromkeys(p.name for p in profiles))
    by_name = {p.name: p for p in profiles}
    hashes = {d: profile_hash(by_name[d]) for d in names}
    given = len(items)
    items = list(dict.fromkeys((s, tuple(int(d) for d in sh)) for s, sh in items))
    store = Store(output)
    notes = []
    if given > len(items):          # the output has one row per model x input x device
        notes.append(f"{given - len(items):,} duplicate model lines (same spec and input) merged: "
                     f"{len(items):,} distinct models swept")
    request = request_key(items, hashes)
    done = store.done(request)
    if done is not None:            # a rerun of a finished sweep: neither read nor rewrite the output
        return SweepSummary(str(output), done["rows"], 0, done["rows"], done["errors"], len(items), names, backend,
                            jobs, time.perf_counter() - t0, notes, untouched=True)
    if backend == "ray" and not _ray_module().is_initialized():
        check_reachable(ray_address)
    existing, more, exact = _reuse(store, items, hashes)
    notes += more
    work = plan(items, names, existing, chunk_size)
    tasks = [(chunk, [by_name[d] for d in devs]) for chunk, devs in work]
    todo = sum(len(c) * len(d) for c, d in tasks)
    show = sys.stderr.isatty() if progress is None else progress
    if backend == "ray" and tasks:      # Ray's start-up takes seconds to minutes: say what is awaited
        print(f"costlab: {ray_start_line(len(tasks), todo, ray_address)}", file=sys.stderr, flush=True)
    runner = run_ray(predict_chunk, tasks, ray_address) if backend == "ray" and tasks else _run_local(tasks, jobs)
    from tqdm import tqdm

    with tqdm(total=todo, unit="row", desc="sweep", disable=True if (not show or not todo) else None, file=sys.stderr) as bar:
        try:
            for n, (k, rows) in enumerate(runner, 1):
                store.commit(rows, k)
                bar.update(len(rows))
                bar.set_postfix_str(f"{n}/{len(tasks)} chunks")     # refreshes once per finished chunk
                if on_chunk is not None:
                    on_chunk(k, rows)
        except (InputError, SpecError, UsageError, OutputError) as exc:
            raise type(exc)(f"{exc}; {resume_hint(store)}") from None
        except BrokenProcessPool:
            raise UsageError(f"a worker process died (out of memory? try fewer --jobs); {resume_hint(store)}") from None
        finally:
            runner.close()
    if exact and not todo:
        df = existing
    else:
        store.forget_done()
        df = store.merge(items, hashes)
    errors = int((df["error"] != "").sum())
    store.mark_done(request, len(df), errors)
    return SweepSummary(str(output), len(df), todo, len(items) * len(names) - todo, errors, len(items),
                        names, backend, jobs, time.perf_counter() - t0, notes)


def resume_hint(store: Store) -> str:
    n = store.written
    return (f"{n:,} rows of this run are kept in {store.parts}/: rerun the same command to resume"
            if n else "nothing of this run was written")


def partial_note(output: str | os.PathLike) -> str:
    """What an interrupted sweep into ``output`` left behind, in one line."""
    try:
        st = Store(output)
        n = sum(len(st._read(p)) for p in st.part_files())
    except Exception:   # noqa: BLE001 -- a note only
        return ""
    return (f"{n:,} predicted rows are kept in {st.parts}/: rerun the same command to resume"
            if n else "")


__all__ = ["sweep", "predict_chunk", "profile_hash", "read_specs", "space_items", "Store", "SweepSummary", "plan", "COLUMNS"]
