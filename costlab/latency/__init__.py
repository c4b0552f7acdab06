"""Latency: device profiles, a per-class linear predictor calibrated by non-negative least
squares, and its held-out validation.

* :mod:`costlab.latency.profile`  — the profile JSON format (``costlab.profile/1``):
  ``load_profile``, ``save_profile``, ``validate_profile``, ``profiles_dir``.
* :mod:`costlab.latency.features` — latency class of every traced op and the device's
  fusion rules; a sample's feature vector is the sum over its (fused) ops.
* :mod:`costlab.latency.fit`      — ``fit_profile``: predictor + FLOPs-only baseline + validation.
* :mod:`costlab.latency.predict`  — ``predict(report, profile)`` adds ``latency_ms``;
  ``predict_spec(spec, input_shape, profile)``.
* :mod:`costlab.latency.validate` — leave-one-network-out / leave-one-family-out metrics.
* :mod:`costlab.latency.sources`  — builds the shipped profiles from published measurements.
"""
from .profile import ProfileError, load_profile, profiles_dir, save_profile, validate_profile  # noqa: F401


def fit_profile(d, *, progress=True):  # noqa: D401  (lazy import: fit pulls in scipy)
    """See :func:`costlab.latency.fit.fit_profile`."""
    from .fit import fit_profile as _fit

    return _fit(d, progress=progress)


# Bound eagerly: a lazy wrapper named ``predict`` would be replaced by the submodule of the
# same name as soon as anything imports ``costlab.latency.predict``.
from .predict import predict, predict_spec  # noqa: E402,F401
