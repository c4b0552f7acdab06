"""GPU latency as it really is: two clocks, the host's dispatch and the GPU's execution.

On a GPU driven by eager PyTorch the host (Python + the dispatcher + the CUDA driver) issues
one op after the other while the GPU runs the kernels already issued; the two overlap. A
small network at batch 1 on an H200 is *host-bound*: its time is the dispatch time of its
~150 ops (~17 us each), not the ~0.4 ms the GPU needs. A CUDA graph replays the recorded
kernels with one launch, so its time is the GPU's alone. This module predicts both parts
per op from a traced graph and a profile (``predictor.form == "gpu-host-device"``) and
composes them by runtime. Pure functions: no tracing, no loading by name, no formatting.
The form's fitter (from eager, host and CUDA-graph times of a profile's samples) is
:mod:`costlab.calibrate.fit_gpu`; its vectorised eager time calls :func:`compose_eager` here.

**What is dispatched.** Every node that is not free (views cost no kernel) and not fused
under the profile's fusion rules (eager PyTorch fuses nothing) is one dispatched op; its
kernels: one, plus a bias-add kernel for a convolution with a bias (cuDNN's convolution
does not add the bias: PyTorch launches ``add_`` after it). Views and the modules a
forward enters cost host time but launch nothing; they are charged to the next op.

**Device part** (``predictor.device``): per kernel of device class ``k``::

    d = ms_per_op_k + ms_per_gmac_k * GMAC + ms_per_mb_k * MB + ms_per_serial_k * serial
        + ms_per_ktile_k * ktiles + ms_per_mb_hbm_k * hbm_mb

``serial`` is the length of the work one output element waits for: the reduction length
``K`` (thousands) of a convolution / linear layer (cin/groups * kh * kw; in features),
which bounds a small-batch GEMM that cannot fill the GPU; for normalisation and global
pooling the number of (sample, channel) planes (millions), which their kernels walk one
block per plane. The device classes are the latency classes of
:mod:`costlab.latency.features` plus two GPU refinements: ``conv_stem`` (a convolution
reading <= 4 input channels: cuDNN's tensor-core kernels need aligned channels, a network's
first layer runs a generic kernel) and ``norm`` (batch / layer / group norm, apart from the
other element-wise ops). ``ktiles``: the output tiles (thousands) of a GEMM-like kernel
(:data:`TILE` x :data:`TILE`, one thread block each: every block pays its prologue and
epilogue, so a layer cut into many small tiles costs more than its MACs say). ``hbm_mb``:
a kernel's MB when they exceed ``predictor.device.l2_mb`` (its traffic does not fit the L2
and streams from HBM at a lower rate), else 0. The last two are 0 (and ``l2_mb`` 0) in a
profile whose fit did not choose them. A CUDA graph costs ``graph_launch_ms`` once.

**Host part** (``predictor.host``): per dispatched op of class ``k``::

    h = ms_per_op_k + ms_per_view * views + ms_per_module * modules + ms_per_extra_kernel * (kernels - 1)

plus ``ms_per_forward`` once per forward call.

**Composition** (``predictor.composition``), by runtime:

* ``cudagraph``: ``graph_launch_ms + sum(d)``;
* ``eager`` with rule ``queue`` (a two-clock simulation): the host issues op ``i`` when its
  host work is done, at ``H_i = ms_per_forward + h_1 + ... + h_i``; the GPU starts it at
  ``max(H_i, end of op i-1)`` and runs it for ``d_i + gap_ms * kernels_i`` (outside a graph
  every kernel waits ``gap_ms`` for its launch on the device, even when queued ahead); the
  forward returns at ``H_n``. Eager time is ``max(GPU end, H_n) + sync_ms``: at least
  ``max(host, device)``, at most ``host + device + gaps + sync_ms``. Rules ``max``
  (``max(H, D') + sync_ms``) and ``pnorm`` (``(H^p + D'^p)^(1/p) + sync_ms``, ``D'`` the
  device total with its gaps) are the alternatives the fit compares; the profile names the
  one chosen.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ... import ops
from ...errors import ProfileError
from ...ir import Graph
from ..features import CLASSES, SPLIT_FROM, node_costs
from .base import Form, Prediction, register_form

FORM = "gpu-host-device"
RUNTIMES = ("eager", "cudagraph")
COMPOSITIONS = ("queue", "max", "pnorm")
# the GPU form keeps the classes as they were before any split (SPLIT_FROM: a 7x7 depthwise conv
# is a depthwise kernel here; the GPU profiles were fitted so)
BASE_CLASSES = tuple(c for c in CLASSES if c not in SPLIT_FROM)
DEVICE_CLASSES = BASE_CLASSES + ("conv_stem", "norm")
DEVICE_TERMS = ("ms_per_op", "ms_per_gmac", "ms_per_mb", "ms_per_serial")    # every GPU profile has these
OPTIONAL_DEVICE_TERMS = ("ms_per_ktile", "ms_per_mb_hbm")               # 0 when absent (older profiles)
ALL_DEVICE_TERMS = DEVICE_TERMS + OPTIONAL_DEVICE_TERMS
HOST_TERMS = ("ms_per_view", "ms_per_module", "ms_per_extra_kernel", "ms_per_forward")
STEM_MAX_CHANNELS = 4
TILE = 128             # output tile edge (rows, columns) of a GEMM-like kernel's thread block


@dataclass(frozen=True)
class Kernel:
    """One kernel the GPU runs: device class and features (GMAC, MB, serial length)."""

    cls: str
    gmac: float
    mb: float
    serial: float
    base: str = ""         # the features latency class (the refinement-free baseline reads it)
    extra: bool = False    # a kernel PyTorch adds to the op's main one (a convolution's bias add)
    ktiles: float = 0.0    # output tiles / 1e3 of a GEMM-like kernel (convolution, linear), see _ktiles


@dataclass(frozen=True)
class Dispatch:
    """One dispatched op: its node, class, kernels, and the host-only work before it."""

    node: int
    cls: str
    kernels: tuple[Kernel, ...]
    views: int = 0
    modules: int = 0


@dataclass(frozen=True)
class Program:
    """What a forward dispatches, in order, plus host-only work after the last op."""

    ops: tuple[Dispatch, ...]
    tail_views: int = 0
    tail_modules: int = 0
    batch: int = 1


@dataclass(frozen=True)
class NodeTime:
    node: int
    host_ms: float
    device_ms: float
    latency_ms: float      # this op's share of the runtime's total (the shares sum to total - overhead)


@dataclass(frozen=True)
class GpuPrediction:
    runtime: str
    host_ms: float         # the forward's dispatch time (per-forward cost included)
    device_ms: float       # the kernels' time, no launch
    total_ms: float        # the runtime's predicted time
    overhead_ms: float     # the part of total_ms no op owns (graph launch, or sync + per-forward wait)
    nodes: tuple[NodeTime, ...]

    @property
    def bound(self) -> str:
        return "host" if self.host_ms > self.device_ms else "device"


# -- what a graph dispatches ----------------------------------------------------------------------

def _serial(node, kind: str, cls: str) -> float:
    """Reduction length K / 1e3 (conv, linear) or planes / 1e6 (norm, global pooling)."""
    if ops.is_conv(kind) and len(node.inputs) >= 2:
        w = node.inputs[1].shape
        k = 1
        for x in w[1:]:
            k *= int(x)
        return k / 1e3
    if ops.is_gemm(kind) and node.inputs:
        src = node.inputs[1] if node.op.startswith("aten.addmm") and len(node.inputs) >= 2 else node.inputs[0]
        return (int(src.shape[-1]) if src.shape else 0) / 1e3
    if cls in ("norm", "global_pool") and node.inputs:
        shape = node.inputs[0].shape
        if len(shape) >= 3:
            return int(shape[0]) * int(shape[1]) / 1e6
        return (int(shape[0]) if shape else 1) / 1e6
    return 0.0


def _ktiles(node, kind: str) -> float:
    """Output tiles (thousands) of :data:`TILE` x :data:`TILE` a GEMM-like kernel computes, one
    thread block each: ``ceil(M / TILE) * ceil(cout/groups / TILE) * groups``, ``M`` the output
    rows (batch x output pixels); 0 for other kernels."""
    if not (ops.is_conv(kind) or ops.is_gemm(kind)) or not node.outputs or not node.outputs[0].shape:
        return 0.0
    out = node.outputs[0]
    if ops.is_conv(kind):
        cout = int(out.shape[1]) if len(out.shape) >= 2 else 1
        groups = max(1, int(node.args.get("groups", 1) or 1))
    else:
        cout, groups = int(out.shape[-1]), 1
    m = out.numel // max(cout, 1)
    return math.ceil(m / TILE) * math.ceil(cout / groups / TILE) * groups / 1e3


def _device_class(node, kind: str, cls: str) -> str:
    if ops.is_conv(kind) and len(node.inputs) >= 1 and len(node.inputs[0].shape) >= 2 \
            and int(node.inputs[0].shape[1]) <= STEM_MAX_CHANNELS and int(node.args.get("groups", 1) or 1) == 1:
        return "conv_stem"
    if ops.is_norm(kind):
        return "norm"
    return cls


def _has_bias(node, kind: str, cls: str) -> bool:
    """cuDNN convolutions leave the bias to a separate add; PyTorch's own depthwise kernel adds it."""
    return ops.is_conv(kind) and cls != "conv_dw" and len(node.inputs) >= 3


