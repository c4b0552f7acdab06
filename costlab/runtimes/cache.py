"""The artifact cache: a model is exported / converted once per (model, input, dtype, runtime,
runtime and torch versions) and kept under the user cache folder by content hash.

Folder: ``$COSTLAB_CACHE`` if set, else ``$XDG_CACHE_HOME/costlab`` (``~/.cache/costlab`` on
Linux, ``~/Library/Caches/costlab`` on macOS, ``%LOCALAPPDATA%/costlab/cache`` on Windows);
artifacts live in ``artifacts/<runtime>/<key>.<suffix>`` with a ``<key>.json`` beside each
(spec, input shape, versions, sha256, conversion seconds). A file whose sha256 no longer
matches its record is converted again. The key hashes the model's *content*: for a spec
string, its canonical name and knobs (models are built with seed 0); for a module, its
class, its printed structure, the source code of every module class in it and every
parameter and buffer.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

from ..io import atomic_write


def cache_dir() -> Path:
    env = os.environ.get("COSTLAB_CACHE")
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "costlab" / "cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "costlab"
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "costlab"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def module_digest(model) -> str:
    """Content hash of a module: class, structure, its classes' source, every parameter and buffer."""
    import torch

    import inspect

    h = hashlib.sha256()
    h.update(f"{type(model).__module__}.{type(model).__qualname__}\n{model!r}".encode())
    for cls in sorted({type(m) for m in model.modules()}, key=lambda c: f"{c.__module__}.{c.__qualname__}"):
        # the forward's code: two modules with the same weights and another forward differ
        try:
            h.update(inspect.getsource(cls).encode())
        except (OSError, TypeError):
            h.update(f"{cls.__module__}.{cls.__qualname__}".encode())
    for path, m in model.named_modules():
        # plain attributes a forward may read (an activation function, a scale, a flag): two
        # modules alike in weights and code but not in these run differently
        for k, v in sorted(vars(m).items()):
            if not k.startswith("_") and k != "training":
                h.update(f"{path}.{k}={_attr_text(v)}\n".encode())
    for name, t in list(model.state_dict().items()):
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode() + str(t.dtype).encode())
        if t.device.type != "meta":
            h.update(t.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
                     if t.numel() else b"")
    return h.hexdigest()


def _attr_text(v) -> str:
    """A stable text of a module attribute (no memory addresses: the key must hold across runs)."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return repr(v)
    if isinstance(v, (tuple, list)):
        return "(" + ",".join(_attr_text(x) for x in v) + ")"
    if callable(v) and hasattr(v, "__qualname__"):
        return f"{getattr(v, '__module__', '')}.{v.__qualname__}"
    return type(v).__qualname__


def key_of(identity: dict) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:32]


def lookup(runtime: str, key: str, suffix: str) -> tuple[Path, dict] | None:
    folder = cache_dir() / "artifacts" / runtime
    path, rec = folder / f"{key}{suffix}", folder / f"{key}.json"
    if not (path.is_file() and rec.is_file()):
        return None
    try:
        meta = json.loads(rec.read_text())
    except (OSError, ValueError):
        return None
    if meta.get("sha256") != sha256_file(path):
        return None
    return path, meta


def store(runtime: str, key: str, suffix: str, write, identity: dict) -> tuple[Path, dict]:
    """Run ``write(tmp_path) -> meta`` into the cache, atomically; returns (path, record)."""
    folder = cache_dir() / "artifacts" / runtime
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}{suffix}"
    tmp = folder / f".{key}.{os.getpid()}.tmp{suffix}"
    t0 = time.perf_counter()
    try:
        meta = write(tmp) or {}
        seconds = time.perf_counter() - t0
        os.replace(tmp, path)
    finally:
        for p in folder.glob(f".{key}.{os.getpid()}.tmp*"):
            try:
                p.unlink()
            except OSError:
                pass
    rec = {**identity, **meta, "sha256": sha256_file(path), "convert_s": round(seconds, 3),
           "file": path.name}
    atomic_write(folder / f"{key}.json", lambda f: f.write(json.dumps(rec, indent=1, sort_keys=True)))
    return path, rec
