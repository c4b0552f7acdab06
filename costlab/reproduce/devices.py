"""costlab's side of the paper reproductions: cached traces of zoo models
(:func:`report_for`, :func:`totals_for`) so ``reproduce all`` traces each (model, input)
once; :class:`Device`, a latency profile (``costlab.latency``) or a clear "no profile"
note when the profile or the latency package is missing (nothing is silently zero), with
its predictions and leave-one-network-out predictions; and :func:`measure_ms`, wall-clock
latency of a zoo model on this machine (``--measure``)."""
from __future__ import annotations

import functools
import math
import statistics
import time
from typing import Sequence

ARM = "arm"          # profile keys (costlab.latency aliases: arm -> arm-sd810, gpu -> gpu-gtx1080ti)
GPU = "gpu"
PIXEL = "arm-pixel1-tflite"   # Google Pixel 1 (Snapdragon 821), TF-Lite, 1 thread

# -- counts (cached traces) ---------------------------------------------------------------------

def _shape_key(input_shape) -> tuple[int, ...] | None:
    return None if input_shape is None else tuple(int(d) for d in input_shape)


@functools.lru_cache(maxsize=None)
def _report(spec: str, shape: tuple[int, ...] | None, resolution: int | None):
    import costlab

    return costlab.analyze(spec, input_shape=shape, resolution=resolution)


def report_for(spec: str, input_shape: Sequence[int] | None = None, resolution: int | None = None):
    """costlab's :class:`~costlab.report.Report` of a zoo spec (cached per process)."""
    return _report(spec, _shape_key(input_shape), resolution)


def totals_for(spec: str, resolution: int | None = None, input_shape: Sequence[int] | None = None) -> dict:
    return report_for(spec, input_shape, resolution).totals


def input_shape_of(spec: str, resolution: int | None = None, batch: int = 1) -> tuple[int, ...]:
    from ..zoo.registry import parse_spec

    entry, _ = parse_spec(spec)
    return (batch,) + tuple(entry.default_input_shape(resolution)[1:])


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


# -- devices (latency profiles) ----------------------------------------------------------------