def _modules_entered(path: str, seen: set[str]) -> int:
    parts = path.split(".") if path else []
    new = 0
    for i in range(len(parts) + 1):
        p = ".".join(parts[:i])
        if p not in seen:
            seen.add(p)
            new += 1
    return new


def program(graph: Graph, dtype: str = "float32", fusion=()) -> Program:
    """The ops a forward of ``graph`` dispatches, with their kernels and host-only work."""
    costs = {nc.node: nc for nc in node_costs(graph, dtype, fusion)}
    fb = ops.dtype_bytes(dtype)
    out: list[Dispatch] = []
    seen: set[str] = set()
    views = modules = 0
    for n in graph.nodes:
        modules += _modules_entered(n.module, seen)
        nc = costs.get(n.id)
        if nc is None:                      # free: a view, no kernel
            views += 1
            continue
        if nc.fused_into is not None:       # joins the kernel of the op before it
            continue
        kind = ops.kind_of(n.op)
        base = SPLIT_FROM.get(nc.cls, nc.cls)
        cls = _device_class(n, kind, base)
        work = 0.0 if base == "elementwise" else nc.gmac     # the GPU form prices element-wise ops by bytes
        kernels = [Kernel(cls, work, nc.mb, _serial(n, kind, cls), base, ktiles=_ktiles(n, kind))]
        if _has_bias(n, kind, cls) and n.outputs:
            out_mb = 2 * n.outputs[0].numel * fb / 1e6     # read and write the result once more
            kernels.append(Kernel("elementwise", 0.0, out_mb, 0.0, "elementwise", True))
        out.append(Dispatch(n.id, cls, tuple(kernels), views, modules))
        views = modules = 0
    batch = int(graph.inputs[0].shape[0]) if graph.inputs and graph.inputs[0].shape else 1
    return Program(tuple(out), views, modules, batch)


