"""The local measurement harness (costlab.calibrate.measure), the micro-benchmark zoo entries
and ``costlab profile``: harness logic with a fake timer, short real runs on tiny specs.
No assertion here is about speed."""
from __future__ import annotations

import json

import pytest
import torch

from costlab.cli import main
from costlab.calibrate import measure as M
from costlab.zoo.micro import granularity_of
from costlab.zoo.registry import parse_spec


# -- statistics ----------------------------------------------------------------------------------

def test_summarize_order_and_noise():
    st = M.summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert st["median_ms"] == 3.0
    assert st["min_ms"] == 1.0 and st["repeats"] == 5
    assert st["p10_ms"] <= st["median_ms"] <= st["p90_ms"]
    assert st["noise"] == pytest.approx((st["p90_ms"] - st["p10_ms"]) / st["median_ms"])
    flat = M.summarize([2.0] * 7)
    assert flat["noise"] == 0.0 and flat["p10_ms"] == flat["p90_ms"] == 2.0
    with pytest.raises(M.MeasureError):
        M.summarize([])


# -- the harness, with a fake timer ----------------------------------------------------------------

class FakeTimer:
    """Seconds = number * cost of the callable + a fixed timer overhead; logs every call."""

    clock = "wall"

    def __init__(self, overhead=0.5e-3):
        self.overhead = overhead
        self.log = []

    def __call__(self, fn, number):
        self.log.append((getattr(fn, "key", None), number))
        return number * getattr(fn, "cost", 0.0) + self.overhead


def _case(key, cost_s, made):
    def make():
        made.append(key)

        def fn():
            return None
        fn.key, fn.cost = key, cost_s
        return fn
    return M.Case(key, make)


def test_time_cases_per_call_time_overhead_subtracted():
    made = []
    cases = [_case("a", 1e-3, made), _case("b", 4e-3, made)]
    out = M.time_cases(cases, timer=FakeTimer(), warmup=2, repeats=5, progress=False)
    assert [r["median_ms"] for r in out] == pytest.approx([1.0, 4.0])
    assert all(r["repeats"] == 5 and r["number"] == 1 for r in out)
    assert all(len(r["times_ms"]) == 5 for r in out)


def test_time_cases_sizes_inner_loop_to_min_repeat():
    made = []
    out = M.time_cases([_case("tiny", 0.1e-3, made)], timer=FakeTimer(overhead=0.0), warmup=0,
                       repeats=3, min_repeat_ms=1.0, progress=False)
    assert out[0]["number"] == 10
    assert out[0]["median_ms"] == pytest.approx(0.1)


def test_time_cases_interleaves_within_a_chunk_and_builds_lazily():
    made = []
    timer = FakeTimer()
    cases = [_case(k, 1e-3, made) for k in "abcde"]
    M.time_cases(cases, timer=timer, warmup=1, repeats=4, chunk=3, progress=False)
    timed = [k for k, n in timer.log if k is not None]
    # chunk 1 = a, b, c: after set-up (warm-up + sizing), rounds of one call each, rotated
    first = timed[: timed.index("d")]
    rounds = first[-12:]
    assert [set(rounds[i:i + 3]) for i in range(0, 12, 3)] == [{"a", "b", "c"}] * 4
    assert rounds[0:3] != rounds[3:6]                       # order rotates
    assert all(x != y for x, y in zip(rounds, rounds[1:]))  # never the same case twice running
    # chunk 2 is built only after chunk 1 is done
    assert made == list("abcde")
    assert "d" not in first and set(timed[timed.index("d"):]) == {"d", "e"}


def test_time_cases_bursts_take_turns():
    made = []
    timer = FakeTimer()
    out = M.time_cases([_case("a", 1e-3, made), _case("b", 2e-3, made)], timer=timer, warmup=0,
                       repeats=6, burst=3, progress=False)
    timed = [k for k, n in timer.log if k is not None][2:]    # after one sizing call per case
    assert timed == list("aaabbbbbbaaa")                       # turns of 3, order rotated
    assert [r["repeats"] for r in out] == [6, 6]
    assert [r["median_ms"] for r in out] == pytest.approx([1.0, 2.0])


def test_time_cases_fewer_repeats_for_slow_cases():
    made = []
    out = M.time_cases([_case("slow", 0.2, made), _case("fast", 1e-3, made)], timer=FakeTimer(),
                       warmup=0, repeats=12, slow_ms=100.0, progress=False)
    assert out[0]["repeats"] == 6 and out[1]["repeats"] == 12


def test_time_cases_rejects_bad_arguments():
    with pytest.raises(M.MeasureError):
        M.time_cases([], timer=FakeTimer(), repeats=0, progress=False)


# -- devices, clocks, context ------------------------------------------------------------------------

