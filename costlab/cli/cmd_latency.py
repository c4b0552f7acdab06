"""``costlab calibrate``, ``costlab validate``, ``costlab profiles``: device profiles, their
fitted latency predictor, and its held-out accuracy beside a FLOPs-only baseline."""
from __future__ import annotations

import json
import os

import click

from ..errors import UsageError
from ..present.output import write_output
from ..present.tables import FORMATS
from .options import check_output_path


def _pct(x) -> str:
    return "-" if x is None or x != x else f"{x:.1f}%"


def _rho(x) -> str:
    return "-" if x is None or x != x else f"{x:.3f}"


def _summary_line(d: dict) -> str:
    v = d.get("validation") or {}
    by = v.get("by_holdout", {})
    parts = [f"{d['name']}: {sum(1 for s in d['samples'] if s.get('role', 'fit') != 'check')} fitted samples"]
    for h in ("network", "family"):
        r = by.get(h)
        if r:
            parts.append(f"leave-one-{h}-out n={r['n']} MAPE {_pct(r['mape'])} (FLOPs-only {_pct(r['baseline']['mape'])}), "
                         f"within 10% {_pct(r['within_10pct'])}, Spearman {_rho(r['spearman'])}")
    return "; ".join(parts)


def _profile_error(exc: Exception) -> UsageError:
    return UsageError(str(exc).splitlines()[0])