# -- the two parts ---------------------------------------------------------------------------------

def _device_coef(pred: dict) -> dict[str, tuple[float, ...]]:
    cl = pred["device"]["classes"]
    return {c: tuple(float(cl[c].get(t, 0.0)) for t in ALL_DEVICE_TERMS) for c in DEVICE_CLASSES}


def hbm_mb(mb: float, l2_mb: float) -> float:
    """A kernel's MB that stream from HBM rather than the L2: all of them when its traffic is
    over ``l2_mb`` (the L2 cannot hold it), none when it fits or without the term (``l2_mb`` 0).
    Numbers or numpy arrays of ``mb`` (the fit's per-kernel features use the same rule)."""
    return mb * ((l2_mb > 0) & (mb > l2_mb))


def kernel_ms(k: Kernel, coef: dict[str, tuple[float, ...]], refined: bool = True, l2_mb: float = 0.0) -> float:
    """A kernel's GPU ms; ``refined=False``: the refinement-free baseline (features class,
    no serial, tile or HBM term, no extra kernels)."""
    if not refined:
        if k.extra:
            return 0.0
        c, a, b = coef[k.base][:3]
        return c + a * k.gmac + b * k.mb
    c, a, b, q, t, h = coef[k.cls]
    return c + a * k.gmac + b * k.mb + q * k.serial + t * k.ktiles + h * hbm_mb(k.mb, l2_mb)


