"""The deployment runtimes (costlab.runtimes) for real on tiny models: ONNX Runtime always (CI
installs costlab[ort]); OpenVINO and LiteRT where installed."""
from __future__ import annotations

import importlib.util
import json

import pytest
import torch
import torch.nn as nn

from costlab.errors import MeasureError, UsageError
from costlab.runtimes import RuntimeMissing, artifact, build_model, get_runtime, open_session
from costlab.runtimes.base import OpTime, op_in_message
from costlab.runtimes.cache import module_digest
from costlab.runtimes.layers import by_layer, map_kernels, module_of
from tests.cli.measurement_boards import run

needs_ort = pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="costlab[ort] not installed")
needs_ov = pytest.mark.skipif(importlib.util.find_spec("openvino") is None, reason="costlab[openvino] not installed")
needs_litert = pytest.mark.skipif(importlib.util.find_spec("litert_torch") is None or
                                  importlib.util.find_spec("ai_edge_litert") is None,
                                  reason="costlab[litert] not installed")

TINY = "micro_conv:cin=8,cout=16,k=3,stride=1,groups=1"
SHAPE = (1, 8, 16, 16)


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("COSTLAB_CACHE", str(tmp_path_factory.getbasetemp() / "cl-cache"))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x))) + x


class Block2(Block):
    def forward(self, x):          # same weights, another forward
        return torch.relu(self.bn(self.conv(x)))


def test_unknown_runtime_is_one_line():
    with pytest.raises(UsageError, match="unknown runtime 'tvm'; use one of torch, ort, openvino, litert"):
        get_runtime("tvm")


def test_missing_runtime_names_its_extra(monkeypatch):
    rt = get_runtime("openvino")
    monkeypatch.setattr(type(rt), "modules", ("costlab_no_such_module_xyz",))
    with pytest.raises(RuntimeMissing, match=r"pip install 'costlab\[openvino\]'"):
        rt.require()


def test_dtype_a_runtime_lacks_is_refused():
    with pytest.raises(MeasureError, match="int8 is not supported by runtime 'openvino'.*NNCF"):
        get_runtime("openvino").check_dtype("int8")
    with pytest.raises(MeasureError, match="unknown --dtype"):
        get_runtime("ort").check_dtype("float16")


def test_module_digest_sees_weights_and_forward():
    torch.manual_seed(0)
    a = Block()
    b = Block2()
    b.load_state_dict(a.state_dict())
    assert module_digest(a) != module_digest(b)            # same weights, other forward
    c = Block()
    c.load_state_dict(a.state_dict())
    assert module_digest(a) == module_digest(c)
    with torch.no_grad():
        c.conv.weight[0, 0, 0, 0] += 1
    assert module_digest(a) != module_digest(c)


@needs_ort
def test_a_model_that_does_not_run_on_the_input_is_an_input_error():
    from costlab.errors import InputError

    with pytest.raises(InputError, match="does not run on a 1x8x16x16 input"):
        artifact("ort", Block(), SHAPE)
    # a zoo model given an input it cannot take: the message names its default input
    with pytest.raises(InputError, match="its default input is 1x1x28x28"):
        artifact("ort", "lenet5", (1, 3, 28, 28))


def test_op_named_in_converter_messages():
    assert op_in_message("Exporting the operator 'aten::linalg_svd' to ONNX opset 17 is not supported") \
        == "aten::linalg_svd"
    assert op_in_message("no idea") is None


def test_module_of_onnx_scopes():
    mods = {"features.1.conv.0", "features.1.conv", "features.1", "features", "classifier.1", ""}
    assert module_of("/features/features.1/conv/conv.0/Conv", mods) == "features.1.conv.0"
    assert module_of("/features/features.1/conv/conv.0/Conv/WithoutBiases", mods) == "features.1.conv.0"
    assert module_of("/classifier/classifier.1/Gemm", mods) == "classifier.1"
    assert module_of("ReorderOutput_token_5", {"features"}) is None
    ks = map_kernels([OpTime("k1", "Conv", 2.0, ("/features/features.1/Relu", "/features/features.1/conv/conv.0/Conv")),
                      OpTime("ReorderOutput", "ReorderOutput", 0.5, ())], mods)
    assert ks[0]["layer"] == "features.1.conv.0"           # the conv of a fused kernel names it
    rows = by_layer(ks, {"features.1.conv.0": 1.5})
    assert rows[0]["predicted_ms"] == 1.5 and rows[-1]["layer"] is None and rows[-1]["measured_ms"] == 0.5


@needs_ort
def test_artifact_is_cached_by_content(tmp_path):
    a1 = artifact("ort", TINY, SHAPE)
    a2 = artifact("ort", TINY, SHAPE)
    assert not a1.cached and a2.cached
    assert a1.path == a2.path and a1.sha256 == a2.sha256 and a1.path.suffix == ".onnx"
    a3 = artifact("ort", TINY, (1, 8, 20, 20))              # another input: another artifact
    assert a3.key != a1.key
    # a file changed behind costlab's back is converted again, never used
    a1.path.write_bytes(b"corrupt")
    a4 = artifact("ort", TINY, SHAPE)
    assert not a4.cached and a4.sha256 == a1.sha256


