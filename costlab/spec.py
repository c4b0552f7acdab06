"""Model specs: zoo names with knobs, or a user's ``file.py:factory`` / ``pkg.module:factory``."""
from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from dataclasses import dataclass

import torch
import torch.nn as nn

from .zoo.registry import ModelEntry, SpecError, parse_spec
from .errors import InputError  # noqa: F401




@dataclass
class Resolved:
    name: str                          # canonical display name, e.g. 'mobilenet_v1:width=0.75'
    model: nn.Module
    entry: ModelEntry | None           # None for user models
    knobs: dict


def _is_user_spec(spec: str) -> bool:
    """``file.py:factory`` or ``package.module:factory`` (zoo names and aliases win)."""
    from .zoo.registry import SpecError as _SE, get_entry

    head = spec.split(":", 1)[0].strip()
    if head.endswith(".py"):
        return True
    try:
        get_entry(head)
        return False
    except _SE:
        return "." in head and ":" in spec


def canonical_name(entry: ModelEntry, knobs: dict) -> str:
    changed = {k: v for k, v in knobs.items() if v != entry.knobs[k].default}
    if not changed:
        return entry.name
    return entry.name + ":" + ",".join(f"{k}={v}" for k, v in changed.items())


def build_zoo(spec: str, device: str | torch.device = "meta") -> Resolved:
    """Build a zoo model; on the meta device by default (no weight memory, no init cost)."""
    entry, knobs = parse_spec(spec)
    with torch.device(device):
        model = entry.builder(**knobs)
    return Resolved(canonical_name(entry, knobs), model, entry, knobs)


def load_user(spec: str) -> Resolved:
    """``path/to/file.py:factory`` or ``package.module:factory``; factory() -> nn.Module."""
    target, sep, factory = spec.rpartition(":")
    if not sep or not target or not factory:
        raise SpecError(f"user model '{spec}' must be written file.py:factory or package.module:factory")
    if target.endswith(".py"):
        if not os.path.isfile(target):
            raise SpecError(f"model file '{target}' does not exist")
        mod_name = f"costlab_user_{abs(hash(os.path.abspath(target)))}"
        mspec = importlib.util.spec_from_file_location(mod_name, target)
        if mspec is None or mspec.loader is None:
            raise SpecError(f"cannot import '{target}' as a Python file")
        module = importlib.util.module_from_spec(mspec)
        sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
        try:
            mspec.loader.exec_module(module)
        except (Exception, SystemExit) as exc:  # the user's file itself fails to import (or exits)
            raise SpecError(f"importing '{target}' failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
        finally:
            sys.path.pop(0)
    else:
        cwd = os.getcwd()
        added = cwd not in sys.path
        if added:   # a console script does not put the current folder on sys.path
            sys.path.insert(0, cwd)
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise SpecError(f"cannot import module '{target}': {exc}") from exc
        except (Exception, SystemExit) as exc:
            raise SpecError(f"importing '{target}' failed: {type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
        finally:
            if added:
                sys.path.remove(cwd)
    if not hasattr(module, factory):
        public = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))]
        import difflib

        close = difflib.get_close_matches(factory, public, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise SpecError(f"'{target}' has no factory '{factory}'{hint}")
    fn = getattr(module, factory)
    try:
        model = fn() if callable(fn) and not isinstance(fn, nn.Module) else fn
    except (Exception, SystemExit) as exc:
        raise SpecError(f"calling {factory}() failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
    if not isinstance(model, nn.Module):
        raise SpecError(f"{factory}() returned {type(model).__name__}, not a torch.nn.Module")
    return Resolved(spec, model, None, {})


def resolve(spec: str, device: str | torch.device = "meta") -> Resolved:
    if _is_user_spec(spec):
        return load_user(spec)
    return build_zoo(spec, device)


def parse_input_shape(text: str) -> list[tuple[int, ...]]:
    """'1x3x224x224' -> [(1, 3, 224, 224)]; several inputs separated by ','."""
    shapes = []
    for part in text.split(","):
        part = part.strip().lower()
        if not re.fullmatch(r"\d+(x\d+)*", part):
            raise InputError(f"bad input shape '{text}': write dimensions joined by x, e.g. 1x3x224x224")
        dims = tuple(int(d) for d in part.split("x"))
        if any(d <= 0 for d in dims):
            raise InputError(f"bad input shape '{text}': every dimension must be positive")
        shapes.append(dims)
    return shapes


def input_shapes_for(resolved: Resolved, input_shape: str | list | tuple | None,
                     resolution: int | None, batch: int = 1) -> list[tuple[int, ...]]:
    if input_shape is not None and resolution is not None:
        raise InputError("give --input-shape or --resolution, not both")
    if input_shape is not None and batch != 1:
        raise InputError("--batch goes with --resolution; with --input-shape write the batch as its "
                         "first dimension (e.g. 8x3x224x224)")
    if input_shape is not None:
        if isinstance(input_shape, str):
            return parse_input_shape(input_shape)
        if input_shape and isinstance(input_shape[0], (list, tuple)):
            return [tuple(int(d) for d in s) for s in input_shape]
        return [tuple(int(d) for d in input_shape)]
    if resolution is not None and resolution <= 0:
        raise InputError(f"bad resolution {resolution}: must be a positive number of pixels")
    if resolved.entry is not None:
        shape = resolved.entry.default_input_shape(resolution)
        return [(batch,) + tuple(shape[1:])]
    r = USER_RESOLUTION if resolution is None else resolution
    return [(batch, 3, r, r)]


USER_RESOLUTION = 224   # the one input rule: a user model given no input size runs at 1x3x224x224


def default_input(resolved: Resolved, input_shape, resolution: int | None) -> tuple[int | None, str | None]:
    """(resolution to use, note to print) for a model given ``input_shape`` / ``resolution``:
    a user model given neither runs at 1x3x224x224, and the note says so."""
    if resolved.entry is None and input_shape is None and resolution is None:
        return USER_RESOLUTION, (f"{resolved.name}: no input size given for a user model; using "
                                 f"1x3x{USER_RESOLUTION}x{USER_RESOLUTION} (pass --input-shape or --resolution)")
    return resolution, None
