"""Latency prediction: device profiles and predictor forms (a pass over a Report).

* :mod:`costlab.latency.profile`  — the profile JSON format (``costlab.profile/1``) and the
  typed :class:`~costlab.latency.profile.Profile`: ``load_profile``, ``save_profile``,
  ``validate_profile``, ``profiles_dir``.
* :mod:`costlab.latency.forms`    — one module per predictor form (per-class, GPU host +
  device) behind one registry, ``FORMS``; a profile's form is the only reader of its
  coefficients.
* :mod:`costlab.latency.features` — latency class of every traced op and the device's
  fusion rules; a sample's feature vector is the sum over its (fused) ops.
* :mod:`costlab.latency.predict`  — ``predict(report, profile)``: per-op predicted ms.

Calibration (measuring, fitting, validating, building profiles from published data) is
the package above the facade, :mod:`costlab.calibrate`.
"""
from .predict import predict
from .profile import Profile, ProfileError, load_profile, profiles_dir, save_profile, validate_profile

__all__ = ['predict', 'Profile', 'ProfileError', 'load_profile', 'profiles_dir', 'save_profile', 'validate_profile']