def device_times(prog: Program, pred: dict) -> list[float]:
    """GPU ms per dispatched op (its kernels' sum) under the ``predictor`` block ``pred``."""
    coef = _device_coef(pred)
    dv = pred["device"]
    refined, l2 = bool(dv.get("refined", True)), float(dv.get("l2_mb", 0.0))
    return [sum(kernel_ms(k, coef, refined, l2) for k in op.kernels) for op in prog.ops]


def host_times(prog: Program, pred: dict) -> tuple[list[float], float, float]:
    """(host ms per dispatched op, per-forward ms, host ms after the last op)."""
    h = pred["host"]
    per = {c: float(h["classes"][c]["ms_per_op"]) for c in DEVICE_CLASSES}
    view, mod, extra = (float(h[t]) for t in HOST_TERMS[:3])
    times = [per[op.cls] + view * op.views + mod * op.modules + extra * (len(op.kernels) - 1) for op in prog.ops]
    return times, float(h["ms_per_forward"]), view * prog.tail_views + mod * prog.tail_modules


# -- composition -----------------------------------------------------------------------------------

def queue(host: list[float], device: list[float], start: float = 0.0) -> list[float]:
    """GPU end time of each op when op i is issued at ``start + host[0] + ... + host[i]`` and
    the GPU runs ops in order, each as soon as it is issued and the previous one is done."""
    t_host, gpu, ends = start, start, []
    for h, d in zip(host, device):
        t_host += h
        gpu = max(gpu, t_host) + d
        ends.append(gpu)
    return ends


def compose_eager(host, device, rule: str, p: float = 0.0, gpu_end=None):
    """Eager ms before the sync constant from the host total and the eager device total
    (numbers, or arrays over many forwards): ``max`` max(H, D); ``pnorm`` (H^p + D^p)^(1/p);
    ``queue`` max(the queue's GPU end, H). The one composition rule: the predictor and the
    fitter (:func:`costlab.calibrate.fit_gpu.eager_base`) both call it."""
    if rule == "max":
        return np.maximum(host, device)
    if rule == "pnorm":
        return (host ** p + device ** p) ** (1.0 / p)
    return np.maximum(gpu_end, host)


def compose(host_total: float, device_total: float, comp: dict, ends: list[float] | None = None) -> float:
    """Eager ms from the host and eager device totals (and the queue's GPU end for 'queue')."""
    gpu_end = ends[-1] if ends else 0.0
    return float(compose_eager(host_total, device_total, comp["eager"], float(comp.get("p", 0.0)), gpu_end)
                 + float(comp.get("sync_ms", 0.0)))


def predict_program(prog: Program, pred: dict, runtime: str | None = None) -> GpuPrediction:
    """Per-op host and device ms and the total of ``runtime`` (default: the predictor's)
    under the ``predictor`` block ``pred``."""
    runtime = runtime or pred.get("runtime", "eager")
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown GPU runtime {runtime!r}; use {' or '.join(RUNTIMES)}")
    dev = device_times(prog, pred)
    host, fwd, tail = host_times(prog, pred)
    host_total, dev_total = fwd + sum(host) + tail, sum(dev)
    if runtime == "cudagraph":
        launch = float(pred["device"]["graph_launch_ms"])
        nodes = tuple(NodeTime(op.node, h, d, d) for op, h, d in zip(prog.ops, host, dev))
        return GpuPrediction(runtime, host_total, dev_total, launch + dev_total, launch, nodes)
    comp = pred["composition"]
    gap = float(comp.get("gap_ms", 0.0))
    eager_dev = [d + gap * len(op.kernels) for op, d in zip(prog.ops, dev)]
    ends = queue(host, eager_dev, fwd)
    total = compose(host_total, sum(eager_dev), comp, ends)
    if comp["eager"] == "queue":
        # an op's share: how far it moved the GPU's end (waiting for its dispatch included)
        shares, prev = [], 0.0
        for e in ends:
            shares.append(e - prev)
            prev = e
    else:
        scale = (total - float(comp.get("sync_ms", 0.0))) / sum(eager_dev) if dev_total > 0 else 0.0
        shares = [d * scale for d in eager_dev]
    nodes = tuple(NodeTime(op.node, h, d, s) for op, h, d, s in zip(prog.ops, host, dev, shares))
    return GpuPrediction(runtime, host_total, dev_total, total, total - sum(shares), nodes)


