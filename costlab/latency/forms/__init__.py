"""Predictor forms: one module per kind of latency predictor, one registry.

A device profile's ``predictor`` block names its **form**; the form is the only code that
reads the block's coefficients. Each form implements the small protocol of :class:`Form`:

* ``check(pred, fail)``: validate its own coefficients (called once, when a profile loads);
* ``predict(graph, profile, runtime)``: per-node ms and the total (:class:`Prediction`);
* ``describe(profile)``: what reports say about it (plain data);
* ``fit(items, idx, y, base=...)`` / ``predict_items(items, profile, rows)``: fit from measured
  models and predict many models at once from block-composed features (``items`` is a
  :class:`costlab.blocks.SpecSet`, read through its arrays; a form that cannot compose by
  block leaves ``composes = False`` and is predicted model by model).

Forms shipped: :mod:`~costlab.latency.forms.per_class` (per latency class
``a*GMAC + b*MB + p*Mpix + c``, summed or floored by ``max``: every CPU / ARM / few-shot
profile) and :mod:`~costlab.latency.forms.gpu` (a GPU's two clocks, host dispatch and device
time, composed by runtime). A new form is one module here that calls :func:`register_form`
(or any module, e.g. a test's, that does); nothing else in costlab changes.

Registry idiom as :mod:`costlab.zoo.registry`: a typed dict, a registering function that
refuses duplicates, lookup with the known names in the error.
"""
from __future__ import annotations

from .base import DEFAULT_FORM, FORMS, Form, Prediction, form_name, form_of, get_form, register_form, unregister_form
from . import gpu as _gpu            # noqa: E402,F401  (registers the shipped forms)
from . import per_class as _per_class  # noqa: E402,F401

__all__ = ["Form", "FORMS", "Prediction", "register_form", "unregister_form", "get_form", "form_of",
           "form_name", "DEFAULT_FORM"]
