"""GPU latency as it really is (issue 12): the two-clock model, its profile section, the shipped
H200 profile and its held-out numbers, the CUDA measurement's pure parts. CPU only, from the
data copied into the package."""
from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from costlab.calibrate import sources
from costlab.calibrate.fit_gpu import DEVICE_FORMS, DeviceForm, HostForm, CompForm, fit_all, gpu_data
from costlab.calibrate.gpu_profile import bounds, fit_gpu_profile, fitted_from_profile, validate_gpu
from costlab.calibrate.measure_cuda import clock_stats, nearest_rank, noise_summary, sample_record
from costlab.blocks import sample_graph
from costlab.latency.forms import gpu as G
from costlab.latency.profile import ProfileError, load_document, load_profile, validate_profile
GPU_FORM = G.FORM

ROOT = Path(__file__).resolve().parent.parent.parent
CSV = ROOT / "costlab" / "data" / "latency" / "gpu_h200" / "gpu_decomp.csv"
TARGETS = {"cudagraph": (5.0, 90.0), "eager": (8.0, 80.0)}


@pytest.fixture(scope="module")
def prof():
    return load_document("gpu-h200")


@pytest.fixture(scope="module")
def held(prof):
    return {r: validate_gpu(prof, r, with_lono=False)["held_out"] for r in G.RUNTIMES}


# -- the shipped profile ------------------------------------------------------------------------------

def test_shipped_profile_loads_and_names_its_data(prof):
    assert load_profile(prof).form is G.GPU and prof["predictor"]["form"] == GPU_FORM == G.FORM
    assert prof["predictor"]["runtime"] in G.RUNTIMES and prof["device_class"] == "gpu"
    assert set(prof["predictor"]["device"]["classes"]) == set(G.DEVICE_CLASSES)
    sha = hashlib.sha256(CSV.read_bytes()).hexdigest()
    assert sha in prof["provenance"]["data_files"]
    assert prof["provenance"]["command"] == "costlab calibrate --build gpu-h200 -o profiles/gpu-h200.json"
    roles = [s.get("role", "fit") for s in prof["samples"]]
    assert roles.count("fit") == 852 and roles.count("check") == 68          # 17 held-out networks x 4 batches
    assert len(prof["validation"]["held_out_networks"]) == 17
    dup = {"resnet50", "mobilenet_v2:width=1.4", "alexnet"}
    assert not dup & set(prof["validation"]["held_out_networks"])


def test_builder_reads_the_package_copy():
    assert "gpu-h200" in sources.buildable()
    d = sources.build("gpu-h200")
    validate_profile(d)
    assert len(d["samples"]) == 920 and len(d["provenance"]["excluded"]) == 12
    s = d["samples"][0]
    assert s["latency_ms"] > s["host_ms"] > s["graph_ms"] > 0 and "eager_p90_ms" in s["stats"]


# -- composition rules ----------------------------------------------------------------------------

def test_cudagraph_is_device_plus_one_launch(prof):
    g, _ = sample_graph("mobilenet_v2", (1, 3, 224, 224))
    p = G.predict_graph(g, load_profile(prof), "cudagraph")
    launch = prof["predictor"]["device"]["graph_launch_ms"]
    assert p.total_ms == pytest.approx(launch + sum(n.device_ms for n in p.nodes))
    assert p.device_ms == pytest.approx(sum(n.device_ms for n in p.nodes)) and p.overhead_ms == launch


@pytest.mark.parametrize("spec, shape", [("mobilenet_v2", (1, 3, 224, 224)), ("vgg16", (64, 3, 224, 224)),
                                         ("micro_block_sv2:c=48,stride=1", (8, 48, 28, 28))])
def test_eager_lies_between_max_and_sum(prof, spec, shape):
    g, _ = sample_graph(spec, shape)
    prog = G.program(g)
    e = G.predict_program(prog, prof["predictor"], "eager")
    comp = prof["predictor"]["composition"]
    gaps = comp["gap_ms"] * sum(len(op.kernels) for op in prog.ops)
    assert e.total_ms >= max(e.host_ms, e.device_ms + gaps) + comp["sync_ms"] - 1e-12
    assert e.total_ms <= e.host_ms + e.device_ms + gaps + comp["sync_ms"] + 1e-12
    assert sum(n.latency_ms for n in e.nodes) + e.overhead_ms == pytest.approx(e.total_ms)


