"""Paper reproductions: each module registers named reports that ``costlab reproduce NAME``
regenerates under ``reports/`` (never hand-edited).

A reproduction is a function ``fn(out_dir: Path, *, measure: bool = False) -> str`` that
writes its files atomically (:func:`costlab.io.write_output`) and returns a one-line
summary (printed at the end of the command, e.g. "37/40 rows within 1%").

A reproduction registered with ``from_csv=True`` keeps its measurements in a CSV beside its
report: ``--measure`` writes the CSV, otherwise (and with ``--from-csv``, which then requires
the CSV) the report is rebuilt from it and the function is called with ``from_csv=``."""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Reproduction:
    name: str
    fn: Callable[..., str]
    help: str
    order: int = 50   # 'reproduce all' runs them in this order (lower first)
    from_csv: bool = False   # rebuilt from its measured CSV (accepts from_csv=)


_REPRODUCTIONS: dict[str, Reproduction] = {}


def register_reproduction(name: str, help: str, order: int = 50, from_csv: bool = False):
    def deco(fn):
        if name in _REPRODUCTIONS:
            raise ValueError(f"reproduction {name!r} registered twice")
        _REPRODUCTIONS[name] = Reproduction(name, fn, help, order, from_csv)
        return fn

    return deco


def list_reproductions() -> list[Reproduction]:
    for m in pkgutil.iter_modules(__path__):
        if not m.name.startswith("_"):
            importlib.import_module(f"{__name__}.{m.name}")
    return sorted(_REPRODUCTIONS.values(), key=lambda r: (r.order, r.name))