@needs_ort
def test_ort_session_and_per_op_profile_cover_the_export():
    s, art = open_session("ort", Block(), (1, 4, 8, 8))
    s.run()
    ops = s.op_times(3)
    covered = {c for o in ops for c in o.covers}
    import onnx

    exported = {n.name for n in onnx.load(str(art.path)).graph.node if n.op_type not in ("Constant", "Identity")}
    # every exported compute node is covered by exactly one kernel the profiler reported
    assert exported <= covered, exported - covered
    assert all(o.ms >= 0 for o in ops) and sum(o.ms for o in ops) > 0


@needs_ort
def test_ort_int8_is_a_qdq_graph():
    import onnx

    art = artifact("ort", TINY, SHAPE, dtype="int8")
    types = {n.op_type for n in onnx.load(str(art.path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= types
    assert "QDQ" in art.meta["quantization"]


@needs_ort
def test_ort_fusion_found_from_its_profile():
    from costlab.runtimes.fusion import PROBES, discover

    rules, evidence = discover(get_runtime("ort"))
    assert set(PROBES) <= set(evidence) and set(evidence) - set(PROBES) <= {"apart:silu", "apart:hardswish"}
    assert "conv+bn" in rules and "conv+act" in rules       # ORT's FuseConvActivation, BN folded by export
    assert "add+act" not in rules or "covers" in evidence["add+act"]
    assert all(("covers" in evidence[r]) or ("folded" in evidence[r]) for r in rules
               if r != "conv+bn+act" and not r.startswith("apart:"))
    # an 'apart:' modifier only where that activation's probe shows a kernel of its own
    assert all("own kernel" in evidence[r] for r in rules if r.startswith("apart:"))


def test_ort_covers_anchors_a_fusion_kernel_named_after_its_node():
    """ORT names a QuickGelu (SiLU as Sigmoid * x) '/Mul/QuickGeluFusion/' with a fresh output:
    it covers the Mul and the Sigmoid (they were given to the conv before it)."""
    pytest.importorskip("onnx")
    from onnx import helper as h

    from costlab.runtimes.onnx_rt import _covers

    src = h.make_graph([h.make_node("Conv", ["x", "w"], ["c"], name="/conv/Conv"),
                        h.make_node("Sigmoid", ["c"], ["s"], name="/Sigmoid"),
                        h.make_node("Mul", ["c", "s"], ["m"], name="/Mul"),
                        h.make_node("MaxPool", ["m"], ["out"], name="/MaxPool")], "g", [], [])
    opt = h.make_graph([h.make_node("Conv", ["x", "w"], ["c_nchwc"], name="c_nchwc"),
                        h.make_node("QuickGelu", ["c"], ["fresh_token"], name="/Mul/QuickGeluFusion/"),
                        h.make_node("MaxPool", ["fresh_token"], ["out"], name="/MaxPool")], "g", [], [])
    cov = _covers(h.make_model(src), h.make_model(opt))
    assert set(cov["/Mul/QuickGeluFusion/"]) == {"/Mul", "/Sigmoid"} and cov["c_nchwc"] == ("/conv/Conv",)


def test_ort_covers_gives_a_fused_residual_add_to_the_conv_not_the_pool_after_it():
    """ORT's NCHWc conv fuses the residual Add and its Relu (a Sum input) but keeps the conv's
    output name: the pool after it, whose input no longer names the Relu, covered them (and
    the fusion probe said 'Add runs as its own kernel')."""
    onnx = pytest.importorskip("onnx")
    from onnx import helper as h

    from costlab.runtimes.onnx_rt import _covers

    src = h.make_graph([h.make_node("Conv", ["x", "w"], ["c"], name="/conv/Conv"),
                        h.make_node("Add", ["c", "y"], ["a"], name="/Add"),
                        h.make_node("Relu", ["a"], ["r"], name="/Relu"),
                        h.make_node("MaxPool", ["r"], ["out"], name="/MaxPool")], "g", [], [])
    opt = h.make_graph([h.make_node("Conv", ["x", "w", "b", "y"], ["c_nchwc"], name="c_nchwc"),
                        h.make_node("MaxPool", ["c_nchwc"], ["out_nchwc"], name="out_nchwc")], "g", [], [])
    cov = _covers(h.make_model(src), h.make_model(opt))
    assert set(cov["c_nchwc"]) == {"/conv/Conv", "/Add", "/Relu"}
    assert cov["out_nchwc"] == ("/MaxPool",)


@needs_ov
def test_openvino_session_and_counters():
    s, _ = open_session("openvino", Block(), (1, 4, 8, 8))
    s.run()
    ops = s.op_times(3)
    conv = [o for o in ops if any(c.endswith("/conv/Conv") for c in o.covers)]
    assert conv and conv[0].ms > 0


@needs_ov
def test_openvino_kernel_writing_the_graph_output_maps_to_its_layer(capsys):
    # OpenVINO names the node that writes a graph output after the output ('output'): LeNet-5's
    # last linear was listed under "no costlab layer: layout, reorders"
    code, out, err = run(["bench", "lenet5", "--runtime", "openvino", "--runs", "2", "--warmup", "0", "--format",
                          "json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert "classifier.fc2" in [r["layer"] for r in d["layers"]]
    assert all(o["op_type"] == "Reorder" for o in d["ops"] if o["layer"] is None)


@needs_ort
def test_bench_table_names_the_models_own_forward(capsys):
    # LeNet-5 flattens in its own forward: ORT's Flatten kernel maps to module '' (was a blank cell)
    code, out, err = run(["bench", "lenet5", "--runtime", "ort", "--runs", "2", "--warmup", "0"], capsys)
    assert code == 0, err
    row = next(ln for ln in out.splitlines() if "Flatten" in ln)
    assert row.startswith("(the model's own forward)")


@needs_ort
def test_bench_cli_json(capsys):
    code, out, err = run(["bench", TINY, "--runtime", "ort", "--input-shape", "1x8x16x16", "--runs", "5",
                          "--warmup", "1", "--format", "json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    for k in ("median_ms", "p10_ms", "p90_ms", "runs", "runtime", "threads", "convert_s", "runtime_version",
              "cpu_model"):
        assert k in d
    assert d["runtime"] == "ort" and d["threads"] == 1 and d["runs"] == 5 and len(d["times_ms"]) == 5
    assert d["p10_ms"] <= d["median_ms"] <= d["p90_ms"]
    assert d["layers"] and d["layers"][0]["layer"] == "body"     # the micro conv's module


@needs_ort
def test_bench_cli_table_with_prediction(capsys):
    code, out, err = run(["bench", TINY, "--runtime", "ort", "--input-shape", "1x8x16x16", "--runs", "3",
                          "--device", "cpu"], capsys)
    assert code == 0, err
    assert "median" in out and "predicted ms" in out


@pytest.mark.parametrize("args, msg", [
    (["--runtime", "tvm"], "Invalid value for '--runtime'"),
    (["--runtime", "openvino", "--dtype", "int8"], "not supported by runtime 'openvino'"),
    (["--runtime", "ort", "--threads", "2", "--clock", "thread"], "--clock thread needs --threads 1"),
    # an input dtype was dropped without a word: timed as float32
    (["--runtime", "ort", "--input-shape", "1x8x16x16:int64"], "drop ':int64' from --input-shape"),
])
def test_bench_bad_input_exit_2(capsys, args, msg):
    code, out, err = run(["bench", TINY] + args, capsys)
    assert code == 2 and msg in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3


@needs_ort
@pytest.mark.parametrize("cmd", ["bench", "export"])
def test_a_model_file_is_refused_in_one_line(capsys, tmp_path, cmd):
    # was: AttributeError: 'OnnxModel' object has no attribute 'eval' (a traceback, exit 1)
    onnx_file = tmp_path / "tiny.onnx"
    art = artifact("ort", TINY, SHAPE)
    onnx_file.write_bytes(art.path.read_bytes())
    extra = ["-o", str(tmp_path / "out")] if cmd == "export" else []
    rt = "onnx" if cmd == "export" else "ort"
    code, out, err = run([cmd, str(onnx_file), "--runtime", rt, *extra], capsys)
    assert code == 2 and "is a model file" in err and "costlab analyze" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
    with pytest.raises(UsageError, match="is a model file"):
        build_model(str(onnx_file))


def test_bench_absent_runtime_names_extra(capsys, monkeypatch):
    rt = get_runtime("litert")
    monkeypatch.setattr(type(rt), "modules", ("costlab_no_such_module_xyz",))
    code, out, err = run(["bench", TINY, "--runtime", "litert"], capsys)
    assert code == 2 and "pip install 'costlab[litert]'" in err and out == ""


@needs_ort
def test_conversion_error_names_op_and_runtime():
    class Svd(nn.Module):
        def forward(self, x):
            return torch.linalg.svd(x.flatten(1))[1]

    from costlab.runtimes import ConversionError

    with pytest.raises(ConversionError, match=r"ONNX Runtime \(ort\) cannot convert 'Svd': op "):
        artifact("ort", Svd(), (1, 4, 4))


@needs_ort
def test_runtime_profile_measures_through_the_runtime():
    from costlab.runtimes.profile import measure_runtime_profile

    items = [("micro_conv:cin=8,cout=16,k=1,stride=1,groups=1", (1, 8, 16, 16)),
             ("micro_act:c=8,act=relu", (1, 8, 16, 16)),
             ("micro_add:c=8", (1, 8, 16, 16)), ("lenet5", (1, 1, 28, 28)), ("lenet_300_100", (1, 1, 28, 28))]
    d = measure_runtime_profile("ort", items, name="t-ort", threads=1, repeats=3, warmup=1, command=None,
                                progress=False, clock="auto", batch=1, seed=0)
    assert d["provenance"]["machine"]["runtime"] == "ort"
    assert "conv+act" in d["fusion"] and "ONNX Runtime" in d["runtime"]
    assert len(d["samples"]) == 5 and all(s["latency_ms"] > 0 for s in d["samples"])
    assert all("convert_s" in s["stats"] and "noise" in s["stats"] for s in d["samples"])
    assert set(d["provenance"]["fusion_evidence"]) >= {"conv+act", "add+act"}
    # op samples timed both ways; none is chosen: latency_ms is their geometric mean and the fit
    # averages over the three timings and the network weights
    t = d["provenance"]["op_timing"]
    assert [c["mode"] for c in t["candidates"]] == ["interleaved", "burst", "geomean"]
    assert t["chosen"] == "mean" and t["latency_ms"] == "geomean"
    assert d["provenance"]["fit_options"] == {"network_weights": [1, 5, 20], "combine": "mean",
                                              "op_timings": ["interleaved", "burst", "geomean"]}
    for s in d["samples"]:
        if s["granularity"] != "network":
            st, share = s["stats"], s["stats"]["edge_share"]
            i, b = [max((m - st["call_overhead_ms"]) * (1 - share), 0.05 * m) for m in (st["median_ms"], st["burst_median_ms"])]
            assert s["latency_ms"] == pytest.approx((i * b) ** 0.5, rel=1e-4, abs=2e-6)
    assert "the predictor the mean of the fits under every timing" in d["provenance"]["method"]


def test_validate_measure_goes_through_the_profile_runtime(monkeypatch):
    from costlab.calibrate import validate as V
    from costlab.latency.profile import load_profile

    prof = load_profile("cpu-local")
    doc = prof.to_dict()
    doc["provenance"]["machine"] = {**doc["provenance"].get("machine", {}), "runtime": "ort"}
    doc["name"] = "cpu-ort-test"
    calls = []

    def fake_many(items, runtime, **kw):
        calls.append((runtime, [s for s, _ in items]))
        return [{"spec": s, "input_shape": list(shp), "median_ms": 1.0, "noise": 0.01, "runs": 3} for s, shp in items]

    import costlab.runtimes.bench as B

    monkeypatch.setattr(B, "measure_many", fake_many)
    res = V.validate_measured(doc, ["mobilenet_v2:width=0.5"], repeats=3, progress=False)
    assert calls and calls[0][0] == "ort" and res["n"] == 1


@needs_litert
def test_litert_converts_runs_and_shows_its_fusion():
    from costlab.runtimes.litert_rt import graph_ops

    torch.manual_seed(0)
    s, art = open_session("litert", Block(), (1, 4, 8, 8))
    s.run()
    assert art.path.suffix == ".tflite"
    ops = graph_ops(art.path)
    assert "CONV_2D" in ops and "BATCH_NORM" not in ops


def test_profile_target_runtime_absent_is_one_line(capsys, monkeypatch, tmp_path):
    rt = get_runtime("openvino")
    monkeypatch.setattr(type(rt), "modules", ("costlab_no_such_module_xyz",))
    code, out, err = run(["profile", "--target", "openvino", "-o", str(tmp_path / "p.json")], capsys)
    assert code == 2 and "pip install 'costlab[openvino]'" in err and not (tmp_path / "p.json").exists()


def test_runtime_profile_default_name():
    from costlab.cli.cmd_profile import _default_name

    name = _default_name(None, "cpu", "ort", 4)
    assert name.endswith("-ort-t4") and " " not in name
    assert _default_name("/x/mine.json", "cpu", "ort", 1) == "mine"


def _runtime_profile_file(tmp_path):
    """A per-class profile document marked as measured through ONNX Runtime (as
    costlab profile --target ort writes it), from the shipped cpu-local's coefficients."""
    from costlab.latency.profile import load_profile

    doc = load_profile("cpu-local").to_dict()
    doc.pop("path", None)
    doc["name"] = "test-ort-t1"
    doc["fusion"] = ["conv+bn", "conv+act", "linear+act", "conv+bn+act"]
    doc["provenance"]["machine"] = {**doc["provenance"].get("machine", {}), "runtime": "ort"}
    p = tmp_path / "test-ort-t1.json"
    p.write_text(json.dumps(doc))
    return p


@pytest.mark.parametrize("cmd", [["analyze", "mobilenet_v2:width=0.5"], ["compare", "mobilenet_v2:width=0.5",
                                                                         "shufflenet_v2:width=0.5"],
                                 ["advise", "shufflenet_v1:width=0.5"]])
def test_runtime_profiles_work_where_profiles_do(capsys, tmp_path, cmd):
    p = _runtime_profile_file(tmp_path)
    code, out, err = run(cmd + ["--device", str(p)], capsys)
    assert code == 0, err
    assert "ms" in out


def test_validate_runtime_is_leave_family_out_with_noise_floor(monkeypatch, tmp_path):
    """validate --measure of a runtime profile: each family's networks predicted by the profile
    refitted without that family's network samples; eager x k and the noise floor beside."""
    from costlab.calibrate import validate as V
    from costlab.latency.profile import load_profile

    p = _runtime_profile_file(tmp_path)
    calls = []

    def fake(runtime):
        def measure(specs, *, repeats=21, threads=1, progress=True, **_):
            calls.append(runtime)
            from costlab.calibrate.grid import default_input_shape

            return [{"spec": s, "input_shape": list(default_input_shape(s)), "median_ms": 2.0 + i,
                     "noise": 0.02, "runs": repeats} for i, s in enumerate(specs)]
        return measure

    monkeypatch.setattr(V, "_through", fake)
    fitted_on = []
    import costlab.calibrate as C

    real = C.fit_any

    def spy(d, progress=False):
        fitted_on.append({s["spec"] for s in d["samples"] if s["granularity"] == "network"})
        return real(d, progress=progress)

    monkeypatch.setattr(C, "fit_any", spy)
    res = V.validate_runtime(load_profile(p), ["mobilenet_v2:width=0.5", "squeezenet1_1"], repeats=3,
                             progress=False)
    assert calls == ["ort", "ort"]                                   # measured twice through ORT
    assert res["n"] == 2 and res["families"] == 2 and res["holdout"].startswith("family")
    # the mobilenet fold was fitted without any mobilenet network sample, the squeezenet fold without squeezenet
    assert any(not any(s.startswith("mobilenet") for s in f) for f in fitted_on)
    assert any(not any(s.startswith("squeezenet") for s in f) for f in fitted_on)
    assert res["noise_floor"]["mape"] == 0.0                         # the fake measures the same twice
    assert {"mape", "spearman", "within_10pct", "profile"} <= set(res["eager_rescaled"])
    from costlab.present.validation import validation_text

    text = validation_text(res, "table")
    assert "eager x k" in text and "noise floor" in text
    own = {s["spec"] for s in load_profile(p).samples if s["granularity"] == "network"}
    anchors = [a["spec"] for a in res["machine_speed"]["anchors"]]      # the profile's own, timed alongside
    assert anchors and set(anchors) <= own and "anchored" in text
    assert [r["spec"] for r in res["rows"]] == ["mobilenet_v2:width=0.5", "squeezenet1_1"]


@needs_litert
def test_litert_int8_has_int8_kernels():
    from costlab.runtimes.litert_rt import int8_kernels

    art = artifact("litert", "micro_conv:cin=8,cout=16,k=3,stride=1,groups=1", SHAPE, dtype="int8")
    assert "CONV_2D" in int8_kernels(art.path)


@needs_litert
def test_bench_says_litert_is_fed_nhwc(capsys):
    code, out, err = run(["bench", TINY, "--runtime", "litert", "--input-shape", "1x8x16x16", "--runs", "3"], capsys)
    assert code == 0, err
    assert "1x8x16x16 (fed as 1x16x16x8, NHWC)" in out


# op samples of the op-timing tests, and what each costs in a burst of calls (ms)
_OP_SPECS = [("micro_conv:cin=8,cout=16,k=1,stride=1,groups=1", (1, 8, 16, 16)),
             ("micro_conv:cin=16,cout=16,k=3,stride=1,groups=16", (1, 16, 16, 16)),
             ("micro_act:c=8,act=relu", (1, 8, 16, 16)), ("micro_add:c=8", (1, 8, 16, 16)),
             ("micro_conv:cin=16,cout=32,k=3,stride=1,groups=1", (1, 16, 32, 32)),
             ("micro_pool:c=16,k=2,stride=2,pad=0", (1, 16, 32, 32)), ("micro_linear:cin=400,cout=120", (1, 400))]
_BURST_MS = [0.02, 0.01, 0.004, 0.006, 0.3, 0.02, 0.03]


def test_op_timing_keeps_the_timing_whose_ops_predict_the_networks():
    """op_timing.choose: the same op samples under three timings (interleaved twice the burst
    times); the network samples cost what the ops of one timing add up to, and that one is kept."""
    import numpy as np

    from costlab.calibrate import fit as F
    from costlab.runtimes import op_timing

    burst_ms = _BURST_MS
    ops = [{"spec": sp, "input_shape": list(sh), "granularity": "op", "family": "micro", "latency_ms": ms, "stats": {}}
           for (sp, sh), ms in zip(_OP_SPECS, burst_ms)]
    nets = [{"spec": sp, "input_shape": list(sh), "granularity": "network", "family": "lenet", "stats": {},
             "latency_ms": 1.0} for sp, sh in (("lenet5", (1, 1, 28, 28)), ("lenet_300_100", (1, 1, 28, 28)),
                                                ("lenet5", (2, 1, 28, 28)))]
    data = F.profile_data({"fusion": [], "samples": ops + nets})
    truth = data.raw[-3:] @ F.fit_on(data, np.arange(len(ops))).coef     # what the burst-timed ops add up to

    def cands(net_scale):
        n = [{**s, "latency_ms": float(net_scale * t)} for s, t in zip(nets, truth)]
        return {m: [{**o, "latency_ms": op_timing.combine(2 * o["latency_ms"], o["latency_ms"], m)} for o in ops] + n
                for m in op_timing.MODES}

    doc = {"fusion": [], "dtype": "float32"}
    mode, rec = op_timing.choose(doc, cands(1.0))
    by = {c["mode"]: c["network_mape"] for c in rec["candidates"]}
    assert mode == "burst" and by["burst"] < 1 < by["geomean"] < by["interleaved"]
    assert op_timing.choose(doc, cands(2.0))[0] == "interleaved"
    assert op_timing.choose(doc, cands(2 ** 0.5))[0] == "geomean"
    # one network sample judges nothing: the interleaved timing, as before the choice existed
    one = {m: v[:len(ops) + 1] for m, v in cands(1.0).items()}
    mode, rec = op_timing.choose(doc, one)
    assert mode == "interleaved" and all(c["network_mape"] is None for c in rec["candidates"])


def test_retime_chooses_the_op_timing_again_from_the_samples_two_medians():
    """A validation fold drops a family's network samples and calls retime: the op samples'
    latencies are rebuilt from their two medians (corrected for call cost and edges) under the
    timing the remaining networks prefer; a profile measured without the choice is left as is."""
    import numpy as np

    from costlab.calibrate import fit as F
    from costlab.runtimes import op_timing

    burst = _BURST_MS
    call, share = 0.001, 0.2
    ops = [{"spec": sp, "input_shape": list(sh), "granularity": "op", "family": "micro", "latency_ms": 0.0,
            "stats": {"median_ms": 2 * b + call, "burst_median_ms": b / (1 - share) + call, "edge_share": share,
                      "call_overhead_ms": call}} for (sp, sh), b in zip(_OP_SPECS, burst)]
    nets = [{"spec": sp, "input_shape": list(sh), "granularity": "network", "family": fam, "stats": {}, "latency_ms": 1.0}
            for sp, sh, fam in (("lenet5", (1, 1, 28, 28), "lenet"), ("lenet_300_100", (1, 1, 28, 28), "lenet"),
                                ("lenet5", (2, 1, 28, 28), "lenet"), ("micro_block_dwsep:c=32,cout=32", (1, 32, 28, 28), "x"))]
    truth_ops = [{**o, "latency_ms": b} for o, b in zip(ops, burst)]
    data = F.profile_data({"fusion": [], "samples": truth_ops + nets})
    truth = data.raw[-4:] @ F.fit_on(data, np.arange(len(ops))).coef
    nets = [{**n, "latency_ms": float(t)} for n, t in zip(nets, truth)]
    doc = {"fusion": [], "dtype": "float32", "provenance": {"op_timing": {"chosen": "interleaved"}}, "samples": ops + nets}
    out = op_timing.retime(doc)
    assert out["provenance"]["op_timing"]["chosen"] == "burst"
    assert [s["latency_ms"] for s in out["samples"][:len(ops)]] == pytest.approx(burst, rel=1e-3)
    assert doc["samples"][0]["latency_ms"] == 0.0                                  # the input is not changed
    # the held-out family's networks gone: the choice is made on what is left ("x" alone: no choice)
    fold = {**doc, "samples": ops + [n for n in nets if n["family"] != "lenet"]}
    assert op_timing.retime(fold)["provenance"]["op_timing"]["chosen"] == "interleaved"
    assert op_timing.retime({**doc, "provenance": {}}) == {**doc, "provenance": {}}


def _two_timing_profile(net_scale: float = 2 ** 0.5) -> dict:
    """A runtime profile document whose op samples carry two timings (interleaved twice the
    burst), with 4 network samples costing ``net_scale`` x what the burst-timed ops add up to."""
    import numpy as np

    from costlab.calibrate import fit as F

    ops = [{"spec": sp, "input_shape": list(sh), "granularity": "op", "family": "micro", "latency_ms": b,
            "stats": {"median_ms": 2 * b, "burst_median_ms": b}} for (sp, sh), b in zip(_OP_SPECS, _BURST_MS)]
    nets = [{"spec": sp, "input_shape": list(sh), "granularity": "network", "family": fam, "stats": {}, "latency_ms": 1.0}
            for sp, sh, fam in (("lenet5", (1, 1, 28, 28), "lenet"), ("lenet_300_100", (1, 1, 28, 28), "lenet"),
                                ("lenet5", (2, 1, 28, 28), "lenet"), ("micro_block_dwsep:c=32,cout=32", (1, 32, 28, 28), "x"))]
    data = F.profile_data({"fusion": [], "samples": ops + nets})
    truth = data.raw[-4:] @ F.fit_on(data, np.arange(len(ops))).coef
    rng = np.random.default_rng(3)      # the networks off by a few % each, so the weights matter
    nets = [{**n, "latency_ms": float(net_scale * t * f)} for n, t, f in zip(nets, truth, rng.uniform(0.9, 1.1, 4))]
    return {"schema": "costlab.profile/1", "name": "t-two-timings", "device": "test", "device_class": "cpu", "runtime": "ort",
            "threads": 1, "batch": 1, "dtype": "float32", "fusion": [],
            "provenance": {"source": "test", "measured_by": "test", "date": "2026-12-07", "method": "synthetic",
                           "command": "none", "fit_options": {"network_weights": [1, 5, 20]}},
            "samples": ops + nets}


def test_mean_rule_fit_is_the_mean_of_the_fits_under_every_timing_and_weight():
    """Under the "mean" rule nothing is chosen: the predictor's coefficients are exactly the mean
    of the nine fits (3 op timings x 3 network weights) made one at a time, retime leaves the
    document alone, and a validation fold fits the same way."""
    import numpy as np

    from costlab.calibrate import fit as F
    from costlab.latency.forms.per_class import coef_matrix
    from costlab.runtimes import op_timing

    legacy = _two_timing_profile()
    mean_doc = op_timing.as_mean(legacy)
    assert mean_doc["provenance"]["fit_options"]["combine"] == "mean"
    assert mean_doc["provenance"]["op_timing"]["chosen"] == "mean"
    assert legacy["provenance"]["fit_options"] == {"network_weights": [1, 5, 20]}        # input unchanged
    assert op_timing.retime(mean_doc) is mean_doc
    fitted = F.fit_profile(mean_doc, progress=False)
    sel = fitted["predictor"]["network_weight_selection"]
    assert sel["chosen"] == "mean" and sel["network_weights"] == [1.0, 5.0, 20.0]
    coefs = []
    for mode in op_timing.MODES:
        for w in (1, 5, 20):
            one = {**legacy, "samples": [s if s["granularity"] == "network" else
                                         {**s, "latency_ms": op_timing.combine(2 * s["latency_ms"], s["latency_ms"], mode)}
                                         for s in legacy["samples"]],
                   "provenance": {**legacy["provenance"], "fit_options": {"network_weights": [w]}}}
            coefs.append(coef_matrix(F.fit_profile(one, progress=False)["predictor"]))
    got = coef_matrix(fitted["predictor"])
    assert got == pytest.approx(np.mean(coefs, axis=0), rel=1e-4, abs=1e-9)
    assert all(not np.allclose(got, c, rtol=1e-3) for c in coefs)      # unlike any one of the nine
    assert "not chosen either" in fitted["validation"]["method"]
    # and back: the older rule re-chooses one timing from the two medians, and weights by LONO
    back = op_timing.as_choose(mean_doc)
    mode = back["provenance"]["op_timing"]["chosen"]
    assert "combine" not in back["provenance"]["fit_options"] and mode in op_timing.MODES
    assert mode == op_timing.choose(back, op_timing.candidates(back["samples"], op_timing.two_timings(back["samples"])))[0]
    assert [x["latency_ms"] for x in back["samples"] if x["granularity"] == "op"] == pytest.approx(
        [op_timing.combine(2 * b, b, mode) for b in _BURST_MS], rel=1e-4)
    assert F.fit_profile(back, progress=False)["predictor"]["network_weight_selection"]["chosen"] in (1.0, 5.0, 20.0)


def test_profile_says_which_op_timing_it_kept():
    from costlab.present.profiles import measured_lines

    d = {"samples": [{}] * 3, "device": "a CPU", "threads": 1,
         "provenance": {"machine": {"clock": "thread"}, "noise": {"median": 0.1, "p90": 0.3},
                        "op_timing": {"chosen": "geomean", "candidates": [
                            {"mode": "interleaved", "network_mape": 15.3}, {"mode": "burst", "network_mape": 29.88},
                            {"mode": "geomean", "network_mape": 10.55}]}}}
    lines = measured_lines(d, 80.0)
    assert lines[-1] == ("costlab: op samples timed interleaved and in bursts; kept: geomean (the op samples alone "
                         "predicting the profile's network samples, MAPE: interleaved 15.3%, burst 29.9%, geomean 10.6%)")
    assert not any("rules, from its probes" in x for x in lines)        # no probes recorded: no line
    d["fusion"] = ["conv+act", "block:4"]
    d["provenance"]["fusion_evidence"] = {"conv+act": "...", "block": "3x3 depthwise at 28x28 ...; block:4"}
    assert measured_lines(d, 80.0)[1] == ("costlab: the runtime's rules, from its probes: conv+act block:4 "
                                          "(provenance.fusion_evidence); channel block probe: 3x3 depthwise at "
                                          "28x28 ...; block:4")
    d["fusion"].append("pass:hardtanh")
    d["provenance"]["fusion_evidence"]["pass"] = "3x3 depthwise kernel / 1x1 kernel ...: pass:hardtanh"
    assert measured_lines(d, 80.0)[1].endswith("block:4; activation pass probe: 3x3 depthwise kernel / 1x1 kernel "
                                               "...: pass:hardtanh")
    d["provenance"]["op_timing"]["chosen"] = "mean"
    assert measured_lines(d, 80.0)[-1].startswith("costlab: op samples timed interleaved and in bursts; none chosen: "
                                                  "the predictor is the mean of the fits under every timing")
    del d["provenance"]["op_timing"], d["provenance"]["fusion_evidence"]
    assert len(measured_lines(d, 80.0)) == 1


def test_the_channel_block_is_read_off_the_probe_times():
    """block_from_times: ORT's pattern here (58/62 slow, multiples of 4 not) -> 4; the slow set of
    a block of 8 or 16 -> that block; nothing slow, or a pattern no block explains (one odd probe
    slow from noise) -> no rule."""
    from costlab.runtimes.channel_block import PROBE_CHANNELS, block_from_times

    def times(slow, factor=3.0):
        return {c: c * 0.0005 * (factor if c in slow else 1.0) for c in PROBE_CHANNELS}

    assert block_from_times(times({62})) == (4, [62])
    assert block_from_times(times({62, 60})) == (8, [60, 62])
    assert block_from_times(times({62, 60, 56})) == (16, [56, 60, 62])
    assert block_from_times(times(set())) == (None, [])
    assert block_from_times(times({48})) == (None, [48])
    assert block_from_times(times({62}, factor=1.4))[0] is None     # under the 1.6x threshold


@needs_ort
def test_the_channel_block_probe_runs_through_the_runtime():
    from costlab.runtimes import get_runtime
    from costlab.runtimes.channel_block import discover_block

    block, line = discover_block(get_runtime("ort"), runs=5)
    assert block in (None, 2, 4, 8, 16)
    assert line.startswith("3x3 depthwise at 28x28, median of 5: 64: ") and ("block:" in line or "no channel block" in line)


def test_relu6_decides_whether_a_runtime_applies_its_fused_activations_as_a_pass():
    """is_pass: a ReLU6 depthwise kernel over 1.2x the larger of the ReLU and bare shares (ORT
    1.32 here: 1.33-1.56x) is a pass; 1.05x (OpenVINO here) or a noisy bare probe is not."""
    from costlab.runtimes.act_pass import is_pass

    assert is_pass({"relu": 0.15, "none": 0.14, "relu6": 0.21}) == (True, 0.15)
    assert is_pass({"relu": 0.12, "none": 0.12, "relu6": 0.126})[0] is False
    assert is_pass({"relu": 0.12, "none": 0.18, "relu6": 0.2})[0] is False


def test_the_activation_pass_probe_says_why_it_did_not_run():
    """No conv + act fusion, or a runtime without per-op times: no rule, and a line saying so
    (nothing is converted or loaded)."""
    from costlab.runtimes import get_runtime
    from costlab.runtimes.act_pass import discover_passes

    assert discover_passes(get_runtime("torch"), ["conv+bn"]) == (
        [], "not probed: the runtime fuses no activation into a conv")
    rules, line = discover_passes(get_runtime("torch"), ["conv+act"])
    assert rules == [] and line.startswith("not probed: ") and "reports no per-op times" in line


@needs_ort
def test_the_activation_pass_probe_runs_through_the_runtime():
    """Through ONNX Runtime for real: the three probes' depthwise / 1x1 kernel shares, and rules
    only from PASS_KINDS (an 'apart:' kind left out), all or none."""
    from costlab.runtimes import get_runtime
    from costlab.runtimes.act_pass import PASS_KINDS, discover_passes

    rules, line = discover_passes(get_runtime("ort"), ["conv+act", "apart:hardswish"])
    assert line.startswith("3x3 depthwise kernel / 1x1 kernel (96 channels, 56x56, median of 5 profiles of 20 runs): "
                           "relu 0.")
    assert rules in ([], [f"pass:{k}" for k in PASS_KINDS if k != "hardswish"])
    assert ("no pass" in line) == (not rules)


@needs_ort
def test_the_nchwc_layout_rule_is_read_off_ort_and_its_conversions_match_orts_optimised_graph():
    """discover_layout reads nchwc:B/A off ONNX Runtime's optimised probe graphs; replayed on
    costlab's traced graph (costlab.latency.layout), that rule gives exactly the ReorderInput /
    ReorderOutput nodes ORT's optimised graph holds, for a squeeze-excite block, a channel
    shuffle, an off-alignment depthwise conv and two zoo networks (small inputs: the layout
    does not depend on the resolution)."""
    import collections

    import costlab

    from costlab.blocks import sample_graph
    from costlab.latency.features import node_costs
    from costlab.runtimes.layout_probe import discover_layout, optimized_graph
    from tests.latency.test_latency_features import _SE, _Shuffle

    rt = get_runtime("ort")
    rule, line = discover_layout(rt)
    if rule is None:
        pytest.skip(f"this CPU's ONNX Runtime runs no NCHWc layout: {line}")
    block, align = (int(x) for x in rule[len("nchwc:"):].split("/"))
    assert block in (8, 16) and align in (1, 2, 4, 8, 16) and f"block {block}" in line
    fusion = ["conv+bn", "conv+act", "linear+act", "conv+add", "conv+bn+act", rule]
    dw58 = nn.Sequential(nn.Conv2d(16, 58, 1), nn.ReLU(), nn.Conv2d(58, 58, 3, padding=1, groups=58),
                         nn.Conv2d(58, 32, 1))
    cases = [(_SE(), (1, 16, 14, 14)), (_Shuffle(), (1, 16, 8, 8)), (dw58, (1, 16, 8, 8)),
             ("shufflenet_v2:width=0.5", (1, 3, 64, 64)), ("mobilenet_v2:width=0.5", (1, 3, 64, 64))]
    for model, shape in cases:
        art = artifact(rt, model if isinstance(model, str) else model.eval(), shape)
        ort_counts = collections.Counter(n.op_type for n in optimized_graph(art).node
                                         if n.op_type in ("ReorderInput", "ReorderOutput"))
        graph = (sample_graph(model, shape)[0] if isinstance(model, str)
                 else costlab.analyze(model.eval(), input_shape=shape).graph)
        ours = collections.Counter(nc.reorder for nc in node_costs(graph, "float32", fusion) if nc.reorder)
        assert (ours["in"], ours["out"]) == (ort_counts["ReorderInput"], ort_counts["ReorderOutput"]), model