def predict_graph(graph: Graph, profile, runtime: str | None = None) -> GpuPrediction:
    """:func:`predict_program` of a traced graph under a GPU :class:`~costlab.latency.profile.Profile`."""
    return predict_program(program(graph, profile.dtype, profile.fusion), profile.require_fitted(), runtime)


def bound_summary(graph: Graph, profile) -> dict:
    """Which clock a forward of ``graph`` waits for, e.g. ``{"batch": 1, "host_ms": 2.6,
    "device_ms": 0.44, "bound": "host", ...}`` with both runtimes' totals and a one-line
    ``text``: ``host-bound at batch 1: 2.6 ms dispatch vs 0.44 ms GPU``."""
    prog = program(graph, profile.dtype, profile.fusion)
    pred = profile.require_fitted()
    return bound_of(prog, predict_program(prog, pred, "eager"), predict_program(prog, pred, "cudagraph").total_ms)


def bound_of(prog: Program, eager: GpuPrediction, graph_ms: float) -> dict:
    """:func:`bound_summary` from a program's eager prediction and CUDA-graph total."""
    out = {"batch": prog.batch, "host_ms": round(eager.host_ms, 4), "device_ms": round(eager.device_ms, 4),
           "bound": eager.bound, "eager_ms": round(eager.total_ms, 4), "cudagraph_ms": round(graph_ms, 4),
           "ops": len(prog.ops)}
    out["text"] = (f"{eager.bound}-bound at batch {prog.batch}: {eager.host_ms:.3g} ms dispatch vs "
                   f"{eager.device_ms:.3g} ms GPU")
    return out


def baseline_at(per_batch: dict, gmac: float, batch: int) -> float:
    """The FLOPs-only line fitted per batch (``{"8": {"ms_per_gmac", "ms_const"}, ...}``) at
    ``gmac``, from the batch fitted nearest to ``batch`` (the fitter's held-out rows use it too)."""
    key = str(batch) if str(batch) in per_batch else min(per_batch, key=lambda k: abs(int(k) - batch))
    return float(per_batch[key]["ms_per_gmac"] * gmac + per_batch[key]["ms_const"])


# -- the form --------------------------------------------------------------------------------------

def _nonneg(fail, block, keys, where: str) -> None:
    if not isinstance(block, dict):
        fail(where, "must be an object")
    for k in keys:
        v = block.get(k)
        if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)) or v < 0:
            fail(f"{where}.{k}", "must be a non-negative number")


