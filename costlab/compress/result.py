"""The result of :func:`costlab.compress.compress`: per-layer and total storage after each
compression stage (plain data; presentation is in :mod:`costlab.present.compress`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class CompressionReport:
    """Per-layer and total storage after each compression stage.

    ``layers``: one dict per conv/linear layer (execution order) plus ``(other
    parameters)``; ``totals``: sums and the final ratio; ``stages``: bytes after each stage
    and what each stage gained; ``notes``: what the numbers rest on (read them).
    """

    model: str
    settings: dict[str, Any]
    layers: list[dict[str, Any]]
    totals: dict[str, Any]
    stages: list[dict[str, Any]]
    notes: list[str]
    conventions: dict[str, str]
    binarize: dict[str, Any] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.layers)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "model": self.model,
            "settings": self.settings,
            "layers": self.layers,
            "totals": self.totals,
            "stages": self.stages,
            "notes": self.notes,
            "conventions": self.conventions,
        }
        if self.binarize is not None:
            d["binarize"] = self.binarize
        d.update(self.extras)
        return d

    def to_json(self, indent: int | None = 2) -> str:
        import json

        return json.dumps(self.to_dict(), indent=indent, default=_json_default)


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
