"""ShuffleNet V2's practical guidelines G1-G4 as a linter with measured costs.

* :mod:`costlab.guidelines.result` — the plain-data result, names, thresholds.
* :mod:`costlab.guidelines.check`  — the pass over a Report (its IR and per-op costs).

Presentation lives in :mod:`costlab.present.guidelines`; ``costlab.api.check_guidelines``
analyzes a model and checks it.
"""
from .check import (ELEMENTWISE_CATEGORIES, FINDINGS, FRAGMENT_CATEGORIES, GROUP_OF_CATEGORY,
                    check, layer_findings)
from .result import (DEFAULT_THRESHOLDS, FINDING_KEYS, GUIDELINES, THRESHOLD_HELP, TITLES,
                     GuidelineError, GuidelineResult, load, parse_thresholds, ranking, severity)

__all__ = ['ELEMENTWISE_CATEGORIES', 'FINDINGS', 'FRAGMENT_CATEGORIES', 'GROUP_OF_CATEGORY', 'check', 'layer_findings', 'DEFAULT_THRESHOLDS', 'FINDING_KEYS', 'GUIDELINES', 'THRESHOLD_HELP', 'TITLES', 'GuidelineError', 'GuidelineResult', 'load', 'parse_thresholds', 'ranking', 'severity']