class Gpu(Form):
    """The two-clock GPU form (module doc)."""

    name = FORM
    runtimes = RUNTIMES
    summary = ("GPU host dispatch + device time per kernel; cudagraph = launch + device, eager = the "
               "composition of both clocks + sync")

    def check(self, pred: dict, fail) -> None:
        if pred.get("runtime") not in RUNTIMES:
            fail("predictor.runtime", f"must be one of {', '.join(RUNTIMES)} (got {pred.get('runtime')!r})")
        for part, terms, extra in (("device", DEVICE_TERMS, ("graph_launch_ms",)),
                                   ("host", ("ms_per_op",), HOST_TERMS)):
            block = pred.get(part)
            if not isinstance(block, dict) or not isinstance(block.get("classes"), dict):
                fail(f"predictor.{part}", "must be an object with 'classes' (one entry per GPU device class)")
            _nonneg(fail, block, extra, f"predictor.{part}")
            for c in DEVICE_CLASSES:
                if c not in block["classes"]:
                    fail(f"predictor.{part}.classes.{c}", "is missing")
                _nonneg(fail, block["classes"][c], terms, f"predictor.{part}.classes.{c}")
                if part == "device":     # the optional terms (tiles, HBM): absent = 0, present = checked
                    have = [t for t in OPTIONAL_DEVICE_TERMS if t in block["classes"][c]]
                    _nonneg(fail, block["classes"][c], have, f"predictor.{part}.classes.{c}")
        if "l2_mb" in pred["device"]:
            _nonneg(fail, pred["device"], ("l2_mb",), "predictor.device")
        comp = pred.get("composition")
        if not isinstance(comp, dict) or comp.get("eager") not in COMPOSITIONS:
            fail("predictor.composition.eager", f"must be one of {', '.join(COMPOSITIONS)}")
        _nonneg(fail, comp, ("sync_ms", "gap_ms") + (("p",) if comp["eager"] == "pnorm" else ()),
                "predictor.composition")
        if comp["eager"] == "pnorm" and comp["p"] < 1:
            fail("predictor.composition.p", "must be >= 1")

    def predict(self, graph, profile, runtime: str | None = None) -> Prediction:
        """Host + device model: per-op host ms, device ms and share of the runtime's total;
        ``info`` says which clock bounds the forward (``bound``) and both clocks' totals."""
        pred = profile.require_fitted()
        prog = program(graph, profile.dtype, profile.fusion)
        both = {rt: predict_program(prog, pred, rt) for rt in RUNTIMES}   # the program built once
        rt = self.runtime_of(profile, runtime)
        if rt not in both:
            raise ProfileError(f"unknown GPU runtime {rt!r}; use {' or '.join(RUNTIMES)}")
        p = both[rt]
        bound = bound_of(prog, both["eager"], both["cudagraph"].total_ms)
        info = {"host_ms": round(p.host_ms, 4), "device_ms": round(p.device_ms, 4), "bound": bound}
        cols = {"host_ms": {n.node: n.host_ms for n in p.nodes}, "device_ms": {n.node: n.device_ms for n in p.nodes}}
        return Prediction(p.runtime, float(p.total_ms), {n.node: n.latency_ms for n in p.nodes},
                          float(p.overhead_ms), cols, info)

    def describe(self, profile) -> dict:
        pred = profile.predictor or {}
        return {"form": self.name, "runtime": pred.get("runtime"), "summary": self.summary,
                "composition": (pred.get("composition") or {}).get("eager"),
                "selection": pred.get("selection") or {}, "coefficients": self.unpack(pred)}

    def runtime_of(self, profile, runtime: str | None = None) -> str:
        """``runtime`` where given, else the one the predictor was fitted for (eager by default)."""
        return runtime or (profile.predictor or {}).get("runtime", "eager")

    def baseline_ms(self, profile, gmac: float, batch: int = 1) -> float:
        """The FLOPs-only line of the profile's runtime at ``batch`` (the nearest batch fitted)."""
        b = profile.baseline or {}
        per = (b.get("per_batch") or {}).get(self.runtime_of(profile))
        if not per:
            return super().baseline_ms(profile, gmac, batch)
        return baseline_at(per, gmac, batch)

    def unpack(self, pred: dict) -> dict:
        """The coefficients as plain numbers (for the fitter's vectorised predictions):
        ``device`` {classes, graph_launch_ms, refined, network_weight, robust, tiles, l2_mb},
        ``host`` {classes, per-op terms, form flags}, ``composition`` {eager, p, gap_ms, sync_ms}."""
        dv, hs, cp = pred["device"], pred["host"], pred["composition"]
        return {
            "device": {"classes": {c: {t: float(v.get(t, 0.0)) for t in ALL_DEVICE_TERMS} for c, v in dv["classes"].items()},
                       "graph_launch_ms": float(dv["graph_launch_ms"]), "refined": bool(dv.get("refined", True)),
                       "network_weight": float(dv.get("network_weight", 1.0)), "robust": bool(dv.get("robust", False)),
                       "tiles": bool(dv.get("tiles", False)), "l2_mb": float(dv.get("l2_mb", 0.0))},
            "host": {"classes": hs["classes"], **{t: float(hs[t]) for t in HOST_TERMS},
                     "per_class": bool(hs.get("per_class", True)), "views": bool(hs.get("views", True)),
                     "modules": bool(hs.get("modules", True)), "robust": bool(hs.get("robust", False))},
            "composition": {"eager": cp["eager"], "p": float(cp.get("p", 0.0)), "gap_ms": float(cp.get("gap_ms", 0.0)),
                            "sync_ms": float(cp.get("sync_ms", 0.0))},
        }


GPU = register_form(Gpu())
