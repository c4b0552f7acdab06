"""The device model's tile and HBM terms: the features, and a synthetic GPU whose kernels
follow them is recovered by the fit (and chosen over the form without them)."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from costlab.calibrate import sources
from costlab.calibrate.fit_gpu import DeviceForm, fit_device, gpu_data, kernel_times, _segments
from costlab.blocks import sample_graph
from costlab.latency.forms import gpu as G
from costlab.latency.profile import load_profile


def test_tiles_of_gemm_like_kernels():
    g, _ = sample_graph("micro_conv:cin=64,cout=192,k=1,stride=1,groups=1", [2, 64, 28, 28])
    conv = [k for op in G.program(g).ops for k in op.kernels if not k.extra][0]
    # M = 2 * 28 * 28 = 1568 rows -> 13 row tiles; 192 columns -> 2 column tiles
    assert conv.ktiles == pytest.approx(13 * 2 / 1e3)
    g, _ = sample_graph("micro_conv:cin=240,cout=240,k=1,stride=1,groups=3", [1, 240, 14, 14])
    conv = [k for op in G.program(g).ops for k in op.kernels if not k.extra][0]
    assert conv.ktiles == pytest.approx(2 * 1 * 3 / 1e3)       # 196 rows, 80 columns per group, 3 groups


def test_hbm_mb_and_old_profiles():
    assert G.hbm_mb(30.0, 25.0) == 30.0 and G.hbm_mb(20.0, 25.0) == 0.0 and G.hbm_mb(30.0, 0.0) == 0.0
    k = G.Kernel("conv_pw", 0.1, 40.0, 0.5, "conv_pw", ktiles=0.2)
    coef = {"conv_pw": (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)}
    assert G.kernel_ms(k, coef, True, 25.0) == pytest.approx(1 + 0.2 + 120 + 2 + 1 + 240)
    assert G.kernel_ms(k, coef, True, 0.0) == pytest.approx(1 + 0.2 + 120 + 2 + 1)
    old = {"predictor": {"device": {"classes": {c: {t: 1.0 for t in G.DEVICE_TERMS} for c in G.DEVICE_CLASSES}}}}
    assert all(v[4:] == (0.0, 0.0) for v in G._device_coef(old["predictor"]).values())      # a profile fitted before the terms


@pytest.fixture(scope="module")
def synthetic():
    """Training samples (networks and every 6th op) whose graph_ms follow a device with a tile and an HBM cost."""
    d = sources.build("gpu-h200")
    keep = [s for i, s in enumerate(d["samples"]) if s.get("role") != "check"
            and (s["granularity"] == "network" or i % 6 == 0)]
    d = {**d, "samples": copy.deepcopy(keep)}
    data = gpu_data(d)
    truth = DeviceForm(True, 1.0, False, True, 25.0)
    coef = {c: {"ms_per_op": 0.004, "ms_per_gmac": 0.02, "ms_per_mb": 0.0005, "ms_per_serial": 0.001,
                "ms_per_ktile": 0.05, "ms_per_mb_hbm": 0.0004} for c in G.DEVICE_CLASSES}
    y = _segments(data, kernel_times(data, {"classes": coef, "graph_launch_ms": 0.005, "form": truth})) + 0.005
    data.graph = y
    return data, truth, coef


def test_synthetic_device_is_recovered(synthetic):
    data, truth, coef = synthetic
    idx = np.flatnonzero(data.fit)
    fit = fit_device(data, idx, truth)
    pred = _segments(data, kernel_times(data, fit)) + fit["graph_launch_ms"]
    assert np.max(np.abs(pred[idx] / data.graph[idx] - 1)) < 0.02
    plain = fit_device(data, idx, DeviceForm(True, 1.0, False))
    plain_pred = _segments(data, kernel_times(data, plain)) + plain["graph_launch_ms"]
    assert np.mean(np.abs(plain_pred[idx] / data.graph[idx] - 1)) > 2 * np.mean(np.abs(pred[idx] / data.graph[idx] - 1))
    # the model's per-kernel function gives the fit's arrays
    prof = {"predictor": {"device": {"classes": fit["classes"], "refined": True, "l2_mb": truth.l2_mb,
                                     "graph_launch_ms": fit["graph_launch_ms"]}}}
    s = data.samples[int(idx[0])]
    g, _ = sample_graph(s["spec"], s["input_shape"])
    assert sum(G.device_times(G.program(g), prof["predictor"])) + fit["graph_launch_ms"] == pytest.approx(pred[idx[0]], rel=1e-9)


def test_profile_validator_checks_the_optional_terms():
    from costlab.errors import ProfileError
    from costlab.latency.profile import load_document, validate_profile

    d = copy.deepcopy(load_document("gpu-h200"))
    validate_profile(d, label="ok")
    d["predictor"]["device"]["classes"]["conv_pw"]["ms_per_ktile"] = -1.0
    with pytest.raises(ProfileError, match="ms_per_ktile must be a non-negative number"):
        validate_profile(d, label="bad")
    d = copy.deepcopy(load_document("gpu-h200"))
    d["predictor"]["device"]["l2_mb"] = "big"
    with pytest.raises(ProfileError, match="l2_mb must be a non-negative number"):
        validate_profile(d, label="bad")