def test_resolve_device_and_clock():
    assert M.resolve_device("cpu").type == "cpu"
    with pytest.raises(M.MeasureError, match="cpu or cuda"):
        M.resolve_device("tpu")
    cpu = torch.device("cpu")
    assert M.resolve_clock(cpu, 1) == "thread"
    assert M.resolve_clock(cpu, 2) == "wall"
    with pytest.raises(M.MeasureError, match="threads=1"):
        M.resolve_clock(cpu, 2, "thread")
    with pytest.raises(M.MeasureError):
        M.resolve_clock(cpu, 1, "sundial")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA present: the refusal cannot be shown")
def test_cuda_refused_when_absent():
    with pytest.raises(M.MeasureError, match="--target cpu"):
        M.resolve_device("cuda")


def test_context_restores_threads_even_on_error():
    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    with pytest.raises(RuntimeError):
        with M.measurement_context(torch.device("cpu"), target):
            assert torch.get_num_threads() == target
            assert torch.is_inference_mode_enabled()
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_keep_freed_memory_is_a_context():
    with M.keep_freed_memory(False) as kept:
        assert kept is False
    with M.keep_freed_memory(True) as kept:
        assert isinstance(kept, bool)


def test_cpu_timer_clocks():
    t = M.CpuTimer("thread")
    x = torch.randn(64, 64)
    s = t(lambda: x @ x, 5)
    assert s >= 0.0 and t.last_wall > 0.0
    assert M.CpuTimer("wall")(lambda: None, 3) >= 0.0
    with pytest.raises(M.MeasureError):
        M.CpuTimer("sundial")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_timer_and_measurement():
    dev = M.resolve_device("cuda")
    t = M.CudaTimer(dev)
    a = torch.randn(256, 256, device=dev)
    assert t(lambda: a @ a, 3) > 0.0
    rows = M.measure_specs([("micro_act:c=8", (2, 8, 16, 16))], device="cuda", repeats=3, warmup=1,
                           progress=False)
    assert rows[0]["clock"] == "cuda_events" and rows[0]["median_ms"] > 0


# -- real (tiny) measurements ------------------------------------------------------------------------

def test_measure_specs_tiny_cpu():
    before = torch.get_num_threads()
    rows = M.measure_specs([("micro_act:c=4", (1, 4, 8, 8)), ("micro_conv:cin=4,cout=8,k=1", (1, 4, 8, 8))],
                           repeats=3, warmup=1, threads=1, progress=False)
    assert torch.get_num_threads() == before
    assert [r["spec"] for r in rows] == ["micro_act:c=4", "micro_conv:cin=4,cout=8,k=1"]
    for r in rows:
        assert r["input_shape"][1] == 4 and r["threads"] == 1 and r["clock"] == "thread"
        assert r["median_ms"] > 0 and r["p10_ms"] <= r["median_ms"] <= r["p90_ms"]
        assert r["noise"] >= 0 and r["repeats"] == 3 and "wall_median_ms" in r


def test_measure_networks_default_input_shape():
    rows = M.measure_networks(["lenet5"], batch=2, repeats=3, warmup=1, progress=False)
    entry, _ = parse_spec("lenet5")
    assert rows[0]["input_shape"] == [2] + list(entry.default_input_shape()[1:])
    assert set(rows[0]) >= {"spec", "input_shape", "median_ms", "p10_ms", "p90_ms", "noise"}


def test_measure_specs_refuses_bad_spec_before_timing():
    from costlab.zoo.registry import SpecError

    with pytest.raises(SpecError):
        M.measure_specs(["micro_conv:nonsense=1"], repeats=3, progress=False)


# -- the grid and the micro entries ---------------------------------------------------------------

def test_default_grid_covers_the_op_classes():
    grid = M.default_grid()
    specs = [s for s, _ in grid]
    knobs = [parse_spec(s) for s in specs]
    names = {e.name for e, _ in knobs}
    for needed in ("micro_conv", "micro_linear", "micro_pool", "micro_bn", "micro_act", "micro_add",
                   "micro_cat", "micro_shuffle", "micro_lrn", "micro_block_sv2"):
        assert needed in names
    convs = [k for e, k in knobs if e.name == "micro_conv"]
    assert any(k["k"] == 1 and k["groups"] == 1 for k in convs)                       # pointwise
    assert any(k["k"] == 3 and k["groups"] == 1 for k in convs)                       # dense 3x3
    assert any(k["groups"] == k["cin"] > 1 for k in convs)                            # depthwise
    assert any(1 < k["groups"] < k["cin"] for k in convs)                             # group
    assert {granularity_of(s) for s in specs} == {"op", "block", "network"}
    for (s, shape), (e, k) in zip(grid, knobs):                                       # channels fit
        if e.family == "micro":
            assert shape[1] == k.get("cin", k.get("c")), s
    assert len(M.default_grid(batches=(1, 8))) == 2 * len(grid)
    with pytest.raises(M.MeasureError):
        M.default_grid(grid="huge")


