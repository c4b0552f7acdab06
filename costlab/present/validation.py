"""Held-out accuracy of a latency predictor as text, markdown, CSV and JSON (presentation:
plain dicts in, from ``costlab.calibrate.validate``, ``calibrate.gpu_profile.validate_gpu`` and
``calibrate.fewshot.fewshot_validate``; imports no pass)."""
from __future__ import annotations

import json

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

from .tables import frame, markdown_table, ms, num, pct, text_table, to_csv

# why a rank correlation is missing (metrics() leaves it out, rather than print a NaN)
NO_RANK = ("Spearman / Kendall '-': not defined with fewer than 3 held-out rows or when all measured "
           "(or all predicted) latencies are equal; measure models of different sizes")

_COLS = ["spec", "input", "family", "measured_ms", "predicted_ms", "error_pct", "baseline_ms", "baseline_error_pct"]
_FM = {"measured_ms": ms, "predicted_ms": ms, "baseline_ms": ms, "noise": ms,
       "error_pct": lambda v: num(v, "+.1f"), "baseline_error_pct": lambda v: num(v, "+.1f")}


def _p(x) -> str:
    """A metric already in percent (MAPE, share within 10%)."""
    return pct(x, percent=True)


def _with_input(rows) -> pd.DataFrame:
    df = frame(rows)
    df["input"] = df["input_shape"].map(lambda s: "x".join(str(x) for x in s))
    return df


def _table(df: pd.DataFrame, cols: list[str], fmt: str) -> str:
    right = set(cols[3:])
    return markdown_table(df, cols, _FM, right=right) if fmt == "markdown" else text_table(df, cols, right, _FM)


def _summary(res: dict) -> list[str]:
    b = res["baseline"]
    out = [
        f"{'':10s} {'MAPE':>8s} {'within10%':>10s} {'Spearman':>9s}",
        f"{'predictor':10s} {_p(res['mape']):>8s} {_p(res['within_10pct']):>10s} {num(res['spearman']):>9s}",
        f"{'FLOPs-only':10s} {_p(b['mape']):>8s} {_p(b['within_10pct']):>10s} {num(b['spearman']):>9s}",
    ]
    for key, label in (("eager_rescaled", "eager x k"), ("noise_floor", "noise floor")):
        e = res.get(key)
        if e:
            out.append(f"{label:10s} {_p(e['mape']):>8s} {_p(e['within_10pct']):>10s} {num(e['spearman']):>9s}")
    an = res.get("anchored")
    if an:
        out.append(f"{'anchored':10s} {_p(an['mape']):>8s} {_p(an['within_10pct']):>10s} {num(an['spearman']):>9s}")
    if res.get("mape") and b.get("mape"):
        out.append(f"predictor MAPE / FLOPs-only MAPE = {res['mape'] / b['mape']:.2f}")
    if res.get("noise_floor"):
        out.append(f"eager x k: profile '{res['eager_rescaled']['profile']}' times one factor fitted on the same "
                   "network samples; noise floor: the same networks measured a second time, as a prediction of "
                   "the first")
    if an:
        out += _speed_lines(res)
    chk = res.get("check")
    if chk:
        out.append(f"role=check samples (never fitted; e.g. another runtime on the same device): n = {chk['n']}, "
                   f"MAPE {_p(chk['mape'])} (FLOPs-only {_p(chk['baseline']['mape'])}), "
                   f"Spearman {num(chk['spearman'])}")
    if res.get("skipped_fitted"):
        out.append("skipped (fitted samples of the profile): " + ", ".join(res["skipped_fitted"]))
    if res.get("noise_median") is not None:
        out.append(f"measurement noise (p90 - p10) / median: median {res['noise_median']:.3f}")
    tr = res.get("train_rows")
    if tr:
        out.append(f"role=train samples (fitted, held out in turn, not in the headline): n = {tr['n']}, MAPE "
                   f"{_p(tr['mape'])} (FLOPs-only {_p(tr['baseline']['mape'])}), Spearman {num(tr['spearman'])}")
    return out


