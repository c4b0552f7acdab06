"""costlab search: the knob grid, the fast path (block features x coefficients) against the
full predictor, the Pareto front, the choice under a budget, the CLI and its one-line errors."""
from __future__ import annotations

import csv
import json
import random

import pytest

import costlab
from costlab import search as S
from costlab.cli import main
from costlab.errors import InputError, SpecError, UsageError
from costlab.zoo.registry import get_entry


def close(a: float, b: float, rel: float = 1e-6) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b))


# -- the grid ---------------------------------------------------------------------------------

def test_ranges_are_inclusive_and_exact():
    kn = get_entry("mobilenet_v2").knobs["width"]
    vals = S.knob_values("width", "0.35:1.4:0.05", kn)
    assert len(vals) == 22 and vals[0] == 0.35 and vals[-1] == 1.4 and 0.7 in vals
    res = S.knob_values("resolution", "96:224:32", S.Knob(224, type=int, low=1))
    assert res == [96, 128, 160, 192, 224]
    assert S.knob_values("groups", "1,2,3,4,8,2", get_entry("shufflenet_v1").knobs["groups"]) == [1, 2, 3, 4, 8]


@pytest.mark.parametrize("knobs, kind, words", [
    ({"depth": "1,2"}, SpecError, "no knob 'depth'"),
    ({"width": "1.4:0.35:0.05"}, UsageError, "empty range"),
    ({"width": "0.3:a:0.1"}, UsageError, "bad range"),
    ({"width": "0.3:1.0:0"}, UsageError, "positive"),
    ({"width": ""}, UsageError, "no values"),
    ({"width": "0.5,,1.0"}, UsageError, "empty value"),
    ({"width": "1.5:2.5:0.5"}, SpecError, "must lie in"),
    ({"resolution": "96:100:1.5"}, UsageError, "whole numbers"),
])
def test_bad_grids_are_refused(knobs, kind, words):
    with pytest.raises(kind, match=words):
        S.knob_grid("mobilenet_v2", knobs)


def test_fixed_knobs_stay_and_cannot_be_gridded_twice():
    entry, variants, names = S.knob_grid("shufflenet_v1:width=0.5", {"groups": "1,8", "resolution": "160"})
    assert names == ["groups", "resolution"]
    assert [S.variant_spec(entry, {k: v for k, v in x.items() if k != "resolution"}) for x in variants] == \
        ["shufflenet_v1:width=0.5,groups=1", "shufflenet_v1:width=0.5,groups=8"]
    with pytest.raises(UsageError, match="both in"):
        S.knob_grid("shufflenet_v1:width=0.5", {"width": "1.0"})
    with pytest.raises(SpecError, match="must be one of megvii, torchvision"):
        S.knob_grid("shufflenet_v2", {"impl": "1:2:1"})          # text knobs take lists, not ranges


def test_space_samples_are_distinct_deterministic_and_valid():
    a = S.sample_space("fbnet", 50, seed=3)
    assert a == S.sample_space("fbnet", 50, seed=3) and len(set(a)) == 50 and a != S.sample_space("fbnet", 50, seed=4)
    nb = S.sample_space("nb201", 15625, seed=0)
    assert len(set(nb)) == 15625                       # the whole space, each once
    for spec in a[:3] + nb[:3]:
        costlab.zoo.parse_spec(spec)
        S.spec_blocks(spec)                            # the arch parses
    with pytest.raises(UsageError, match="15,625"):
        S.sample_space("nb201", 15626)
    with pytest.raises(UsageError, match="not a search space"):
        S.sample_space("mobilenet_v2", 5)


# -- the fast path equals the predictor -------------------------------------------------------

@pytest.mark.parametrize("device", ["arm", "cpu"])      # two fusion sets
def test_fast_path_equals_analyze(device):
    r = S.search("mobilenet_v2", {"width": "0.5,1.0", "resolution": "96,160"}, device=device, budget_ms=1e6)
    assert r.prediction == "blocks" and len(r.variants) == 4
    for v in r.variants:
        rep = costlab.analyze(v["spec"], resolution=v["resolution"], device=device)
        assert close(v["latency_ms"], rep.totals["latency_ms"]), v
        assert (v["macs"], v["params"]) == (rep.totals["macs"], rep.totals["params"])


@pytest.mark.parametrize("space, n", [("fbnet", 40), ("nb201", 20)])
def test_spaces_compose_from_blocks_and_equal_analyze(space, n):
    r = S.search(space, {}, device="arm", budget_ms=1e6, space=n, seed=1)
    assert r.prediction == "blocks" and len(r.variants) == n and r.grid == ["arch"]
    for v in random.Random(0).sample(r.variants, 3):
        rep = costlab.analyze(v["spec"], device="arm")
        assert close(v["latency_ms"], rep.totals["latency_ms"]), v["spec"]
        assert (v["macs"], v["params"]) == (rep.totals["macs"], rep.totals["params"])


def test_a_form_that_does_not_compose_goes_the_full_path(monkeypatch):
    from costlab.latency.forms.per_class import PER_CLASS

    monkeypatch.setattr(type(PER_CLASS), "composes", False)        # e.g. the GPU two-clock form
    r = S.search("mobilenet_v2", {"width": "0.5,0.75"}, device="arm", budget_ms=1e6)
    assert r.prediction == "full"
    for v in r.variants:
        assert close(v["latency_ms"], costlab.analyze(v["spec"], device="arm").totals["latency_ms"])
    assert S.predict_costs([("mobilenet_v2:width=0.5", (1, 3, 96, 96))], ["arm"]).paths == {"arm-sd810": "full"}