class Device:
    """A latency profile, or the reason there is none (then every prediction is ``None``
    and the reports say "no profile" instead of printing a number)."""

    def __init__(self, key: str):
        self.key = key
        self.profile = None          # a costlab.latency.profile.Profile
        self.note = ""
        self.held_note = ""
        self._held: dict | None = None
        try:
            from ..latency.profile import load_profile

            self.profile = load_profile(key)
        except Exception as exc:  # ProfileError or a half-built package: say so, predict nothing
            self.note = f"no profile for '{key}': {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            self.profile = None
            return
        if not self.profile.fitted:
            self.note = f"no profile: '{self.profile.name}' has no fitted predictor"
            self.profile = None

    @property
    def ok(self) -> bool:
        return self.profile is not None

    @property
    def name(self) -> str:
        return self.profile.name if self.profile else self.key

    @property
    def device(self) -> str:
        return self.profile.device if self.profile else self.key

    @property
    def batch(self) -> int:
        return int(self.profile.batch) if self.profile else 1

    def label(self) -> str:
        if not self.ok:
            return f"{self.key} (no profile)"
        p = self.profile
        return f"{p.device} ({p.runtime}, {p.threads} thread(s), batch {p.batch}) — profile `{p.name}`"

    def shape(self, input_shape: Sequence[int], batch: int | None = None) -> tuple[int, ...]:
        """``input_shape`` with the profile's batch (or ``batch``)."""
        return (self.batch if batch is None else int(batch),) + tuple(int(d) for d in input_shape[1:])

    def predict_ms(self, spec: str, input_shape: Sequence[int], batch: int | None = None) -> float | None:
        """Predicted ms of one run at the profile's batch (or ``batch``); None without a profile."""
        if not self.ok:
            return None
        return _predict_ms(self.key, spec, self.shape(input_shape, batch))

    def predict_report(self, spec: str, input_shape: Sequence[int], batch: int | None = None):
        """The report with ``latency_ms`` per layer, or None."""
        if not self.ok:
            return None
        return _predict_report(self.key, spec, self.shape(input_shape, batch))

    def held_out_ms(self, spec: str, input_shape: Sequence[int], batch: int | None = None) -> tuple[float | None, bool]:
        """(ms, held_out): the leave-one-network-out prediction (the profile refitted without
        that network) when (spec, shape) is one of the profile's fitted samples, else the
        plain prediction."""
        if not self.ok:
            return None, False
        key = (canon(spec), tuple(self.shape(input_shape, batch)))
        rows = self._held_out()
        if key in rows:
            return rows[key], True
        return self.predict_ms(spec, input_shape, batch), False

    def _held_out(self) -> dict:
        """Leave-one-network-out predictions of every fitted sample: the profile refitted
        without the samples of that network (same spec, or the same network under another
        spec: identical features), then asked for it."""
        if self._held is not None:
            return self._held
        self._held = {}
        try:
            import numpy as np

            from ..calibrate.fit import fit_on, profile_data

            data = profile_data(self.profile)
        except Exception as exc:  # a half-built latency package or profile: no held-out values
            self.held_note = f"held-out predictions unavailable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            return self._held
        idx = [int(i) for i in np.flatnonzero(data.fit_mask)]
        parent = {i: i for i in idx}

        def find(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        first: dict = {}
        for i in idx:
            s = data.samples[i]
            for key in (("spec", canon(s["spec"])), ("features", tuple(np.round(data.raw[i], 12)))):
                if key in first:
                    parent[find(i)] = find(first[key])
                else:
                    first[key] = i
        groups: dict[int, list[int]] = {}
        for i in idx:
            groups.setdefault(find(i), []).append(i)
        all_idx = np.array(idx)
        for test in groups.values():
            train = all_idx[~np.isin(all_idx, test)]
            if not len(train):
                continue
            pred = fit_on(data, train).predict(data.raw[np.array(test)])
            for j, i in enumerate(test):
                s = data.samples[i]
                self._held[(canon(s["spec"]), tuple(int(d) for d in s["input_shape"]))] = float(pred[j])
        return self._held

    def uncovered_classes(self) -> list[str]:
        """Latency classes no fitted sample of the profile exercises (their coefficients are
        the shared rates, never measured for that class)."""
        if not self.ok:
            return []
        try:
            from ..latency.features import CLASSES, SPLIT_FROM, TERMS
            from ..calibrate.fit import profile_data

            data = profile_data(self.profile)
        except Exception:  # a half-built latency package: say nothing rather than guess
            return []
        raw = data.raw[data.fit_mask].reshape(-1, len(CLASSES), len(TERMS)).sum(axis=(0, 2))
        # a split-off class nothing exercises is priced as its old class (fit.tie_split_classes)
        return [c for c, v in zip(CLASSES, raw) if not v > 0 and c not in SPLIT_FROM]

    def is_sample(self, spec: str, input_shape: Sequence[int], batch: int | None = None) -> bool:
        if not self.ok:
            return False
        shape = list(self.shape(input_shape, batch))
        return any(canon(str(s.get("spec"))) == canon(spec) and list(s.get("input_shape", [])) == shape
                   and s.get("role", "fit") == "fit" for s in self.profile.samples)

    def baseline(self) -> tuple[float, float] | None:
        """The profile's FLOPs-only model as (ms per MMAC, ms), or None."""
        b = (self.profile.baseline if self.profile else None) or {}
        if _finite(b.get("ms_per_gmac")) and _finite(b.get("ms_const")):
            return float(b["ms_per_gmac"]) / 1e3, float(b["ms_const"])
        return None


@functools.lru_cache(maxsize=None)
def canon(spec: str) -> str:
    """Canonical zoo spec ('shufflenet_v2:width=1.0' -> 'shufflenet_v2'); unknown specs unchanged."""
    from ..spec import canonical_name
    from ..zoo.registry import SpecError, parse_spec

    try:
        entry, knobs = parse_spec(spec)
    except SpecError:
        return spec
    return canonical_name(entry, knobs)


@functools.lru_cache(maxsize=8)
def _device(key: str) -> Device:
    return Device(key)


def device(key: str) -> Device:
    """The cached :class:`Device` for 'arm', 'gpu' or a profile name."""
    return _device(key)


@functools.lru_cache(maxsize=None)
def _predict_report(key: str, spec: str, shape: tuple[int, ...]):
    from ..latency.predict import predict

    return predict(report_for(spec, shape), _device(key).profile)


@functools.lru_cache(maxsize=None)
def _predict_ms(key: str, spec: str, shape: tuple[int, ...]) -> float | None:
    from ..latency.predict import predict

    t = predict(report_for(spec, shape), _device(key).profile).totals
    return float(t["latency_ms"]) if _finite(t.get("latency_ms")) else None


def per_second(ms: float | None, batch: int = 1) -> float | None:
    """Runs per second from ms per run (the papers print batches/s and images/s)."""
    return None if ms is None or not _finite(ms) or ms <= 0 else 1000.0 / ms


# -- measurement on this machine (--measure) ---------------------------------------------------

def measure_ms(spec: str, input_shape: Sequence[int], device: str = "cpu", min_time_s: float = 0.3,
               min_runs: int = 5, warmup: int = 2) -> float:
    """Median wall-clock ms of one forward of ``spec`` on ``device`` (random weights, eval,
    inference mode); runs until ``min_time_s`` and ``min_runs`` are both reached."""
    import torch

    from ..spec import build_zoo

    model = build_zoo(spec, device="cpu").model.eval().to(device)
    x = torch.randn(*input_shape, device=device)
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        sync()
        t_end = time.perf_counter() + min_time_s
        while len(times) < min_runs or time.perf_counter() < t_end:
            t0 = time.perf_counter()
            model(x)
            sync()
            times.append((time.perf_counter() - t0) * 1e3)
            if len(times) >= 200:
                break
    return statistics.median(times)


def local_devices() -> list[tuple[str, str]]:
    """[(torch device, label)] this machine can measure on: the CPU and, if present, CUDA."""
    import platform

    import torch

    out = [("cpu", f"this machine's CPU ({platform.processor() or platform.machine()})")]
    if torch.cuda.is_available():
        out.append(("cuda", f"this machine's GPU ({torch.cuda.get_device_name(0)})"))
    return out
