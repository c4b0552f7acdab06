"""Calibration: everything that builds or checks a device profile (above the facade).

* :mod:`costlab.calibrate.measure`  — time samples on the local CPU / CUDA device.
* :mod:`costlab.calibrate.sources`  — build shipped profiles from published measurements.
* :mod:`costlab.calibrate.fit`      — ``fit_profile``: predictor + FLOPs-only baseline + validation.
* :mod:`costlab.calibrate.validate` — leave-one-network-out / family-out metrics, measured checks.
* :mod:`costlab.calibrate.fit_gpu`, :mod:`~costlab.calibrate.gpu_profile` — the GPU host + device
  fit (eager / host / CUDA-graph times) and its held-out validation.
* :mod:`costlab.calibrate.measurements`, :mod:`~costlab.calibrate.fewshot` — a profile from a
  user's own measurements (any predictor form that fits from measured models) and few-shot
  validation.

Samples are traced once per process by the block cache of prediction, :mod:`costlab.blocks`;
the forms themselves, and the per-class form's few-shot fitter, live in
:mod:`costlab.latency.forms`.
"""


def fit_any(d: dict, *, progress: bool = True) -> dict:
    """Fit a profile dict with the fitter its samples call for: the GPU host + device model
    when they carry eager / host / graph times, else the per-class predictor."""
    from .fit import fit_profile
    from .gpu_profile import fit_gpu_profile, has_gpu_times

    return fit_gpu_profile(d, progress=progress) if has_gpu_times(d) else fit_profile(d, progress=progress)
