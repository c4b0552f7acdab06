"""ShuffleNet V2's practical guidelines G1-G4 as a linter with measured costs.

* :mod:`costlab.guidelines.result` — the plain-data result, names, thresholds (no pass).
* :mod:`costlab.guidelines.lint`   — the pass over a Report (its IR and per-op costs):
  :func:`check`.

Presentation lives in :mod:`costlab.present.guidelines`; ``costlab.api.check_guidelines``
analyzes a model and checks it. Importing the package (or its result types) does not load
the pass: its names load on first use (PEP 562), so presentation stays below the passes.
"""
from .result import (DEFAULT_THRESHOLDS, FINDING_KEYS, GUIDELINES, THRESHOLD_HELP, TITLES,
                     GuidelineError, GuidelineResult, load, parse_thresholds, ranking, severity)

_PASS = ("ELEMENTWISE_CATEGORIES", "FINDINGS", "FRAGMENT_CATEGORIES", "GROUP_OF_CATEGORY", "check",
         "layer_findings")

__all__ = ['ELEMENTWISE_CATEGORIES', 'FINDINGS', 'FRAGMENT_CATEGORIES', 'GROUP_OF_CATEGORY', 'check', 'layer_findings', 'DEFAULT_THRESHOLDS', 'FINDING_KEYS', 'GUIDELINES', 'THRESHOLD_HELP', 'TITLES', 'GuidelineError', 'GuidelineResult', 'load', 'parse_thresholds', 'ranking', 'severity']


def __getattr__(name: str):
    """The pass's names (:data:`_PASS`), loaded from :mod:`.lint` on first use."""
    if name in _PASS:
        from . import lint

        return getattr(lint, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PASS))