def _speed_lines(res: dict) -> list[str]:
    """What the 'anchored' row is: the machine's speed now / when the profile was measured."""
    sp, an = res["machine_speed"], res["anchored"]
    signed = res.get("signed_mean_pct")
    specs = ", ".join(f"{a['spec']} {a['ratio']:.3f}" for a in sp["anchors"])
    return [f"signed mean error: predictor {num(signed, '+.1f')}%, anchored {num(an['signed_mean_pct'], '+.1f')}%",
            f"anchored: predictions x {sp['factor']:.3f}, the machine's speed now / when the profile was measured "
            f"(median over {len(sp['anchors'])} of the profile's own networks timed in the same turns: {specs}; "
            f"spread {100 * sp['spread']:.0f}%); nothing held out enters it"]


def _left_out(res: dict) -> str:
    """What the headline leaves out, said in it (issue 22 item 11): role=train rows (fitted, held
    out in turn, e.g. another runtime's networks) and role=check rows (never fitted)."""
    parts = []
    for key, what in (("train_rows", "role=train rows (another source, fitted for op classes the main "
                                     "source lacks)"), ("check", "role=check rows (never fitted)")):
        b = res.get(key) or {}
        if b.get("n"):
            specs = ", ".join(sorted({r["spec"] for r in b.get("rows", [])}))
            parts.append(f"{b['n']} {what}{': ' + specs if specs else ''}, MAPE {pct(b.get('mape'), percent=True)}")
    return ("; the headline leaves out " + "; ".join(parts) + " (tables below)") if parts else ""


def validation_text(res: dict, fmt: str) -> str:
    """``costlab validate --device <per-class profile>`` (also ``--measure``): one row per held-out
    sample, then the predictor's and the FLOPs-only baseline's MAPE, within 10% and Spearman."""
    if fmt == "json":
        return json.dumps(res, indent=2)
    df = _with_input(res["rows"])
    cols = _COLS + (["noise"] if "noise" in df.columns else [])
    if fmt == "csv":    # every row the table shows, the headline's and the role=train / role=check ones
        blocks = [res["rows"]] + [(res.get(k) or {}).get("rows") or [] for k in ("train_rows", "check")]
        every = _with_input([r for rows in blocks for r in rows])
        return to_csv(every[[c for c in cols + ["role", "source"] if c in every.columns]])
    head = (f"profile {res['profile']} ({res.get('device', '')}); hold-out: {res['holdout']} "
            f"(level: {res['level']}), n = {res['n']}") + _left_out(res)
    extra = []
    for title, block in (("role=train samples (held out in turn, not in the headline):", res.get("train_rows")),
                         ("role=check samples (never fitted):", res.get("check"))):
        if block and block.get("rows"):
            cdf = _with_input(block["rows"])
            extra += ["", title, _table(cdf, [c for c in cols if c in cdf.columns], fmt)]
    if fmt == "markdown":
        return "\n".join([f"### {head}", "", _table(df, cols, fmt), *extra, "", "```", *_summary(res), "```"]) + "\n"
    return "\n".join([head, "", _table(df, cols, fmt), *extra, "", *_summary(res)]) + "\n"


# -- GPU host/device profiles ------------------------------------------------------------------

def _block_rows(block: dict) -> list[dict]:
    rows = []
    for key, m in list(block["per_batch"].items()) + [("all", block["all"])]:
        b = m.get("baseline") or {}
        rows.append({"batch": key, "n": m["n"], "MAPE": _p(m["mape"]), "within 10%": _p(m["within_10pct"]),
                     "Spearman": num(m["spearman"]), "FLOPs-only MAPE": _p(b.get("mape")),
                     "FLOPs-only within 10%": _p(b.get("within_10pct")),
                     "FLOPs-only Spearman": num(b.get("spearman"))})
    return rows


