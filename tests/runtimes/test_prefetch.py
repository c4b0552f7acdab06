"""Runtime samples converted by worker processes before any is timed (costlab profile --jobs)."""
from __future__ import annotations

import importlib.util

import pytest

from costlab.runtimes import artifact, get_runtime
from costlab.runtimes.prefetch import missing, prefetch
from tests.cli.measurement_boards import run

needs_ort = pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="costlab[ort] not installed")

ITEMS = [("micro_conv:cin=8,cout=16,k=3,stride=1,groups=1", (1, 8, 16, 16)),
         ("micro_act:c=8,act=relu", (1, 8, 16, 16)),
         ("micro_pool:c=8,kind=max,k=2,stride=2,pad=0", (1, 8, 16, 16))]


@needs_ort
def test_prefetch_converts_what_is_not_cached_in_workers(tmp_path, monkeypatch):
    monkeypatch.setenv("COSTLAB_CACHE", str(tmp_path))
    rt = get_runtime("ort")
    assert len(missing(ITEMS, rt)) == 3
    assert prefetch(ITEMS, rt, jobs=1)["converted"] == 0 and len(missing(ITEMS, rt)) == 3   # one job: nothing here
    res = prefetch(ITEMS, rt, jobs=2)
    assert res == {"converted": 3, "failed": [], "jobs": 2}
    assert missing(ITEMS, rt) == []
    assert all(artifact(rt, s, shp).cached for s, shp in ITEMS)          # the timing finds them all
    assert prefetch(ITEMS, rt, jobs=2)["converted"] == 0                 # nothing left to do


def test_jobs_is_refused_for_the_cpu_harness(capsys):
    code, out, err = run(["profile", "--target", "cpu", "--jobs", "2"], capsys)
    assert code == 2 and "--jobs applies to --target ort|openvino|litert" in err and err.count("\n") == 1
