"""Few-shot calibration from a user's measurements (issue 11): the CSV reader's refusals,
block-composed features, recovery of a synthetic device, and the validation JSON."""
from __future__ import annotations

import json

import numpy as np
import pytest

from costlab.blocks import SpecSet, spec_blocks, spec_features
from costlab.calibrate.fewshot import (fewshot_validate, fit_arrays, fit_measurements, rounding_floor,
                                       validate_arrays, whole_ms)
from costlab.calibrate.measurements import read_measurements
from costlab.blocks import sample_features
from costlab.errors import InputError
from costlab.latency.features import CLASSES, TERMS
from costlab.latency.profile import validate_profile

OPS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
SHAPE = (1, 3, 32, 32)


def fbnet_archs(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["|".join(rng.choice(OPS, 22)) for _ in range(n)]


@pytest.fixture(scope="module")
def space():
    archs = fbnet_archs(60)
    return SpecSet([(f"fbnet:arch={a}", SHAPE) for a in archs])


def _coef(per_class: dict) -> np.ndarray:
    c = np.zeros((len(CLASSES), len(TERMS)))
    for k, v in per_class.items():
        c[CLASSES.index(k)] = v
    return c.reshape(-1)


# a device with very different per-class costs (ms per GMAC, per MB, per Mpix, per kernel)
SYNTH = _coef({
    "conv_dense": (40.0, 0.02, 0.0, 0.05), "conv_pw": (25.0, 0.05, 0.5, 0.02),
    "conv_dw": (180.0, 0.08, 2.0, 0.03), "conv_group": (60.0, 0.10, 1.0, 0.04),
    "linear": (30.0, 0.01, 0.0, 0.01), "global_pool": (50.0, 0.02, 0.0, 0.01),
    "elementwise": (0.0, 0.12, 0.3, 0.008), "data_movement": (0.0, 0.3, 0.0, 0.02),
})


# -- the measurements reader ------------------------------------------------------------------

def _write(tmp_path, text: str | bytes, name="m.csv"):
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


ARCH = "|".join(["k3_e3"] * 22)


@pytest.mark.parametrize("text, line, words", [
    ("spec,latency\nresnet18,3\n", 1, "missing column 'latency_ms'"),
    ("spec,latency_ms\nresnet18,3\nresnet34,abc\n", 3, "not a number"),
    ("spec,latency_ms\nresnet18,0\n", 2, "positive"),
    ("spec,latency_ms\nresnet18,-4\n", 2, "positive"),
    ("spec,latency_ms\nresnet18,nan\n", 2, "positive"),
    ("spec,latency_ms\nresnet18,3\nnot_a_model,4\n", 3, "unknown model"),
    ("spec,latency_ms\n\"fbnet:arch=k3_e1|bogus\",4\n", 2, "bad arch"),
    ("spec,latency_ms\nresnet18,3\nresnet34,5\nresnet18,3.5\n", 4, "line 2"),
    ("spec,latency_ms,input_shape\nresnet18,3,1x3x224\n", None, None),          # a 3-d shape is fine to read
    ("spec,latency_ms,input_shape\nresnet18,3,1x3xax224\n", 2, "input shape"),
    ("spec,latency_ms,batch\nresnet18,3,0\n", 2, "batch"),
    ("spec,latency_ms,batch,input_shape\nresnet18,3,2,1x3x224x224\n", 2, "disagrees"),
    ("spec,latency_ms,colour\nresnet18,3,red\n", 1, "unknown column"),
    ("spec,latency_ms\nresnet18,3,4\n", 2, "fields"),
    ("spec,latency_ms\n", 1, "no measurements"),
    ("", None, "empty"),
    ("\n\n", None, "empty"),
])
def test_reader_refuses_bad_input_with_one_line(tmp_path, text, line, words):
    p = _write(tmp_path, text)
    if words is None:
        read_measurements(p, check_specs=False)
        return
    with pytest.raises(InputError) as ei:
        read_measurements(p)
    msg = str(ei.value)
    assert "\n" not in msg
    assert str(p) in msg
    if line is not None:
        assert f"line {line}:" in msg
    assert words in msg


def test_reader_refuses_non_utf8(tmp_path):
    p = _write(tmp_path, b"spec,latency_ms\nresnet18,3\nr\xe9snet,4\n")
    with pytest.raises(InputError) as ei:
        read_measurements(p)
    assert str(p) in str(ei.value) and "line 3" in str(ei.value) and "UTF-8" in str(ei.value)


def test_reader_missing_file_and_writes_nothing(tmp_path):
    before = sorted(tmp_path.iterdir())
    with pytest.raises(InputError, match="no such file"):
        read_measurements(tmp_path / "nope.csv")
    assert sorted(tmp_path.iterdir()) == before


def test_reader_reads_shapes_batches_notes_and_drops_identical_duplicates(tmp_path):
    p = _write(tmp_path, "Spec,latency_ms,batch,note\n"
                         f"\"fbnet:arch={ARCH}\",4.5,,first\n"
                         "mobilenet_v2:width=0.5,12,8,\n"
                         f"\"fbnet:arch={ARCH}\",4.5,,again\n")
    m = read_measurements(p)
    assert len(m) == 2 and m.dropped == [4]
    assert m[0].input_shape == (1, 3, 32, 32) and m[0].note == "first" and m[0].line == 2
    assert m[1].input_shape == (8, 3, 224, 224)
    assert len(m.sha256) == 64


# -- block-composed features ------------------------------------------------------------------

@pytest.mark.parametrize("fusion", [(), ("conv+bn+act", "add+act"), ("add+act", "bn+act", "cat+copy", "conv+bn+act")])
def test_block_features_equal_whole_network_features(fusion):
    for arch in fbnet_archs(2, seed=1) + ["|".join(["skip"] * 22), "|".join(["k5_e1_g2"] * 22)]:
        spec = f"fbnet:arch={arch}"
        whole, g_whole = sample_features(spec, SHAPE, "float32", fusion)
        blocks, g_blocks = spec_features(spec, SHAPE, "float32", fusion)
        assert len(spec_blocks(spec, SHAPE)) == 24
        np.testing.assert_allclose(blocks, whole, rtol=1e-9, atol=1e-12)
        assert g_blocks == pytest.approx(g_whole, rel=1e-12)


def test_spec_without_blocks_is_traced_whole():
    assert spec_blocks("mobilenet_v2:width=0.5") == (("mobilenet_v2:width=0.5", (1, 3, 224, 224)),)
    f, g = spec_features("mobilenet_v2:width=0.5")
    f2, g2 = sample_features("mobilenet_v2:width=0.5", (1, 3, 224, 224))
    np.testing.assert_array_equal(f, f2)
    assert g == g2


def test_specset_matches_spec_features(space):
    spec, shape = f"fbnet:arch={fbnet_archs(1)[0]}", SHAPE
    f, g = spec_features(spec, shape)
    np.testing.assert_allclose(space.features([0])[0], f.reshape(-1), rtol=1e-12)
    assert space.gmac[0] == pytest.approx(g)
    # both combine rules: 'sum' is features @ coef; 'max' is never below 'sum' minus the floors
    np.testing.assert_allclose(space.predict(SYNTH, "sum"), space.features() @ SYNTH, rtol=1e-12)
    assert np.all(space.predict(SYNTH, "max") <= space.predict(SYNTH, "sum") + 1e-12)


# -- a synthetic device is recovered from 20 samples ------------------------------------------

@pytest.mark.parametrize("combine", ["sum", "max"])
def test_synthetic_device_recovered_from_20_samples(space, combine):
    y = space.predict(SYNTH, combine)
    tr, te = np.arange(20), np.arange(20, space.n)
    f = fit_arrays(space, tr, y[tr])
    err = np.abs(f.predict(space, te) / y[te] - 1)
    assert err.max() < 0.02, (combine, f.combine, f.candidate, err.max())
    assert f.combine == combine or err.max() < 0.005


def test_fit_measurements_profile_is_valid_and_predicts(space):
    archs = fbnet_archs(60)
    y = space.predict(SYNTH, "sum")
    rows = [{"spec": f"fbnet:arch={a}", "input_shape": SHAPE, "latency_ms": float(v)} for a, v in zip(archs, y)][:20]
    d = fit_measurements(rows, name="synthetic-board", date="2026-01-01", combines=("sum",))
    validate_profile(d)
    assert d["predictor"]["combine"] == "sum" and d["provenance"]["rows"] == 20
    assert d["validation"]["holdout"] == "leave-one-out" and d["validation"]["mape"] < 2
    from costlab.latency.forms.per_class import coef_matrix

    coef = coef_matrix(d["predictor"]).reshape(-1)
    np.testing.assert_allclose(space.predict(coef, "sum", np.arange(20, 60)), y[20:], rtol=0.02)
    # with the fitted profile as base, a device 30% slower is one scale factor away
    d2 = fit_measurements([{**r, "latency_ms": 1.3 * r["latency_ms"]} for r in rows[:8]], base=d,
                          name="slower", date="2026-01-01", combines=("sum",), self_check=False)
    assert d2["predictor"]["candidate"].startswith("base")
    np.testing.assert_allclose(space.predict(coef_matrix(d2["predictor"]).reshape(-1), "sum", np.arange(20, 60)),
                               1.3 * y[20:], rtol=0.02)


# -- validation JSON --------------------------------------------------------------------------

def test_fewshot_validate_keys(space):
    archs = fbnet_archs(60)
    y = space.predict(SYNTH, "max") * np.random.default_rng(3).normal(1, 0.01, space.n)
    rows = [{"spec": f"fbnet:arch={a}", "input_shape": SHAPE, "latency_ms": float(v)} for a, v in zip(archs, y)]
    r = fewshot_validate(rows, samples=10, repeats=3, seed=1, combines=("sum", "max"))
    for k in ("holdout", "level", "n", "mape", "within_10pct", "spearman", "kendall", "baseline", "samples",
              "repeats", "spread", "seed"):
        assert k in r, k
    assert r["samples"] == 10 and r["repeats"] == 3 and r["n"] == 50
    for k in ("mape", "within_10pct", "spearman", "kendall"):
        assert set(r["spread"][k]) == {"std", "min", "max"}
        assert k in r["baseline"] and k in r["baseline"]["spread"]
    assert r["spearman"] > r["baseline"]["spearman"]
    json.dumps(r, allow_nan=False)
    assert r == fewshot_validate(rows, samples=10, repeats=3, seed=1, combines=("sum", "max"))   # seeded
    with pytest.raises(Exception, match="samples"):
        fewshot_validate(rows, samples=60)


def test_whole_ms_floor():
    assert whole_ms([3.0, 4.0, 10.0]) and not whole_ms([3.0, 4.5])
    fl = rounding_floor([10.0, 20.0])
    assert fl["mape"] == pytest.approx(100 * (0.025 + 0.0125) / 2)
    r = validate_arrays(SpecSet([(f"fbnet:arch={a}", SHAPE) for a in fbnet_archs(12)]),
                        np.arange(10.0, 22.0), samples=6, repeats=2)
    assert r["whole_ms"] is True and "rounding_floor" in r


def test_a_model_that_cannot_be_traced_names_its_line(tmp_path):
    p = _write(tmp_path, "spec,latency_ms,input_shape\nlenet5,0.5,1x1x28x28\nlenet5:num_classes=10,0.6,1x3x28x28\n"
                         "lenet_300_100,0.2,\n")
    with pytest.raises(Exception) as ei:
        fit_measurements(read_measurements(p, check_specs=False), self_check=False)
    assert "m.csv line 3" in str(ei.value) and "\n" not in str(ei.value)
