"""Guideline results as plain data: the G1-G4 names, thresholds, and :class:`GuidelineResult`.

The check (:func:`costlab.guidelines.check`, in :mod:`costlab.guidelines.lint`) produces a
result; presentation (:mod:`costlab.present.guidelines`) and the CLI read it. Imports no pass:
presentation imports it without loading the check.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import GuidelineError

GUIDELINES = ("G1", "G2", "G3", "G4")
TITLES = {
    "G1": "equal channel width minimizes memory access cost (MAC)",
    "G2": "excessive group convolution increases MAC",
    "G3": "network fragmentation reduces degree of parallelism",
    "G4": "element-wise operations are non-negligible",
}

#: Documented defaults; every key can be overridden (``check(thresholds={...})``,
#: CLI ``--threshold KEY=VALUE``).
DEFAULT_THRESHOLDS: dict[str, float] = {
    # A guideline is violated when its violations sum to at least this share of the model's
    # cost (MAC bytes, or latency). See reports/guidelines.md for the range of each value over
    # which the paper's verdicts hold.
    "G1": 0.01,     # 1 % of the model's cost is MAC above the G1 bound: pure waste, the bound is
                    # reachable at the same FLOPs with equal widths
    "G2": 0.01,     # 1 % is the MAC increase of group convs over g = 1 at the same FLOPs
    "G3": 0.25,     # a quarter of the model's cost runs in blocks of more than `branches` branches
    "G4": 0.667,    # element-wise ops (incl. depthwise convs) cost two thirds, i.e. twice as much
                    # as all the other ops together
    # findings
    "min_share": 0.001,   # findings below this share are counted in the summary but not listed
    "medium": 0.01,       # a finding's severity is medium from 1 % of the model's cost
    "high": 0.05,         # and high from 5 %
    "branches": 2,        # G3: parallel branches a block may have (a ShuffleNet V2 unit has 2)
}
THRESHOLD_HELP: dict[str, str] = {
    "G1": "share of model cost above which G1 counts as violated",
    "G2": "share of model cost above which G2 counts as violated",
    "G3": "share of model cost above which G3 counts as violated",
    "G4": "share of model cost above which G4 counts as violated",
    "min_share": "findings below this share are not listed (still in the summary)",
    "medium": "finding severity 'medium' from this share",
    "high": "finding severity 'high' from this share",
    "branches": "G3: parallel branches a block may have",
}

FINDING_KEYS = ("guideline", "where", "value", "bound", "excess", "share", "severity", "advice")


@dataclass
class GuidelineResult:
    """Findings of one model. ``findings`` are worst first (largest share)."""

    model: str
    findings: list[dict[str, Any]]
    summary: dict[str, dict[str, Any]]
    cost: str                                   # 'mac_bytes' or 'latency_ms'
    thresholds: dict[str, float]
    stats: dict[str, Any] = field(default_factory=dict)
    layer_tags: dict[str, list[str]] = field(default_factory=dict)   # layer name -> ['G1', ...]
    unlisted: dict[str, int] = field(default_factory=dict)           # per guideline, under min_share

    def violated(self, guidelines=GUIDELINES) -> list[str]:
        """The guidelines among ``guidelines`` that this model violates."""
        return [g for g in guidelines if self.summary[g]["violated"]]

    def verdict(self) -> str:
        v = self.violated()
        return "violates " + ", ".join(v) if v else "no guideline violated"

    def to_dict(self, model: str | None = None) -> dict[str, Any]:
        """``{"model", "findings": [...], "summary": {"G1": {"violated", "share", "count", ...}}}``."""
        return {
            "model": model if model is not None else self.model,
            "findings": [{k: f[k] for k in FINDING_KEYS} for f in self.findings],
            "summary": {g: dict(self.summary[g]) for g in GUIDELINES},
        }


# -- thresholds ------------------------------------------------------------------------------

def parse_thresholds(items: Mapping[str, Any] | list[str] | tuple[str, ...] | None) -> dict[str, float]:
    """Defaults updated by ``items``: a mapping or ``['G1=0.1', 'high=0.1', ...]``.

    Shares are fractions in [0, 1] (``5%`` is accepted); ``branches`` an integer >= 1."""
    out = dict(DEFAULT_THRESHOLDS)
    if not items:
        return out
    pairs: list[tuple[str, Any]] = []
    if isinstance(items, Mapping):
        pairs = list(items.items())
    else:
        for it in items:
            for part in str(it).split(","):
                part = part.strip()
                if not part:
                    continue
                key, sep, val = part.partition("=")
                if not sep:
                    raise GuidelineError(f"bad threshold '{part}': write KEY=VALUE, e.g. G1=0.1 "
                                         f"(keys: {', '.join(DEFAULT_THRESHOLDS)})")
                pairs.append((key.strip(), val.strip()))
    canon = {k.lower(): k for k in DEFAULT_THRESHOLDS}
    for key, val in pairs:
        k = canon.get(str(key).lower())
        if k is None:
            close = difflib.get_close_matches(str(key), list(DEFAULT_THRESHOLDS), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise GuidelineError(f"unknown threshold '{key}'{hint} (keys: {', '.join(DEFAULT_THRESHOLDS)})")
        try:
            if isinstance(val, str) and val.endswith("%"):
                num = float(val[:-1]) / 100.0
            else:
                num = float(val)
        except (TypeError, ValueError):
            raise GuidelineError(f"threshold {k} must be a number, got {val!r}") from None
        if k == "branches":
            if num < 1 or num != int(num):
                raise GuidelineError(f"threshold branches must be a whole number >= 1, got {val!r}")
            num = int(num)
        elif not 0.0 <= num <= 1.0 or math.isnan(num):
            raise GuidelineError(f"threshold {k} is a share of the model's cost in [0, 1] "
                                 f"(e.g. {k}=0.05 or {k}=5%), got {val!r}")
        out[k] = num
    if out["medium"] > out["high"]:
        raise GuidelineError(f"threshold medium ({out['medium']}) must not exceed high ({out['high']})")
    return out


def severity(share: float, thresholds: Mapping[str, float]) -> str:
    if share >= thresholds["high"]:
        return "high"
    if share >= thresholds["medium"]:
        return "medium"
    return "low"


def load(result: GuidelineResult) -> float:
    """Sum over G1-G4 of share / threshold: how close the model is to its limits (1 = one
    guideline exactly at its threshold). Used to rank models of equal violation count."""
    return sum(result.summary[g]["share"] / result.thresholds[g] if result.thresholds[g] > 0 else 0.0
               for g in GUIDELINES)


def ranking(results: list[GuidelineResult]) -> list[GuidelineResult]:
    """Cleanest first: fewest violated guidelines, then the lowest :func:`load`."""
    return sorted(results, key=lambda r: (len(r.violated()), load(r)))
