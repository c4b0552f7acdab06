"""Is a CPU profile used on the machine it was measured on?

A CPU profile's numbers hold for the machine, core count and torch build that measured them
(``provenance.machine``: ``cpu_model``, ``logical_cpus``, ``torch``). Used elsewhere, its
predictions may be far off: :func:`warn_if_other_machine` says so once per profile, on
stderr, with the command that builds a profile for this machine.
"""
from __future__ import annotations

import os
import platform
import sys

import torch

_WARNED: set[str] = set()


def cpu_model() -> str:
    """This machine's CPU model name (/proc/cpuinfo, else platform)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def this_machine() -> dict:
    """What a CPU profile records about its machine, for this machine."""
    return {"cpu_model": cpu_model(), "logical_cpus": os.cpu_count(), "torch": torch.__version__}


_LABELS = {"cpu_model": "CPU", "logical_cpus": "logical CPUs", "torch": "torch"}


def machine_differences(profile, here: dict | None = None) -> list[str]:
    """What differs between the CPU profile's recorded machine and this one ([] when it
    matches, when the profile is not a CPU profile, or when it records no machine)."""
    if profile.device_class != "cpu":
        return []
    rec = profile.machine
    here = this_machine() if here is None else here
    diffs = []
    for key, label in _LABELS.items():
        if key in rec and rec[key] is not None and str(rec[key]) != str(here.get(key)):
            diffs.append(f"{label} {rec[key]} (here: {here.get(key)})")
    return diffs


def rebuild_command(profile) -> str:
    from .profile import user_profiles_dir

    return f"costlab profile --target cpu -o {user_profiles_dir() / (profile.name + '.json')}"


def warn_if_other_machine(profile, here: dict | None = None) -> str | None:
    """Write one warning line to stderr (once per profile and process) when the CPU profile
    was measured on another machine; return the line (None when nothing was written)."""
    diffs = machine_differences(profile, here)
    key = str(profile.label)
    if not diffs or key in _WARNED:
        return None
    _WARNED.add(key)
    line = (f"costlab: warning: profile '{profile.name}' was measured on another machine: "
            f"{'; '.join(diffs)}; its latencies may not hold here. Build one for this machine "
            f"(~1 min): {rebuild_command(profile)}")
    print(line, file=sys.stderr)
    return line
