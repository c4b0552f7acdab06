"""Device profiles as people read them: the ``costlab profiles`` listing, the one-line summary
of a fitted profile (``costlab calibrate``) and the notes of a measuring run (``costlab
profile``). Presentation: plain dicts in (a profile's JSON fields); imports no pass."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from .tables import frame, markdown_table, num, pct, text_table, to_csv

_COLS = ["profile", "device", "batch", "samples", "level", "n", "mape_network", "baseline_network",
         "mape_family", "baseline_family", "within_10pct", "spearman"]
_MORE = ["alias", "runtime", "threads", "predictor", "source", "location"]


def _p(x) -> str:
    """A metric already in percent (MAPE, share within 10%)."""
    return pct(x, percent=True)


# -- costlab calibrate -----------------------------------------------------------------------

def fit_summary_line(d: dict) -> str:
    """``NAME: N fitted samples; leave-one-network-out n=.. MAPE ..`` of a fitted profile ``d``."""
    by = (d.get("validation") or {}).get("by_holdout", {})
    parts = [f"{d['name']}: {sum(1 for s in d['samples'] if s.get('role', 'fit') != 'check')} fitted samples"]
    for h in ("network", "family"):
        r = by.get(h)
        if r:
            parts.append(f"leave-one-{h}-out n={r['n']} MAPE {_p(r['mape'])} (FLOPs-only {_p(r['baseline']['mape'])}), "
                         f"within 10% {_p(r['within_10pct'])}, Spearman {num(r['spearman'])}")
    return "; ".join(parts)


def measurements_line(name: str, n_rows: int, validation: dict, output: str) -> str:
    """``costlab calibrate --measurements``: the new profile's few-shot held-out accuracy."""
    val = validation or {}
    return (f"{name}: {n_rows} measurements, {val.get('holdout', 'held-out')} MAPE "
            f"{num(val.get('mape'), '.1f', '%')} (FLOPs-only {num((val.get('baseline') or {}).get('mape'), '.1f', '%')}), "
            f"Spearman {num(val.get('spearman'))} -> {output}")


# -- costlab profile -------------------------------------------------------------------------

def measured_lines(d: dict, seconds: float) -> list[str]:
    """stderr notes after ``costlab profile`` measured ``d``: sample count, time and noise (each
    clock's on CUDA)."""
    noise = d["provenance"]["noise"]
    wall = (f"; wall clock: median {pct(noise['wall_clock_median'])}, p90 {pct(noise['wall_clock_p90'])}"
            if "wall_clock_median" in noise else "")
    out = [f"costlab: measured {len(d['samples'])} samples on {d['device']} in {seconds:.0f} s "
           f"(threads={d['threads']}, clock={d['provenance']['machine']['clock']}; noise (p90-p10)/median: "
           f"median {pct(noise['median'])}, p90 {pct(noise['p90'])}{wall})"]
    clocks = [f"{k} median {pct(noise[k]['median'])}, p90 {pct(noise[k]['p90'])}"
              for k in ("eager", "host", "graph") if isinstance(noise.get(k), dict)]
    if clocks:   # a CUDA profile: each clock's noise, and the samples whose graph capture failed
        failed = noise.get("graph_failed", 0)
        out.append(f"costlab: noise per clock: {'; '.join(clocks)}; CUDA-graph capture failed for {failed} "
                   f"sample{'s' if failed != 1 else ''}" + (" (eager and host kept; see graph_error)" if failed else "")
                   + "; each sample's p10/p90 are in its stats")
    evidence = d["provenance"].get("fusion_evidence")
    if evidence:    # a runtime profile: the rules its probes found, the channel block's times
        rules = " ".join(d.get("fusion") or []) or "none"
        block = evidence.get("block")
        layout = evidence.get("layout")
        out.append(f"costlab: the runtime's rules, from its probes: {rules} (provenance.fusion_evidence)"
                   + (f"; channel block probe: {block}" if block else "")
                   + (f"; layout probe: {layout}" if layout and any(r.startswith("nchwc:") for r in d.get("fusion") or [])
                      else "")
                   + (f"; activation pass probe: {evidence['pass']}" if evidence.get("pass") else ""))
    timing = d["provenance"].get("op_timing")
    if timing:      # a runtime profile: which timing of the op samples it kept, and why
        tried = ", ".join(f"{c['mode']} {num(c['network_mape'], '.1f', '%')}" for c in timing["candidates"])
        if timing["chosen"] == "mean":
            out.append("costlab: op samples timed interleaved and in bursts; none chosen: the predictor is the mean "
                       "of the fits under every timing and network weight (each timing's op samples alone "
                       f"predicting the profile's network samples, MAPE: {tried})")
        else:
            out.append(f"costlab: op samples timed interleaved and in bursts; kept: {timing['chosen']} (the op "
                       f"samples alone predicting the profile's network samples, MAPE: {tried})")
    return out


def validation_note(d: dict) -> str | None:
    """The stderr line on a freshly fitted profile's held-out accuracy, or None."""
    v = d.get("validation") or {}
    if not isinstance(v, dict):
        return None
    parts = []
    for key in ("n", "mape", "within_10pct", "spearman"):
        if isinstance(v.get(key), (int, float)):
            parts.append(f"{key}={_p(v[key])}" if key in ("mape", "within_10pct") else f"{key}={num(v[key], '.3g')}")
    base = v.get("baseline") if isinstance(v.get("baseline"), dict) else {}
    if isinstance(base.get("mape"), (int, float)):
        parts.append(f"FLOPs-only mape={_p(base['mape'])}")
    if not parts:
        return None
    return (f"costlab: leave-one-{v.get('holdout', 'network')}-out over the profile's "
            f"{v.get('level', 'network')}-level samples: " + ", ".join(parts))


