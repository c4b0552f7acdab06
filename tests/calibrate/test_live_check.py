"""The live check that ends ``costlab profile``: held-out networks timed after the fit, their
errors beside the leave-one-out figure (a stand-in harness here: no timing is asserted)."""
import pytest

from costlab.blocks import predict_spec
from costlab.calibrate.grid import NETWORK_SAMPLES
from costlab.calibrate.validate import LIVE_CHECK_SPECS, MEASURE_SPECS, live_check
from costlab.latency.profile import load_profile
from costlab.present.profiles import live_check_lines


def _fake(factors):
    prof = load_profile("cpu")

    def measure(specs, **kw):
        return [{"spec": s, "input_shape": [kw["batch"], 3, 224, 224], "repeats": kw["repeats"], "noise": 0.04,
                 "median_ms": factors[s] * predict_spec(s, [kw["batch"], 3, 224, 224], prof)} for s in specs]
    return prof, measure


def test_live_check_specs_are_held_out_and_among_validate_networks():
    assert len(LIVE_CHECK_SPECS) == 3 and not set(LIVE_CHECK_SPECS) & set(NETWORK_SAMPLES)
    assert set(LIVE_CHECK_SPECS) <= set(MEASURE_SPECS)
    assert len({s.split(":")[0] for s in LIVE_CHECK_SPECS}) == 3       # three families


def test_live_check_reports_errors_and_signed_mean():
    prof, fake = _fake(dict(zip(LIVE_CHECK_SPECS, (1.25, 1.25, 1.25))))
    res = live_check(prof, repeats=5, measure_fn=fake)
    assert res["specs"] == list(LIVE_CHECK_SPECS) and res["repeats"] == 5
    assert [r["error_pct"] for r in res["rows"]] == pytest.approx([-20.0] * 3, abs=0.02)
    assert res["signed_mean_pct"] == pytest.approx(-20.0, abs=0.02) and res["mape"] == pytest.approx(20.0, abs=0.02)
    assert res["within_10pct"] == 0.0 and res["noise_median"] == pytest.approx(0.04)
    assert res["leave_one_out"]["mape"] == prof.validation["mape"]
    lines = live_check_lines(res)
    assert "mobilenet_v2" in lines[0] and "(-20.0%)" in lines[0]
    assert "signed mean error -20.0%" in lines[1] and "leave-one-network-out" in lines[1]
    assert lines[-1].startswith("costlab: warning:") and "under-predicts every network" in lines[-1]


def test_live_check_warns_only_for_a_one_sided_error_beyond_the_noise():
    prof, fake = _fake(dict(zip(LIVE_CHECK_SPECS, (1.25, 0.8, 1.0))))       # mixed signs: no bias warning
    assert not any("warning" in x for x in live_check_lines(live_check(prof, repeats=5, measure_fn=fake)))
    prof, fake = _fake(dict(zip(LIVE_CHECK_SPECS, (1.02, 1.03, 1.02))))     # one sign but within the noise
    assert not any("warning" in x for x in live_check_lines(live_check(prof, repeats=5, measure_fn=fake)))
    prof, fake = _fake(dict(zip(LIVE_CHECK_SPECS, (0.8, 0.85, 0.8))))       # over-predicted
    assert "over-predicts" in live_check_lines(live_check(prof, repeats=5, measure_fn=fake))[-1]


def test_live_check_lines_empty_without_rows():
    assert live_check_lines({"rows": []}) == []
