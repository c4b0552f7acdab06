"""``costlab profile``: measure this machine's CPU or CUDA GPU (``--target``) and write a device
profile."""
from __future__ import annotations

import os
import shlex
import time

import click

from ..errors import UsageError
from ..present.profiles import live_check_lines, measured_lines, validation_note
from .options import check_output_path


def _batches(text: str | None, device_type: str) -> list[int]:
    if text is None:
        return [1, 8, 32, 64] if device_type == "cuda" else [1]
    try:
        out = [int(b) for b in text.split(",") if b.strip()]
    except ValueError:
        out = []
    if not out or any(b < 1 for b in out):
        raise UsageError(f"bad --batch '{text}': write positive integers separated by commas, e.g. 1,8,32,64")
    return out


def _command(target, output, name, threads, batch, repeats, warmup, grid, clock, default_malloc, no_networks,
             no_fit, no_live_check=False) -> str:
    parts = ["costlab", "profile", "--target", target]
    if output:
        parts += ["-o", output]
    if name:
        parts += ["--name", name]
    if threads != 1:
        parts += ["--threads", str(threads)]
    if batch:
        parts += ["--batch", batch]
    if repeats is not None:
        parts += ["--repeats", str(repeats)]
    if warmup != 3:
        parts += ["--warmup", str(warmup)]
    if grid != "default":
        parts += ["--grid", grid]
    if clock != "auto":
        parts += ["--clock", clock]
    if default_malloc:
        parts.append("--default-malloc")
    if no_networks:
        parts.append("--no-networks")
    if no_fit:
        parts.append("--no-fit")
    if no_live_check:
        parts.append("--no-live-check")
    return " ".join(shlex.quote(p) for p in parts)


def _target(target: str | None, device: str | None) -> str:
    """``--target``, or the deprecated ``--device`` alias (one release) with a note on stderr."""
    if device is None:
        return target or "cpu"
    if target is not None and target != device:
        raise UsageError(f"--target {target} and --device {device} disagree; give --target only "
                         "(--device is its deprecated alias)")
    click.echo(f"costlab: note: 'costlab profile --device {device}' is deprecated (everywhere else --device "
               f"names a device profile); use --target {device}", err=True)
    return device


@click.command("profile")
@click.option("--target", default=None, metavar="cpu|cuda[:N]|ort|openvino|litert",
              help="what to measure: this machine's cpu (PyTorch eager), its CUDA GPU cuda or cuda:N, or the cpu "
                   "through a deployment runtime: ort (ONNX Runtime), openvino, litert (LiteRT/XNNPACK)  "
                   "[default: cpu]")
@click.option("--device", "device", default=None, metavar="cpu|cuda[:N]",
              help="deprecated alias of --target (removed in the next release)")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=check_output_path,
              help="write the profile JSON to FILE (atomically), e.g. ~/.local/share/costlab/profiles/cpu-local.json "
                   "(the user profile folder: then found by name); default: stdout")
@click.option("--name", default=None,
              help="profile name (default: the output file's stem, else cpu-local / cuda-local)")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="torch.set_num_threads while measuring (recorded in the profile; 1 is least noisy on a shared machine)")
@click.option("--batch", default=None,
              help="batch size(s), comma-separated; samples are measured at each  [default: 1 on cpu, 1,8,32,64 on cuda]")
@click.option("--repeats", type=click.IntRange(min=3), default=None,
              help="timed repeats per sample (median, p10, p90 over them)  [default: 41 on cpu, 15 on cuda]")
@click.option("--warmup", type=click.IntRange(min=0), default=3, show_default=True, help="untimed calls first")
@click.option("--grid", type=click.Choice(["default", "small"]), default="default", show_default=True,
              help="op/block grid: default covers the zoo; small is a quick smoke test")
@click.option("--clock", type=click.Choice(["auto", "thread", "wall"]), default="auto", show_default=True,
              help="CPU clock: thread = CPU time of the timing thread (needs --threads 1; immune to other "
                   "processes' load), wall = perf_counter; auto = thread when --threads 1")
@click.option("--default-malloc", is_flag=True,
              help="keep glibc's default malloc thresholds (by default freed memory is kept while measuring, "
                   "so forwards do not page-fault their activations in again; see costlab.latency.measure)")
@click.option("--no-networks", is_flag=True, help="leave out the network-level samples")
@click.option("--no-fit", is_flag=True, help="write the measured samples only (fit later with costlab calibrate)")
@click.option("--no-live-check", is_flag=True,
              help="skip the live check (CPU): after the fit, 3 networks not among the samples are timed and "
                   "their errors printed beside the leave-one-out figure (and kept in provenance.live_check)")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="--target ort|openvino|litert: convert the samples not yet cached in N worker processes "
                   "before timing any (default 1: each worker pays its own imports, ~15 s for LiteRT)")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar")