def live_check_lines(check: dict) -> list[str]:
    """stderr lines of the live check that ends ``costlab profile`` (``provenance.live_check``):
    each held-out network's measured and predicted ms, then their MAPE and signed mean error
    beside the leave-one-out MAPE, and a warning when every error has one sign and the mean is
    beyond the noise (the profile is biased against networks timed live)."""
    rows = check.get("rows") or []
    if not rows:
        return []
    each = "; ".join(f"{r['spec']} {num(r['measured_ms'], '.2f')} ms measured, {num(r['predicted_ms'], '.2f')} "
                     f"predicted ({r['error_pct']:+.1f}%)" for r in rows)
    noise = check.get("noise_median")
    loo = check.get("leave_one_out") or {}
    out = [f"costlab: live check, {len(rows)} networks not among the samples, timed now: {each}",
           f"costlab: live check: MAPE {_p(check.get('mape'))}, signed mean error {check['signed_mean_pct']:+.1f}%, "
           f"within 10% {_p(check.get('within_10pct'))} (timing noise (p90-p10)/median {pct(noise)}); "
           f"leave-one-{loo.get('holdout') or 'network'}-out over the samples ({loo.get('level') or 'network'} level): "
           f"MAPE {_p(loo.get('mape'))}"]
    sp, an = check.get("machine_speed"), check.get("anchored")
    if sp and an:
        out.append(f"costlab: live check: {len(sp['anchors'])} of the profile's own networks timed in the same turns "
                   f"took {sp['factor']:.3f}x their profiled time (the machine's speed now / during profiling); "
                   f"with predictions x that factor: MAPE {_p(an.get('mape'))}, signed mean error "
                   f"{an['signed_mean_pct']:+.1f}%")
    errs = [r["error_pct"] for r in rows]
    floor = 100 * (noise if isinstance(noise, (int, float)) else 0.0)
    if len(errs) >= 2 and (all(e < 0 for e in errs) or all(e > 0 for e in errs)) \
            and abs(check["signed_mean_pct"]) > max(5.0, floor):
        side = "under" if errs[0] < 0 else "over"
        out.append(f"costlab: warning: the profile {side}-predicts every network timed live by "
                   f"{abs(check['signed_mean_pct']):.0f}% on average, beyond the timing noise; its leave-one-out "
                   "figure does not show such a bias (was the machine busy? rerun 'costlab validate --device "
                   "PROFILE --measure' to check)")
    return out


# -- costlab profiles ------------------------------------------------------------------------

def _row(r: dict) -> dict[str, Any]:
    """One listing row (the JSON's and the table's) from a record of :func:`profiles_text`."""
    row = {"profile": r["name"], "alias": r.get("alias") or None}   # the name alone: what --device takes
    row.update({k: r[k] for k in ("device", "runtime", "threads", "batch", "samples", "predictor", "level", "n",
                                  "mape_network", "baseline_network", "mape_family", "baseline_family",
                                  "within_10pct", "spearman", "source", "location")})
    return row


def _footer(records: list[dict], rows: list[dict], listing: dict) -> list[str]:
    out = ["", "held-out MAPE: leave-one-network-out (mape_network) and leave-one-family-out (mape_family), "
               "FLOPs-only baseline beside; rerun with: costlab validate --device NAME"]
    for rec, r in zip(records, rows):
        if r["mape_family"] is None and r["mape_network"] is not None:
            out.append(f"{r['profile']}: no leave-one-family-out check ('-'); its own: "
                       f"{rec.get('holdout') or 'see validation'}; costlab validate --device {rec['name']}")
    users = [r["profile"] for r in rows if r["location"] == "user"]
    out.append(f"shipped profiles: {listing['profiles_dir']}; user profiles: {listing['user_profiles_dir']}"
               + (f" ({', '.join(users)}; a user profile of a shipped name takes its place)" if users else ""))
    if not rows:
        out.append(f"(no profiles in {listing['profiles_dir']})")
    out += [f"INVALID: {b}" for b in listing["invalid"]]
    return out


def profiles_text(listing: dict, fmt: str) -> str:
    """``costlab profiles``. ``listing``: ``profiles_dir``, ``user_profiles_dir``, ``invalid``
    (one line per unreadable profile) and ``profiles``: one record per profile with ``name``,
    ``alias``, ``holdout`` (its validation's own hold-out) and the listing's columns."""
    records = listing["profiles"]
    rows = [_row(r) for r in records]
    if fmt == "json":
        return json.dumps({"profiles_dir": listing["profiles_dir"], "user_profiles_dir": listing["user_profiles_dir"],
                           "profiles": rows, "invalid": listing["invalid"]}, indent=2)
    df = frame(rows, columns=_COLS + _MORE)
    if fmt == "csv":
        return to_csv(df)
    fm = {c: _p for c in ("mape_network", "baseline_network", "mape_family", "baseline_family", "within_10pct")}
    fm["spearman"] = num
    fm["device"] = lambda s: s if len(s) <= 48 else s[:45] + "..."
    df["profile"] = [r["profile"] + (f" ({r['alias']})" if r["alias"] else "") for r in rows]   # people: 'arm-sd810 (arm)'
    if fmt == "markdown":
        text = markdown_table(df, _COLS, fm, right=set(_COLS[2:]) - {"level"})
    else:
        text = text_table(df, _COLS, set(_COLS[2:]) - {"level"}, fm)
    return "\n".join([text] + _footer(records, rows, listing))