def _in_folder(folder, name: str) -> str:
    """``folder/name.json``, creating ``folder`` (the user profile folder need not exist yet)."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create profile folder '{folder}': {exc.strerror or exc}; pass -o FILE") from None
    return os.path.join(str(folder), f"{name}.json")


# -- calibrate ---------------------------------------------------------------------------------

@click.command("calibrate")
@click.argument("profile", required=False)
@click.option("--build", "build", default=None, metavar="NAME",
              help="rebuild a shipped profile from its published source data (arm-sd810, gpu-gtx1080ti, "
                   "arm-pixel1-tflite, arm-sd810-ncnn, or 'all'), then fit it")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=check_output_path,
              help="write here instead of back to PROFILE (a shipped profile, or one given by name, goes to "
                   "the user profile folder; with --build: the shipped profiles' folder in a checkout)")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar")
@click.option("--measurements", default=None, metavar="FILE.csv",
              help="fit a profile to your own timings: CSV with spec, latency_ms [, input_shape, batch, note]")
@click.option("--base", default=None, metavar="PROFILE",
              help="with --measurements: start from this profile's per-class costs (few samples: scale factors)")
@click.option("--name", default=None, help="with --measurements: the new profile's name (default: the file's stem)")
@click.option("--device-class", type=click.Choice(["arm", "gpu", "cpu"]), default=None,
              help="with --measurements: the kind of device (default: the base's, else cpu)")
@click.option("--predictor", "predictor_form", default=None, metavar="FORM",
              help="with --measurements: the predictor form to fit (default per-class; costlab.latency.forms.FORMS)")
def calibrate(profile, build, output, quiet, measurements, base, name, device_class, predictor_form):
    """Refit a profile's predictor, FLOPs-only baseline and held-out validation from its samples.

    PROFILE: arm, gpu, cpu, a profile name, or a path. A PROFILE given as a path outside the
    costlab package is replaced atomically; a shipped profile or one given by name is never
    overwritten: the refit goes to the user profile folder ($COSTLAB_PROFILES, default
    ~/.local/share/costlab/profiles), where it is found by name (or to -o FILE).

    \b
    Examples:
      costlab calibrate profiles/arm-sd810.json
      costlab calibrate --build arm-sd810          # from the ShuffleNet V2 paper's tables
      costlab calibrate --build all                # every shipped profile from its source
      costlab calibrate --measurements board.csv --base arm --name my-board
    """
    from ..calibrate import fit_any as fit_profile
    from ..latency.profile import (ProfileError, check_writable, in_package, load_document, profiles_dir,
                                   resolve_profile_path, save_profile, user_profiles_dir)

    if measurements:
        if profile or build:
            raise UsageError("--measurements builds a new profile; drop PROFILE / --build")
        from .measurements import calibrate_measurements

        return calibrate_measurements(measurements, base, name, device_class, output, quiet, predictor_form)
    if base or name or device_class or predictor_form:
        raise UsageError("--base, --name, --device-class and --predictor go with --measurements FILE.csv")
    if bool(profile) == bool(build):
        raise UsageError("give a PROFILE to refit or --build NAME to rebuild a shipped profile (not both)")
    try:
        if build:
            from ..calibrate import sources

            names = sources.buildable() if build == "all" else [build]
            for n in names:
                if n not in sources.buildable():
                    import difflib

                    close = difflib.get_close_matches(n, sources.buildable(), n=2)
                    hint = f"; did you mean {', '.join(close)}?" if close else ""
                    raise UsageError(f"no source builder for '{n}'{hint} (known: all, {', '.join(sources.buildable())})")
            # the shipped profiles' source in a checkout; never into an installed package
            folder = user_profiles_dir() if in_package(profiles_dir()) else profiles_dir()
            if output and len(names) > 1:
                raise UsageError(f"-o names one file; with --build all the profiles go to {folder}/NAME.json")
            for n in names:
                click.echo(f"costlab: building {n} from its source data ...", err=True)
                d = fit_profile(sources.build(n), progress=not quiet)
                path = output or _in_folder(folder, n)
                check_writable(path)
                save_profile(d, path)
                click.echo(f"{_summary_line(d)} -> {path}")
            return
        src = resolve_profile_path(profile)
        d = load_document(str(src), refit=True)
        given_as_path = profile.endswith(".json") or "/" in profile or os.sep in profile
        if output:
            path = output
        elif given_as_path and not in_package(src):
            path = str(src)
        else:   # a shipped profile (or one named): the refit goes beside the user's own profiles
            path = _in_folder(user_profiles_dir(), src.stem)
            click.echo(f"costlab: '{profile}' is {'a shipped profile' if src.parent == profiles_dir() else 'named'}; "
                       f"the refitted profile goes to {path} (found by name from now on)", err=True)
        check_writable(path)
        fitted = fit_profile(d, progress=not quiet)
        save_profile(fitted, path)
        click.echo(f"{_summary_line(fitted)} -> {path}")
    except ProfileError as exc:
        raise _profile_error(exc) from None


# -- validate ----------------------------------------------------------------------------------

def _validate_text(res: dict, fmt: str) -> str:
    import pandas as pd

    from ..present.tables import markdown_table, text_table, to_csv

    rows = res["rows"]
    df = pd.DataFrame(rows)
    if fmt == "json":
        return json.dumps(res, indent=2)
    cols = ["spec", "input", "family", "measured_ms", "predicted_ms", "error_pct", "baseline_ms", "baseline_error_pct"]
    if "noise" in df.columns:
        cols.append("noise")
    df["input"] = df["input_shape"].map(lambda s: "x".join(str(x) for x in s))
    if fmt == "csv":
        return to_csv(df[cols + ["source"]])
    fm = {c: (lambda v: f"{v:.3f}") for c in ("measured_ms", "predicted_ms", "baseline_ms")}
    fm.update({c: (lambda v: f"{v:+.1f}") for c in ("error_pct", "baseline_error_pct")})
    fm["noise"] = lambda v: f"{v:.3f}"
    b = res["baseline"]
    head = (f"profile {res['profile']} ({res.get('device', '')}); hold-out: {res['holdout']} "
            f"(level: {res['level']}), n = {res['n']}")
    summary = [
        f"{'':10s} {'MAPE':>8s} {'within10%':>10s} {'Spearman':>9s}",
        f"{'predictor':10s} {_pct(res['mape']):>8s} {_pct(res['within_10pct']):>10s} {_rho(res['spearman']):>9s}",
        f"{'FLOPs-only':10s} {_pct(b['mape']):>8s} {_pct(b['within_10pct']):>10s} {_rho(b['spearman']):>9s}",
    ]
    if res.get("mape") and b.get("mape"):
        summary.append(f"predictor MAPE / FLOPs-only MAPE = {res['mape'] / b['mape']:.2f}")
    chk = res.get("check")
    if chk:
        summary.append(f"role=check samples (never fitted; e.g. another runtime on the same device): n = {chk['n']}, "
                       f"MAPE {_pct(chk['mape'])} (FLOPs-only {_pct(chk['baseline']['mape'])}), "
                       f"Spearman {_rho(chk['spearman'])}")
    if res.get("skipped_fitted"):
        summary.append("skipped (fitted samples of the profile): " + ", ".join(res["skipped_fitted"]))
    if res.get("noise_median") is not None:
        summary.append(f"measurement noise (p90 - p10) / median: median {res['noise_median']:.3f}")
    extra = []
    tr = res.get("train_rows")
    if tr:
        summary.append(f"role=train samples (fitted, held out in turn, not in the headline): n = {tr['n']}, MAPE "
                       f"{_pct(tr['mape'])} (FLOPs-only {_pct(tr['baseline']['mape'])}), Spearman {_rho(tr['spearman'])}")
    for title, block in (("role=train samples (held out in turn, not in the headline):", tr),
                         ("role=check samples (never fitted):", chk)):
        if block and block.get("rows"):
            cdf = pd.DataFrame(block["rows"])
            cdf["input"] = cdf["input_shape"].map(lambda s: "x".join(str(x) for x in s))
            ccols = [c for c in cols if c in cdf.columns]
            extra += ["", title, markdown_table(cdf, ccols, fm, right=set(ccols[3:])) if fmt == "markdown"
                      else text_table(cdf, ccols, set(ccols[3:]), fm)]
    if fmt == "markdown":
        return "\n".join([f"### {head}", "", markdown_table(df, cols, fm, right=set(cols[3:])), *extra, "", "```",
                          *summary, "```"]) + "\n"
    return "\n".join([head, "", text_table(df, cols, set(cols[3:]), fm), *extra, "", *summary]) + "\n"


@click.command("validate")
@click.option("--device", "device", default=None, help="arm, gpu, cpu, a profile name in profiles/, or a path")
@click.option("--measurements", default=None, metavar="FILE.csv",
              help="few-shot check on your own timings: fit on --samples random rows, predict the rest")
@click.option("--base", default=None, metavar="PROFILE", help="with --measurements: the prior profile")
@click.option("--samples", type=click.IntRange(min=2), default=20, show_default=True,
              help="with --measurements: rows to fit on per repeat")
@click.option("--seed", type=int, default=0, show_default=True, help="with --measurements: the random splits' seed")
@click.option("--holdout", type=click.Choice(["network", "family"]), default="network", show_default=True,
              help="leave one network (every sample of its spec) or one model family out at a time")
@click.option("--measure", is_flag=True,
              help="time zoo networks on this machine (repeats, median, noise) and compare with the profile")
@click.option("--models", default=None,
              help="with --measure: comma-separated zoo specs (default: 13 zoo networks, see costlab.latency.validate)")
@click.option("--repeats", type=click.IntRange(min=1), default=None,
              help="with --measure: timed runs per network (default 21); with --measurements: random splits (default 10)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=check_output_path, help="write to FILE (atomically)")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar")
@click.option("--runtime", type=click.Choice(["eager", "cudagraph"]), default=None,
              help="GPU host/device profiles: validate eager or CUDA-graph times (default: the profile's runtime)")
@click.option("--predictor", "predictor_form", default=None, metavar="FORM",
              help="with --measurements: the predictor form to fit (default per-class; costlab.latency.forms.FORMS)")
@click.option("--form", type=click.Choice(["profile", "guide"]), default="profile", show_default=True,
              help="predictor form to hold out: the profile's, or the guide's pre-registered "
                   "a*MACs + b*bytes + c*ops per class (a robustness check)")
def validate(device, measurements, base, samples, seed, holdout, measure, models, repeats, fmt, output, quiet,
             runtime, predictor_form, form):
    """Held-out accuracy of a device profile: MAPE, share within +-10% and Spearman rank
    correlation of the predictor and of a FLOPs-only baseline fitted on the same data.

    \b
    Examples:
      costlab validate --device arm
      costlab validate --device arm --holdout family --format json
      costlab validate --device cpu --measure
      costlab validate --device gpu-h200 --runtime cudagraph
      costlab validate --measurements board.csv --samples 20 --repeats 10
    """
    if measurements:
        if device or measure:
            raise UsageError("--measurements checks your own timings; drop --device / --measure (use --base PROFILE)")
        from .measurements import validate_measurements

        return validate_measurements(measurements, base, samples, repeats or 10, seed, fmt, output, quiet,
                                     predictor_form)
    if not device:
        raise UsageError("give --device PROFILE (or --measurements FILE.csv for a few-shot check of your timings)")
    repeats = repeats or 21
    if repeats < 3:
        raise UsageError("--repeats with --measure: at least 3 timed runs")
    from ..latency.profile import ProfileError, load_profile
    from ..calibrate.validate import MEASURE_SPECS, validate as _validate, validate_measured

    try:
        prof = load_profile(device)
        if runtime and runtime not in prof.form.runtimes:
            raise UsageError(f"--runtime: profile '{prof.name}' is not a GPU host/device profile; drop --runtime")
        if prof.form.runtimes and not measure:
            from ..calibrate.gpu_profile import validate_gpu
            from ..present.gpu import gpu_validation_text

            rt = runtime or prof.form.describe(prof)["runtime"] or "eager"
            res = validate_gpu(prof, rt, progress=not quiet)
            write_output(gpu_validation_text(res, fmt), output)
            return
        if measure:
            if prof.device_class == "arm":
                raise UsageError(f"--measure times this machine; profile '{prof.name}' describes an ARM device "
                                  "(use --device cpu, or a profile measured here)")
            specs = [s.strip() for s in models.split(",") if s.strip()] if models else list(MEASURE_SPECS)
            from ..zoo.registry import parse_spec

            for s in specs:
                parse_spec(s)
            from ..latency.machine import warn_if_other_machine

            warn_if_other_machine(prof)      # timings here against a profile from elsewhere
            res = validate_measured(prof, specs, repeats=repeats, progress=not quiet)
        else:
            res = _validate(prof, holdout, progress=not quiet, form=None if form == "profile" else form)
    except ProfileError as exc:
        raise _profile_error(exc) from None
    write_output(_validate_text(res, fmt), output)


# -- profiles ----------------------------------------------------------------------------------

@click.command("profiles")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=check_output_path)
def profiles(fmt, output):
    """List the device profiles (the shipped ones and the user's own) with their held-out
    accuracy (as last fitted)."""
    import pandas as pd

    from ..latency.profile import (ALIASES, ProfileError, available_profiles, load_profile, profiles_dir,
                                   resolve_profile_path, user_profiles_dir)
    from ..present.tables import markdown_table, text_table, to_csv

    rows, bad, holdout_of = [], [], {}
    alias_of = {v: k for k, v in ALIASES.items()}
    for name in available_profiles():
        try:
            d = load_profile(name)
        except ProfileError as exc:
            bad.append(str(exc).splitlines()[0])
            continue
        v = d.validation or {}
        holdout_of[name] = v.get("holdout")
        by = v.get("by_holdout", {})
        net, fam = by.get("network") or {}, by.get("family") or {}
        rows.append({
            "profile": name + (f" ({alias_of[name]})" if name in alias_of else ""),
            "device": d.device, "runtime": d.runtime, "threads": d.threads, "batch": d.batch,
            "samples": len(d.samples), "predictor": (d.form.describe(d).get("fit") or d.form.name) if d.fitted else "(not fitted)",
            "level": v.get("level", "-"), "n": net.get("n", 0),
            "mape_network": net.get("mape"), "baseline_network": (net.get("baseline") or {}).get("mape"),
            "mape_family": fam.get("mape"), "baseline_family": (fam.get("baseline") or {}).get("mape"),
            "within_10pct": net.get("within_10pct"), "spearman": net.get("spearman"),
            "source": d.provenance["source"],
            "location": "user" if resolve_profile_path(name).parent == user_profiles_dir() else "shipped",
        })
    cols = ["profile", "device", "batch", "samples", "level", "n", "mape_network", "baseline_network",
            "mape_family", "baseline_family", "within_10pct", "spearman"]
    df = pd.DataFrame(rows, columns=cols + ["runtime", "threads", "predictor", "source", "location"])
    if fmt == "json":
        text = json.dumps({"profiles_dir": str(profiles_dir()), "user_profiles_dir": str(user_profiles_dir()),
                           "profiles": rows, "invalid": bad}, indent=2)
    elif fmt == "csv":
        text = to_csv(df)
    else:
        fm = {c: _pct for c in ("mape_network", "baseline_network", "mape_family", "baseline_family", "within_10pct")}
        fm["spearman"] = _rho
        fm["device"] = lambda s: s if len(s) <= 48 else s[:45] + "..."
        if fmt == "markdown":
            text = markdown_table(df, cols, fm, right=set(cols[2:]))
        else:
            text = text_table(df, cols, set(cols[2:]), fm)
        text += ("\n\nheld-out MAPE: leave-one-network-out (mape_network) and leave-one-family-out (mape_family), "
                 "FLOPs-only baseline beside; rerun with: costlab validate --device NAME")
        for r, name in zip(rows, holdout_of):
            if r["mape_family"] is None and r["mape_network"] is not None:
                text += (f"\n{r['profile']}: no leave-one-family-out check ('-'); its own: "
                         f"{holdout_of[name] or 'see validation'}; costlab validate --device {name}")
        users = [r["profile"] for r in rows if r["location"] == "user"]
        text += (f"\nshipped profiles: {profiles_dir()}; user profiles: {user_profiles_dir()}"
                 + (f" ({', '.join(users)}; a user profile of a shipped name takes its place)" if users else ""))
        if not rows:
            text += f"\n(no profiles in {profiles_dir()})"
        for b in bad:
            text += f"\nINVALID: {b}"
    write_output(text, output)