def test_composition_rules_on_a_hand_made_profile(prof):
    p = copy.deepcopy(prof)
    p["predictor"]["composition"] = {"eager": "queue", "gap_ms": 0.002, "sync_ms": 0.01}
    p["predictor"]["host"]["ms_per_forward"] = 0.0
    g, _ = sample_graph("micro_conv:cin=64,cout=64,k=3", (1, 64, 28, 28))     # one op, one kernel
    e, d = G.predict_graph(g, load_profile(p), "eager"), G.predict_graph(g, load_profile(p), "cudagraph")
    assert len(e.nodes) == 1
    # one op cannot overlap: dispatch, then the kernel (with its launch gap), then the sync
    assert e.total_ms == pytest.approx(e.host_ms + e.device_ms + 0.002 + 0.01)
    assert d.total_ms == pytest.approx(d.device_ms + p["predictor"]["device"]["graph_launch_ms"])
    p["predictor"]["composition"] = {"eager": "max", "gap_ms": 0.0, "sync_ms": 0.01}
    assert G.predict_graph(g, load_profile(p), "eager").total_ms == pytest.approx(max(e.host_ms, e.device_ms) + 0.01)
    assert G.queue([1.0, 1.0, 1.0], [0.5, 3.0, 0.5]) == [1.5, 5.0, 5.5]      # host 1, 2, 3; GPU waits, then leads


def test_bias_adds_a_kernel_and_views_cost_no_kernel():
    g, _ = sample_graph("squeezenet1_0", (1, 3, 224, 224))
    prog = G.program(g)
    first = prog.ops[0]
    assert first.cls == "conv_stem" and len(first.kernels) == 2 and first.kernels[1].extra
    g, _ = sample_graph("shufflenet_v2", (1, 3, 224, 224))
    prog = G.program(g)
    assert sum(op.views for op in prog.ops) + prog.tail_views > 0
    assert len(prog.ops) == sum(1 for n in g.nodes if not n.is_view and G.ops.is_free(n) is False)


def test_bound_summary(prof):
    b1 = bounds(prof, "mobilenet_v2", batches=(1,))[0]
    assert b1["bound"] == "host" and b1["batch"] == 1 and b1["host_ms"] > 3 * b1["device_ms"]
    assert re.fullmatch(r"host-bound at batch 1: [\d.]+ ms dispatch vs [\d.]+ ms GPU", b1["text"])
    assert bounds(prof, "vgg16", batches=(64,))[0]["bound"] == "device"


# -- fit and model agree; held-out numbers reproduce the report --------------------------------------

def test_fit_arrays_and_model_agree(prof):
    d = {**prof, "samples": [s for s in prof["samples"] if s.get("role") == "check"][::9]}
    f, _, _ = fitted_from_profile(prof)
    data = gpu_data(d)
    pred = f.predict(data)
    for i, s in enumerate(d["samples"]):
        g, _ = sample_graph(s["spec"], s["input_shape"])
        for r in G.RUNTIMES:
            assert G.predict_graph(g, load_profile(prof), r).total_ms == pytest.approx(pred[r][i], rel=1e-9)


def _fmt(x):
    return f"{x:.1f}%"


def test_held_out_numbers_reproduce_profile_and_report(prof, held):
    report = (ROOT / "reports" / "gpu-h200.md").read_text()
    for r in G.RUNTIMES:
        got, stored = held[r]["all"], prof["validation"]["held_out"][r]["all"]
        assert got["n"] == stored["n"] == 68
        for k in ("mape", "within_10pct", "spearman"):
            assert got[k] == pytest.approx(stored[k], abs=1e-6), (r, k)
            assert got["baseline"][k] == pytest.approx(stored["baseline"][k], abs=1e-6), (r, k)
        for b, m in held[r]["per_batch"].items():
            assert m == prof["validation"]["held_out"][r]["per_batch"][b]
        assert f"{r}: MAPE {_fmt(got['mape'])} (target <= {TARGETS[r][0]:g}%), within +-10% " \
               f"{_fmt(got['within_10pct'])}" in report
        assert got["mape"] < got["baseline"]["mape"] / 4           # far better than FLOPs-only
        assert got["spearman"] > 0.9
    assert held["eager"]["all"]["mape"] <= TARGETS["eager"][0]     # met; cudagraph's 5% is not (see the report)
    assert held["cudagraph"]["all"]["mape"] < 8.0


def test_small_fit_end_to_end():
    """The fit on a reduced sample set: networks, every 8th op/block, 3 held-out networks."""
    d = sources.build("gpu-h200")
    keep = [s for i, s in enumerate(d["samples"]) if s["granularity"] == "network" and s.get("role") != "check"
            or (s["granularity"] != "network" and i % 8 == 0)
            or s.get("role") == "check" and s["spec"] in ("mobilenet_v1", "resnet18", "squeezenet1_1")]
    keep = copy.deepcopy(keep)
    keep[1].pop("graph_ms")                      # a sample whose graph capture failed: eager + host only
    keep[1]["graph_error"] = "RuntimeError: operation not permitted when stream is capturing"
    out = fit_gpu_profile({**d, "samples": keep}, progress=False, with_candidates=False)
    validate_profile(out)
    sel = out["predictor"]["selection"]
    assert set(sel["chosen"]) == {"device", "host", "composition"} and len(sel["device"]) == len(DEVICE_FORMS)
    assert out["validation"]["held_out"]["eager"]["all"]["n"] == 12
    assert out["validation"]["lono"]["cudagraph"]["all"]["n"] == 44


