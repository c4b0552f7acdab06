"""``costlab calibrate --measurements`` and ``costlab validate --measurements``: a profile
from a user's own timings, and its few-shot held-out accuracy (used by cmd_calibrate and cmd_validate)."""
from __future__ import annotations

import click

from ..errors import UsageError
from ..present.output import write_output
from ..present.profiles import measurements_line
from ..present.validation import NO_RANK, fewshot_text
from .options import command_line


def _taken(name: str, profiles) -> str | None:
    """Why ``name`` cannot be a new profile's name in the user folder (shipped or existing), or None."""
    from ..latency.profile import ALIASES, user_profiles_dir

    if name in ALIASES:
        return f"'{name}' is the alias of the shipped profile {ALIASES[name]}"
    if name in profiles:
        mine = (user_profiles_dir() / f"{name}.json").exists()
        return f"a profile named '{name}' exists ({'in your profile folder' if mine else 'shipped with costlab'})"
    return None


def _known_form(form: str | None) -> str | None:
    from ..latency.forms import FORMS, Form

    fits = sorted(n for n, f in FORMS.items() if type(f).fit is not Form.fit)
    if form is not None and form not in FORMS:
        raise UsageError(f"--predictor {form}: unknown predictor form (known: {', '.join(sorted(FORMS))})")
    if form is not None and form not in fits:
        raise UsageError(f"--predictor {form}: this form is not fitted from measured models; use one that is "
                         f"({', '.join(fits)}) or drop --predictor")
    return form


def calibrate_measurements(path: str, base: str | None, name: str | None, device_class: str | None,
                           output: str | None, quiet: bool, form: str | None = None, *,
                           benchmark_logs: bool = False) -> None:
    """Fit a profile to the measurements CSV at ``path`` (or, with ``benchmark_logs``, the
    export folder ``path`` with its benchmark_model logs) and write it (user profile folder
    by default, found by name from then on)."""
    import os

    from ..calibrate.fewshot import fit_measurements
    from ..latency.profile import available_profiles, check_writable, load_profile, save_profile, user_profiles_dir

    if name is not None and not name.strip():
        raise UsageError("--name is empty; give the new profile a name, e.g. --name my-board")
    name = name or os.path.splitext(os.path.basename(os.path.normpath(path)))[0]
    import re

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):   # before any fitting (issue 22 item 8)
        raise UsageError(f"bad profile name '{name}': use letters, digits, '.', '_' or '-' (pass --name)")
    taken = _taken(name, available_profiles())
    if taken and output is None:
        raise UsageError(f"--name {name}: {taken}; choose another --name (or write elsewhere with -o FILE)")
    _known_form(form)
    rows, info = _rows(path, benchmark_logs)
    base_d = load_profile(base) if base else None
    if output is None:
        os.makedirs(user_profiles_dir(), exist_ok=True)
        output = os.path.join(str(user_profiles_dir()), f"{name}.json")
    check_writable(output)
    extra = {} if info is None else {"runtime": _runtime_text(info), "threads": info.get("threads")}
    d = fit_measurements(rows, base=base_d, name=name, device_class=device_class,
                         command=command_line(), progress=not quiet, form=form, **extra)
    if info is not None:
        _with_logs(d, info)
    save_profile(d, output)
    val = d.get("validation") or {}
    click.echo(measurements_line(name, len(rows.rows), val, output))
    if val.get("spearman") is None:
        click.echo(f"costlab: note: {NO_RANK}", err=True)


def _rows(path: str, benchmark_logs: bool):
    """(Measurements, benchmark-log info or None) of a measurements CSV or an export folder."""
    if benchmark_logs:
        from ..runtimes.export import read_benchmark_logs

        return read_benchmark_logs(path)
    from ..calibrate.measurements import read_measurements

    return read_measurements(path), None


def _runtime_text(info: dict) -> str:
    rt = {"litert": "LiteRT / TFLite", "onnx": "ONNX Runtime"}.get(info.get("runtime") or "", "as measured")
    return f"{rt} ({info['tool']})"


def _with_logs(d: dict, info: dict) -> None:
    """The benchmark logs' folder, format and per-op summary in the profile's provenance."""
    from ..latency.profile import validate_profile

    prov = d["provenance"]
    prov["source"] = prov["source"].replace("measurements ", "benchmark_model logs ", 1)
    prov["benchmark_logs"] = {k: info[k] for k in ("folder", "runtime", "threads", "tool", "logs")}
    prov["benchmark_logs"]["op_profile"] = info["op_profile"]
    validate_profile(d, label=d["name"])


def validate_measurements(path: str, base: str | None, samples: int, repeats: int, seed: int, fmt: str,
                          output: str | None, quiet: bool, form: str | None = None, *,
                          benchmark_logs: bool = False) -> None:
    from ..calibrate.fewshot import fewshot_validate
    from ..latency.profile import load_profile

    _known_form(form)
    rows, _ = _rows(path, benchmark_logs)
    res = fewshot_validate(rows, base=load_profile(base) if base else None, samples=samples, repeats=repeats,
                           seed=seed, progress=not quiet, form=form)
    write_output(fewshot_text(res, fmt), output)
