"""``costlab profiles``: the device profiles (shipped and the user's own) with their held-out
accuracy as last fitted."""
from __future__ import annotations

import click

from ..present.output import write_output
from ..present.profiles import profiles_text
from ..present.tables import FORMATS
from .options import output_option


def _listing() -> dict:
    """Every profile's listing record (plain values), and the ones that cannot be read."""
    from ..latency.profile import (ALIASES, ProfileError, available_profiles, load_profile, profiles_dir,
                                   resolve_profile_path, user_profiles_dir)

    records, bad = [], []
    alias_of = {v: k for k, v in ALIASES.items()}
    for name in available_profiles():
        try:
            d = load_profile(name)
        except ProfileError as exc:
            bad.append(str(exc).splitlines()[0])
            continue
        v = d.validation or {}
        by = v.get("by_holdout", {})
        net, fam = by.get("network") or {}, by.get("family") or {}
        records.append({
            "name": name, "alias": alias_of.get(name), "holdout": v.get("holdout"),
            "device": d.device, "runtime": d.runtime, "threads": d.threads, "batch": d.batch,
            "samples": len(d.samples), "predictor": (d.form.describe(d).get("fit") or d.form.name) if d.fitted else "(not fitted)",
            "level": v.get("level", "-"), "n": net.get("n", 0),
            "mape_network": net.get("mape"), "baseline_network": (net.get("baseline") or {}).get("mape"),
            "mape_family": fam.get("mape"), "baseline_family": (fam.get("baseline") or {}).get("mape"),
            "within_10pct": net.get("within_10pct"), "spearman": net.get("spearman"),
            "source": d.provenance["source"],
            "location": "user" if resolve_profile_path(name).parent == user_profiles_dir() else "shipped",
        })
    return {"profiles_dir": str(profiles_dir()), "user_profiles_dir": str(user_profiles_dir()),
            "profiles": records, "invalid": bad}


@click.command("profiles")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@output_option(None)
def profiles(fmt, output):
    """List the device profiles (the shipped ones and the user's own) with their held-out
    accuracy (as last fitted)."""
    write_output(profiles_text(_listing(), fmt), output)