# -- the front and the choice -----------------------------------------------------------------

def test_pareto_front_matches_brute_force():
    rng = random.Random(7)
    for _ in range(50):
        n = rng.randint(1, 30)
        lat = [rng.randint(1, 10) for _ in range(n)]
        cap = [rng.randint(1, 10) for _ in range(n)]
        front = S.pareto_front(lat, cap)
        pts = {(lat[i], cap[i]) for i in range(n)}
        brute = {p for p in pts if not any(q != p and q[0] <= p[0] and q[1] >= p[1] for q in pts)}
        assert {(lat[i], cap[i]) for i in front} == brute and len(front) == len(brute)
        assert [lat[i] for i in front] == sorted(lat[i] for i in front)


def test_objectives_and_budget():
    grid = {"width": "0.35:1.4:0.35", "resolution": "96,160,224"}
    r = S.search("mobilenet_v2", grid, device="arm", budget_ms=30)
    ok = [v for v in r.variants if v["latency_ms"] <= 30]
    best = r.require_best()
    assert best["macs"] == max(v["macs"] for v in ok) and r.best in r.front
    p = S.search("mobilenet_v2", grid, device="arm", budget_ms=30, objective="params")
    assert p.require_best()["params"] == max(v["params"] for v in ok)
    f = S.search("mobilenet_v2", grid, device="arm", budget_ms=30, objective="-latency")
    assert f.require_best()["latency_ms"] == min(v["latency_ms"] for v in r.variants)
    none = S.search("mobilenet_v2", grid, device="arm", budget_ms=1)
    assert none.best is None
    with pytest.raises(InputError, match=r"fastest, mobilenet_v2:width=0.35 at 1x3x96x96, takes [\d.]+ ms"):
        none.require_best()


# -- the command ------------------------------------------------------------------------------

def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_constants_agree_with_the_library():
    from costlab.cli import cmd_search

    assert (cmd_search.OBJECTIVES, cmd_search.RESOLUTION) == (S.OBJECTIVES, S.RESOLUTION)


def test_cli_table_csv_json_and_plot(capsys, tmp_path):
    base = ["search", "mobilenet_v2", "--knob", "width=0.5:1.0:0.25", "--knob", "resolution=96,128",
            "--device", "arm", "--budget-ms", "30"]
    code, out, err = run(base + ["--plot", str(tmp_path / "front.png")], capsys)
    assert code == 0, err
    assert "Pareto front of mobilenet_v2 on arm-sd810" in out and "best under 30 ms (most MACs):" in out
    assert (tmp_path / "front.png").stat().st_size > 10_000
    code, out, err = run(base + ["-o", str(tmp_path / "all.csv")], capsys)
    rows = list(csv.DictReader(open(tmp_path / "all.csv")))
    assert code == 0 and out == "" and len(rows) == 6
    assert sum(r["chosen"] == "True" for r in rows) == 1 and any(r["on_front"] == "True" for r in rows)
    code, out, err = run(base + ["--format", "json"], capsys)
    d = json.loads(out)
    assert d["device"] == "arm-sd810" and d["n_variants"] == 6 and d["best"]["latency_ms"] <= 30


@pytest.mark.parametrize("args, words", [
    (["mobilenet_v2", "--knob", "depth=1,2"], "no knob 'depth'"),
    (["mobilenet_v2", "--knob", "width=1.4:0.35:0.05"], "empty range"),
    (["mobilenet_v2", "--knob", "width=0.3:x:0.1"], "bad range"),
    (["mobilenet_v2", "--knob", "width"], "NAME=lo:hi:step"),
    (["mobilenet_v2", "--knob", "width=0.35,0.5", "--budget-ms", "0.5"], "fastest, mobilenet_v2:width=0.35"),
    (["mobilenet_v2", "--knob", "width=0.5", "--device", "nosuchdevice"], "nosuchdevice"),
    (["mobilenet_v2", "--space", "5"], "not a search space"),
    (["fbnet", "--space", "5", "--knob", "arch=x"], "do not give it too"),
    (["mobilenet_v2", "--plot", "front.gif"], "image format"),
])
def test_cli_errors_are_one_line_exit_2(args, words, capsys):
    full = ["search"] + args
    if "--device" not in args:
        full += ["--device", "arm"]
    if "--budget-ms" not in args:
        full += ["--budget-ms", "30"]
    code, out, err = run(full, capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("costlab: error:") and words in lines[0], err


def test_gpu_two_clock_profile_goes_the_full_path():
    from costlab.latency.profile import available_profiles

    gpu = next((p for p in available_profiles() if p.startswith("gpu-h")), None)
    if gpu is None:
        pytest.skip("no GPU host/device profile shipped")
    r = S.search("nb201", {}, device=gpu, budget_ms=1e6, space=3)
    assert r.prediction == "full"
    for v in r.variants:
        assert close(v["latency_ms"], costlab.analyze(v["spec"], device=gpu).totals["latency_ms"])


def test_max_form_profile_composes_and_equals_analyze():
    import copy

    from costlab.latency.profile import load_document

    p = copy.deepcopy(load_document("arm"))
    p["name"], p["predictor"]["combine"] = "arm-max-test", "max"
    r = S.search("fbnet", {}, device=p, budget_ms=1e6, space=10, seed=5)
    assert r.prediction == "blocks"
    for v in r.variants[:3]:
        ref = costlab.analyze(v["spec"], device=p).totals["latency_ms"]
        sum_form = costlab.analyze(v["spec"], device="arm").totals["latency_ms"]
        assert close(v["latency_ms"], ref) and not close(ref, sum_form)