def test_fit_all_is_deterministic_on_the_same_rows(prof):
    d = {**prof, "samples": [s for s in prof["samples"] if s["granularity"] == "network"]}
    data = gpu_data(d)
    idx = np.flatnonzero(data.fit)
    a = fit_all(data, idx, DeviceForm(True, 10.0, True), HostForm(True, True, False), CompForm("queue"))
    b = fit_all(data, idx, DeviceForm(True, 10.0, True), HostForm(True, True, False), CompForm("queue"))
    assert a.dev["classes"] == b.dev["classes"] and (a.gap, a.sync) == (b.gap, b.sync)


# -- the GPU profile section is validated with the wrong field named ---------------------------------

@pytest.mark.parametrize("mutate, field", [
    (lambda p: p["predictor"].update(runtime="jit"), "predictor.runtime"),
    (lambda p: p["predictor"]["device"]["classes"].pop("conv_stem"), "predictor.device.classes.conv_stem"),
    (lambda p: p["predictor"]["device"]["classes"]["norm"].update(ms_per_serial=-1.0),
     "predictor.device.classes.norm.ms_per_serial"),
    (lambda p: p["predictor"]["device"].pop("graph_launch_ms"), "predictor.device.graph_launch_ms"),
    (lambda p: p["predictor"]["host"]["classes"]["conv_pw"].pop("ms_per_op"), "predictor.host.classes.conv_pw.ms_per_op"),
    (lambda p: p["predictor"]["host"].update(ms_per_view="2us"), "predictor.host.ms_per_view"),
    (lambda p: p["predictor"].pop("host"), "predictor.host"),
    (lambda p: p["predictor"]["composition"].update(eager="sum"), "predictor.composition.eager"),
    (lambda p: p["predictor"]["composition"].update(sync_ms=float("nan")), "predictor.composition"),
    (lambda p: p["predictor"]["composition"].update(eager="pnorm", p=0.5), "predictor.composition.p"),
    (lambda p: p["samples"][3].update(host_ms=-0.1), "samples[3].host_ms"),
    (lambda p: p["samples"][3].update(graph_ms="fast"), "samples[3].graph_ms"),
    (lambda p: p["samples"][3].update(graph_error=3), "samples[3].graph_error"),
])
def test_malformed_gpu_profile_names_the_field(prof, mutate, field):
    p = copy.deepcopy(prof)
    mutate(p)
    with pytest.raises(ProfileError) as e:
        validate_profile(p)
    assert field in str(e.value)


def test_cpu_profiles_keep_their_form():
    for name in ("arm-sd810", "gpu-gtx1080ti", "arm-pixel1-tflite", "arm-sd810-ncnn"):
        d = load_document(name)
        assert load_profile(d).form is not G.GPU and "classes" in d["predictor"]


# -- the CUDA measurement's pure parts ------------------------------------------------------------------

def test_measure_cuda_statistics_and_records():
    xs = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 6.0, 7.0, 8.0, 9.0]
    assert nearest_rank(xs, 0.1) == 2.0 and nearest_rank(xs, 0.9) == 10.0
    st = clock_stats(xs)
    assert st["median_ms"] == 5.5 and st["noise"] == pytest.approx(8 / 5.5) and st["repeats"] == 10
    rec = sample_record("micro_conv:cin=8,cout=8,k=1", (1, 8, 14, 14),
                        {"eager": [0.03, 0.031, 0.029], "host": [0.02, 0.021, 0.019], "graph": [0.01, 0.01, 0.011]})
    assert rec["latency_ms"] == 0.03 and rec["host_ms"] == 0.02 and rec["graph_ms"] == 0.01
    assert rec["granularity"] == "op" and rec["family"] == "micro" and "graph_error" not in rec
    failed = sample_record("lenet5", (1, 1, 28, 28), {"eager": [0.2], "host": [0.15], "graph": []},
                           "RuntimeError: operation not permitted when stream is capturing")
    assert "graph_ms" not in failed and failed["graph_error"].startswith("RuntimeError")
    assert failed["granularity"] == "network"
    summ = noise_summary([rec, failed])
    assert summ["graph_failed"] == 1 and summ["eager"]["median"] >= 0
    d = sources.build("gpu-h200")
    d["samples"] = [rec, failed]
    validate_profile(d)
