"""The model to compress and its weight values: a module, a resolved spec or a zoo spec
(freshly initialised with a seed), and optionally a state-dict file checked against it.
Weights are read, never written."""
from __future__ import annotations

import os
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn as nn

from ..spec import InputError, Resolved, resolve


def load_weights(path: str | os.PathLike, model: nn.Module, model_name: str) -> dict[str, torch.Tensor]:
    """A state dict for ``model`` from ``path`` (``torch.load(weights_only=True)``), checked
    key by key and shape by shape; anything else is refused with a one-line InputError."""
    path = os.fspath(path)
    fix = f"save one with torch.save(model.state_dict(), '{path}')"
    if os.path.isdir(path):
        raise InputError(f"weights file '{path}' is a folder; give the file written by torch.save")
    if not os.path.isfile(path):
        raise InputError(f"weights file '{path}' does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  (any unpickling failure means: not a plain state dict)
        # our own words: torch's message advises weights_only=False, i.e. running the file's code
        raise InputError(f"cannot read '{path}' as weights: {_why_unreadable(exc)} (costlab loads tensors "
                         f"only and never runs code from a file); {fix}") from None
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, Mapping) or not obj or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise InputError(f"'{path}' holds a {type(obj).__name__}, not a state dict (names -> tensors); {fix}")
    sd = dict(obj)
    if all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    _check_state_dict(sd, model, model_name, path, fix)
    return sd


def _why_unreadable(exc: Exception) -> str:
    import re

    m = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
    if m:
        return f"it holds a pickled Python object ({m.group(1)}), not only tensors"
    return "it is not a file written by torch.save, or it is truncated"


def _check_state_dict(sd: dict[str, torch.Tensor], model: nn.Module, model_name: str, path: str, fix: str) -> None:
    """Every parameter of ``model`` in ``sd``, nothing else, each of the model's shape."""
    expected = model.state_dict()
    params = {n for n, _ in model.named_parameters(remove_duplicate=False)}
    missing = [k for k in expected if k not in sd and k in params]
    unexpected = [k for k in sd if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing '{missing[0]}'" + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
        if unexpected:
            parts.append(f"unexpected '{unexpected[0]}'"
                         + (f" and {len(unexpected) - 1} more" if len(unexpected) > 1 else ""))
        raise InputError(f"'{path}' is not a state dict for {model_name}: {'; '.join(parts)}; {fix}")
    for k, t in sd.items():
        want = tuple(expected[k].shape)
        if tuple(t.shape) != want:
            fmt = lambda s: "x".join(str(d) for d in s) or "scalar"  # noqa: E731
            raise InputError(f"'{path}' is not a state dict for {model_name}: '{k}' is {fmt(t.shape)} "
                             f"in the file but {fmt(want)} in the model; {fix}")
        if k in params and t.is_floating_point() and not bool(torch.isfinite(t).all()):
            # magnitude pruning and k-means cannot rank NaN: every weight was silently pruned
            raise InputError(f"'{path}': '{k}' holds NaN or infinite values, which cannot be pruned or "
                             "clustered; save the checkpoint of a run that did not diverge")


def as_numpy(t: torch.Tensor) -> np.ndarray:
    """A float32 numpy view/copy of a tensor, never aliasing memory we could write."""
    a = t.detach().to("cpu", torch.float32).numpy()
    a.flags.writeable = False
    return a


def resolve_model(model_or_spec: str | nn.Module | Resolved, name: str | None, weights, seed: int
                  ) -> tuple[Resolved, Any, str]:
    """(resolved model, what to trace, weight source 'module' | 'init')."""
    if isinstance(model_or_spec, nn.Module):
        resolved = Resolved(name or type(model_or_spec).__name__, model_or_spec, None, {})
        return resolved, resolved, "module"
    if isinstance(model_or_spec, Resolved):
        return model_or_spec, model_or_spec, "module"
    spec = str(model_or_spec)
    if weights is not None:
        resolved = resolve(spec)                      # zoo: meta build (no init cost)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            resolved = resolve(spec, device="cpu")
    spec_for_trace = spec if resolved.entry is not None else resolved
    return resolved, spec_for_trace, "init"


def weight_tensors(model: nn.Module, model_name: str, params: dict[str, int], weights,
                   source: str) -> tuple[dict[str, torch.Tensor], str]:
    """(parameter name -> tensor, weight source): from ``weights`` (a file) or the model's own."""
    if weights is not None:
        sd = load_weights(weights, model, model_name)
        return {k: sd[k] for k in params if k in sd}, "file"
    named = dict(model.named_parameters(remove_duplicate=False))
    if any(named[k].device.type == "meta" for k in params):
        raise InputError(f"{model_name} lives on the meta device (no weight values); pass weights=FILE "
                         "or a model with real weights")
    bad = next((k for k in params if named[k].is_floating_point() and not bool(torch.isfinite(named[k]).all())), None)
    if bad is not None:
        raise InputError(f"{model_name}: parameter '{bad}' holds NaN or infinite values (left uninitialised, "
                         "torch.empty?), which cannot be pruned or clustered; initialise it or pass --weights FILE")
    return {k: named[k] for k in params}, source
