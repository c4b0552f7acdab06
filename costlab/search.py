"""Search a model's knobs (or a NAS space) for the best variant under a latency budget.

``search("mobilenet_v2", {"width": "0.35:1.4:0.05", "resolution": "96:224:32"}, device="arm",
budget_ms=30)`` enumerates the grid (``lo:hi:step``: an inclusive numeric range; ``a,b,c``: a
list; ``resolution`` is the input side, every other name a knob of the zoo entry, each value
checked by its :class:`~costlab.zoo.registry.Knob`), predicts every variant's latency on the
device, and returns the Pareto front of latency vs a capacity proxy (MACs or params) and the
best variant under the budget: the most MACs / params (``objective='macs'|'params'``) or the
least latency (``'-latency'``). ``space=N`` samples N distinct random architectures of a
search space (``fbnet``, ``nb201``; ``seed``) instead of a knob grid.

**How it is fast.** A profile whose predictor form composes by block (the per-class form,
:mod:`costlab.latency.forms.per_class`) predicts every variant from its blocks' kernels
(:class:`costlab.blocks.SpecSet`) through the form's own kernel rule, the one
:func:`costlab.api.analyze` applies: each distinct (block, input shape) is traced once per
process, so 5,000 FBNet architectures cost about 110 block traces and one sparse product; a
zoo model without a block decomposition is traced once per variant (cached: a second search
in the same process traces nothing). The result equals
``costlab.analyze(spec, resolution=r, device=D).totals['latency_ms']`` (rounded as the
predictor rounds). A form that does not compose (the GPU two-clock form) is predicted
variant by variant by :func:`costlab.api.analyze`, said in :attr:`SearchResult.prediction`.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import product
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .api import count, with_latency
from .blocks import SpecSet, sample_graph, spec_blocks
from .errors import CostlabError, InputError, SpecError, UsageError
from .frontends import is_file_spec
from .latency.machine import warn_if_other_machine
from .latency.profile import Profile, load_profile
from .zoo import fbnet as _fbnet
from .zoo import nb201 as _nb201
from .zoo.registry import Knob, ModelEntry, parse_spec

RESOLUTION = "resolution"
OBJECTIVES = ("macs", "params", "-latency")
MAX_VARIANTS = 1_000_000
ROUND_MS = 4                 # costlab.latency.predict.predict rounds the total to 4 decimals
_BATCH_BLOCKS = 900          # distinct blocks per SpecSet: below samples' graph cache (1024)


# -- the knob grid ----------------------------------------------------------------------------

def _numbers(name: str, raw: str, kn: Knob) -> list:
    parts = raw.split(":")
    try:
        lo, hi, step = (Decimal(p.strip()) for p in parts)
    except (InvalidOperation, ValueError):
        raise UsageError(f"--knob {name}={raw}: bad range; write lo:hi:step with numbers, "
                         f"e.g. {name}=0.5:1.0:0.25") from None
    if not (lo.is_finite() and hi.is_finite() and step.is_finite()) or step <= 0:
        raise UsageError(f"--knob {name}={raw}: the step must be a positive number")
    if lo > hi:
        raise UsageError(f"--knob {name}={raw}: empty range (lo {lo} > hi {hi}); write lo:hi:step with lo <= hi")
    n = int((hi - lo) / step) + 1
    if n > MAX_VARIANTS:
        raise UsageError(f"--knob {name}={raw}: {n:,} values; use a coarser step")
    vals = [lo + i * step for i in range(n)]
    if kn.type is int and any(v != v.to_integral_value() for v in vals):
        raise UsageError(f"--knob {name}={raw}: knob '{name}' takes whole numbers; use whole lo, hi and step")
    return [kn.parse(name, str(v.normalize()) if kn.type is float else str(int(v))) for v in vals]


def knob_values(name: str, raw: Any, kn: Knob) -> list:
    """The values of one ``--knob NAME=RAW``: ``lo:hi:step`` (inclusive) or ``a,b,c``, each
    parsed and checked by ``kn`` (duplicates dropped, order kept)."""
    if isinstance(raw, (list, tuple)):
        vals = [kn.parse(name, v) for v in raw]
    else:
        text = str(raw).strip()
        if not text:
            raise UsageError(f"--knob {name}=: no values; write {name}=lo:hi:step or {name}=a,b,c")
        if ":" in text and kn.type is not str:
            vals = _numbers(name, text, kn)
        else:
            items = [p.strip() for p in text.split(",")]
            if any(not p for p in items):
                raise UsageError(f"--knob {name}={text}: an empty value in the list; write {name}=a,b,c")
            vals = [kn.parse(name, p) for p in items]
    return list(dict.fromkeys(vals))


def _given_knobs(spec: str) -> tuple[ModelEntry, dict[str, str]]:
    """The zoo entry of ``spec`` and the knobs written in it (validated by parse_spec)."""
    entry, _ = parse_spec(spec)
    _, _, rest = spec.partition(":")
    given = {}
    for part in filter(str.strip, rest.split(",")):
        k, _, v = part.partition("=")
        given[k.strip()] = v.strip()
    return entry, given


def _fmt_value(v: Any) -> str:
    return repr(v) if isinstance(v, float) else str(v)


def variant_spec(entry: ModelEntry, knobs: Mapping[str, Any]) -> str:
    """``'name:k=v,...'`` for the given knob values (only those given)."""
    return entry.name + (":" + ",".join(f"{k}={_fmt_value(v)}" for k, v in knobs.items()) if knobs else "")


def knob_grid(spec: str, knobs: Mapping[str, Any] | None) -> tuple[ModelEntry, list[dict], list[str]]:
    """(entry, variants, names of the grid knobs); each variant is a dict of knob values plus
    ``resolution``. Knobs written in ``spec`` are fixed; ``knobs`` maps names to grids."""
    entry, fixed = _given_knobs(spec)
    res_knob = Knob(entry.resolution, "input side", type=int, low=1)
    axes: dict[str, list] = {}
    for name, raw in (knobs or {}).items():
        name = name.strip()
        if name in fixed:
            raise UsageError(f"knob '{name}' is both in '{spec}' and in --knob; give it once")
        if name != RESOLUTION and name not in entry.knobs:
            known = ", ".join(list(entry.knobs) + [RESOLUTION])
            raise SpecError(f"model '{entry.name}' has no knob '{name}' (its knobs: {known}; "
                            f"'{RESOLUTION}' is the input side)")
        axes[name] = knob_values(name, raw, res_knob if name == RESOLUTION else entry.knobs[name])
    n = math.prod(len(v) for v in axes.values()) if axes else 1
    if n > MAX_VARIANTS:
        raise UsageError(f"the knob grid has {n:,} variants (at most {MAX_VARIANTS:,}); use coarser steps")
    fixed_vals = {k: entry.knobs[k].parse(k, v) for k, v in fixed.items()}
    names = list(axes)
    out = []
    for combo in product(*axes.values()):
        v = dict(fixed_vals)
        v.update(zip(names, combo))
        v.setdefault(RESOLUTION, entry.resolution)
        out.append(v)
    return entry, out, names


# -- search spaces ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Space:
    """A NAS search space: ``size`` architectures, the ``index``-th written by ``arch(index)``."""

    name: str
    size: int
    arch: Callable[[int], str]


def _digits(i: int, base: int, n: int) -> list[int]:
    out = []
    for _ in range(n):
        i, d = divmod(i, base)
        out.append(d)
    return out


def _fbnet_arch(i: int) -> str:
    ops = list(_fbnet.PRIMITIVES)
    return "|".join(ops[d] for d in _digits(i, len(ops), _fbnet.N_LAYERS))


def _nb201_arch(i: int) -> str:
    o = [_nb201.OPS[d] for d in _digits(i, len(_nb201.OPS), 6)]
    return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"


SPACES = {
    "fbnet": Space("fbnet", len(_fbnet.PRIMITIVES) ** _fbnet.N_LAYERS, _fbnet_arch),
    "nb201": Space("nb201", len(_nb201.OPS) ** 6, _nb201_arch),
}


def get_space(name: str) -> Space:
    key = name.split(":", 1)[0].strip()
    if key not in SPACES:
        raise UsageError(f"'{name}' is not a search space; sampling works for {', '.join(SPACES)}")
    return SPACES[key]


def sample_space(space: str, n: int, seed: int = 0) -> list[str]:
    """``n`` distinct random architectures of ``space`` as zoo specs (``fbnet:arch=...``),
    the same for the same seed."""
    sp = get_space(space)
    return [f"{sp.name}:arch={a}" for a in sample_archs(sp, n, seed)]


def sample_archs(sp: Space, n: int, seed: int = 0) -> list[str]:
    """``n`` distinct random architectures (the ``arch`` knob's text) of ``sp``."""
    if n < 1:
        raise UsageError(f"sample at least one architecture (got {n})")
    if n > sp.size:
        raise UsageError(f"{sp.name} has {sp.size:,} architectures; sample at most that many")
    rng = random.Random(seed)
    if sp.size <= 10_000_000:
        idx = rng.sample(range(sp.size), n)
    else:
        seen: dict[int, None] = {}
        while len(seen) < n:
            seen.setdefault(rng.randrange(sp.size))
        idx = list(seen)
    return [sp.arch(i) for i in idx]


# -- prediction: features x coefficients, composed from cached blocks --------------------------

_BLOCK_TOTALS: dict[tuple, tuple[int, int]] = {}


def _block_totals(key: tuple[str, tuple[int, ...]]) -> tuple[int, int]:
    """(params, MACs) of one (block spec, input shape), from its cached trace."""
    hit = _BLOCK_TOTALS.get(key)
    if hit is None:
        graph, macs = sample_graph(*key)
        hit = _BLOCK_TOTALS[key] = (int(sum(n.new_params for n in graph.nodes)), int(round(macs)))
    return hit


@dataclass
class Costs:
    """Per item: MACs, params and, per profile name, predicted ms; items that could not be
    built are in ``skipped`` (index -> reason) with NaN / -1 in the arrays."""

    macs: np.ndarray
    params: np.ndarray
    latency: dict[str, np.ndarray]
    paths: dict[str, str]
    skipped: dict[int, str] = field(default_factory=dict)


# a variant that cannot be built or traced (a knob combination the builder refuses, e.g.
# channels that groups do not divide) is skipped with its reason, not fatal
_BUILD_ERRORS = (CostlabError, ValueError, RuntimeError, TypeError, ZeroDivisionError)


def reason(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    return text if isinstance(exc, CostlabError) else f"{type(exc).__name__}: {text}"


def _batches(items: Sequence[tuple[str, tuple]], skipped: dict[int, str]):
    """Index lists whose distinct blocks fit the trace cache; items that fail are skipped."""
    from tqdm import tqdm

    batch: list[int] = []
    seen: set = set()
    it = tqdm(items, desc="variants: tracing distinct blocks", unit="variant", leave=False, disable=None,
              mininterval=0.5)
    for i, (spec, shape) in enumerate(it):
        try:
            blocks = spec_blocks(spec, shape)
            for b in blocks:
                if b not in _BLOCK_TOTALS:
                    _block_totals(b)
        except _BUILD_ERRORS as exc:
            skipped[i] = reason(exc)
            continue
        new = {b for b in blocks if b not in seen}
        if batch and len(seen) + len(new) > _BATCH_BLOCKS:
            yield batch
            batch, seen, new = [], set(), set(blocks)
        batch.append(i)
        seen |= new
    if batch:
        yield batch


def _fast(items, profiles: list[Profile], costs: Costs) -> None:
    groups: dict[tuple, list[Profile]] = {}
    for p in profiles:
        groups.setdefault((p.dtype, tuple(sorted(set(p.fusion)))), []).append(p)
    for idx in _batches(items, costs.skipped):
        sub = [items[i] for i in idx]
        for (dtype, fusion), ps in groups.items():
            ss = SpecSet(sub, dtype, fusion)
            tot = np.array([_block_totals(b) for b in ss.blocks], dtype=float).reshape(-1, 2)
            pm = np.asarray(ss.counts @ tot)
            costs.params[idx] = np.rint(pm[:, 0]).astype(np.int64)
            costs.macs[idx] = np.rint(pm[:, 1]).astype(np.int64)
            for p in ps:
                costs.latency[p.name][idx] = np.round(p.form.predict_items(ss, p), ROUND_MS)


def _full_one(spec: str, shape: tuple, profiles: list[Profile]) -> tuple[int, int, list[float]]:
    rep = count(spec, input_shape=[list(shape)])
    return (int(rep.totals["params"]), int(rep.totals["macs"]),
            [float(with_latency(rep, p).totals["latency_ms"]) for p in profiles])


def predict_costs(items: Sequence[tuple[str, tuple]], profiles: Sequence) -> Costs:
    """MACs, params and predicted ms on every profile of zoo specs (or model files) at input shapes
    (``items``: ``[(spec, shape), ...]``). A profile whose form composes by block
    (:attr:`costlab.latency.forms.Form.composes`) is predicted from block features through
    the form's own kernel rule (the same rule :func:`costlab.api.analyze` applies); any other
    is predicted item by item by :func:`costlab.api.analyze`."""
    profs = [load_profile(p) for p in profiles]
    for p in profs:
        p.require_fitted()
        warn_if_other_machine(p)
    n = len(items)
    costs = Costs(np.full(n, -1, np.int64), np.full(n, -1, np.int64),
                  {p.name: np.full(n, np.nan) for p in profs}, {})
    fast = [p for p in profs if p.form.composes]
    if fast and n:
        _fast(items, fast, costs)
    for p in fast:
        costs.paths[p.name] = "blocks"
    slow = [p for p in profs if not p.form.composes]
    from tqdm import tqdm

    for i in tqdm(range(n) if slow else (), desc="variants: analysed whole", unit="variant", leave=False,
                  disable=None, mininterval=0.5):
        try:
            prm, mac, ms = _full_one(items[i][0], items[i][1], slow)
        except _BUILD_ERRORS as exc:
            costs.skipped[i] = reason(exc)
            continue
        costs.params[i], costs.macs[i] = prm, mac
        for p, v in zip(slow, ms):
            costs.latency[p.name][i] = v
    for p in slow:
        costs.paths[p.name] = "full"
    return costs


# -- the front and the choice -----------------------------------------------------------------

def pareto_front(latency: Sequence[float], capacity: Sequence[float]) -> list[int]:
    """Indices of the variants no other beats on both (lower latency, higher capacity), by
    latency; of equal points the first is kept."""
    order = sorted(range(len(latency)), key=lambda i: (latency[i], -capacity[i], i))
    front: list[int] = []
    best = -math.inf
    for i in order:
        if capacity[i] > best:
            front.append(i)
            best = capacity[i]
    return front


@dataclass
class SearchResult:
    """Every variant (spec, knobs, input shape, params, MACs, predicted ms), the Pareto front
    (indices, by latency), the best variant under the budget (``best``; ``None`` when none
    meets it) and the fastest one."""

    model: str
    device: str                       # the profile's name
    device_info: dict
    objective: str
    capacity: str                     # 'macs' or 'params': the front's capacity axis
    budget_ms: float | None
    grid: list[str]                   # the knobs that vary ('arch' for a sampled space)
    variants: list[dict]
    front: list[int]
    best: int | None
    fastest: int
    prediction: str                   # 'blocks' (composed features) or 'full' (analyze per variant)
    skipped: list[dict] = field(default_factory=list)

    def label(self, i: int) -> str:
        v = self.variants[i]
        parts = [f"#{i}" if k == "arch" else f"{k}={_fmt_value(v['knobs'][k])}"
                 for k in self.grid if k != RESOLUTION]
        return " ".join(parts + ([f"@{v['resolution']}"] if RESOLUTION in self.grid or not parts else []))

    def table(self):
        """Every variant as a DataFrame, with ``on_front`` and ``chosen`` columns."""
        front = set(self.front)
        rows = [{"variant": i, "spec": v["spec"], **{k: v["knobs"].get(k) for k in self.grid if k != RESOLUTION},
                 "resolution": v["resolution"], "input_shape": "x".join(map(str, v["input_shape"])),
                 "params": v["params"], "macs": v["macs"], "latency_ms": v["latency_ms"],
                 "on_front": i in front, "chosen": i == self.best} for i, v in enumerate(self.variants)]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return {"model": self.model, "device": self.device, "device_info": self.device_info,
                "objective": self.objective, "capacity": self.capacity, "budget_ms": self.budget_ms,
                "grid": self.grid, "prediction": self.prediction, "n_variants": len(self.variants),
                "front": [dict(self.variants[i], variant=i) for i in self.front],
                "best": None if self.best is None else dict(self.variants[self.best], variant=self.best),
                "fastest": dict(self.variants[self.fastest], variant=self.fastest),
                "variants": self.variants, "skipped": self.skipped}

    def require_best(self) -> dict:
        """The best variant; an :class:`InputError` naming the fastest one when none meets the budget."""
        if self.best is None:
            f = self.variants[self.fastest]
            raise InputError(f"no variant meets the {self.budget_ms:g} ms budget on {self.device}: the fastest, "
                             f"{f['spec']} at {'x'.join(map(str, f['input_shape']))}, takes {f['latency_ms']:g} ms; "
                             "raise --budget-ms or search smaller variants")
        return self.variants[self.best]


def _variants(spec: str, knobs, space: int | None, seed: int) -> tuple[ModelEntry, list[dict], list[str]]:
    if space is None:
        return knob_grid(spec, knobs)
    sp = get_space(spec)
    entry, fixed = _given_knobs(spec)
    if "arch" in fixed or "arch" in (knobs or {}):
        raise UsageError("--space samples the 'arch' knob; do not give it too")
    entry, grid, names = knob_grid(spec, knobs)
    if space * len(grid) > MAX_VARIANTS:   # checked before sampling: millions of variants exhaust memory
        raise UsageError(f"--space {space:,} gives {space * len(grid):,} variants (at most {MAX_VARIANTS:,} in one "
                         f"search); sample fewer, or predict them all with costlab sweep --space {sp.name} "
                         f"--n {space} -o FILE.csv")
    archs = sample_archs(sp, space, seed)
    return entry, [{"arch": a, **g} for a in archs for g in grid], ["arch"] + names


def search(spec: str, knobs: Mapping[str, Any] | None = None, *, device: str | dict,
           budget_ms: float | None = None, objective: str = "macs", space: int | None = None,
           seed: int = 0) -> SearchResult:
    """Predict every variant of ``spec`` on ``device`` and pick the best under ``budget_ms``.

    ``knobs``: ``{'width': '0.35:1.4:0.05', 'resolution': '96:224:32', 'groups': '1,2,4'}``
    (or lists of values); knobs written in ``spec`` stay fixed. ``space=N``: N distinct
    random architectures of the search space ``spec`` (``fbnet``, ``nb201``; ``seed``),
    crossed with ``knobs``. ``objective``: ``'macs'`` / ``'params'`` (the most under the
    budget) or ``'-latency'`` (the fastest). No budget: every variant qualifies.
    """
    if is_file_spec(spec):
        raise UsageError(f"'{spec.strip()}' is a model file: search varies a zoo model's knobs, and a file has none "
                         "(to predict model files on a device, list them in a specs file: costlab sweep specs.txt "
                         "--device D)")
    if objective not in OBJECTIVES:
        raise UsageError(f"unknown objective '{objective}'; use one of {', '.join(OBJECTIVES)}")
    if budget_ms is not None and not (math.isfinite(budget_ms) and budget_ms > 0):
        raise UsageError(f"the budget must be a positive number of ms (got {budget_ms})")
    profile = load_profile(device)
    entry, variants, names = _variants(spec, knobs, space, seed)
    items = [(variant_spec(entry, {k: v for k, v in var.items() if k != RESOLUTION}),
              tuple(entry.default_input_shape(var[RESOLUTION]))) for var in variants]
    costs = predict_costs(items, [profile])
    lat = costs.latency[profile.name]
    skipped = [{"spec": items[i][0], "input_shape": list(items[i][1]), "reason": r}
               for i, r in sorted(costs.skipped.items())]
    keep = [i for i in range(len(items)) if i not in costs.skipped]
    if not keep:
        raise SpecError(f"no variant of '{spec}' could be built: {skipped[0]['reason']}")
    rows = [{"spec": items[i][0], "knobs": {k: v for k, v in variants[i].items() if k != RESOLUTION},
             "resolution": variants[i][RESOLUTION], "input_shape": list(items[i][1]),
             "params": int(costs.params[i]), "macs": int(costs.macs[i]), "latency_ms": float(lat[i])}
            for i in keep]
    capacity = objective if objective in ("macs", "params") else "macs"
    front = pareto_front([r["latency_ms"] for r in rows], [r[capacity] for r in rows])
    within = [i for i in front if budget_ms is None or rows[i]["latency_ms"] <= budget_ms]
    best = (within[-1] if objective != "-latency" else within[0]) if within else None
    info = {k: getattr(profile, k) for k in ("device", "runtime", "threads", "batch", "dtype")}
    return SearchResult(entry.name, profile.name, info, objective, capacity, budget_ms, names, rows, front,
                        best, front[0], costs.paths[profile.name], skipped)


# -- the figure ---------------------------------------------------------------------------------

def search_figure(result: SearchResult, *, title: str | None = None, max_labels: int = 20):
    """The Pareto figure of a search (:func:`costlab.present.plots.pareto_figure`)."""
    from .present.plots import pareto_figure

    cap_name = "MACs" if result.capacity == "macs" else "params"
    grid = ", ".join(result.grid) or "no knobs"
    chosen = None
    if result.best is not None:
        chosen = "chosen: " + (f"most {cap_name} under the budget" if result.capacity == result.objective
                               else "fastest" + (" under the budget" if result.budget_ms else ""))
    return pareto_figure(
        [v["latency_ms"] for v in result.variants], [v[result.capacity] / 1e6 for v in result.variants],
        front=list(result.front), best=result.best, labels=[result.label(i) for i in range(len(result.variants))],
        capacity=result.capacity, budget_ms=result.budget_ms, chosen_label=chosen,
        what=f"{result.model}: predicted latency vs {cap_name} over {grid}",
        device=result.device_info.get("device"), profile=result.device, title=title, max_labels=max_labels)
