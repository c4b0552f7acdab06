"""``costlab calibrate --measurements`` and ``costlab validate --measurements``: a profile
from a user's own timings, and its few-shot held-out accuracy (used by cmd_latency)."""
from __future__ import annotations

import json

import click

from ..present.output import write_output
from ..errors import UsageError
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
    from ..latency.forms import FORMS

    if form is not None and form not in FORMS:
        raise UsageError(f"--predictor {form}: unknown predictor form (known: {', '.join(sorted(FORMS))})")
    return form


def calibrate_measurements(path: str, base: str | None, name: str | None, device_class: str | None,
                           output: str | None, quiet: bool, form: str | None = None) -> None:
    """Fit a profile to the measurements CSV at ``path`` and write it (user profile folder
    by default, found by name from then on)."""
    import os

    from ..calibrate.fewshot import fit_measurements
    from ..calibrate.measurements import read_measurements
    from ..latency.profile import check_writable, load_profile, save_profile, user_profiles_dir

    from ..latency.profile import available_profiles

    if name is not None and not name.strip():
        raise UsageError("--name is empty; give the new profile a name, e.g. --name my-board")
    name = name or os.path.splitext(os.path.basename(path))[0]
    taken = _taken(name, available_profiles())
    if taken and output is None:
        raise UsageError(f"--name {name}: {taken}; choose another --name (or write elsewhere with -o FILE)")
    _known_form(form)
    rows = read_measurements(path)
    base_d = load_profile(base) if base else None
    if output is None:
        os.makedirs(user_profiles_dir(), exist_ok=True)
        output = os.path.join(str(user_profiles_dir()), f"{name}.json")
    check_writable(output)
    d = fit_measurements(rows, base=base_d, name=name, device_class=device_class,
                         command=command_line(), progress=not quiet, form=form)
    save_profile(d, output)
    val = d.get("validation") or {}
    click.echo(f"{name}: {len(rows.rows)} measurements, {val.get('holdout', 'held-out')} MAPE "
               f"{_num(val.get('mape'), '.1f', '%')} (FLOPs-only {_num((val.get('baseline') or {}).get('mape'), '.1f', '%')}), "
               f"Spearman {_num(val.get('spearman'), '.3f')} -> {output}")
    if val.get("spearman") is None:
        click.echo(f"costlab: note: {_NO_RANK}", err=True)


# why a rank correlation is missing (metrics() leaves it out, rather than print a NaN)
_NO_RANK = ("Spearman / Kendall '-': not defined with fewer than 3 held-out rows or when all measured "
            "(or all predicted) latencies are equal; measure models of different sizes")


def _num(v, fmt: str, unit: str = "") -> str:
    """``v`` formatted, or '-' for a metric that is not defined (None)."""
    return "-" if v is None else f"{v:{fmt}}{unit}"


def _fewshot_text(res: dict, fmt: str) -> str:
    import pandas as pd

    from ..present.tables import markdown_table, text_table

    if fmt == "json":
        return json.dumps(res, indent=2)
    sp = res.get("spread") or {}
    rows = []
    for who, m, sd in (("predictor", res, sp), ("FLOPs-only", res["baseline"], res["baseline"].get("spread") or {})):
        row = {"model": who}
        for k, label in (("mape", "MAPE %"), ("within_10pct", "within 10% (%)"), ("spearman", "Spearman"),
                         ("kendall", "Kendall tau")):
            v = m.get(k)
            s = sd[k].get("std") if isinstance(sd.get(k), dict) else None
            row[label] = "-" if v is None else (f"{v:.3f}" if k in ("spearman", "kendall") else f"{v:.1f}") + \
                ("" if s is None else f" +- {s:.3g}")
        rows.append(row)
    df = pd.DataFrame(rows)
    cols = list(df.columns)
    if fmt == "csv":   # numbers only, the spread in its own columns
        from ..present.tables import to_csv

        recs = []
        for who, m, sd in (("predictor", res, sp), ("FLOPs-only", res["baseline"], res["baseline"].get("spread") or {})):
            rec = {"model": who, "samples": res["samples"], "repeats": res["repeats"], "n_predicted": res["n"]}
            for k in ("mape", "within_10pct", "spearman", "kendall"):
                rec[k] = m.get(k)
                rec[f"{k}_std"] = sd[k].get("std") if isinstance(sd.get(k), dict) else None
            recs.append(rec)
        return to_csv(pd.DataFrame(recs))
    head = (f"few-shot: fit on {res['samples']} random rows, predict the other {res['n']}, {res['repeats']} "
            f"repeats (seed {res.get('seed')}); base: {res.get('base') or 'none'}")
    table = markdown_table(df, cols, right=set(cols[1:])) if fmt == "markdown" else text_table(df, cols, set(cols[1:]))
    extra = []
    if res.get("spearman") is None or res["baseline"].get("spearman") is None:
        extra.append(_NO_RANK + (f" (here {res['n']} held-out row{'s' if res['n'] != 1 else ''} per repeat: "
                                 "lower --samples)" if res["n"] < 3 else ""))
    if res.get("rounding_floor"):
        extra.append(f"whole-millisecond measurements: rounding alone costs MAPE {res['rounding_floor'].get('mape', float('nan')):.2f}%")
    # a blank line ends the table (in Markdown a line right after a table is one more row)
    return "\n".join([head, "", table, *([""] + extra if extra else [])]) + "\n"


def validate_measurements(path: str, base: str | None, samples: int, repeats: int, seed: int, fmt: str,
                          output: str | None, quiet: bool, form: str | None = None) -> None:
    from ..calibrate.fewshot import fewshot_validate
    from ..calibrate.measurements import read_measurements
    from ..latency.profile import load_profile

    _known_form(form)
    rows = read_measurements(path)
    res = fewshot_validate(rows, base=load_profile(base) if base else None, samples=samples, repeats=repeats,
                           seed=seed, progress=not quiet, form=form)
    write_output(_fewshot_text(res, fmt), output)
