"""An offset plan for activation buffers: greedy by size, as TFLite's arena planner.

The algorithm is TensorFlow Lite Micro's ``GreedyMemoryPlanner``
(``tensorflow/lite/micro/memory_planner/greedy_memory_planner.cc``, ``CalculateOffsetsIfNeeded``;
TFLite's ``simple_memory_arena`` with ``ArenaPlanner`` does the same for the interpreter):

1. sort the buffers by size, largest first; equal sizes go last-added first (the planner fills
   its sort array from the tail, then bubble-sorts it stably, so ties come out in reverse order:
   with the buffers added in tensor order, TFLite Micro 2026-10 allocates exactly this plan on
   every zoo network ``costlab reproduce memory`` converts);
2. place the first at offset 0;
3. for each next buffer, walk the buffers already placed *whose lifetime overlaps its own*
   (first..last step, both included) in order of offset, and put it in the first gap between
   them that is large enough; if none is, put it after the last of them;
4. the arena is the largest offset + size.

TFLite Micro rounds every buffer up to 16 bytes (``kBufferAlignment``); ``align`` does the same.
The plan is valid by construction (no two buffers alive at one step share a byte), so the
arena is never below the live peak; ``fragmentation`` is how much above it the plan lands.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TFLM_ALIGNMENT = 16


@dataclass(frozen=True)
class Plan:
    offsets: list[int]     # per buffer, in the order given
    sizes: list[int]       # per buffer, after alignment
    arena: int             # bytes: max(offset + size)

    def fragmentation(self, live_peak: int) -> float:
        """Share of the arena above the live peak: arena / peak - 1."""
        return self.arena / live_peak - 1.0 if live_peak else 0.0


def align_up(n: int, align: int) -> int:
    return -(-int(n) // align) * align if align > 1 else int(n)


def greedy_by_size(sizes: list[int], first: list[int], last: list[int], align: int = TFLM_ALIGNMENT) -> Plan:
    """Offsets for buffers of ``sizes`` bytes alive from step ``first[i]`` to ``last[i]``."""
    n = len(sizes)
    if not (len(first) == len(last) == n):
        raise ValueError("sizes, first and last must have one entry per buffer")
    sz = np.array([align_up(s, align) for s in sizes], dtype=np.int64)
    fi, la = np.asarray(first, dtype=np.int64), np.asarray(last, dtype=np.int64)
    order = sorted(range(n), key=lambda i: (-sz[i], -i))    # ties: the last added first
    offsets = np.full(n, -1, dtype=np.int64)
    placed = np.zeros(n, dtype=bool)
    for b in order:
        if sz[b] == 0:
            offsets[b] = 0
            continue
        mask = placed & (fi <= la[b]) & (fi[b] <= la)
        cand = 0
        if mask.any():
            idx = np.nonzero(mask)[0]
            idx = idx[np.argsort(offsets[idx], kind="stable")]
            for j in idx:
                if offsets[j] - cand >= sz[b]:
                    break
                cand = max(cand, int(offsets[j] + sz[j]))
        offsets[b] = cand
        placed[b] = True
    arena = int((offsets + sz).max()) if n else 0
    return Plan([int(o) for o in offsets], [int(s) for s in sz], arena)


def overlaps(plan: Plan, first: list[int], last: list[int]) -> list[tuple[int, int]]:
    """Pairs of buffers alive at one step that share bytes (empty for a valid plan)."""
    bad = []
    n = len(plan.sizes)
    for i in range(n):
        for j in range(i + 1, n):
            if not plan.sizes[i] or not plan.sizes[j]:
                continue
            if first[i] > last[j] or first[j] > last[i]:
                continue
            if plan.offsets[i] < plan.offsets[j] + plan.sizes[j] and plan.offsets[j] < plan.offsets[i] + plan.sizes[i]:
                bad.append((i, j))
    return bad
