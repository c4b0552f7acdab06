"""The papers' published counts (``costlab/data/paper_counts.csv``) and costlab's value
for each row a zoo model declares (:class:`costlab.zoo.PaperRow`).

Units are normalised to plain numbers: ``params`` in parameters, ``madds`` in
multiply-accumulates, ``flops`` and ``bflops_darknet`` in FLOPs (= 2 x MACs),
``size_mb`` in MiB (params x 4 bytes / 2**20, see CONVENTIONS.md section 4),
``size_kb`` in decimal KB (params x 4 / 1000, the Deep Compression tables' unit).
"""
from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent.parent / "data"
COUNT_METRICS = ("params", "madds", "flops", "bflops_darknet", "size_mb", "size_kb")

_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9}
_UNIT_SCALE = [  # (unit prefix, multiplier)
    ("millions", 1e6), ("MMAC", 1e6), ("MFLOP", 1e6), ("GMAC", 1e9), ("BFLOP", 1e9),
    ("GFLOPS", 1e9), ("count", 1.0), ("weights", 1.0), ("FLOP", 1.0), ("MB", 1.0), ("KB", 1.0), ("", 1.0),
]


@functools.lru_cache(maxsize=1)
def load_rows() -> tuple[dict, ...]:
    with (DATA / "paper_counts.csv").open(newline="", encoding="utf-8") as f:
        return tuple(csv.DictReader(f))


def paper_value(row: dict) -> float | None:
    """The row's value in base units (see module doc), or None when it is not one number."""
    v = row["value"].strip().replace(",", "")
    mult = 1.0
    if v and v[-1] in _SUFFIX:
        v, mult = v[:-1], _SUFFIX[v[-1]]
    if not re.fullmatch(r"\d+(\.\d+)?", v):
        return None
    unit = row["unit"]
    for prefix, scale in _UNIT_SCALE:
        if unit.startswith(prefix):
            return float(v) * mult * scale
    return None


def printed_half_unit(row: dict) -> float:
    """Half a unit of the last printed digit, in base units: a paper printing '1.3' M
    means anything in [1.25 M, 1.35 M)."""
    v = row["value"].strip().replace(",", "")
    if v and v[-1] in _SUFFIX:
        v = v[:-1]
    decimals = len(v.split(".")[1]) if "." in v else 0
    base = paper_value(row) or 0.0
    return 0.5 * 10.0 ** (-decimals) * (base / float(v) if float(v) else 0.0)


def is_verified(row: dict) -> bool:
    return not row["source"].strip().upper().startswith("UNVERIFIED")


def costlab_value(metric: str, totals: dict) -> float:
    """costlab's number for a metric, in the same base unit as :func:`paper_value`."""
    if metric == "params":
        return float(totals["params"])
    if metric == "madds":
        return float(totals["macs"])
    if metric in ("flops", "bflops_darknet"):
        return 2.0 * totals["macs"]
    if metric == "size_mb":
        return totals["params"] * 4 / 2**20
    if metric == "size_kb":
        return totals["params"] * 4 / 1000
    raise KeyError(metric)


@dataclass
class Comparison:
    model: str
    variant: str
    resolution: int
    metric: str
    unit: str
    paper: float
    costlab: float
    spec: str
    verified: bool
    reason: str
    source: str
    half_unit: float = 0.0

    @property
    def within_printed(self) -> bool:
        """Equal to the paper's figure at the precision it was printed with."""
        return abs(self.costlab - self.paper) <= self.half_unit * (1 + 1e-9)

    @property
    def rel_diff(self) -> float:
        return (self.costlab - self.paper) / self.paper

    @property
    def within_1pct(self) -> bool:
        return abs(self.rel_diff) <= 0.01


def declared_comparisons(totals_for) -> tuple[list[Comparison], list[dict]]:
    """Every CSV row that a zoo PaperRow declares, with costlab's value.

    ``totals_for(spec, resolution) -> totals dict`` computes (and may cache) the counts.
    Returns (comparisons, rows of zoo models that no PaperRow declares).
    """
    from ..zoo.registry import list_paper_rows, parse_spec

    rows = load_rows()
    out: list[Comparison] = []
    used: set[int] = set()
    zoo_models: set[str] = set()
    for pr in list_paper_rows():
        entry, _ = parse_spec(pr.spec)
        zoo_models.add(pr.model)
        for i, row in enumerate(rows):
            if row["model"] != pr.model or row["variant"] != pr.variant or row["metric"] not in pr.metrics:
                continue
            value = paper_value(row)
            if value is None or value == 0:
                continue
            res = entry.resolution if row["resolution"].strip() in ("-", "") else int(row["resolution"])
            totals = totals_for(pr.spec, res)
            metric = row["metric"]
            reason = pr.reasons.get(f"{metric}@{res}", pr.reasons.get(metric, ""))
            used.add(i)
            out.append(Comparison(row["model"], row["variant"], res, metric, row["unit"], value,
                                  costlab_value(metric, totals), pr.spec, is_verified(row), reason,
                                  row["source"], printed_half_unit(row)))
    rest = [r for i, r in enumerate(rows) if i not in used and r["model"] in zoo_models]
    return out, rest
