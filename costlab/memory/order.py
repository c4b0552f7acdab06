"""The execution order that minimises the live peak, never worse than the traced order.

Any topological order of the steps is a valid schedule (data dependencies, plus
write-after-read for ops that overwrite their input). The live bytes while a step runs depend
only on the set of steps already done, so the best order is a shortest-path problem over the
*ideals* (dependency-closed sets) of the graph: ``best[S + v] = min(max(best[S], mem(S, v)))``,
as in Serenity (Ahn et al., MLSys 2020), whose dynamic program this is.

The graph is first cut where one buffer (and only buffers no later step reads) crosses from
the steps done to the steps to come: every schedule must pass these points, so each segment
between two cuts (a cell: an Inception module, a ShuffleNet unit, a residual block) is solved on
its own. A segment whose ideals stay under ``max_states`` is solved exactly; a larger one by a
greedy rule (run the ready step that leaves the fewest live bytes), reported with its lower
bound (the largest working set of one step: its inputs, its result and what stays live across it
in any order). Each segment keeps the traced order when nothing beats it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lifetimes import Lifetimes

MAX_STATES = 1000


@dataclass(frozen=True)
class OrderResult:
    order: list[int]          # steps (indices into the traced order), best order
    peak: int                 # live peak of that order
    traced_peak: int
    exact: bool               # every segment solved exactly
    lower_bound: int          # no order has a lower peak
    segments: int
    reordered: int            # segments whose order changed


def cuts(lt: Lifetimes) -> list[int]:
    """Steps k after which every buffer still alive was written at k or is never read again."""
    n = lt.n
    if not n:
        return []
    bad = np.zeros(n + 1, dtype=np.int64)        # bad[k] > 0: a read-later buffer from before k crosses k
    for buf in lt.buffers:
        last_read = max(buf.readers) if buf.readers else -1
        writes = [p for p, _ in buf.chain]
        lo = buf.first
        # steps k in [lo, last_read - 1] where the buffer crosses and was not written at k
        if last_read - 1 >= lo:
            bad[lo] += 1
            bad[last_read] -= 1
            for p in writes:
                if lo <= p <= last_read - 1:
                    bad[p] -= 1
                    bad[p + 1] += 1
    crossing = np.cumsum(bad[:-1])
    return [k for k in range(n) if crossing[k] == 0]


class _Segment:
    """Steps a..b with the buffers live on entry."""

    def __init__(self, lt: Lifetimes, a: int, b: int, live_in: int):
        self.lt, self.a, self.b = lt, a, b
        self.m = b - a + 1
        self.live_in = live_in
        self.dep = [sum(1 << (d - a) for d in lt.deps[s] if a <= d <= b) for s in range(a, b + 1)]
        # buffers this segment frees: every reader inside it, not a graph output
        self.frees: list[list[tuple[int, int]]] = [[] for _ in range(self.m)]
        for buf in lt.buffers:
            if buf.pinned or not buf.readers or max(buf.readers) > b or max(buf.readers) < a:
                continue
            mask = sum(1 << (r - a) for r in set(buf.readers) if r >= a)
            for r in set(buf.readers):
                if r >= a:
                    self.frees[r - a].append((mask, buf.size))
        # per step: bytes it adds while running, and bytes gone once it is done (scratch, unread result)
        self.add = [_created(lt, s) + lt.scratch[s] for s in range(a, b + 1)]
        self.drop = [lt.scratch[s] + _unread(lt, s) for s in range(a, b + 1)]

    def step(self, done: int, live: int, v: int) -> tuple[int, int]:
        """(bytes while v runs, bytes after) from ``done`` with ``live`` bytes."""
        mem = live + self.add[v]
        after = done | (1 << v)
        freed = self.drop[v]
        for mask, size in self.frees[v]:
            if after & mask == mask:
                freed += size
        return mem, mem - freed

    def peak_of(self, order: list[int]) -> int:
        done, live, peak = 0, self.live_in, 0
        for v in order:
            mem, live = self.step(done, live, v)
            done |= 1 << v
            peak = max(peak, mem)
        return peak

    def exact(self, max_states: int) -> list[int] | None:
        layer = {0: (0, self.live_in)}           # done -> (peak so far, live)
        parent: dict[int, tuple[int, int]] = {}
        total = 0
        for _ in range(self.m):
            nxt: dict[int, tuple[int, int]] = {}
            dep = self.dep
            for done, (peak, live) in layer.items():
                for v in range(self.m):
                    if done >> v & 1 or dep[v] & done != dep[v]:
                        continue
                    mem, after = self.step(done, live, v)
                    key, cand = done | (1 << v), max(peak, mem)
                    if key not in nxt or cand < nxt[key][0]:
                        nxt[key] = (cand, after)
                        parent[key] = (done, v)
            total += len(nxt)
            if total > max_states:
                return None
            layer = nxt
        order, key = [], (1 << self.m) - 1
        while key:
            key, v = parent[key]
            order.append(v)
        return order[::-1]

    def greedy(self) -> list[int]:
        done, live, order = 0, self.live_in, []
        for _ in range(self.m):
            best = None
            for v in range(self.m):
                if done >> v & 1 or self.dep[v] & done != self.dep[v]:
                    continue
                mem, after = self.step(done, live, v)
                if best is None or (after, mem, v) < best[:3]:
                    best = (after, mem, v)
            _, _, v = best
            _, live = self.step(done, live, v)
            done |= 1 << v
            order.append(v)
        return order


def best_order(lt: Lifetimes, max_states: int = MAX_STATES) -> OrderResult:
    """The order of ``lt``'s steps with the lowest live peak found (see the module doc)."""
    live = lt.live()
    traced_peak = int(live.max()) if lt.n else 0
    order: list[int] = []
    peak, exact, reordered = 0, True, 0
    ks = cuts(lt)
    bounds = []
    start = 0
    for k in ks:
        bounds.append((start, k))
        start = k + 1
    if start < lt.n:
        bounds.append((start, lt.n - 1))
    for a, b in bounds:
        live_in = int(live[a] - lt.scratch[a] - _created(lt, a))
        seg = _Segment(lt, a, b, live_in)
        traced = list(range(seg.m))
        best, best_peak = traced, int(live[a:b + 1].max())
        solved = seg.exact(max_states) if seg.m > 1 else traced
        if solved is None:
            exact = False
            solved = seg.greedy()
        p = seg.peak_of(solved)
        if p < best_peak:
            best, best_peak = solved, p
            reordered += 1
        order += [a + v for v in best]
        peak = max(peak, best_peak)
    return OrderResult(order, peak, traced_peak, exact, min(lower_bound(lt), peak), len(bounds), reordered)


