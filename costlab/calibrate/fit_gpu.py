"""Fit the GPU two-clock model (:mod:`costlab.latency.forms.gpu`) from measured samples.

A GPU sample (``costlab profile --target cuda``, or the H200 data of
:func:`costlab.calibrate.sources.build_gpu_h200`) carries three times: ``latency_ms`` (eager
forward, CUDA events), ``host_ms`` (wall time for the forward call to return, GPU idle at
its start: the dispatch time) and ``graph_ms`` (CUDA-graph replay: the GPU's time).

* **Device part**: non-negative least squares on relative error of ``graph_ms`` over the
  training samples (role ``fit``: ops, blocks, networks), linear in its parameters
  (:data:`costlab.latency.forms.gpu.DEVICE_TERMS` per device class, plus one graph launch per
  sample). Each coefficient is a shared part plus a per-class excess (ridge :data:`LAMBDA`
  on the excesses: a class the samples never exercise gets the shared rate). Network rows
  weigh ``network_weight`` times an op row (networks are what users predict); ``robust``:
  Huber weights (:data:`HUBER`) by iteratively reweighted least squares.
* **Host part**: the same on ``host_ms``, over the training samples where the GPU was faster
  than the dispatch (``graph_ms < host_ms``): elsewhere the host can be blocked by a full
  launch queue and its time is not dispatch. Per dispatched op (one cost, or per class),
  optionally per view and per module entered, per extra kernel, per forward.
* **Composition**: for the eager rule, ``gap_ms`` (a per-kernel launch gap outside graphs,
  searched on :data:`GAPS`) and ``sync_ms`` (closed form) on the training samples' eager
  times given the two fitted parts, network rows weighted as for the device part.

**Choices, on training rows only** (:func:`select`): each part's form in turn (device: the
per-class linear baseline or the GPU-refined form, network weight, robust or not; host:
which terms; eager: max, p-norm or the queue) is the candidate with the lowest
leave-one-network-out MAPE over the profile's training networks (every sample of one
network held out, the parts refitted); held-out networks (role ``check``) are never looked
at. The FLOPs-only baseline: per batch size, ``t = a * GMAC + c`` fitted on the training
networks of that batch, for each runtime.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import nnls

from ..errors import ProfileError
from ..latency.forms import gpu as G
from ..blocks import sample_graph

LAMBDA = 1e-2
IRLS_STEPS = 8
HUBER = 0.10          # relative residual beyond which a row counts linearly (robust fits)
# (tile term, L2 MB) variants of the refined device form: none, tiles, HBM beyond a half or
# the whole of the H200's 50 MB L2, both
TILE_L2 = ((False, 0.0), (True, 0.0), (False, 25.0), (False, 50.0), (True, 25.0), (True, 50.0))
_NT = len(G.ALL_DEVICE_TERMS)
_DC = {c: i for i, c in enumerate(G.DEVICE_CLASSES)}
_BC = {c: i for i, c in enumerate(G.BASE_CLASSES)}


@dataclass(frozen=True)
class DeviceForm:
    """``refined``: the GPU refinements (device classes, bias kernels, serial term); off = the
    guide's per-latency-class ``a*GMAC + b*MB + c*kernels`` (the baseline it must beat)."""

    refined: bool = True
    network_weight: float = 1.0
    robust: bool = False
    tiles: bool = False          # the per-output-tile term of GEMM-like kernels (ms_per_ktile)
    l2_mb: float = 0.0           # the HBM term for kernels moving more MB than this (0: none)

    @property
    def name(self) -> str:
        return (f"{'gpu-refined' if self.refined else 'per-class linear'}, network weight {self.network_weight:g}"
                + (", robust" if self.robust else "") + (", + tiles" if self.tiles else "")
                + (f", + HBM beyond {self.l2_mb:g} MB" if self.l2_mb > 0 else ""))


