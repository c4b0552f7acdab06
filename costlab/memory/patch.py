"""Patch-based inference (MCUNetV2, Lin et al., NeurIPS 2021, Sec. 3.1): the first steps of a
network, up to a split tensor, run once per spatial patch of that tensor; the rest runs layer by
layer.

For an n x n grid of patches of the split tensor, each patch's region is carried back through
the stage: a conv or pooling window of kernel k, stride s, padding p and dilation d needs input
rows ``[r0*s - p, (r1-1)*s - p + d*(k-1) + 1)`` (clipped to the map) for output rows
``[r0, r1)``; element-wise ops, norms and channel concats need the same region; a tensor read by
several steps (a residual) is needed over the bounding box of what they need. Overlapping regions
are computed once per patch that needs them: the *extra MACs* are the stage's MACs over all
patches minus its MACs computed once.

Memory while patches run (TinyEngine's layer-by-layer rules, on patch-sized tensors): the largest
working set of one patch, plus the whole split tensor, which the patches fill in. As in the paper
(Fig. 3), the input image is held one patch region at a time (it can be decoded piece by piece);
``full_input=True`` holds it whole. After the split, the live bytes of the layer-by-layer schedule.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops
from ..errors import InputError
from ..ir import Node
from .lifetimes import Lifetimes, value_key
from .order import cuts

Region = tuple[int, int, int, int]        # rows [r0, r1), cols [c0, c1)
_LOCAL = ("norm", "activation", "binary", "pointwise", "move")


class NotPatchable(InputError):
    """A step of the stage is not spatially local (a global pool, a linear, a reshape ...)."""


@dataclass(frozen=True)
class PatchResult:
    split_step: int
    patches: int                 # n: an n x n grid
    peak_bytes: int              # the whole network, patch stage and layer-by-layer rest
    stage_peak_bytes: int        # while the patches run (split tensor included)
    rest_peak_bytes: int         # layer by layer after the split
    stage_macs: int              # the stage's MACs computed once
    extra_macs: int              # recomputed in the overlaps
    split_bytes: int             # the whole split tensor
    live: list[int]              # per step: bytes (the worst patch's for the stage steps)


def _hw(t) -> tuple[int, int] | None:
    return (int(t.shape[-2]), int(t.shape[-1])) if len(t.shape) == 4 else None


def _pair(v, default: int) -> tuple[int, int]:
    if v is None or v == []:
        return default, default
    v = list(v) if isinstance(v, (list, tuple)) else [v]
    return (int(v[0]), int(v[-1]))


def window(n: Node) -> tuple[tuple[int, int], ...] | None:
    """(kernel, stride, padding, dilation) pairs of a conv or pooling step; None when element-wise."""
    kind = ops.kind_of(n.op)
    cat = ops.category_of(n.op)
    if kind == "conv" and not n.args.get("transposed", False) and len(n.inputs[1].shape) == 4:
        k = tuple(int(x) for x in n.inputs[1].shape[2:])
    elif cat in ("pool_max", "pool_avg"):
        k = _pair(n.args.get("kernel_size"), 1)
    else:
        return None
    stride = _pair(n.args.get("stride"), 1) if n.args.get("stride") not in (None, []) else k
    return k, stride, _pair(n.args.get("padding"), 0), _pair(n.args.get("dilation"), 1)


def _back(r: Region, win, hw_in: tuple[int, int]) -> Region:
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = win
    r0, r1, c0, c1 = r
    return (max(r0 * sh - ph, 0), min((r1 - 1) * sh - ph + dh * (kh - 1) + 1, hw_in[0]),
            max(c0 * sw - pw, 0), min((c1 - 1) * sw - pw + dw * (kw - 1) + 1, hw_in[1]))


def _union(a: Region | None, b: Region) -> Region:
    if a is None:
        return b
    return (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))


def _area(r: Region) -> int:
    return max(r[1] - r[0], 0) * max(r[3] - r[2], 0)


def _check_local(lt: Lifetimes, k: int) -> None:
    g = lt.graph
    free = ops.free_mask(g)
    last = lt.steps[k]
    for n in g.nodes[: last + 1]:
        if free[n.id]:
            if n.outputs and n.inputs and n.outputs[0].shape != n.inputs[0].shape:
                raise NotPatchable(f"{n.module or '(root)'}: {ops.kind_of(n.op)} changes the shape")
            continue
        if not n.outputs or _hw(n.outputs[0]) is None:
            raise NotPatchable(f"{n.module or '(root)'}: {ops.describe(n)} has no spatial map")
        if window(n) is None and ops.category_of(n.op) not in _LOCAL:
            raise NotPatchable(f"{n.module or '(root)'}: {ops.describe(n)} is not spatially local")
        if ops.kind_of(n.op) == "cat" and int(n.args.get("dim", 0)) not in (1, -3):
            raise NotPatchable(f"{n.module or '(root)'}: cat along a spatial axis")


def regions(lt: Lifetimes, k: int, patch: Region) -> dict[int, Region]:
    """Per stage step (0..k): the region of its result one patch of step k's result needs;
    key -1 - i for graph input i."""
    g = lt.graph
    free = ops.free_mask(g)
    roots = g.roots(free)
    need: dict[int, Region] = {k: patch}
    pos = {nid: i for i, nid in enumerate(lt.steps)}
    for i in range(k, -1, -1):
        if i not in need:
            continue
        n = g.nodes[lt.steps[i]]
        win = window(n)
        out_hw = _hw(n.outputs[0])
        for s, t in zip(n.sources, n.inputs):
            key = value_key(s, roots, free)
            if key is None:
                continue
            src = pos[key[0][1]] if key[0][0] == "node" else -1 - key[0][1]
            hw_in = _hw(t)
            if hw_in is None:
                continue
            if win is not None and s is n.sources[0]:
                r = _back(need[i], win, hw_in)
            elif hw_in == out_hw:
                r = need[i]
            else:      # broadcast (a 1x1 scale) or another size: the whole map
                r = (0, hw_in[0], 0, hw_in[1])
            need[src] = _union(need.get(src), r)
    return need


def grid(h: int, w: int, n: int) -> list[Region]:
    return [(h * i // n, h * (i + 1) // n, w * j // n, w * (j + 1) // n) for i in range(n) for j in range(n)]


def _conv_macs(n: Node, area: int) -> int:
    if ops.kind_of(n.op) != "conv":
        return 0
    return int(n.inputs[0].shape[0]) * area * n.inputs[1].numel


def _scaled_live(lt: Lifetimes, k: int, need: dict[int, Region], full_input: bool) -> np.ndarray:
    """Live bytes of steps 0..k for one patch: every value scaled to its region's share."""
    g = lt.graph
    out = np.zeros(k + 1, dtype=np.int64)

    def share(idx: int, key) -> float:
        if idx == k:
            return 0.0        # written straight into the whole split tensor
        if key[0][0] == "input":
            if full_input:
                return 1.0
            hw = _hw(g.inputs[key[0][1]])
            r = need.get(-1 - key[0][1])
        else:
            hw = _hw(g.nodes[key[0][1]].outputs[0])
            r = need.get(idx)
        return _area(r) / (hw[0] * hw[1]) if r is not None and hw else 0.0

    pos = {nid: i for i, nid in enumerate(lt.steps)}
    for buf in lt.buffers:
        if buf.first > k:
            continue
        sizes = []
        for (p, b), key in zip(buf.chain, _chain_keys(lt, buf)):
            if p > k:
                break
            idx = pos.get(key[0][1], -1) if key[0][0] == "node" else -1
            sizes.append((p, int(round(b * share(idx, key)))))
        for j, (p, s) in enumerate(sizes):
            end = sizes[j + 1][0] - 1 if j + 1 < len(sizes) else min(buf.last, k)
            start = p if j == 0 else p + 1
            if j:
                out[p] += max(sizes[j - 1][1], s)
            out[start:end + 1] += s
    for i in range(k + 1):
        if lt.scratch[i]:
            hw = _hw(g.nodes[lt.steps[i]].outputs[0])
            out[i] += int(round(lt.scratch[i] * _area(need[i]) / (hw[0] * hw[1]))) if i != k else lt.scratch[i]
    return out