def lower_bound(lt: Lifetimes) -> int:
    """No order has a lower peak: every step holds its inputs and its result while it runs."""
    return max((lt.in_bytes[s] + lt.out_bytes[s] + lt.scratch[s] for s in range(lt.n)), default=0)


def _created(lt: Lifetimes, s: int) -> int:
    c = lt.creates[s]
    return lt.buffers[c].size if c >= 0 else 0


def _unread(lt: Lifetimes, s: int) -> int:
    """Bytes step ``s`` writes that nobody reads (freed right after it)."""
    c = lt.creates[s]
    return lt.buffers[c].size if c >= 0 and not lt.buffers[c].readers and not lt.buffers[c].pinned else 0


def simulate(lt: Lifetimes, order: list[int]) -> int:
    """The live peak of ``lt``'s steps run in ``order`` (checks the dependencies)."""
    pos = {s: i for i, s in enumerate(order)}
    if sorted(order) != list(range(lt.n)):
        raise ValueError("an order must list every step once")
    for s in range(lt.n):
        if any(pos[d] > pos[s] for d in lt.deps[s]):
            raise ValueError(f"step {s} runs before a step it depends on")
    readers_left = {buf.id: len(buf.readers) for buf in lt.buffers}
    inputs = [buf for buf in lt.buffers if buf.key[0][0] == "input"]
    live = sum(buf.size for buf in inputs)
    peak = 0
    for i, s in enumerate(order):
        mem = live + _created(lt, s) + lt.scratch[s]
        peak = max(peak, mem)
        live = mem - lt.scratch[s] - _unread(lt, s)
        if i == 0:
            live -= sum(buf.size for buf in inputs if not buf.readers and not buf.pinned)
        for b in lt.reads[s]:
            readers_left[b] -= 1
            if readers_left[b] == 0 and not lt.buffers[b].pinned:
                live -= lt.buffers[b].size
    return peak
