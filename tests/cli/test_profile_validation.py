"""A profile's validation as the user sees it: held-out numbers per runtime, and why a
leave-one-family-out column is empty."""
from __future__ import annotations

import costlab
from tests.cli.measurement_boards import run


def test_gpu_held_out_numbers_follow_the_runtime():
    prof = costlab.latency.load_profile("gpu-h200")
    for rt in ("eager", "cudagraph"):
        info = costlab.analyze("lenet5", device="gpu-h200", runtime=rt).to_dict()["latency"]
        assert info["held_out"]["mape"] == prof.validation["held_out"][rt]["all"]["mape"]


def test_profiles_says_why_a_family_column_is_empty(capsys):
    code, out, _ = run(["profiles"], capsys)
    line = next(ln for ln in out.splitlines() if ln.startswith("gpu-h200: no leave-one-family-out"))
    assert code == 0 and "17 zoo networks never fitted" in line and "costlab validate --device gpu-h200" in line
