"""Calibration: everything that builds or checks a device profile (above the facade).

* :mod:`costlab.calibrate.samples`  — a zoo spec at a shape, traced once, as features.
* :mod:`costlab.calibrate.measure`  — time samples on the local CPU / CUDA device.
* :mod:`costlab.calibrate.sources`  — build shipped profiles from published measurements.
* :mod:`costlab.calibrate.fit`      — ``fit_profile``: predictor + FLOPs-only baseline + validation.
* :mod:`costlab.calibrate.validate` — leave-one-network-out / family-out metrics, measured checks.
"""
