"""Shipped profiles: built from published data by code, and held-out accuracy targets.

Paper facts used here: ShuffleNet V2 (Ma et al. 2018, arXiv:1807.11164) Sec. 2 and
Tables 1-4 (benchmark networks, equal FLOPs across rows), Table 8 (MFLOPs, speeds);
a GTX 1080Ti peaks at 11.3 TFLOP/s fp32 (NVIDIA); ProxylessNAS's TF-Lite log
(benchmark_model: 80.67 ms for the whole ProxylessNAS-Mobile).
"""
from __future__ import annotations

import pytest

import costlab
from costlab.latency.features import SPLIT_FROM
from costlab.calibrate import fit, sources
from costlab.latency.profile import load_document


def _macs(spec, shape):
    return costlab.analyze(spec, input_shape=shape).totals["macs"]


# -- the benchmark networks of Tables 1-4 ------------------------------------------------------

def test_table1_rows_have_equal_flops():
    """Table 1: 'total FLOPs is fixed by varying the number of channels' (ARM x1 column)."""
    rows = [(32, 1), (22, 2), (13, 6), (9, 12)]           # (c1, c2/c1) printed for ARM x1
    m = [_macs(f"sv2bench_g1:c1={c},ratio={r}", [1, c, 56, 56]) for c, r in rows]
    assert max(m) / min(m) < 1.07
    # 10 blocks of two 1x1 convs on 56x56: 2 * 10 * 56*56 * c1*c2
    assert m[0] == 2 * 10 * 56 * 56 * 32 * 32


def test_table2_and_table3_networks():
    g = [_macs(f"sv2bench_g2:c={c},groups={k}", [1, c, 56, 56]) for c, k in ((64, 1), (90, 2), (128, 4))]
    assert max(g) / min(g) < 1.03                         # Table 2: equal FLOPs across g
    # Table 3's 1-fragment network is Table 2's g=1 network (same speeds: 40.2 vs 40.0 ARM)
    assert _macs("sv2bench_g3:c=64,fragments=1", [1, 64, 56, 56]) == g[0]
    for k, arr in ((2, "series"), (4, "series"), (2, "parallel"), (4, "parallel")):
        from costlab.zoo.sv2bench import g3_width

        w = g3_width(64, k, arr)
        assert _macs(f"sv2bench_g3:c=64,fragments={k},arrangement={arr}", [1, w, 56, 56]) == pytest.approx(g[0], rel=0.03)


def test_table4_variants_differ_only_in_relu_and_shortcut():
    specs = {(r, s): f"sv2bench_g4:c=64,relu={r},shortcut={s}" for r in (0, 1) for s in (0, 1)}
    reps = {k: costlab.analyze(v, input_shape=[1, 64, 56, 56]) for k, v in specs.items()}
    assert len({r.totals["macs"] for r in reps.values()}) == 1
    ops = {k: list(r.layers["op"]) for k, r in reps.items()}
    assert ops[(0, 0)].count("relu") == 0 and ops[(1, 0)].count("relu") == 30    # 3 per unit, 10 units
    assert ops[(0, 1)].count("add") == 10 and ops[(0, 0)].count("add") == 0


def test_a_wrong_input_width_is_a_clear_error():
    from costlab.tracer import TraceError

    with pytest.raises(TraceError, match="pass --input-shape 1x64x56x56"):
        costlab.analyze("sv2bench_g2:c=64", input_shape=[1, 32, 56, 56])


def test_gpu_tables_1_4_cannot_be_batch_8():
    """Table 2 g=1 x4 (c=512): 437 'batches/s'. At batch 8 that exceeds a GTX 1080Ti's
    11.3 TFLOP/s peak several times over; at batch 1 it does not."""
    flops_per_image = 2 * _macs("sv2bench_g2:c=512,groups=1", [1, 512, 56, 56])
    assert 437 * 8 * flops_per_image > 4 * 11.3e12
    assert 437 * 1 * flops_per_image < 11.3e12
    micro, _ = sources.sv2bench_rows("gpu")
    assert all(s["input_shape"][0] == 1 for s in micro)


# -- Table 8 ---------------------------------------------------------------------------------

