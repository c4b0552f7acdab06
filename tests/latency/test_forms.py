"""Predictor forms (costlab.latency.forms): every shipped profile predicts exactly what it did
before the forms registry existed, and a new form is one module that registers itself."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import costlab
from costlab import ops
from costlab.latency.breakdown import class_breakdown
from costlab.latency.features import SPLIT_FROM
from costlab.latency.forms import FORMS, Form, Prediction, form_of, register_form, unregister_form
from costlab.latency.predict import predict
from costlab.latency.profile import ProfileError, load_profile, shipped_profiles, validate_profile
from costlab.zoo.registry import list_models

RECORDED = Path(__file__).resolve().parent.parent / "data" / "latency_before.json"


@pytest.fixture(scope="module")
def recorded() -> dict:
    """Totals, per-node sums and per-class breakdowns of every shipped profile x zoo model (default
    input) x runtime option, recorded on main before the forms registry (commit 5ace2a1)."""
    return json.loads(RECORDED.read_text())


def test_every_shipped_profile_predicts_as_before(recorded):
    profiles = {n: load_profile(n) for n in shipped_profiles()}
    seen = 0
    for e in list_models():
        rep = costlab.analyze(e.name)
        for name, prof in profiles.items():
            for rt in (prof.form.runtimes or (None,)):
                want = recorded[f"{name}|{rt or '-'}|{e.name}"]
                r = predict(rep, prof, rt)
                assert r.totals["latency_ms"] == pytest.approx(want["total"], rel=1e-9, abs=0), (name, rt, e.name)
                got = float(sum(r.layers["latency_ms"]))
                assert got == pytest.approx(want["sum"], rel=1e-9, abs=1e-12), (name, rt, e.name)
                # a class split off later (SPLIT_FROM: 7x7 depthwise) is compared merged into the
                # class it left; these profiles price it as that class
                cls = {}
                for k, v in class_breakdown(rep, prof, rt).items():
                    cls[SPLIT_FROM.get(k, k)] = cls.get(SPLIT_FROM.get(k, k), 0.0) + v
                assert set(cls) == set(want["classes"])
                for k, v in want["classes"].items():
                    assert cls[k] == pytest.approx(v, rel=1e-9, abs=1e-12), (name, rt, e.name, k)
                seen += 1
    assert seen == len(recorded) == len(list_models()) * 7      # 5 per-class profiles + the GPU one x 2 runtimes


def test_every_profile_names_one_registered_form():
    names = {load_profile(n).form.name for n in shipped_profiles()}
    assert names == {"per-class", "gpu-host-device"} and names <= set(FORMS)
    with pytest.raises(ValueError, match="already registered"):
        register_form(FORMS["per-class"])


# -- a toy form from this module alone ------------------------------------------------------------

class KTimesMacs(Form):
    """latency = k x GMAC (a toy: one coefficient)."""

    name = "toy-k-macs"
    composes = True
    summary = "k ms per GMAC of the whole model"

    def check(self, pred, fail):
        k = pred.get("ms_per_gmac")
        if not isinstance(k, (int, float)) or isinstance(k, bool) or not math.isfinite(k) or k < 0:
            fail("predictor.ms_per_gmac", "must be a non-negative number")

    def predict(self, graph, profile, runtime=None):
        k = profile.require_fitted()["ms_per_gmac"]
        free = ops.free_mask(graph)
        ms = {n.id: (0.0 if free[n.id] else k * (ops.count(n, 4) or {}).get("macs", 0) / 1e9) for n in graph.nodes}
        return Prediction(profile.runtime, float(sum(ms.values())), ms)

    def predict_items(self, items, profile, rows=None):
        g = items.gmac if rows is None else items.gmac[rows]
        return profile.require_fitted()["ms_per_gmac"] * g

    def fit(self, items, idx, y, *, base=None, **options):
        g, y = items.gmac[idx], np.asarray(y, float)
        k = float(np.sum(g / y) / np.sum((g / y) ** 2))         # least squares on relative error

        class Fit:
            label = "k"
            alternatives: dict = {}

            def predictor(self):
                return {"form": "toy-k-macs", "ms_per_gmac": round(k, 9)}

            def predict(self, items, rows=None):
                return k * (items.gmac if rows is None else items.gmac[rows])
        return Fit()


@pytest.fixture
def toy():
    form = register_form(KTimesMacs())
    yield form
    unregister_form(form.name)


TRUE_K = 90.0      # ms per GMAC of the made-up device


def _measurements(tmp_path) -> Path:
    specs = ["mobilenet_v1:width=0.5", "mobilenet_v1", "mobilenet_v2", "shufflenet_v2", "shufflenet_v2:width=0.5",
             "squeezenet1_1", "resnet18", "shufflenet_v1", "mobilenet_v2:width=0.5", "squeezenet1_0"]
    rows = ["spec,latency_ms"]
    for i, s in enumerate(specs):
        macs = costlab.analyze(s).totals["macs"]
        rows.append(f"{s},{TRUE_K * macs / 1e9 * (1 + 0.01 * (i % 3 - 1)):.4f}")     # +-1% noise
    p = tmp_path / "board.csv"
    p.write_text("\n".join(rows) + "\n")
    return p


def test_a_new_form_runs_through_calibrate_validate_and_analyze(toy, tmp_path, capsys, monkeypatch):
    from costlab.cli import main

    monkeypatch.setenv("COSTLAB_PROFILES", str(tmp_path / "profiles"))
    csv = _measurements(tmp_path)
    out = tmp_path / "toy.json"

    def run(args):
        try:
            main(args)
        except SystemExit as exc:
            return exc.code, *capsys.readouterr()
        return 0, *capsys.readouterr()

    code, o, e = run(["calibrate", "--measurements", str(csv), "--name", "toy", "--predictor", "toy-k-macs",
                      "-o", str(out), "-q"])
    assert code in (0, None), e
    d = json.loads(out.read_text())
    validate_profile(d)
    prof = load_profile(str(out))
    assert prof.form is toy and prof.predictor["ms_per_gmac"] == pytest.approx(TRUE_K, rel=0.02)
    assert d["validation"]["mape"] < 2.0                       # the form's own leave-one-out

    code, o, e = run(["analyze", "resnet34", "--device", str(out), "--format", "json"])
    assert code in (0, None), e
    rep = json.loads(o)
    assert rep["totals"]["latency_ms"] == pytest.approx(prof.predictor["ms_per_gmac"] * rep["totals"]["macs"] / 1e9,
                                                        rel=1e-6)
    assert rep["latency"]["predictor"] == "toy-k-macs"

    code, o, e = run(["validate", "--measurements", str(csv), "--predictor", "toy-k-macs", "--samples", "5",
                      "--repeats", "3", "--format", "json"])
    assert code in (0, None), e
    v = json.loads(o)
    assert v["mape"] < 2.0 and v["chosen"] == {"k": 3}

    code, o, e = run(["validate", "--device", str(out), "--format", "json", "-q"])
    assert code in (0, None), e
    assert json.loads(o)["n"] == 10


def test_an_unknown_form_is_refused_with_the_known_ones(tmp_path):
    d = load_profile("arm").to_dict()
    d["predictor"] = {"form": "nope", "ms_per_gmac": 1.0}
    with pytest.raises(ProfileError, match="predictor.classes"):
        validate_profile(d)      # an unregistered name is a per-class fit's design name: checked as per-class
    assert form_of({"form": "gpu-host-device"}).name == "gpu-host-device"