def gpu_validation_text(res: dict, fmt: str) -> str:
    """``costlab validate --device <gpu profile>``: held-out networks per batch (and
    leave-one-network-out on the profile's own networks) beside the FLOPs-only line."""
    if fmt == "json":
        return json.dumps(res, indent=2)
    if fmt == "csv":    # shapes as --input-shape writes them (was: "[1, 3, 224, 224]")
        df = frame(res["held_out"]["rows"])
        if "input_shape" in df.columns:
            df["input_shape"] = df["input_shape"].map(lambda s: "x".join(str(x) for x in s))
        return to_csv(df)
    cols = ["batch", "n", "MAPE", "within 10%", "Spearman", "FLOPs-only MAPE", "FLOPs-only within 10%",
            "FLOPs-only Spearman"]
    right = set(cols[1:])
    sections = [(f"held-out networks (never fitted), {res['runtime']} vs measured {res['measured']}",
                 res["held_out"])]
    new = res["held_out"].get("new_families") or {}
    if new.get("all", {}).get("n"):
        sections.append((f"of them, the networks of families no training network has ({', '.join(new['families'])}: "
                         f"{', '.join(new['networks'])}): the leak-free figure", new))
    if res.get("lono"):
        sections.append(("leave-one-network-out over the profile's own network samples (optimistic: the "
                         "form was chosen on these folds)", res["lono"]))
    parts = [f"profile {res['profile']} ({res['device']}), runtime {res['runtime']}"]
    for title, block in sections:
        df = frame(_block_rows(block))
        table = markdown_table(df, cols, right=right) if fmt == "markdown" else text_table(df, cols, right)
        parts += ["", title, "", table]
    return "\n".join(parts) + "\n"


# -- few-shot: a user's own measurements ---------------------------------------------------------

def _fewshot_blocks(res: dict):
    return (("predictor", res, res.get("spread") or {}),
            ("FLOPs-only", res["baseline"], res["baseline"].get("spread") or {}))


def _std(sd: dict, k: str):
    return sd[k].get("std") if isinstance(sd.get(k), dict) else None


def _fewshot_csv(res: dict) -> str:
    """Numbers only, the spread in its own columns."""
    recs = []
    for who, m, sd in _fewshot_blocks(res):
        rec = {"model": who, "samples": res["samples"], "repeats": res["repeats"], "n_predicted": res["n"]}
        for k in ("mape", "within_10pct", "spearman", "kendall"):
            rec[k] = m.get(k)
            rec[f"{k}_std"] = _std(sd, k)
        recs.append(rec)
    return to_csv(frame(recs))


def fewshot_text(res: dict, fmt: str) -> str:
    """``costlab validate --measurements``: fit on a few random rows, predict the rest, repeated;
    the mean of each metric (+- its spread over the repeats) beside the FLOPs-only baseline."""
    if fmt == "json":
        return json.dumps(res, indent=2)
    if fmt == "csv":
        return _fewshot_csv(res)
    rows = []
    for who, m, sd in _fewshot_blocks(res):
        row = {"model": who}
        for k, label in (("mape", "MAPE %"), ("within_10pct", "within 10% (%)"), ("spearman", "Spearman"),
                         ("kendall", "Kendall tau")):
            s = _std(sd, k)
            row[label] = num(m.get(k), ".3f" if k in ("spearman", "kendall") else ".1f") + \
                ("" if s is None or m.get(k) is None else f" +- {s:.3g}")
        rows.append(row)
    df = frame(rows)
    cols = list(df.columns)
    head = (f"few-shot: fit on {res['samples']} random rows, predict the other {res['n']}, {res['repeats']} "
            f"repeats (seed {res.get('seed')}); base: {res.get('base') or 'none'}")
    table = markdown_table(df, cols, right=set(cols[1:])) if fmt == "markdown" else text_table(df, cols, set(cols[1:]))
    extra = []
    if res.get("spearman") is None or res["baseline"].get("spearman") is None:
        extra.append(NO_RANK + (f" (here {res['n']} held-out row{'s' if res['n'] != 1 else ''} per repeat: "
                                "lower --samples)" if res["n"] < 3 else ""))
    if res.get("rounding_floor"):
        extra.append(f"whole-millisecond measurements: rounding alone costs MAPE "
                     f"{res['rounding_floor'].get('mape', float('nan')):.2f}%")
    # a blank line ends the table (in Markdown a line right after a table is one more row)
    return "\n".join([head, "", table, *([""] + extra if extra else [])]) + "\n"