def test_table8_rows_matched_by_mflops():
    nets, excluded = sources.table8_rows("arm")
    specs = {s["spec"] for s in nets}
    assert len(nets) == 15 and all(s["granularity"] == "network" for s in nets)
    # the authors' own MobileNet v2 variants whose MFLOPs the zoo cannot match are left out
    reasons = {e["row"]: e["reason"] for e in excluded}
    for row in ("0.15 MobileNet v2 [14] (our impl.)", "0.6 MobileNet v2 [14] (our impl.)",
                "0.75 MobileNet v2 [14] (our impl.)**"):
        assert "MFLOPs do not match" in reasons[row]
    assert "Xception" in " ".join(reasons) and "xception" not in " ".join(specs)
    sv2 = next(s for s in nets if s["spec"] == "shufflenet_v2")
    assert sv2["latency_ms"] == pytest.approx(1000 / 24.4, rel=1e-6)      # Table 8: 24.4 images/s
    gpu, _ = sources.table8_rows("gpu")
    sv2g = next(s for s in gpu if s["spec"] == "shufflenet_v2")
    assert sv2g["input_shape"][0] == 8 and sv2g["latency_ms"] == pytest.approx(1000 / 341, rel=1e-6)


# -- ProxylessNAS lookup table and TF-Lite op profile -------------------------------------------------

def test_lut_and_tflite_describe_the_same_network():
    lut = sources.read_lut()
    assert len(lut) == 72
    ops, excluded = sources.tflite_op_rows()
    assert len(ops) == 76 and len(excluded) == 1 and "RESHAPE" in excluded[0]["row"]
    # the op profile's nodes add up to the whole-network time of the log (80.67 ms)
    assert sum(s["latency_ms"] for s in ops) == pytest.approx(80.67, rel=0.01)
    # ProxylessNAS-Mobile built from the log: stem + 20 blocks + head = 22 LUT entries
    from costlab.zoo.proxylessnas import BLOCKS

    assert len(BLOCKS) == 20
    blocks, _ = sources.lut_rows()
    specs = {b["spec"] for b in blocks}
    side, c = 112, 32
    for e, k, s, co, sk in BLOCKS:
        assert f"proxyless_mbconv:cin={c},cout={co},expand={e},k={k},stride={s},skip={sk}" in specs
        side, c = side // s, co


# -- shipped profiles: reproducible, and the issue's accuracy targets ------------------------------

@pytest.fixture(scope="module")
def rebuilt():
    return {n: fit.fit_profile(sources.build(n), progress=False) for n in ("arm-sd810", "gpu-gtx1080ti")}


@pytest.mark.parametrize("name", ["arm-sd810", "gpu-gtx1080ti"])
def test_shipped_profile_is_what_the_build_command_produces(rebuilt, name):
    shipped = load_document(name)
    new = rebuilt[name]
    assert [s["latency_ms"] for s in shipped["samples"]] == [s["latency_ms"] for s in new["samples"]]
    have = shipped["predictor"]["classes"]
    for c, p in new["predictor"]["classes"].items():
        # a class split off later (SPLIT_FROM) that the samples never exercise: the rebuild ties it
        # to the class it left, and the shipped file, fitted before the split, prices it so
        old = have[c] if c in have else have[SPLIT_FROM[c]]
        for k, v in p.items():
            assert old[k] == pytest.approx(v, rel=1e-6, abs=1e-9), (c, k)
    assert shipped["validation"]["mape"] == pytest.approx(new["validation"]["mape"], abs=1e-3)


def test_issue5_arm_targets(rebuilt):
    """Issue 5 'Must show': arm-sd810 leave-one-network-out over Table 8 ARM rows: MAPE <= 10%,
    Spearman >= 0.95, <= 0.6x the FLOPs-only MAPE; leave-one-family-out <= 13%."""
    by = rebuilt["arm-sd810"]["validation"]["by_holdout"]
    net, fam = by["network"], by["family"]
    assert net["n"] == 15
    assert net["mape"] <= 10 and net["spearman"] >= 0.95 and net["mape"] <= 0.6 * net["baseline"]["mape"]
    assert fam["mape"] <= 13


def test_issue5_gpu_target(rebuilt):
    """Issue 5: gpu-gtx1080ti leave-one-network-out over the Table 8 GPU column: MAPE <= 12%."""
    net = rebuilt["gpu-gtx1080ti"]["validation"]["by_holdout"]["network"]
    assert net["n"] == 15 and net["mape"] <= 12 and net["mape"] < net["baseline"]["mape"]