@dataclass(frozen=True)
class HostForm:
    per_class: bool = True
    views: bool = True
    modules: bool = True
    robust: bool = False

    @property
    def name(self) -> str:
        parts = ["per class" if self.per_class else "one cost per op"]
        parts += [w for w, on in (("+ views", self.views), ("+ modules", self.modules)) if on]
        return " ".join(parts) + (", robust" if self.robust else "")


@dataclass(frozen=True)
class CompForm:
    rule: str = "queue"
    p: float = 0.0

    @property
    def name(self) -> str:
        return f"pnorm p={self.p:g}" if self.rule == "pnorm" else self.rule


DEVICE_FORMS = (DeviceForm(False, 1.0),) + tuple(DeviceForm(True, w, r, t, l2) for t, l2 in TILE_L2
                                                 for r in (False, True) for w in (1.0, 3.0, 10.0, 30.0, 100.0))
HOST_FORMS = tuple(HostForm(c, v, m, r) for r in (False, True) for c, v, m in
                   ((False, False, False), (False, True, True), (True, False, False), (True, True, False), (True, True, True)))
COMP_FORMS = (CompForm("max"), CompForm("pnorm", 2.0), CompForm("pnorm", 4.0), CompForm("queue"))


# -- samples -------------------------------------------------------------------------------------------

def h200_samples(path) -> tuple[list[dict], list[dict]]:
    """(samples, excluded) of a ``gpu_decomp.csv``: ``kind=grid`` rows are training samples,
    ``kind=heldout`` rows role=check, except a held-out row that is also a grid sample."""
    import csv

    from .grid import family_of, granularity

    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    grid = {(r["spec"], r["input_shape"]) for r in rows if r["kind"] == "grid"}
    samples, excluded = [], []
    for line, r in enumerate(rows, start=2):
        label = f"{r['spec']} {r['input_shape']} ({r['kind']}, line {line})"
        if r.get("error"):
            excluded.append({"row": label, "reason": f"not measured: {r['error']}"})
            continue
        if r["kind"] == "heldout" and (r["spec"], r["input_shape"]) in grid:
            excluded.append({"row": label, "reason": "also a training (grid) sample at the same shape: not held out"})
            continue
        s = {"spec": r["spec"], "input_shape": [int(x) for x in r["input_shape"].split("x")],
             "granularity": granularity(r["spec"]), "family": family_of(r["spec"]),
             "latency_ms": round(float(r["eager_ms"]), 6), "host_ms": round(float(r["host_ms"]), 6)}
        if r.get("graph_ms"):
            s["graph_ms"] = round(float(r["graph_ms"]), 6)
        s["stats"] = {k: round(float(r[c]), 6) for k, c in (("eager_p10_ms", "eager_p10"), ("eager_p90_ms", "eager_p90"),
                                                            ("graph_p90_ms", "graph_p90")) if r.get(c)}
        s["stats"]["repeats"] = 15
        s["source"] = f"gpu_decomp.csv line {line}"
        if r["kind"] == "heldout":
            s["role"] = "check"
        samples.append(s)
    return samples, excluded


# -- the samples as arrays ------------------------------------------------------------------------

@dataclass
class GpuData:
    samples: list[dict]
    eager: np.ndarray
    host: np.ndarray
    graph: np.ndarray
    batch: np.ndarray
    gmac: np.ndarray
    network: np.ndarray           # granularity network
    fit: np.ndarray               # role fit / train
    check: np.ndarray             # role check (held out)
    k: dict = field(default_factory=dict)    # per kernel: row, op, cls, base, gmac, mb, serial, extra
    o: dict = field(default_factory=dict)    # per op: row, cls, views, modules, kernels (refined / base)
    tail: np.ndarray = None       # per row: (views, modules) after the last op
    start: np.ndarray = None      # per row: index of its first op (rows' ops are contiguous)

    def rows(self, mask: np.ndarray) -> np.ndarray:
        return np.flatnonzero(mask)


def _num(s: dict, key: str) -> float:
    v = s.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else float("nan")


