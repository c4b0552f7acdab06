"""The predictor-form protocol (:class:`Form`), its result (:class:`Prediction`) and the
registry (:data:`FORMS`); see :mod:`costlab.latency.forms`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ...errors import ProfileError


@dataclass(frozen=True)
class Prediction:
    """A form's prediction of one graph.

    ``node_ms``: ms per graph node id (fused nodes 0; under a GPU form each op's share of the
    runtime's total); ``overhead_ms``: the part of ``total_ms`` no node owns (a CUDA graph's
    launch, eager sync; 0 when the total is the nodes' sum); ``columns``: further per-node
    report columns by key (GPU: ``host_ms``, ``device_ms``); ``info``: keys the latency
    section adds to the JSON (GPU: ``host_ms``, ``device_ms``, ``bound``)."""

    runtime: str
    total_ms: float
    node_ms: Mapping[int, float]
    overhead_ms: float = 0.0
    columns: Mapping[str, Mapping[int, float]] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)


class Form:
    """The protocol of a predictor form (subclass it and :func:`register_form` an instance)."""

    name: str = ""
    #: runtime options ``predict`` takes besides the profile's own (GPU: eager, cudagraph)
    runtimes: tuple[str, ...] = ()
    #: predictions of a model are sums of its blocks' (``fit`` / ``predict_items`` work)
    composes: bool = False
    #: one line: what the form computes (reports, ``costlab profiles``)
    summary: str = ""

    def check(self, pred: dict, fail: Callable[[str, str], None]) -> None:
        """Raise through ``fail(field, what)`` when a coefficient is missing or wrong."""

    def predict(self, graph, profile, runtime: str | None = None) -> Prediction:
        raise NotImplementedError

    def runtime_of(self, profile, runtime: str | None = None) -> str:
        """The runtime a prediction is for: ``runtime`` where given, else the profile's own."""
        return runtime or profile.runtime

    def describe(self, profile) -> dict:
        """Plain data about the fitted predictor for reports (form, runtime, summary)."""
        return {"form": self.name, "summary": self.summary}

    def baseline_ms(self, profile, gmac: float, batch: int = 1) -> float:
        """The profile's FLOPs-only line (``baseline``: ms_per_gmac * GMAC + ms_const) at ``gmac``."""
        b = profile.baseline
        if not b:
            raise ProfileError(f"profile '{profile.name}' has no fitted baseline; run: costlab calibrate {profile.label}")
        return float(b["ms_per_gmac"] * gmac + b["ms_const"])

    def fit(self, items, idx, y, *, base=None, **options):
        """Fit to measured ms ``y`` of rows ``idx`` of ``items`` (a :class:`costlab.blocks.SpecSet`);
        ``base``: a fitted profile of this form as prior (or None). Returns a fit with
        ``predictor()`` (the ``predictor`` block to store), ``predict(items, rows)``, ``label``
        (what was chosen, for tallies) and ``alternatives`` (name -> fit, compared in reports)."""
        raise ProfileError(f"predictor form '{self.name}' cannot be fitted from measured models")

    def predict_items(self, items, profile, rows=None):
        """Predicted ms of many items at once (numpy array); forms with ``composes``."""
        raise NotImplementedError


FORMS: dict[str, Form] = {}
#: a predictor block whose ``form`` is none of :data:`FORMS` but which has per-class
#: ``classes`` is a per-class predictor: ``form`` then names how it was fitted (the design of
#: :mod:`costlab.calibrate.fit`, e.g. ``per_class+class_rate``, ``reduced``, ``fewshot``)
DEFAULT_FORM = "per-class"


def register_form(form: Form) -> Form:
    """Add ``form`` to :data:`FORMS` (refuses a second form of the same name)."""
    if not isinstance(form, Form) or not form.name:
        raise TypeError("register_form takes a Form instance with a name")
    if form.name in FORMS:
        raise ValueError(f"predictor form '{form.name}' is already registered")
    FORMS[form.name] = form
    return form


def unregister_form(name: str) -> None:
    """Remove a form (tests that register a toy form clean up with this)."""
    FORMS.pop(name, None)


def form_name(pred: Mapping | None) -> str:
    """The registered form a ``predictor`` block is evaluated by."""
    name = (pred or {}).get("form")
    if name in FORMS:
        return str(name)
    return DEFAULT_FORM


def get_form(name: str) -> Form:
    if name not in FORMS:
        raise ProfileError(f"unknown predictor form '{name}' (known: {', '.join(sorted(FORMS))})")
    return FORMS[name]


def form_of(pred: Mapping | None) -> Form:
    """The :class:`Form` that evaluates ``pred`` (a profile's ``predictor`` block)."""
    return get_form(form_name(pred))
