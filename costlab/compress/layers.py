"""The compressible layers of a model: one weight tensor per conv / linear layer (shared
tensors once), in execution order, with the MACs and memory access of the trace, the
layers kept in full precision when binarizing, and the dropout that follows each layer."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch.nn as nn

from ..spec import InputError

_CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
               nn.ConvTranspose3d)


@dataclass
class Layer:
    path: str
    kind: str                  # 'conv' | 'fc'
    module_type: str
    weight_name: str
    bias_name: str | None
    shape: tuple[int, ...]
    out: int                   # filters / output features (rows of the CSR view)
    reg: int = 0               # registration order (named_modules)
    order: int = 10 ** 9       # first execution (trace order)
    macs: int = 0
    mac_bytes: int = 0
    also: list = field(default_factory=list)   # other modules with this weight (tied): their compute is this layer's

    @property
    def weights(self) -> int:
        return int(np.prod(self.shape))


def layers_of(model: nn.Module) -> tuple[list[Layer], dict[str, int], list[tuple[str, float, int]]]:
    """Compressible layers, every unique parameter (name -> numel), and dropout modules
    (path, p, registration index of the layer before it)."""
    seen: dict[int, str] = {}
    params: dict[str, int] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) not in seen:
            seen[id(p)] = name
            params[name] = p.numel()
    layers: list[Layer] = []
    weight_ids: set[int] = set()
    dropouts: list[tuple[str, float, int]] = []
    for path, m in model.named_modules():
        if isinstance(m, nn.Dropout):
            dropouts.append((path, float(m.p), len(layers) - 1))
            continue
        if not isinstance(m, _CONV_TYPES + (nn.Linear,)):
            continue
        w = getattr(m, "weight", None)
        if not isinstance(w, nn.Parameter):
            continue
        if id(w) in weight_ids:      # a tied weight: stored once, computed by both modules
            next(lay for lay in layers if lay.weight_name == seen[id(w)]).also.append(path)
            continue
        weight_ids.add(id(w))
        b = getattr(m, "bias", None)
        kind = "fc" if isinstance(m, nn.Linear) else "conv"
        shape = tuple(int(d) for d in w.shape)
        out = shape[0] if not isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)) \
            else shape[1] * m.groups
        layers.append(Layer(path, kind, type(m).__name__, seen[id(w)],
                            seen.get(id(b)) if isinstance(b, nn.Parameter) else None, shape, out,
                            reg=len(layers)))
    return layers, params, dropouts


def add_trace(layers: list[Layer], spec_for_trace: Any, input_shape=None, resolution: int | None = None):
    """MACs and MAC bytes per layer from the trace (one pass over the IR); sorts ``layers``
    into execution order and returns the trace's report."""
    from ..api import analyze

    report = analyze(spec_for_trace, input_shape=input_shape, resolution=resolution)
    by_path = {p: lay for lay in layers for p in (lay.path, *lay.also)}
    for i, row in enumerate(report.layers.itertuples(index=False)):
        lay = by_path.get(row.module)
        if lay is None or not row.macs:
            continue
        lay.order = min(lay.order, i)
        lay.macs += int(row.macs)
        lay.mac_bytes += int(row.mac_bytes)
    layers.sort(key=lambda lay: lay.order)
    return report


def keep_full_layers(layers: list[Layer], keep_full: Sequence[str], model_name: str) -> set[str]:
    """The layer paths ``--keep-full`` leaves in full precision ('first', 'last', 'none', paths)."""
    full_precision: set[str] = set()
    executed = [lay for lay in layers if lay.order < 10 ** 9] or layers
    for item in keep_full:
        item = item.strip()
        if not item or item == "none":
            continue
        if item == "first":
            full_precision.add(executed[0].path)
        elif item == "last":
            full_precision.add(executed[-1].path)
        else:
            hits = [lay.path for lay in layers if lay.path == item or lay.path.endswith("." + item)]
            if len(hits) != 1:
                raise InputError(f"--keep-full: '{item}' is no single layer of {model_name} "
                                 "(use first, last, none or a layer path)")
            full_precision.add(hits[0])
    return full_precision


def dropout_targets(layers: list[Layer], dropouts: list[tuple[str, float, int]]) -> dict[str, tuple[str, float]]:
    """dropout -> the layer before it in registration order (the one whose outputs it drops)."""
    reg_order = [lay.path for lay in sorted(layers, key=lambda lay: lay.reg)]
    drop_for: dict[str, tuple[str, float]] = {}
    for dpath, p, before in dropouts:
        target = reg_order[before] if before >= 0 else (reg_order[0] if reg_order else None)
        if target is not None and target not in drop_for:
            drop_for[target] = (dpath, p)
    return drop_for