def gpu_data(d: dict, progress: bool = False) -> GpuData:
    """Trace every sample once (cached) and lay its dispatched ops out as arrays."""
    samples = d["samples"]
    dtype, fusion = d.get("dtype", "float32"), tuple(d.get("fusion", ()))
    it = samples
    if progress and len(samples) > 20:
        from tqdm import tqdm

        it = tqdm(samples, desc=f"tracing {d.get('name', '')} samples", unit="sample", leave=False, disable=None)
    k = {x: [] for x in ("row", "op", "cls", "base", "gmac", "mb", "serial", "extra", "ktiles")}
    o = {x: [] for x in ("row", "cls", "views", "modules", "kernels")}
    tail, start, gm = [], [], []
    for r, s in enumerate(it):
        graph, macs = sample_graph(s["spec"], s["input_shape"])
        prog = G.program(graph, dtype, fusion)
        start.append(len(o["row"]))
        gm.append(macs / 1e9)
        for op in prog.ops:
            j = len(o["row"])
            for x, v in (("row", r), ("cls", _DC[op.cls]), ("views", op.views), ("modules", op.modules),
                         ("kernels", len(op.kernels))):
                o[x].append(v)
            for kn in op.kernels:
                for x, v in (("row", r), ("op", j), ("cls", _DC[kn.cls]), ("base", _BC[kn.base]),
                             ("gmac", kn.gmac), ("mb", kn.mb), ("serial", kn.serial), ("extra", kn.extra),
                             ("ktiles", kn.ktiles)):
                    k[x].append(v)
        tail.append((prog.tail_views, prog.tail_modules))
    roles = np.array([s.get("role", "fit") for s in samples])
    return GpuData(
        samples, np.array([_num(s, "latency_ms") for s in samples]), np.array([_num(s, "host_ms") for s in samples]),
        np.array([_num(s, "graph_ms") for s in samples]), np.array([int(s["input_shape"][0]) for s in samples]),
        np.array(gm), np.array([s["granularity"] == "network" for s in samples]), np.isin(roles, ("fit", "train")),
        roles == "check", {x: np.array(v) for x, v in k.items()}, {x: np.array(v) for x, v in o.items()},
        np.array(tail, dtype=float).reshape(-1, 2), np.array(start + [len(o["row"])]))


# -- linear fits ---------------------------------------------------------------------------------

def _nnls_rel(X: np.ndarray, y: np.ndarray, w: np.ndarray, excess: np.ndarray, lam: float,
              robust: float = 0.0) -> np.ndarray:
    """min sum (w * (X b / y - 1))^2 + lam * |excess part of b|^2 (column-normalised), b >= 0.
    ``robust`` > 0: Huber weights (relative residuals beyond ``robust`` count linearly),
    by iteratively reweighted least squares (:data:`IRLS_STEPS` steps)."""
    x = _nnls_rel_once(X, y, w, excess, lam)
    for _ in range(IRLS_STEPS if robust > 0 else 0):
        r = np.abs(X @ x / y - 1)
        x = _nnls_rel_once(X, y, w * np.sqrt(np.minimum(1.0, robust / np.maximum(r, 1e-12))), excess, lam)
    return x


def _nnls_rel_once(X: np.ndarray, y: np.ndarray, w: np.ndarray, excess: np.ndarray, lam: float) -> np.ndarray:
    A = X * (w / y)[:, None]
    b = w.copy()
    scale = np.sqrt((A ** 2).sum(axis=0))
    live = scale > 0
    An = np.zeros_like(A)
    An[:, live] = A[:, live] / scale[live]
    pen = np.flatnonzero(excess & live)
    if lam > 0 and len(pen):
        P = np.zeros((len(pen), A.shape[1]))
        P[np.arange(len(pen)), pen] = math.sqrt(lam)
        An, b = np.vstack([An, P]), np.concatenate([b, np.zeros(len(pen))])
    x, _ = nnls(An, b, maxiter=50 * An.shape[1])
    out = np.zeros(A.shape[1])
    out[live] = x[live] / scale[live]
    return out