def profile(target, device, output, name, threads, batch, repeats, warmup, grid, clock, default_malloc, no_networks,
            no_fit, no_live_check, jobs, quiet):
    """Measure this machine (micro-benchmarks of ops, blocks and a few networks) and write
    a fitted device profile.

    Example: costlab profile --target cpu -o ~/.local/share/costlab/profiles/cpu-local.json
    (the user profile folder, $COSTLAB_PROFILES if set: 'costlab analyze M --device cpu' then uses it)
    """
    import re

    from ..calibrate.measure import MeasureError, resolve_clock, resolve_device
    from ..latency.profile import ProfileError, dumps_profile, save_profile, validate_profile

    target = _target(target, device)
    given_repeats = repeats
    runtime = _runtime_target(target, batch, jobs)
    try:
        dev = resolve_device("cpu" if runtime else target)
    except MeasureError as exc:
        raise UsageError(str(exc)) from None
    batches = _batches(batch, dev.type)
    if repeats is None:
        repeats = 15 if dev.type == "cuda" else 41
    try:
        resolve_clock(dev, threads, clock)
    except MeasureError as exc:
        raise UsageError(str(exc)) from None
    if name is None:
        name = _default_name(output, dev.type, runtime, threads)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise UsageError(f"bad profile name '{name}': use letters, digits, '.', '_' or '-' (pass --name)")
    if runtime is not None and not output:
        output = _user_folder_file(name)
    if output:  # refuse before minutes of measuring, not after
        _check_output(output)
    fit = None
    if not no_fit:
        try:
            from ..calibrate import fit_any as fit
        except ImportError as exc:  # pragma: no cover - only while the fitter is missing
            raise UsageError(f"the latency fitter is not available ({exc}); pass --no-fit") from None
    cmd = _command(target, output, None if name == _default_name(output, dev.type, runtime, threads) else name,
                   threads, batch,
                   given_repeats, warmup, grid, clock, default_malloc, no_networks, no_fit, no_live_check)
    t0 = time.perf_counter()
    try:
        d = _measure(runtime, dev, name=name, threads=threads, batches=batches, grid=grid,
                     networks=not no_networks, repeats=repeats, warmup=warmup, command=cmd,
                     progress=not quiet, clock=clock, keep_memory=not default_malloc, jobs=jobs)
    except MeasureError as exc:
        raise UsageError(str(exc)) from None
    except MemoryError as exc:
        raise UsageError(f"out of memory while measuring ({exc}); pass a smaller --batch") from None
    except RuntimeError as exc:
        if "out of memory" not in str(exc).lower():
            raise
        raise UsageError(f"out of device memory while measuring ({str(exc).splitlines()[0]}); "
                          "pass a smaller --batch") from None
    t_meas = time.perf_counter() - t0
    for line in measured_lines(d, t_meas):
        click.echo(line, err=True)
    try:
        if fit is not None:
            d = fit(d, progress=not quiet)
            d["provenance"]["wall_s"] = round(time.perf_counter() - t0, 1)
            note = validation_note(d)
            if note:
                click.echo(note, err=True)
            if dev.type == "cpu" and not no_live_check:
                d["provenance"]["live_check"] = _live_check(d, min(repeats, 21), quiet)
                for line in live_check_lines(d["provenance"]["live_check"]):
                    click.echo(line, err=True)
        if output:
            save_profile(d, output)
            click.echo(f"costlab: wrote {output} ({time.perf_counter() - t0:.0f} s in all)", err=True)
        else:
            validate_profile(d)
            click.echo(dumps_profile(d), nl=False)
    except ProfileError as exc:
        raise UsageError(str(exc)) from None


def _measure(runtime, dev, **kw) -> dict:
    """measure_profile on the torch device, or through the deployment runtime."""
    jobs = kw.pop("jobs")
    if runtime is None:
        from ..calibrate.measure import measure_profile

        return measure_profile(dev, **kw)
    from ..runtimes.profile import measure_runtime_profile

    kw.pop("keep_memory")
    kw.pop("batches")
    return measure_runtime_profile(runtime, None, batch=1, seed=0, jobs=jobs or 1, **kw)


def _user_folder_file(name: str) -> str:
    """A runtime profile goes to the user profile folder, where --device NAME finds it."""
    from ..latency.profile import user_profiles_dir

    folder = user_profiles_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the user profile folder '{folder}' ({exc.strerror}); pass -o FILE") from None
    return str(folder / f"{name}.json")


def _live_check(d: dict, repeats: int, quiet: bool) -> dict:
    """Time the held-out networks of :data:`costlab.calibrate.validate.LIVE_CHECK_SPECS` now."""
    from ..calibrate.validate import live_check

    return live_check(d, repeats=repeats, progress=not quiet)


def _check_output(output: str) -> None:
    """Refuse an -o FILE that cannot be written, before any measuring."""
    from ..latency.profile import ProfileError, check_writable
    from ..present.output import no_folder

    try:
        check_writable(output)      # a shipped profile inside the package is never overwritten
    except ProfileError as exc:
        raise UsageError(str(exc)) from None
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise UsageError(f"output {no_folder(folder)}; create it or pass another -o FILE")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"output folder '{folder}' is not writable; pass another -o FILE")


_RUNTIMES = ("ort", "openvino", "litert")


def _runtime_target(target: str, batch: str | None, jobs: int | None = None) -> str | None:
    """The deployment runtime --target names (None: cpu or cuda), checked before any work: an
    absent runtime is one line naming its extra."""
    if target not in _RUNTIMES:
        if jobs is not None:
            raise UsageError("--jobs applies to --target ort|openvino|litert (it converts their samples in "
                             "parallel); the CPU and CUDA harnesses convert nothing: drop --jobs")
        return None
    from ..runtimes import get_runtime

    get_runtime(target).require()
    if batch and batch.strip() != "1":
        raise UsageError(f"--target {target} measures batch 1 (the deployment case); drop --batch")
    return target


def _default_name(output, device_type, runtime=None, threads=1) -> str:
    """The output file's stem; else cpu-local / cuda-local, or ``<cpu>-<runtime>-t<threads>`` for
    a deployment runtime (e.g. amd-epyc-ort-t1)."""
    if output:
        return os.path.splitext(os.path.basename(output))[0]
    if runtime:
        import re

        from ..latency.machine import cpu_model

        cpu = re.sub(r"[^a-z0-9]+", "-", cpu_model().lower()).strip("-") or "cpu"
        return f"{cpu[:40].strip('-')}-{runtime}-t{threads}"
    return "cpu-local" if device_type == "cpu" else "cuda-local"
