"""The Ray backend of :mod:`costlab.sweep`: ``run_ray(predict_chunk, tasks, address)``
runs :func:`costlab.sweep.predict_chunk` as Ray tasks and yields ``(chunk index, rows)`` as they
finish; a one-line reason when Ray is missing or the cluster cannot be reached."""
from __future__ import annotations

import os
from typing import Iterator, Sequence

import pandas as pd

from .errors import UsageError

RAY_HINT = "pip install costlab[ray]"


def _ray_module():
    try:
        import ray
    except ImportError:
        raise UsageError(f"--backend ray needs Ray, which is not installed here: {RAY_HINT}") from None
    return ray


def check_reachable(address: str | None, timeout: float = 5.0) -> None:
    """A quick TCP check of a ``HOST:PORT`` / ``ray://HOST:PORT`` address (Ray itself retries
    an unreachable cluster for minutes); ``None`` and ``auto`` are left to Ray."""
    import socket

    if not address or address == "auto" or address.startswith("local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--ray-address {address}: write HOST:PORT (e.g. 10.0.0.5:6379) or ray://HOST:10001")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise UsageError(f"cannot reach the Ray cluster at '{address}': {exc.strerror or exc} "
                         "(is it running? check --ray-address)") from None


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def ray_start_line(chunks: int, rows: int, address: str | None) -> str:
    """What a Ray sweep starts and waits for, said before ``ray.init`` (which prints nothing
    for seconds to minutes)."""
    what = f"{chunks:,} chunk{'s' * (chunks != 1)} ({rows:,} rows) as Ray tasks"
    ray = _ray_module()
    if ray.is_initialized():
        try:
            cpus = int(ray.cluster_resources().get("CPU", 0))
        except Exception:   # noqa: BLE001 -- a note only
            cpus = 0
        return f"submitting {what} to the running Ray instance" + (f" ({cpus} CPUs)" if cpus else "")
    if address:
        return (f"connecting to the Ray cluster at {address} for {what}; first results after the connection "
                "and the workers' start-up")
    return (f"starting a local Ray instance ({_cpus()} CPUs) for {what}; first results after Ray's start-up "
            "(seconds to a minute)")


def run_ray(predict_chunk, tasks: Sequence[tuple[list, list]], address: str | None) -> Iterator[tuple[int, pd.DataFrame]]:
    ray = _ray_module()
    started = False
    if not ray.is_initialized():
        check_reachable(address)
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        except Exception as exc:   # noqa: BLE001 -- Ray raises ConnectionError, RuntimeError, ValueError ...
            where = f"the Ray cluster at '{address}'" if address else "a local Ray instance"
            raise UsageError(f"cannot start or reach {where}: {str(exc).strip().splitlines()[0] if str(exc) else type(exc).__name__}"
                             " (check --ray-address, e.g. ray://HOST:10001 or HOST:6379)") from None
        started = True
    remote = ray.remote(predict_chunk)
    shared: dict[tuple, object] = {}
    refs = {}
    pending: list = []
    try:
        for k, (chunk, devs) in enumerate(tasks):
            key = tuple(d.name for d in devs)
            if key not in shared:
                shared[key] = ray.put(devs)
            refs[remote.remote(chunk, shared[key])] = k
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for r in done:
                try:
                    yield refs[r], ray.get(r)
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    raise (cause if isinstance(cause, Exception) else exc) from None
                except ray.exceptions.RayError as exc:
                    raise UsageError(f"the Ray cluster failed during the sweep: {str(exc).strip().splitlines()[0]}") from None
    finally:
        for r in pending:
            try:
                ray.cancel(r)
            except Exception:   # noqa: BLE001 -- best effort: the run is ending anyway
                pass
        if started:
            ray.shutdown()
