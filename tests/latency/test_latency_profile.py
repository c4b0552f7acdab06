"""Profile format: validated on load, refused with the wrong field named, atomic saves."""
from __future__ import annotations

import copy
import json

import pytest

from costlab.latency.profile import (ProfileError, available_profiles, dumps_profile, load_profile, profiles_dir,
                                     save_profile, validate_profile)


def _minimal() -> dict:
    return {
        "schema": "costlab.profile/1", "name": "tiny", "device": "a test device", "device_class": "cpu",
        "runtime": "PyTorch eager", "threads": 1, "batch": 1, "dtype": "float32", "fusion": ["conv+bn+act"],
        "provenance": {"source": "test", "measured_by": "pytest", "date": "2024-01-02", "method": "made up",
                       "command": "none"},
        "samples": [
            {"spec": "micro_conv:cin=8,cout=8,k=1", "input_shape": [1, 8, 14, 14], "granularity": "op",
             "family": "micro", "latency_ms": 0.1},
        ],
    }


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.pop("threads"), "threads"),
    (lambda d: d.update(schema="costlab.profile/0"), "schema"),
    (lambda d: d.update(device_class="tpu"), "device_class"),
    (lambda d: d.update(fusion=["conv+everything"]), "fusion[0]"),
    (lambda d: d["provenance"].update(date="yesterday"), "provenance.date"),
    (lambda d: d["provenance"].pop("command"), "provenance.command"),
    (lambda d: d["samples"][0].update(latency_ms=-1), "samples[0].latency_ms"),
    (lambda d: d["samples"][0].update(latency_ms=float("nan")), "samples[0].latency_ms"),
    (lambda d: d["samples"][0].update(input_shape=[1, 0, 3]), "samples[0].input_shape"),
    (lambda d: d["samples"][0].update(granularity="layer"), "samples[0].granularity"),
    (lambda d: d["samples"][0].update(role="maybe"), "samples[0].role"),
    (lambda d: d.update(predictor={"classes": {}}), "predictor.classes.conv_dense"),
])
def test_malformed_profiles_name_the_field(mutate, field):
    d = _minimal()
    mutate(d)
    with pytest.raises(ProfileError) as e:
        validate_profile(d)
    assert field in str(e.value)


def test_valid_minimal_profile_passes():
    d = _minimal()
    assert validate_profile(copy.deepcopy(d)) == d


def test_truncated_file_is_refused_with_position(tmp_path):
    p = tmp_path / "cut.json"
    p.write_text(dumps_profile(_minimal())[:200])
    with pytest.raises(ProfileError, match="not valid JSON .* line"):
        load_profile(str(p))


def test_save_is_atomic_and_round_trips(tmp_path):
    p = tmp_path / "tiny.json"
    save_profile(_minimal(), p)
    assert list(load_profile(str(p)).samples) == _minimal()["samples"]
    assert load_profile(str(p)).to_dict() == {k: v for k, v in _minimal().items()}      # typed and back, unchanged
    bad = _minimal()
    bad["samples"][0]["latency_ms"] = 0
    with pytest.raises(ProfileError):
        save_profile(bad, p)             # refused before anything is written
    assert json.loads(p.read_text())["samples"][0]["latency_ms"] == 0.1
    assert [f.name for f in tmp_path.iterdir()] == ["tiny.json"]


def test_aliases_and_unknown_names():
    assert load_profile("arm").name == "arm-sd810"
    assert load_profile("gpu").name == "gpu-gtx1080ti"
    with pytest.raises(ProfileError, match="unknown device profile 'arm-sd81'.*did you mean"):
        load_profile("arm-sd81")
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile("no/such/profile.json")


def test_shipped_profiles_are_valid_and_fitted():
    names = {"arm-sd810", "gpu-gtx1080ti", "arm-pixel1-tflite", "arm-sd810-ncnn"}
    assert names <= set(available_profiles())
    for n in sorted(names):
        d = load_profile(n)
        assert d.fitted and d.baseline and d.validation["n"] >= 3, n
        assert d.provenance["command"].startswith("costlab "), n
    assert profiles_dir().name == "profiles"