def test_default_grid_has_small_input_ops_of_each_main_class():
    """Every main latency class has an op sample at MNIST / CIFAR scale (side <= 32, or a
    linear of <= 256 inputs), so its per-kernel constant is pinned by a small kernel, not left
    free to absorb a per-network offset (OpenVINO's max-pool constant was 0.27 ms without)."""
    from costlab.blocks import sample_graph
    from costlab.latency.features import latency_class

    small = set()
    for s, shape in M.default_grid():
        if granularity_of(s) != "op":
            continue
        if (len(shape) == 4 and shape[2] <= 32 and shape[1] <= 64) or (s.startswith("micro_linear") and shape[1] <= 256):
            small |= {latency_class(n) for n in sample_graph(s, shape)[0].nodes}
    for cls in ("conv_dense", "conv_pw", "conv_dw", "linear", "pool", "pool_max", "global_pool", "elementwise"):
        assert cls in small, cls


def test_grid_samples_all_have_counted_ops():
    """A sample whose ops are all views (free) could calibrate nothing; the grid has none."""
    import costlab

    for s, shape in M.default_grid(grid="small"):
        rep = costlab.analyze(s, input_shape=[shape])
        assert len(rep.layers) > 0, s
    assert len(costlab.analyze("micro_split:c=8", input_shape=(1, 8, 4, 4)).layers) == 0


def test_micro_input_mismatch_is_one_line_error(capsys):
    assert main(["analyze", "micro_conv:cin=64", "--input-shape", "1x32x8x8"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--input-shape 1x64x" in err and "\n" not in err
    assert main(["analyze", "micro_conv:cin=6,groups=4"]) == 2


def test_micro_add_reads_two_halves():
    import costlab

    rep = costlab.analyze("micro_add:c=16", input_shape=(1, 16, 4, 4))
    row = rep.layers.iloc[0]
    assert row["op"] == "add" and list(row["output_shape"]) == [1, 8, 4, 4]
    assert row["mac_bytes"] == 3 * 8 * 4 * 4 * 4      # two 8-channel inputs + one output, fp32


# -- a profile -------------------------------------------------------------------------------------

def test_measure_profile_is_a_valid_unfitted_profile():
    from costlab.latency.profile import validate_profile

    items = [("micro_act:c=4", (1, 4, 8, 8)), ("micro_block_sv2:c=8", (1, 8, 8, 8)), ("lenet5", (1, 1, 28, 28))]
    d = M.measure_profile("cpu", name="t-local", items=items, repeats=3, warmup=1, progress=False,
                          command="costlab profile --device cpu -o t-local.json")
    validate_profile(d)
    assert [s["granularity"] for s in d["samples"]] == ["op", "block", "network"]
    assert [s["family"] for s in d["samples"]][:2] == ["micro", "micro"]
    assert [s["spec"] for s in d["samples"]] == [s for s, _ in items]      # input order kept
    assert d["threads"] == 1 and d["device_class"] == "cpu" and d["fusion"] == []
    prov = d["provenance"]
    assert prov["command"].startswith("costlab profile") and prov["machine"]["clock"] == "thread"
    assert prov["machine"]["torch"] == torch.__version__
    assert all(s["latency_ms"] == s["stats"]["median_ms"] for s in d["samples"])
    # the network samples' row weight is chosen by the fit (issue 23), as for runtime profiles
    assert prov["fit_options"] == {"network_weights": [1, 5, 20]}


def test_cli_profile_refuses_before_measuring(tmp_path, capsys):
    assert main(["profile", "-o", str(tmp_path / "missing" / "p.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["profile", "--batch", "0", "-o", str(tmp_path / "p.json")]) == 2
    assert main(["profile", "--threads", "2", "--clock", "thread", "-o", str(tmp_path / "p.json")]) == 2
    if not torch.cuda.is_available():
        assert main(["profile", "--device", "cuda", "-o", str(tmp_path / "p.json")]) == 2
        assert "CUDA is not available" in capsys.readouterr().err
    assert not (tmp_path / "p.json").exists()


def test_cli_profile_small_grid_end_to_end(tmp_path, capsys):
    from costlab.calibrate.validate import LIVE_CHECK_SPECS
    from costlab.latency.profile import load_document

    out = tmp_path / "tiny-cpu.json"
    rc = main(["profile", "--device", "cpu", "--grid", "small", "--repeats", "3", "--warmup", "1",
               "--no-networks", "-q", "-o", str(out)])
    assert rc == 0
    d = load_document(str(out))
    assert d["name"] == "tiny-cpu" and d["predictor"] and d["baseline"]
    assert "--grid small" in d["provenance"]["command"]
    live = d["provenance"]["live_check"]          # the live check: held-out networks timed after the fit
    assert live["specs"] == list(LIVE_CHECK_SPECS) and live["repeats"] == 3 and len(live["rows"]) == 3
    assert all(r["measured_ms"] > 0 and r["predicted_ms"] > 0 for r in live["rows"])
    assert live["leave_one_out"]["mape"] == d["validation"]["mape"]
    err = capsys.readouterr().err
    assert "costlab: live check, 3 networks not among the samples" in err and "signed mean error" in err
    assert json.loads(out.read_text())["schema"] == "costlab.profile/1"
