"""Device profiles: a versioned JSON format (never pickle), validated on load.

A profile (schema ``costlab.profile/1``) describes one device + runtime + threads + batch +
dtype, where its numbers come from (``provenance``), the device's fusion rules, the
``samples`` it is calibrated on (each one a zoo spec + input shape costlab can build and
trace, at op, block or network granularity) and, once fitted, the ``predictor``
parameters, a FLOPs-only ``baseline`` and held-out ``validation`` numbers.

A malformed or truncated profile is refused as a whole with the field that is wrong
(:class:`ProfileError`); nothing is half-used.

Optional per-sample field ``role``:

* ``"fit"`` (default): used for fitting, and (at the validation level) held out in turn
  for the headline validation numbers;
* ``"train"``: used for fitting and held out in turn too, but reported apart from the
  headline (e.g. another runtime's rows that supply op classes the main source lacks);
* ``"check"``: never used for fitting; ``costlab validate`` reports how the profile
  predicts them (e.g. another runtime's rows for networks the main source has).

Unknown top-level keys (``notes`` ...) are kept and ignored.

**GPU profiles** (two clocks, :mod:`costlab.latency.forms.gpu`). A sample may carry, beside
``latency_ms`` (the eager forward), ``host_ms`` (the host's dispatch time) and ``graph_ms``
(the CUDA-graph replay: the GPU's time), positive numbers; ``graph_error`` (a string) says
why a sample has no ``graph_ms``. A fitted GPU predictor has the form ``gpu-host-device``::

    "predictor": {"form": "gpu-host-device", "runtime": "eager" | "cudagraph",
                  "device": {"graph_launch_ms": x, "refined": true,
                             "classes": {CLASS: {"ms_per_op", "ms_per_gmac", "ms_per_mb", "ms_per_serial"}}},
                  "host": {"ms_per_view", "ms_per_module", "ms_per_extra_kernel", "ms_per_forward",
                           "classes": {CLASS: {"ms_per_op"}}},
                  "composition": {"eager": "queue" | "max" | "pnorm", "gap_ms", "sync_ms", ["p"]}}

with one entry per :data:`costlab.latency.forms.gpu.DEVICE_CLASSES` (all non-negative); every
other predictor keeps the per-class form (:mod:`costlab.latency.forms.per_class`). Each
form checks its own coefficients (:mod:`costlab.latency.forms`).

:func:`load_profile` returns a typed, checked :class:`Profile`; the JSON document (a dict)
is what calibration builds and :func:`save_profile` writes.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from ..errors import ProfileError

SCHEMA = "costlab.profile/1"
PROFILE_CLASSES = ("arm", "gpu", "cpu")     # a profile's device_class (the --device shorthands)
GRANULARITIES = ("op", "block", "network")
ROLES = ("fit", "train", "check")
DTYPES = ("float32", "float16", "bfloat16", "int8")
ALIASES = {"arm": "arm-sd810", "gpu": "gpu-gtx1080ti", "cpu": "cpu-local"}
REQUIRED_PROVENANCE = ("source", "measured_by", "date", "method", "command")
SAMPLE_TIMES = ("host_ms", "graph_ms")  # a GPU sample's dispatch and CUDA-graph times, beside latency_ms (eager)




_PACKAGE = Path(__file__).resolve().parent.parent          # the installed (or checked-out) costlab package
_PACKAGED = _PACKAGE / "profiles"                             # shipped profiles inside a wheel install
_SOURCE = _PACKAGE.parent / "profiles"                        # the repository's profiles/ (their source)


def profiles_dir() -> Path:
    """The folder of the **shipped** profiles. In a checkout or an editable install that is
    the repository's ``profiles/`` (the source, which ``costlab calibrate --build`` writes);
    in a wheel install it is ``costlab/profiles/`` inside the package (the build copies the
    source there, see ``setup.py``), read-only for costlab. ``COSTLAB_PROFILES_DIR``
    overrides both."""
    env = os.environ.get("COSTLAB_PROFILES_DIR")
    if env:
        return Path(env)
    if _SOURCE.is_dir() and (_PACKAGE.parent / "pyproject.toml").is_file():
        return _SOURCE
    return _PACKAGED


def user_profiles_dir() -> Path:
    """The folder of the user's own profiles (measured with ``costlab profile``, refitted
    with ``costlab calibrate``): ``$COSTLAB_PROFILES`` if set, else the platform's data
    folder (``$XDG_DATA_HOME/costlab/profiles`` = ``~/.local/share/costlab/profiles`` on
    Linux, ``~/Library/Application Support/costlab/profiles`` on macOS,
    ``%LOCALAPPDATA%/costlab/profiles`` on Windows). It need not exist yet."""
    env = os.environ.get("COSTLAB_PROFILES")
    if env:
        return Path(env).expanduser()
    import sys

    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "costlab" / "profiles"


def in_package(path: str | Path) -> bool:
    """True when ``path`` lies inside the installed costlab package (shipped, read-only files)."""
    try:
        Path(os.path.abspath(path)).resolve().relative_to(_PACKAGE)
        return True
    except ValueError:
        return False


def check_writable(path: str | Path) -> None:
    """Refuse to write a profile inside the costlab package: shipped profiles are never
    overwritten; user profiles go to :func:`user_profiles_dir` or an explicit path."""
    if in_package(path):
        raise ProfileError(f"'{path}' is inside the installed costlab package, whose shipped profiles are "
                           f"never overwritten; write to {user_profiles_dir()} (found by name there) "
                           "or pass -o FILE elsewhere")


def shipped_profiles() -> list[str]:
    d = profiles_dir()
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []


def user_profiles() -> list[str]:
    d = user_profiles_dir()
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []


def available_profiles() -> list[str]:
    """Profile names: the user's and the shipped ones (a user profile of a shipped name
    takes its place, see :func:`resolve_profile_path`)."""
    return sorted(set(shipped_profiles()) | set(user_profiles()))


# -- validation ------------------------------------------------------------------------------

def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


class _V:
    def __init__(self, label: str):
        self.label = label

    def fail(self, field: str, what: str) -> None:
        raise ProfileError(f"profile '{self.label}': {field} {what}")

    def str_(self, d: dict, key: str, where: str = "", required: bool = True) -> None:
        field = f"{where}{key}"
        if key not in d:
            if required:
                self.fail(field, "is missing")
            return
        if not isinstance(d[key], str) or not d[key].strip():
            self.fail(field, "must be a non-empty string")

    def int_(self, d: dict, key: str, where: str = "", low: int = 1) -> None:
        field = f"{where}{key}"
        if key not in d:
            self.fail(field, "is missing")
        v = d[key]
        if not isinstance(v, int) or isinstance(v, bool) or v < low:
            self.fail(field, f"must be an integer >= {low}")


def _check_params(v: _V, block: Any, field: str) -> None:
    """Fitted parameters: nested dicts/lists of finite numbers and strings only."""
    if isinstance(block, dict):
        for k, x in block.items():
            _check_params(v, x, f"{field}.{k}")
    elif isinstance(block, list):
        for i, x in enumerate(block):
            _check_params(v, x, f"{field}[{i}]")
    elif block is None or isinstance(block, (str, bool)):
        return
    elif not _is_num(block):
        v.fail(field, "must be a finite number")


def _check_sample(v: _V, s: Any, i: int) -> None:
    w = f"samples[{i}]."
    if not isinstance(s, dict):
        v.fail(f"samples[{i}]", "must be an object")
    v.str_(s, "spec", w)
    shape = s.get("input_shape")
    if (not isinstance(shape, list) or not shape
            or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in shape)):
        v.fail(f"{w}input_shape", "must be a list of positive integers, e.g. [1, 3, 224, 224]")
    if s.get("granularity") not in GRANULARITIES:
        v.fail(f"{w}granularity", f"must be one of {', '.join(GRANULARITIES)} (got {s.get('granularity')!r})")
    v.str_(s, "family", w)
    lat = s.get("latency_ms")
    if not _is_num(lat) or lat <= 0:
        v.fail(f"{w}latency_ms", "must be a positive number")
    for key in SAMPLE_TIMES:         # a GPU sample's other clocks (costlab.latency.forms.gpu)
        if key in s and (not _is_num(s[key]) or s[key] <= 0):
            v.fail(f"{w}{key}", "must be a positive number (ms) when present")
    if "graph_error" in s and not isinstance(s["graph_error"], str):
        v.fail(f"{w}graph_error", "must be a string (why CUDA-graph capture failed)")
    if "stats" in s:
        st = s["stats"]
        if not isinstance(st, dict):
            v.fail(f"{w}stats", "must be an object")
        for k, x in st.items():
            if k == "repeats":
                if not isinstance(x, int) or isinstance(x, bool) or x < 1:
                    v.fail(f"{w}stats.repeats", "must be an integer >= 1")
            elif not _is_num(x) and not isinstance(x, str):
                v.fail(f"{w}stats.{k}", "must be a number")
    if "source" in s and not isinstance(s["source"], str):
        v.fail(f"{w}source", "must be a string")
    if s.get("role", "fit") not in ROLES:
        v.fail(f"{w}role", f"must be one of {', '.join(ROLES)}")


def _check_predictor(v: _V, pred: dict) -> None:
    """The fitted coefficients: checked by the form that evaluates them."""
    from .forms import form_of

    form_of(pred).check(pred, v.fail)


def validate_profile(d: Any, label: str | None = None) -> dict:
    """Check a profile dict against ``costlab.profile/1``; return it unchanged or raise
    :class:`ProfileError` naming the first wrong field."""
    label = label or (d.get("name") if isinstance(d, dict) and isinstance(d.get("name"), str) else "?")
    v = _V(label)
    if not isinstance(d, dict):
        raise ProfileError(f"profile '{label}': must be a JSON object, got {type(d).__name__}")
    if d.get("schema") != SCHEMA:
        v.fail("schema", f"must be '{SCHEMA}' (got {d.get('schema')!r})")
    for key in ("name", "device", "runtime"):
        v.str_(d, key)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", d["name"]):
        v.fail("name", "must be a file stem: letters, digits, '.', '_' or '-'")
    if d.get("device_class") not in PROFILE_CLASSES:
        v.fail("device_class", f"must be one of {', '.join(PROFILE_CLASSES)} (got {d.get('device_class')!r})")
    v.int_(d, "threads")
    v.int_(d, "batch")
    if d.get("dtype") not in DTYPES:
        v.fail("dtype", f"must be one of {', '.join(DTYPES)} (got {d.get('dtype')!r})")
    from .features import FUSION_RULES, expand_rules

    fusion = d.get("fusion")
    if not isinstance(fusion, list):
        v.fail("fusion", "must be a list of rule names (may be empty)")
    for i, rule in enumerate(fusion):
        try:
            expand_rules([rule])
        except (ValueError, TypeError):
            v.fail(f"fusion[{i}]", f"is {rule!r}; known rules: {', '.join(FUSION_RULES)}, apart:KIND, pass:KIND (KIND an "
                                   "activation such as silu), block:N (N a positive integer), nchwc:B/A")
    prov = d.get("provenance")
    if not isinstance(prov, dict):
        v.fail("provenance", "must be an object with " + ", ".join(REQUIRED_PROVENANCE))
    for key in REQUIRED_PROVENANCE:
        v.str_(prov, key, "provenance.")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", prov["date"]):
        v.fail("provenance.date", f"must be YYYY-MM-DD (got {prov['date']!r})")
    samples = d.get("samples")
    if not isinstance(samples, list):
        v.fail("samples", "must be a list")
    for i, s in enumerate(samples):
        _check_sample(v, s, i)
    for key in ("predictor", "baseline", "validation"):
        if key in d and d[key] is not None:
            if not isinstance(d[key], dict):
                v.fail(key, "must be an object")
            _check_params(v, d[key], key)
    if d.get("predictor"):
        _check_predictor(v, d["predictor"])
    base = d.get("baseline")
    if base:
        for k in ("ms_per_gmac", "ms_const"):
            if not _is_num(base.get(k)):
                v.fail(f"baseline.{k}", "must be a number")
    return d


# -- load / save -------------------------------------------------------------------------------

def resolve_profile_path(name_or_path: str) -> Path:
    """'arm' / 'gpu' / 'cpu', a profile name (in :func:`user_profiles_dir`, then among the
    shipped ones in :func:`profiles_dir`), or a path to a JSON file."""
    key = str(name_or_path).strip()
    if not key:
        raise ProfileError("empty profile name; use arm, gpu, cpu, a name in profiles/ or a path")
    key = ALIASES.get(key, key)
    p = Path(key)
    if p.suffix == ".json" or os.sep in key or "/" in key:
        if p.is_dir():
            raise ProfileError(f"profile file '{key}' is a folder; give a profile .json file")
        if not p.is_file():
            raise ProfileError(f"profile file '{key}' does not exist")
        return p
    for folder in (user_profiles_dir(), profiles_dir()):   # the user's own first, then the shipped ones
        cand = folder / f"{key}.json"
        if cand.is_file():
            return cand
    import difflib

    known = available_profiles()
    close = difflib.get_close_matches(key, known + list(ALIASES), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    if key == "cpu-local":
        hint += (" (measure this machine first: costlab profile --target cpu -o "
                 f"{user_profiles_dir() / 'cpu-local.json'})")
    raise ProfileError(f"unknown device profile '{name_or_path}'{hint} "
                       f"(known: arm, gpu, cpu, {', '.join(known) or 'none'}; or a path to a profile .json)")


def load_document(name_or_path: str, *, refit: bool = False) -> dict:
    """The validated JSON document of a profile (a dict, with its path under ``_path``): what
    calibration reads to refit and writes back. ``refit=True`` drops the fitted parts
    (predictor, baseline, validation) before validating: they are about to be refitted, and
    may predate a change of the latency classes. To predict, use :func:`load_profile`."""
    path = resolve_profile_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"cannot read profile '{path}': {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ProfileError(f"profile '{path}' is not a UTF-8 text file (byte {exc.start}); a profile is "
                           "JSON text, e.g. written by 'costlab profile -o FILE'") from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"profile '{path}' is not valid JSON (truncated or edited by hand?): "
                           f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if refit and isinstance(d, dict):
        for key in ("predictor", "baseline", "validation"):
            d.pop(key, None)
    validate_profile(d, label=str(path))
    d.setdefault("_path", str(path))
    return d


_FIELDS = ("name", "device", "device_class", "runtime", "threads", "batch", "dtype", "fusion", "provenance",
           "samples", "predictor", "baseline", "validation")


@dataclass(frozen=True, eq=False)
class Profile:
    """A loaded, checked device profile (``costlab.profile/1``). Its ``predictor`` block is
    read only by its form (:attr:`form`, :mod:`costlab.latency.forms`); ``extra`` keeps the
    document's other top-level keys (``notes`` ...); ``path`` is the file it came from."""

    name: str
    device: str
    device_class: str
    runtime: str
    threads: int
    batch: int
    dtype: str
    fusion: tuple[str, ...]
    provenance: Mapping[str, Any]
    samples: tuple[Mapping[str, Any], ...]
    predictor: Mapping[str, Any] | None = None
    baseline: Mapping[str, Any] | None = None
    validation: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    path: str | None = None

    @classmethod
    def from_dict(cls, d: dict, path: str | None = None, *, checked: bool = False) -> "Profile":
        """Check a profile document (unless ``checked``: :func:`load_document` did) and type it
        (the document is not changed)."""
        if not checked:
            validate_profile(d, label=path)
        kw = {k: d.get(k) for k in _FIELDS}
        kw["fusion"] = tuple(d.get("fusion", ()))
        kw["samples"] = tuple(d.get("samples", ()))
        kw["threads"], kw["batch"] = int(d["threads"]), int(d["batch"])
        extra = {k: v for k, v in d.items() if k not in _FIELDS and k not in ("schema", "_path")}
        return cls(**kw, extra=extra, path=path or d.get("_path"))

    def to_dict(self) -> dict:
        """The JSON document (what :func:`save_profile` writes)."""
        out: dict[str, Any] = {"schema": SCHEMA}
        for k in _FIELDS:
            v = getattr(self, k)
            if k in ("predictor", "baseline", "validation") and v is None:
                continue
            out[k] = list(v) if k in ("fusion", "samples") else v
        out.update(self.extra)
        return out

    def replace(self, **changes) -> "Profile":
        return replace(self, **changes)

    @property
    def label(self) -> str:
        """How commands name it: its path when it came from a file, else its name."""
        return self.path or self.name

    @property
    def fitted(self) -> bool:
        return bool(self.predictor)

    @property
    def form(self):
        """The :class:`~costlab.latency.forms.Form` that evaluates :attr:`predictor`."""
        from .forms import form_of

        return form_of(self.predictor)

    def require_fitted(self) -> Mapping[str, Any]:
        """The predictor block; a profile that has none is refused with the command that fits it."""
        if not self.predictor:
            raise ProfileError(f"profile '{self.name}' has no fitted predictor; run: costlab calibrate {self.label}")
        return self.predictor

    @property
    def machine(self) -> Mapping[str, Any]:
        """The machine a CPU profile was measured on (``provenance.machine``; {} when unrecorded)."""
        return (self.provenance or {}).get("machine") or {}

    def held_out(self, runtime: str | None = None) -> dict:
        """Held-out accuracy (holdout, n, mape, within_10pct, spearman) of the predictor, of
        ``runtime``'s where the profile validated runtimes apart (GPU)."""
        val = self.validation or {}
        per = ((val.get("held_out") or {}).get(runtime) or {}).get("all") if runtime else None
        if per:
            return {"holdout": val.get("holdout"), **{k: per.get(k) for k in ("n", "mape", "within_10pct", "spearman")}}
        return {k: val.get(k) for k in ("holdout", "n", "mape", "within_10pct", "spearman") if k in val}


