"""The live check that ends ``costlab profile``: held-out networks timed after the fit, their
errors beside the leave-one-out figure (a stand-in harness here: no timing is asserted)."""
import pytest

from costlab.blocks import predict_spec
from costlab.calibrate.grid import NETWORK_SAMPLES
from costlab.calibrate.validate import LIVE_CHECK_SPECS, MEASURE_SPECS, live_check
from costlab.latency.profile import load_profile
from costlab.present.profiles import live_check_lines


def _fake(factors, speed=1.0):
    """A stand-in harness: held-out network s at factors[s] x its prediction; the profile's own
    network samples (the speed anchors) at ``speed`` x their profiled time."""
    prof = load_profile("cpu")
    own = {s["spec"]: s["latency_ms"] for s in prof.samples if s["granularity"] == "network"}

    def measure(specs, **kw):
        return [{"spec": s, "input_shape": [kw["batch"], 3, 224, 224], "repeats": kw["repeats"], "noise": 0.04,
                 "median_ms": speed * own[s] if s in own else
                 factors[s] * predict_spec(s, [kw["batch"], 3, 224, 224], prof)} for s in specs]
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


def test_speed_anchors_are_the_profiles_own_networks_spread_over_the_fastest_three_quarters():
    from costlab.calibrate.validate import speed_anchors

    prof = load_profile("cpu")
    nets = sorted((s for s in prof.samples if s["granularity"] == "network" and s.get("role", "fit") == "fit"),
                  key=lambda s: s["latency_ms"])
    anc = speed_anchors(prof, 1)
    assert 2 <= len(anc) <= 4 and len({a["spec"] for a in anc}) == len(anc)
    assert {a["spec"] for a in anc} <= {s["spec"] for s in nets}
    assert anc[0]["spec"] == nets[0]["spec"]                          # the fastest is one
    assert max(a["latency_ms"] for a in anc) < nets[-1]["latency_ms"]  # the slowest quarter is not
    assert speed_anchors(prof, 1, 0) == []


def test_anchored_figure_takes_out_a_machine_that_runs_slower_now():
    """Every network 20% slower than at profiling (a drifting machine): the headline shows a
    -16.7% one-sign error; the anchors say 1.2 and the anchored errors are zero."""
    from costlab.calibrate.validate import validate_measured
    from costlab.present.validation import validation_text

    prof, fake = _fake({s: 1.2 for s in MEASURE_SPECS}, speed=1.2)
    seen = []
    res = validate_measured(prof, MEASURE_SPECS, repeats=5, progress=False,
                            measure_fn=lambda specs, **kw: seen.append(list(specs)) or fake(specs, **kw))
    assert res["signed_mean_pct"] == pytest.approx(-16.67, abs=0.05)
    assert res["machine_speed"]["factor"] == pytest.approx(1.2) and res["machine_speed"]["spread"] == pytest.approx(0)
    assert res["anchored"]["mape"] == pytest.approx(0, abs=0.01) and res["anchored"]["within_10pct"] == 100
    assert [r["spec"] for r in res["rows"]] == [s for s in MEASURE_SPECS]   # anchors are not held-out rows
    order = seen[0]                     # anchors interleaved, not all at the end
    pos = [i for i, s in enumerate(order) if s not in MEASURE_SPECS]
    assert len(pos) == len(res["machine_speed"]["anchors"]) and pos[0] < len(order) // 2 and pos[-1] < len(order) - 1
    text = validation_text(res, "table")
    assert "anchored" in text and "x 1.200" in text
    res0 = validate_measured(prof, MEASURE_SPECS, repeats=5, progress=False, measure_fn=fake, anchors=0)
    assert "anchored" not in res0 and "machine_speed" not in res0


def test_speed_anchors_skip_samples_that_are_not_zoo_specs():
    """A profile calibrated from a measurements file may hold library or file models: they are
    no anchors (and no error)."""
    import dataclasses

    from costlab.calibrate.validate import speed_anchors

    prof = load_profile("cpu")
    odd = [{"spec": "torchvision:resnet18", "input_shape": [1, 3, 224, 224], "granularity": "network",
            "latency_ms": 1.0, "family": "torchvision"},
           {"spec": "/no/such/model.onnx", "input_shape": [1, 3, 224, 224], "granularity": "network",
            "latency_ms": 2.0, "family": "model"}]
    p2 = dataclasses.replace(prof, samples=tuple(odd) + tuple(prof.samples))
    anc = speed_anchors(p2, 1)
    assert anc and not {a["spec"] for a in anc} & {o["spec"] for o in odd}