def _shared_excess(raw: np.ndarray, ncls: int, nterm: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns: per term a shared column (all classes) then one per class; excess flags."""
    cols, exc = [], []
    for t in range(nterm):
        block = raw[:, t::nterm][:, :ncls]
        cols.append(block.sum(axis=1, keepdims=True))
        cols.append(block)
        exc += [False] + [True] * ncls
    return np.hstack(cols), np.array(exc)


def _fold(x: np.ndarray, ncls: int, nterm: int) -> np.ndarray:
    """Shared + excess solution -> (ncls, nterm) effective coefficients."""
    out = np.zeros((ncls, nterm))
    for t in range(nterm):
        seg = x[t * (ncls + 1):(t + 1) * (ncls + 1)]
        out[:, t] = seg[0] + seg[1:]
    return out


def _device_raw(data: GpuData, form: DeviceForm) -> np.ndarray:
    k, n = data.k, len(data.samples)
    use = np.ones(len(k["row"]), bool) if form.refined else ~k["extra"]
    cls = k["cls"] if form.refined else k["base"]
    ncls = len(G.DEVICE_CLASSES) if form.refined else len(G.BASE_CLASSES)
    return _per_class(k, n, cls[use], use, ncls, _kernel_feats(k, form))


def _kernel_feats(k: dict, form: DeviceForm) -> tuple[np.ndarray, ...]:
    """Per kernel, one array per :data:`costlab.latency.forms.gpu.DEVICE_TERMS` (0 where the form has no such term)."""
    zero = np.zeros(len(k["row"]))
    if not form.refined:
        return np.ones(len(zero)), k["gmac"], k["mb"], zero, zero, zero
    return (np.ones(len(zero)), k["gmac"], k["mb"], k["serial"], k["ktiles"] if form.tiles else zero,
            G.hbm_mb(k["mb"], form.l2_mb))


def _per_class(k: dict, n: int, cls: np.ndarray, use: np.ndarray, ncls: int, feats) -> np.ndarray:
    raw = np.zeros((n, ncls * _NT))
    for t, f in enumerate(feats):
        np.add.at(raw, (k["row"][use], cls * _NT + t), f[use])
    return raw


def fit_device(data: GpuData, idx: np.ndarray, form: DeviceForm) -> dict:
    """Device coefficients ``{"classes": {cls: {term: v}}, "graph_launch_ms": v}``."""
    ncls = len(G.DEVICE_CLASSES) if form.refined else len(G.BASE_CLASSES)
    X, exc = _shared_excess(_device_raw(data, form), ncls, _NT)
    X = np.hstack([X, np.ones((len(X), 1))])
    exc = np.append(exc, False)
    idx = idx[np.isfinite(data.graph[idx])]          # a sample whose graph capture failed has no graph_ms
    w = np.where(data.network[idx], math.sqrt(form.network_weight), 1.0)
    x = _nnls_rel(X[idx], data.graph[idx], w, exc, LAMBDA, HUBER if form.robust else 0.0)
    coef = _fold(x[:-1], ncls, _NT)
    names = G.DEVICE_CLASSES if form.refined else G.BASE_CLASSES
    classes = {c: {t: float(coef[i, j]) for j, t in enumerate(G.ALL_DEVICE_TERMS)} for i, c in enumerate(names)}
    for c in G.DEVICE_CLASSES:      # unrefined: the GPU classes are unused (kernels keep their base class)
        classes.setdefault(c, {t: 0.0 for t in G.ALL_DEVICE_TERMS})
    return {"classes": classes, "graph_launch_ms": float(x[-1]), "form": form}


def kernel_times(data: GpuData, dev: dict) -> np.ndarray:
    """Device ms per op (its kernels' sum) under fitted coefficients ``dev``."""
    k, form = data.k, dev["form"]
    names = G.DEVICE_CLASSES if form.refined else G.BASE_CLASSES
    coef = np.array([[dev["classes"][c][t] for t in G.ALL_DEVICE_TERMS] for c in names])
    cls = k["cls"] if form.refined else k["base"]
    t = sum(coef[cls, j] * f for j, f in enumerate(_kernel_feats(k, form)))
    if not form.refined:
        t = np.where(k["extra"], 0.0, t)
    return np.bincount(k["op"], weights=t, minlength=len(data.o["row"]))


def _host_raw(data: GpuData, form: HostForm) -> tuple[np.ndarray, np.ndarray]:
    o, n, ncls = data.o, len(data.samples), len(G.DEVICE_CLASSES)
    per = np.zeros((n, ncls))
    np.add.at(per, (o["row"], o["cls"]), 1.0)
    if form.per_class:
        cols, exc = _shared_excess(per, ncls, 1)
    else:
        cols, exc = per.sum(axis=1, keepdims=True), np.array([False])
    extra = [np.bincount(o["row"], weights=o["views"], minlength=n) + data.tail[:, 0] if form.views else np.zeros(n),
             np.bincount(o["row"], weights=o["modules"], minlength=n) + data.tail[:, 1] if form.modules else np.zeros(n),
             np.bincount(o["row"], weights=o["kernels"] - 1.0, minlength=n), np.ones(n)]
    return np.hstack([cols, np.stack(extra, axis=1)]), np.concatenate([exc, [False] * 4])


def host_rows(data: GpuData, idx: np.ndarray) -> np.ndarray:
    """Training rows whose host time is dispatch: measured, and the GPU was faster than it."""
    ok = np.isfinite(data.host[idx]) & np.isfinite(data.graph[idx]) & (data.graph[idx] < data.host[idx])
    return idx[ok]


def fit_host(data: GpuData, idx: np.ndarray, form: HostForm) -> dict:
    rows = host_rows(data, idx)
    if len(rows) < 2:
        raise ProfileError("fewer than 2 training samples with a host time below their GPU time: "
                           "cannot fit the host part")
    X, exc = _host_raw(data, form)
    x = _nnls_rel(X[rows], data.host[rows], np.ones(len(rows)), exc, LAMBDA, HUBER if form.robust else 0.0)
    ncls = len(G.DEVICE_CLASSES)
    per = _fold(x[:ncls + 1], ncls, 1)[:, 0] if form.per_class else np.full(ncls, x[0])
    rest = x[ncls + 1:] if form.per_class else x[1:]
    out = {"classes": {c: {"ms_per_op": float(per[i])} for i, c in enumerate(G.DEVICE_CLASSES)}}
    out.update({t: float(v) for t, v in zip(G.HOST_TERMS, rest)})
    return out


def op_host_times(data: GpuData, host: dict) -> tuple[np.ndarray, np.ndarray]:
    """(host ms per op, per row: per-forward + tail host ms)."""
    o = data.o
    per = np.array([host["classes"][c]["ms_per_op"] for c in G.DEVICE_CLASSES])
    t = per[o["cls"]] + host["ms_per_view"] * o["views"] + host["ms_per_module"] * o["modules"] \
        + host["ms_per_extra_kernel"] * (o["kernels"] - 1)
    rest = host["ms_per_forward"] + host["ms_per_view"] * data.tail[:, 0] + host["ms_per_module"] * data.tail[:, 1]
    return t, rest


# -- composition ----------------------------------------------------------------------------------

def _segments(data: GpuData, v: np.ndarray) -> np.ndarray:
    n = len(data.samples)
    return np.bincount(data.o["row"], weights=v, minlength=n)


def parts(data: GpuData, dev: dict, host: dict) -> dict:
    """Per row: host total, device total, kernels, graph (device + launch) and the arrays the
    queue needs (per-op host and device ms)."""
    d_op = kernel_times(data, dev)
    h_op, rest = op_host_times(data, host)
    D = _segments(data, d_op)
    return {"host": _segments(data, h_op) + rest, "device": D, "graph": D + dev["graph_launch_ms"],
            "kernels": _segments(data, data.o["kernels"].astype(float)), "h_op": h_op, "d_op": d_op,
            "forward": host["ms_per_forward"]}


def queue_end(data: GpuData, p: dict, gap: float, rows: np.ndarray) -> np.ndarray:
    """The queue's GPU end per row of ``rows`` with ``gap`` ms added to every eager kernel."""
    out = np.full(len(rows), p["forward"])
    d = p["d_op"] + gap * data.o["kernels"]
    for j, r in enumerate(rows):
        a, b = data.start[r], data.start[r + 1]
        if b > a:
            # GPU end = max over ops i of (issue time of i + device time of ops i..n)
            issue = p["forward"] + np.cumsum(p["h_op"][a:b])
            out[j] = float(np.max(issue + np.cumsum(d[a:b][::-1])[::-1]))
    return out


def eager_base(data: GpuData, p: dict, comp: CompForm, gap: float, rows: np.ndarray) -> np.ndarray:
    """Eager ms before the sync constant, for ``rows``."""
    H, D = p["host"][rows], p["device"][rows] + gap * p["kernels"][rows]
    end = queue_end(data, p, gap, rows) if comp.rule == "queue" else None
    return G.compose_eager(H, D, comp.rule, comp.p, end)


GAPS = tuple(np.round(np.arange(0.0, 6.01, 0.25) * 1e-3, 6))   # ms added per eager kernel, searched


def fit_composition(data: GpuData, p: dict, comp: CompForm, rows: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """(gap, sync): ``gap`` ms added per kernel in eager mode (a kernel waits for its launch
    on the device even when queued ahead: absent in a CUDA graph) from :data:`GAPS`, ``sync``
    >= 0 in closed form, minimising weighted squared relative error of eager_ms on ``rows``."""
    y = data.eager[rows]
    ok = np.isfinite(y)
    rows, y, w = rows[ok], y[ok], w[ok]
    best = (float("inf"), 0.0, 0.0)
    for gap in GAPS:
        b = eager_base(data, p, comp, gap, rows)
        s = max(0.0, float(np.sum(w ** 2 * (1 - b / y) / y) / np.sum(w ** 2 / y ** 2)))
        err = float(np.sum((w * ((b + s) / y - 1)) ** 2))
        if err < best[0] - 1e-12:
            best = (err, float(gap), s)
    return best[1], best[2]


@dataclass
class Fitted:
    dev: dict
    host: dict
    comp: CompForm
    gap: float
    sync: float

    def predict(self, data: GpuData, rows: np.ndarray | None = None) -> dict:
        rows = np.arange(len(data.samples)) if rows is None else rows
        p = parts(data, self.dev, self.host)
        out = {k: p[k][rows] for k in ("host", "device")}
        out["cudagraph"] = p["graph"][rows]
        out["eager"] = eager_base(data, p, self.comp, self.gap, rows) + self.sync
        return out


def _weights(data: GpuData, rows: np.ndarray, dform: DeviceForm) -> np.ndarray:
    return np.where(data.network[rows], math.sqrt(dform.network_weight), 1.0)


def fit_all(data: GpuData, idx: np.ndarray, dform: DeviceForm, hform: HostForm, comp: CompForm) -> Fitted:
    dev, host = fit_device(data, idx, dform), fit_host(data, idx, hform)
    gap, sync = fit_composition(data, parts(data, dev, host), comp, idx, _weights(data, idx, dform))
    return Fitted(dev, host, comp, gap, sync)


# -- choosing the forms on training rows only -------------------------------------------------------

def lono_folds(data: GpuData) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(network, train rows, test rows): every training sample of one network spec held out."""
    fit = np.flatnonzero(data.fit)
    nets = sorted({data.samples[i]["spec"] for i in fit if data.network[i]})
    out = []
    for n in nets:
        te = np.array([i for i in fit if data.samples[i]["spec"] == n])
        out.append((n, np.array([i for i in fit if data.samples[i]["spec"] != n]), te))
    return out


def _mape(pred: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(y) & (y > 0)
    return float(100 * np.mean(np.abs(pred[ok] / y[ok] - 1))) if ok.any() else float("nan")


def _lono_eager(data: GpuData, folds, dform: DeviceForm, hform: HostForm, comps) -> list[np.ndarray]:
    """Held-out eager predictions of each composition rule (parts fitted once per fold)."""
    preds = [np.full(len(data.samples), np.nan) for _ in comps]
    for _, tr, te in folds:
        p = parts(data, fit_device(data, tr, dform), fit_host(data, tr, hform))
        for c, pred in zip(comps, preds):
            gap, sync = fit_composition(data, p, c, tr, _weights(data, tr, dform))
            pred[te] = eager_base(data, p, c, gap, te) + sync
    return preds


def select(data: GpuData) -> tuple[DeviceForm, HostForm, CompForm, dict]:
    """Each part's form by leave-one-network-out MAPE over the training networks, in turn:
    device (on graph_ms), host (on host_ms of the rows where it is dispatch), composition (on
    eager_ms, with the chosen parts). Ties keep the simpler (earlier) candidate."""
    folds = lono_folds(data)
    if len(folds) < 3:
        raise ProfileError(f"the GPU fit needs at least 3 training networks to choose its form, has {len(folds)}")
    test = np.concatenate([te for _, _, te in folds])
    table = {"device": [], "host": [], "composition": []}
    for f in DEVICE_FORMS:
        pred = np.full(len(data.samples), np.nan)
        for _, tr, te in folds:
            dev = fit_device(data, tr, f)
            pred[te] = _segments(data, kernel_times(data, dev))[te] + dev["graph_launch_ms"]
        table["device"].append({"form": f.name, "lono_mape": round(_mape(pred[test], data.graph[test]), 3)})
    dform = DEVICE_FORMS[int(np.argmin([r["lono_mape"] for r in table["device"]]))]
    clean = host_rows(data, test)
    for f in HOST_FORMS:
        pred = np.full(len(data.samples), np.nan)
        for _, tr, te in folds:
            h_op, rest = op_host_times(data, fit_host(data, tr, f))
            pred[te] = (_segments(data, h_op) + rest)[te]
        table["host"].append({"form": f.name, "lono_mape": round(_mape(pred[clean], data.host[clean]), 3)})
    hform = HOST_FORMS[int(np.argmin([r["lono_mape"] for r in table["host"]]))]
    for c, pred in zip(COMP_FORMS, _lono_eager(data, folds, dform, hform, COMP_FORMS)):
        table["composition"].append({"form": c.name, "lono_mape": round(_mape(pred[test], data.eager[test]), 3)})
    comp = COMP_FORMS[int(np.argmin([r["lono_mape"] for r in table["composition"]]))]
    table["chosen"] = {"device": dform.name, "host": hform.name, "composition": comp.name}
    table["criterion"] = (f"leave-one-network-out MAPE over the {len(folds)} training networks (all their batches); "
                          "device on graph_ms, host on host_ms where graph_ms < host_ms, composition on eager_ms")
    return dform, hform, comp, table


# -- FLOPs-only baseline ------------------------------------------------------------------------------

def fit_baselines(data: GpuData, idx: np.ndarray) -> dict:
    """Per runtime and batch: ``t = a * GMAC + c`` (a, c >= 0) on the training networks."""
    out = {}
    for runtime, y in (("eager", data.eager), ("cudagraph", data.graph)):
        per = {}
        for b in sorted({int(x) for x in data.batch[idx]}):
            rows = idx[data.network[idx] & (data.batch[idx] == b) & np.isfinite(y[idx])]
            if len(rows) < 2:
                continue
            A = np.stack([data.gmac[rows], np.ones(len(rows))], axis=1) / y[rows][:, None]
            s = np.sqrt((A ** 2).sum(axis=0))
            x, _ = nnls(A / s, np.ones(len(rows)))
            x = x / s
            per[str(b)] = {"ms_per_gmac": round(float(x[0]), 9), "ms_const": round(float(x[1]), 9)}
        out[runtime] = per
    return out


def baseline_ms(baselines: dict, runtime: str, gmac: float, batch: int) -> float:
    return G.baseline_at(baselines[runtime], gmac, batch)