def load_profile(name_or_path) -> Profile:
    """A checked :class:`Profile`: 'arm' (arm-sd810), 'gpu' (gpu-gtx1080ti), 'cpu'
    (cpu-local), a profile name (user folder first, then the shipped ones), a path, a
    profile document (dict) or a :class:`Profile` (returned as it is)."""
    if isinstance(name_or_path, Profile):
        return name_or_path
    if isinstance(name_or_path, dict):
        return Profile.from_dict(name_or_path)
    d = load_document(name_or_path)
    return Profile.from_dict(d, path=d["_path"], checked=True)


FITTED = ("predictor", "baseline", "validation")


def as_document(p) -> dict:
    """A profile document (dict) from a :class:`Profile` or a document (returned as it is)."""
    return p.to_dict() if isinstance(p, Profile) else p


def fitted_document(doc: dict, *, predictor: dict, baseline: dict, validation: dict | None = None) -> dict:
    """A copy of profile document ``doc`` with its fitted parts replaced (what a fitter of
    :mod:`costlab.calibrate` returns); checked, the predictor by its form."""
    out = {k: v for k, v in doc.items() if k not in FITTED}
    out.update({"predictor": predictor, "baseline": baseline})
    if validation is not None:
        out["validation"] = validation
    validate_profile(out)
    return out


def dumps_profile(d) -> str:
    """JSON text of a profile (a :class:`Profile` or a document): readable, with one line per
    sample / validation row."""
    d = d.to_dict() if isinstance(d, Profile) else d
    d = {k: v for k, v in d.items() if not k.startswith("_")}

    def enc(obj: Any, indent: int, key: str | None = None) -> str:
        pad = " " * indent
        if isinstance(obj, dict) and obj:
            items = [f'{pad}  {json.dumps(k)}: {enc(v, indent + 2, k)}' for k, v in obj.items()]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(obj, list) and obj and (key in ("samples", "rows") or any(isinstance(x, (dict, list)) for x in obj)):
            items = [pad + "  " + json.dumps(x, separators=(", ", ": ")) for x in obj]
            return "[\n" + ",\n".join(items) + "\n" + pad + "]"
        return json.dumps(obj)

    return enc(d, 0) + "\n"


def save_profile(d, path: str | Path) -> None:
    """Validate ``d`` (a :class:`Profile` or a document) and write it to ``path`` atomically
    (temp file + rename)."""
    from ..io import write_output

    d = d.to_dict() if isinstance(d, Profile) else d
    validate_profile(d, label=str(path))
    write_output(dumps_profile(d), str(path))