def _chain_keys(lt: Lifetimes, buf) -> list[tuple]:
    keys = [buf.key]
    for p, _ in buf.chain[1:]:
        keys.append((("node", lt.steps[p]), 0))
    return keys


def patch_plan(lt: Lifetimes, k: int, n: int, full_input: bool = False) -> PatchResult:
    """Run steps 0..k (an MCU-rule schedule, ``lt.rules == 'mcu'``) patch by patch on an n x n
    grid of step k's result, the rest layer by layer."""
    if k not in set(cuts(lt)):
        raise NotPatchable(f"step {k} is not a split point: other tensors than its result cross it")
    _check_local(lt, k)
    g = lt.graph
    split = g.nodes[lt.steps[k]].outputs[0]
    h, w = _hw(split)
    if not 1 <= n <= min(h, w):
        raise InputError(f"{n}x{n} patches of a {h}x{w} map: use --patches {min(h, w)} or fewer")
    live = lt.live()
    stage = np.zeros(k + 1, dtype=np.int64)
    macs_patched = 0
    for patch in grid(h, w, n):
        need = regions(lt, k, patch)
        stage = np.maximum(stage, _scaled_live(lt, k, need, full_input))
        macs_patched += sum(_conv_macs(g.nodes[lt.steps[i]], _area(r)) for i, r in need.items() if i >= 0)
    split_bytes = lt.out_bytes[k]
    stage = stage + split_bytes
    once = sum(_conv_macs(g.nodes[lt.steps[i]], int(np.prod(_hw(g.nodes[lt.steps[i]].outputs[0]))))
               for i in range(k + 1))
    rest = live[k + 1:]
    rest_peak = int(rest.max()) if len(rest) else 0
    stage_peak = int(stage.max())
    return PatchResult(k, n, max(stage_peak, rest_peak), stage_peak, rest_peak, once, macs_patched - once,
                       split_bytes, [int(x) for x in stage] + [int(x) for x in rest])


def split_candidates(lt: Lifetimes) -> list[int]:
    """Split points worth trying: cuts in the spatially local prefix whose result is no larger
    than its neighbours' (block outputs)."""
    out = []
    b = lt.out_bytes
    for k in cuts(lt):
        try:
            _check_local(lt, k)
        except NotPatchable:
            break
        if 0 < k < lt.n - 1 and b[k] <= b[k - 1] and b[k] <= b[k + 1]:
            out.append(k)
    return out


def best_split(lt: Lifetimes, total_macs: int, grids=(2, 3, 4, 5, 6, 7, 8), max_overhead: float | None = None,
               full_input: bool = False) -> PatchResult | None:
    """The split and grid with the lowest peak whose extra MACs stay within ``max_overhead``
    (a share of the network's ``total_macs``; None: any)."""
    total = total_macs
    best = None
    for k in split_candidates(lt):
        h, w = _hw(lt.graph.nodes[lt.steps[k]].outputs[0])
        for n in grids:
            if n > min(h, w):
                continue
            r = patch_plan(lt, k, n, full_input)
            if max_overhead is not None and total and r.extra_macs / total > max_overhead:
                continue
            if best is None or (r.peak_bytes, r.extra_macs) < (best.peak_bytes, best.extra_macs):
                best = r
    return best
