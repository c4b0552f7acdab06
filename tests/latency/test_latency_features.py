"""Latency classes, fusion rules, and prediction from a traced report (no re-tracing)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

import costlab
from costlab.latency.features import CLASSES, TERMS, expand_rules, feature_matrix, latency_class, node_costs
from costlab.blocks import predict_spec
from costlab.latency.forms.per_class import coef_matrix
from costlab.latency.predict import predict
from costlab.latency.profile import load_profile, validate_profile
from costlab import ops


def _classes(report):
    return [latency_class(report.graph.node(int(n))) for n in report.layers["node"]]


def test_conv_classes_follow_groups_and_kernel():
    r = costlab.analyze("shufflenet_v1")   # 3x3 stem, 1x1 GConv, depthwise, one dense 1x1
    by_op = dict(zip(r.layers["op"], _classes(r)))
    assert by_op["conv3x3/s2"] == "conv_dense"
    assert by_op["dwconv3x3/s2"] == "conv_dw" and by_op["dwconv3x3"] == "conv_dw"
    assert by_op["gconv1x1/g3"] == "conv_group"
    assert by_op["conv1x1"] == "conv_pw"
    assert by_op["matmul"] == "linear" and by_op["mean"] == "global_pool"
    pools = {r.graph.node(int(n)).op: c for n, c, op in zip(r.layers["node"], _classes(r), r.layers["op"]) if op == "pool"}
    assert pools == {"aten.max_pool2d_with_indices.default": "pool_max", "aten.avg_pool2d.default": "pool"}
    assert by_op["cat"] == "data_movement" and by_op["copy"] == "data_movement"
    assert by_op["batch_norm"] == "elementwise" and by_op["add"] == "elementwise"


def _fused(report, fusion):
    return {c.node: c.fused_into for c in node_costs(report.graph, "float32", fusion)}


def test_conv_bn_act_fusion_absorbs_bn_and_relu6():
    r = costlab.analyze("mobilenet_v2")
    f = _fused(r, ["conv+bn+act"])
    g = r.graph
    bns = [n for n in g.nodes if ops.kind_of(n.op) == "batch_norm"]
    assert bns and all(f[n.id] is not None and ops.kind_of(g.node(f[n.id]).op) == "conv" for n in bns)
    # the residual adds are not after a conv's sole output: never fused
    adds = [n for n in g.nodes if ops.kind_of(n.op) == "add"]
    assert adds and all(f[n.id] is None for n in adds)
    # without rules nothing is fused
    assert all(v is None for v in _fused(r, []).values())
    # conv+bn alone leaves the ReLU6 as its own kernel
    f2 = _fused(r, ["conv+bn"])
    relus = [n for n in g.nodes if ops.kind_of(n.op) == "hardtanh"]
    assert relus and all(f2[n.id] is None for n in relus)


class _TwoReaders(nn.Module):
    """conv -> bn, but the conv's output is also returned: the BN cannot be folded."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        y = self.conv(x)
        return self.bn(y), y


def test_fusion_needs_a_sole_reader():
    r = costlab.analyze(_TwoReaders().eval(), input_shape=(1, 4, 8, 8))
    assert all(v is None for v in _fused(r, ["conv+bn+act"]).values())


class _Residual(nn.Module):
    """conv -> bn, then the residual add with the conv's result as the first or second input."""

    def __init__(self, conv_first: bool):
        super().__init__()
        self.conv_first = conv_first
        self.conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        y = self.bn(self.conv(x))
        return (y + x) if self.conv_first else (x + y)


@pytest.mark.parametrize("conv_first", [True, False])
def test_conv_add_fuses_a_residual_add_whichever_input_the_conv_is(conv_first):
    """MobileNet v2's 'x + self.conv(x)' has the conv second: ORT and OpenVINO fuse it all the
    same (the add joined the conv only when the conv came first)."""
    r = costlab.analyze(_Residual(conv_first).eval(), input_shape=(1, 4, 8, 8))
    g = r.graph
    add = next(n for n in g.nodes if ops.kind_of(n.op) == "add")
    conv = next(n for n in g.nodes if ops.kind_of(n.op) == "conv")
    assert _fused(r, ["conv+bn", "conv+add"])[add.id] == conv.id
    assert _fused(r, ["conv+bn"])[add.id] is None
    m = costlab.analyze("mobilenet_v2")
    adds = [n for n in m.graph.nodes if ops.kind_of(n.op) == "add"]
    assert adds and all(v is not None for k, v in _fused(m, ["conv+bn+act", "conv+add"]).items()
                        if k in {a.id for a in adds})


class _ConvSilu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        return nn.functional.hardswish(self.conv2(nn.functional.silu(self.conv(x))))


def test_apart_keeps_that_activation_as_its_own_kernel():
    r = costlab.analyze(_ConvSilu().eval(), input_shape=(1, 4, 8, 8))
    g = r.graph
    silu = next(n for n in g.nodes if ops.kind_of(n.op) == "silu")
    hs = next(n for n in g.nodes if ops.kind_of(n.op) == "hardswish")
    f = _fused(r, ["conv+act"])
    assert f[silu.id] is not None and f[hs.id] is not None
    f = _fused(r, ["conv+act", "apart:silu"])
    assert f[silu.id] is None and f[hs.id] is not None


def test_rule_vocabulary():
    assert expand_rules(["conv+bn+act"]) >= {"conv+bn", "conv+act"}
    assert "apart:silu" in expand_rules(["apart:silu"])
    with pytest.raises(ValueError, match="unknown fusion rule"):
        expand_rules(["apart:"])
    with pytest.raises(ValueError, match="unknown fusion rule"):
        expand_rules(["conv+magic"])


def test_fused_ops_carry_no_features_and_totals_match():
    r = costlab.analyze("resnet18")
    costs = node_costs(r.graph, "float32", ["conv+bn+act", "add+act"])
    f = feature_matrix(costs)
    assert f.shape == (len(CLASSES), len(TERMS))
    unfused = [c for c in costs if c.fused_into is None]
    assert f[:, TERMS.index("ops")].sum() == len(unfused) < len(costs)
    # work term: MACs, and for pooling its element operations (window / input elements)
    pool_elems = sum(int(e) for e, c in zip(r.layers["elem_ops"], _classes(r))
                     if c in ("pool", "pool_max", "global_pool"))
    assert pool_elems > 0
    assert np.isclose(f[:, TERMS.index("gmac")].sum(), (r.totals["macs"] + pool_elems) / 1e9)


def test_predict_adds_layer_and_total_latency_without_retracing(monkeypatch):
    prof = load_profile("arm")
    r = costlab.analyze("mobilenet_v2")
    import costlab.tracer as tr

    monkeypatch.setattr(tr, "trace", lambda *a, **k: (_ for _ in ()).throw(AssertionError("re-traced")))
    plain = r
    r = predict(r, prof)
    assert "latency_ms" not in plain.layers.columns          # the pass returns a new report
    assert "latency_ms" in r.layers.columns
    assert r.totals["latency_ms"] == pytest.approx(r.layers["latency_ms"].sum(), rel=1e-6)
    assert r.to_dict()["device"] == "arm-sd810" and r.sections["latency"].data["device"] == "arm-sd810"
    # every fused BN / ReLU6 row shows 0, every conv row > 0
    bn = r.layers[r.layers["op"] == "batch_norm"]
    conv = r.layers[r.layers["op"].str.contains("conv")]
    assert (bn["latency_ms"] == 0).all() and (conv["latency_ms"] > 0).all()
    monkeypatch.undo()
    assert predict_spec("mobilenet_v2", [1, 3, 224, 224], prof) == pytest.approx(r.totals["latency_ms"], rel=1e-4)


def test_depthwise_is_costlier_per_mac_than_pointwise_on_sd810():
    """ShuffleNet V2 Sec. 2 / the issue: on Snapdragon 810 a depthwise conv runs far fewer
    MACs per second than a 1x1 conv; the fitted profile must reflect that."""
    c = coef_matrix(load_profile("arm").predictor)
    dw, pw = CLASSES.index("conv_dw"), CLASSES.index("conv_pw")
    t = costlab.analyze("mobilenet_v1")
    costs = node_costs(t.graph, "float32", ["conv+bn+act"])
    # ms per MAC of the network's own depthwise vs pointwise layers under the profile
    ms = {k: 0.0 for k in (dw, pw)}
    macs = {k: 0.0 for k in (dw, pw)}
    for nc in costs:
        k = CLASSES.index(nc.cls)
        if k in ms and nc.fused_into is None:
            ms[k] += c[k] @ np.array([nc.gmac, nc.mb, nc.mpix, 1.0])
            macs[k] += nc.gmac
    assert ms[dw] / macs[dw] > 4 * ms[pw] / macs[pw]


def test_exponential_family_activations_carry_their_elements_as_work():
    """SiLU / sigmoid / GELU / tanh are priced by their output elements (the elementwise class's
    work term); ReLU, adds and BN by bytes only, as before; the GPU form and the per-layer MACs
    column are unchanged (element-wise work is not MACs)."""
    from costlab.latency.breakdown import kernel_layers

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)

        def forward(self, x):
            y = self.conv(x)
            return nn.functional.silu(y) + nn.functional.gelu(y) + torch.relu(y) + torch.sigmoid(y)

    import torch

    r = costlab.analyze(Net(), input_shape=(1, 3, 6, 6))
    by_kind = {ops.kind_of(r.graph.node(nc.node).op): nc for nc in node_costs(r.graph, "float32", ())}
    for k in ("silu", "gelu", "sigmoid"):
        assert ops.is_exponential(k) and by_kind[k].cls == "elementwise"
        assert by_kind[k].gmac == pytest.approx(8 * 6 * 6 / 1e9)
    assert by_kind["relu"].gmac == 0 and by_kind["add"].gmac == 0
    f = feature_matrix(list(by_kind.values()))
    assert f[CLASSES.index("elementwise"), TERMS.index("gmac")] == pytest.approx(3 * 8 * 6 * 6 / 1e9)
    # a profile prices a SiLU above a ReLU of the same tensors (its elementwise ms/GMAC > 0)
    lay = kernel_layers(r, load_profile("arm"))
    ms = {name.rsplit(":", 1)[-1]: t for name, t in zip(lay["name"], lay["latency_ms"])}
    assert ms["silu"] > ms["relu"] > 0
    assert (lay.loc[lay["class"] == "elementwise", "macs"] == 0).all()


def test_a_fused_exponential_still_costs_its_elements_inside_the_kernel():
    """OpenVINO runs a conv's SiLU inside the conv: no bytes, no dispatch of its own, but its exp;
    the conv kernel carries those elements at the fused_exp class's work rate (the element-wise one
    for a profile without conv + SiLU samples), in the per-node prediction, the fit's features and
    the block path alike (hardswish, not exponential: nothing)."""
    from costlab.blocks import SpecSet, sample_graph
    from costlab.latency.features import fused_work
    from costlab.latency.forms.per_class import combine_of, kernel_ms

    r = costlab.analyze(_ConvSilu().eval(), input_shape=(1, 4, 32, 32))
    costs = node_costs(r.graph, "float32", ["conv+act"])
    silu = next(c for c in costs if ops.kind_of(r.graph.node(c.node).op) == "silu")
    hs = next(c for c in costs if ops.kind_of(r.graph.node(c.node).op) == "hardswish")
    assert silu.fused_into is not None and hs.fused_into is not None
    elems = 4 * 32 * 32 / 1e9
    assert fused_work(costs) == {silu.fused_into: pytest.approx(elems)}
    ew, fx = CLASSES.index("elementwise"), CLASSES.index("fused_exp")
    assert feature_matrix(costs)[fx, 0] == pytest.approx(elems) and feature_matrix(costs)[ew, 0] == 0
    assert fused_work(node_costs(r.graph, "float32", ["conv+act", "apart:silu"])) == {}
    # the conv's kernel time holds the SiLU's elements at the element-wise work rate
    prof = load_profile({**load_profile("arm").to_dict(), "fusion": ["conv+act"]})
    c, comb = coef_matrix(prof.predictor), combine_of(prof.predictor)
    conv = next(x for x in costs if x.node == silu.fused_into)
    got = predict(r, prof).layers.set_index("node")["latency_ms"][silu.fused_into]
    args = (c, [CLASSES.index(conv.cls)], [conv.gmac], [conv.mb], [conv.mpix], comb)
    assert c[fx, 0] == c[ew, 0] > 0       # arm has no conv + SiLU samples: the element-wise work rate
    assert got == pytest.approx(kernel_ms(*args, [elems])[0], rel=1e-6, abs=1e-6)
    assert got > kernel_ms(*args)[0]
    # the block path (sweeps, few-shot fits) agrees with the traced graph: ShuffleNet v1's SE gate
    # (a sigmoid after a 1x1 conv) fused under conv+act
    spec, shape = "shufflenet_v1:se=1", (1, 3, 224, 224)
    fus = ("conv+bn+act",)
    p2 = load_profile({**load_profile("arm").to_dict(), "fusion": list(fus)})
    assert fused_work(node_costs(sample_graph(spec, shape)[0], "float32", fus))
    whole = predict_spec(spec, shape, p2)
    blocks = SpecSet([(spec, shape)], "float32", fus).predict(coef_matrix(p2.predictor), combine_of(p2.predictor))[0]
    assert blocks == pytest.approx(whole, rel=1e-6)


def _dw(k: int, c: int = 16) -> nn.Module:
    return nn.Sequential(nn.Conv2d(c, c, k, padding=k // 2, groups=c), nn.Conv2d(c, c, k, padding=k // 2))


def test_a_depthwise_conv_of_more_than_25_taps_is_its_own_class():
    """7x7 depthwise -> conv_dw_large (LiteRT's XNNPACK ran them ~6x slower per MAC than 5x5 here);
    3x3 and 5x5 depthwise stay conv_dw, a dense 7x7 stays conv_dense, and a 1x7 depthwise (7 taps)
    is conv_dw."""
    from costlab.latency.features import DW_LARGE_TAPS, SPLIT_FROM

    assert SPLIT_FROM["conv_dw_large"] == "conv_dw" and DW_LARGE_TAPS == 25
    for k, want in ((3, "conv_dw"), (5, "conv_dw"), (7, "conv_dw_large")):
        r = costlab.analyze(_dw(k), input_shape=(1, 16, 14, 14))
        assert _classes(r) == [want, "conv_dense"], k
    r = costlab.analyze(nn.Conv2d(16, 16, (1, 7), padding=(0, 3), groups=16), input_shape=(1, 16, 14, 14))
    assert _classes(r) == ["conv_dw"]


def test_a_profile_fitted_before_the_split_prices_7x7_depthwise_as_depthwise():
    """A stored predictor without conv_dw_large passes the check and prices it with conv_dw's
    coefficients, so its predictions are what they were; a predictor with it uses its own."""
    prof = load_profile("arm-pixel1-tflite")
    d = prof.to_dict()
    assert "conv_dw_large" not in d["predictor"]["classes"]
    c = coef_matrix(d["predictor"])
    assert (c[CLASSES.index("conv_dw_large")] == c[CLASSES.index("conv_dw")]).all()
    assert c[CLASSES.index("conv_dw")].any()
    spec, shape = "proxyless_mbconv:cin=24,cout=40,expand=3,k=7,stride=2,skip=0", (1, 24, 56, 56)
    before = predict_spec(spec, shape, prof)
    cl = dict(d["predictor"]["classes"])
    cl["conv_dw_large"] = {k: 6 * v for k, v in cl["conv_dw"].items()}
    slow = load_profile({**d, "predictor": {**d["predictor"], "classes": cl}})
    assert predict_spec(spec, shape, slow) > before
    assert predict_spec(spec.replace("k=7", "k=5"), shape, slow) == predict_spec(spec.replace("k=7", "k=5"), shape, prof)


def test_the_fit_ties_an_unexercised_split_class_to_its_old_class():
    """Trained on rows with no 7x7 depthwise, conv_dw_large gets conv_dw's coefficients (not the
    shared rate); trained on rows that time them 6x slower per GMAC, its own, higher rate."""
    from costlab.calibrate import fit

    nt = len(TERMS)
    dw, dwl, pw = (CLASSES.index(c) for c in ("conv_dw", "conv_dw_large", "conv_pw"))
    rng = np.random.default_rng(0)
    raw = np.zeros((40, len(CLASSES) * nt))
    raw[:, dw * nt] = rng.uniform(1e-4, 1e-3, 40)
    raw[:, pw * nt] = rng.uniform(1e-3, 1e-2, 40)
    raw[:, [dw * nt + 3, pw * nt + 3]] = 1.0
    y = 60 * raw[:, dw * nt] + 20 * raw[:, pw * nt] + 0.001
    m = fit.fit_form(raw, y, "per_class", 0.01)
    co = m.coef.reshape(len(CLASSES), nt)
    assert (co[dwl] == co[dw]).all() and co[dw, 0] > 0
    raw2 = raw.copy()
    raw2[:20, dwl * nt] = raw2[:20, dw * nt]
    raw2[:20, dw * nt] = 0.0
    raw2[:20, dwl * nt + 3], raw2[:20, dw * nt + 3] = 1.0, 0.0
    y2 = 60 * raw2[:, dw * nt] + 360 * raw2[:, dwl * nt] + 20 * raw2[:, pw * nt] + 0.001
    co2 = fit.fit_form(raw2, y2, "per_class", 0.01).coef.reshape(len(CLASSES), nt)
    assert co2[dwl, 0] > 3 * co2[dw, 0]


def test_the_gpu_form_keeps_a_7x7_depthwise_conv_a_depthwise_kernel():
    from costlab.latency.forms.gpu import BASE_CLASSES, DEVICE_CLASSES, program

    assert "conv_dw_large" not in BASE_CLASSES and "conv_dw_large" not in DEVICE_CLASSES
    r = costlab.analyze(_dw(7), input_shape=(1, 16, 14, 14))
    p = program(r.graph)
    assert [k.base for d in p.ops for k in d.kernels][0] == "conv_dw"


def test_a_fused_exponential_has_its_own_rate_where_conv_silu_samples_measure_it():
    """A profile whose fusion rules fuse SiLU into convs and whose samples time conv + SiLU fits the
    fused rate from them (here a synthetic device pricing the fused exp at a fifth of a standalone
    SiLU's rate); with 'apart:silu' the same samples are a conv and a standalone SiLU, and the
    fused class stays tied to the element-wise one."""
    from costlab.blocks import sample_features
    from costlab.calibrate import fit
    from costlab.calibrate.grid import default_grid

    grid = default_grid()
    convs = [(s, sh) for s, sh in grid if s.startswith("micro_conv:") and s.endswith("act=silu")]
    assert len(convs) == 3
    nt = len(TERMS)
    ew, fx = CLASSES.index("elementwise"), CLASSES.index("fused_exp")
    for rules, fused in ((("conv+act",), True), (("conv+act", "apart:silu"), False)):
        raw = np.stack([np.asarray(sample_features(s, sh, "float32", rules)[0]).reshape(-1) for s, sh in grid])
        assert bool(raw[:, fx * nt].any()) is fused
        truth = np.zeros(len(CLASSES) * nt)
        truth[0::nt], truth[1::nt], truth[3::nt] = 20.0, 0.005, 0.002
        truth[ew * nt] = 500.0
        truth[fx * nt] = 100.0 if fused else 0.0
        y = raw @ truth + 1e-4
        co = fit.fit_form(raw, y, "per_class", 0.01).coef.reshape(len(CLASSES), nt)
        if fused:
            assert co[fx, 0] < 0.5 * co[ew, 0]
        else:
            assert (co[fx] == co[ew]).all()


def test_a_depthwise_conv_off_the_runtimes_channel_block_is_its_own_class_under_a_block_rule():
    """Under ``block:4`` a depthwise conv of 58 channels is conv_dw_offblock, one of 60 stays
    conv_dw (and a 58-channel 7x7 stays conv_dw_large); under ``block:8`` 60 channels are off it
    too; without a block rule (every shipped profile) nothing is; the rule validates as written."""
    from costlab.latency.features import SPLIT_FROM, channel_block, expand_rules, node_costs

    assert SPLIT_FROM["conv_dw_offblock"] == "conv_dw"
    assert channel_block(expand_rules(["conv+act", "block:4"])) == 4 and channel_block(expand_rules([])) is None
    with pytest.raises(ValueError, match="unknown fusion rule"):
        expand_rules(["block:four"])

    def dw_class(c: int, k: int, fusion) -> str:
        g = costlab.analyze(nn.Conv2d(c, c, k, padding=k // 2, groups=c), input_shape=(1, c, 14, 14)).graph
        return [nc.cls for nc in node_costs(g, "float32", fusion)][0]

    assert [dw_class(c, 3, ["block:4"]) for c in (58, 60, 64)] == ["conv_dw_offblock", "conv_dw", "conv_dw"]
    assert [dw_class(c, 3, ["block:8"]) for c in (58, 60, 64)] == ["conv_dw_offblock", "conv_dw_offblock", "conv_dw"]
    assert dw_class(58, 3, []) == "conv_dw" and dw_class(58, 7, ["block:4"]) == "conv_dw_large"
    d = load_profile("cpu-local").to_dict()
    validate_profile({**d, "fusion": list(d["fusion"]) + ["block:4"]})


class _SE(nn.Module):
    """conv -> squeeze-excite (global pool, two 1x1 convs, hardsigmoid gate, broadcast mul) -> conv."""

    def __init__(self, c=32):
        super().__init__()
        self.conv, self.out = nn.Conv2d(16, c, 3, padding=1), nn.Conv2d(c, 16, 1)
        self.fc1, self.fc2 = nn.Conv2d(c, 8, 1), nn.Conv2d(8, c, 1)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        g = torch.nn.functional.hardsigmoid(self.fc2(torch.relu(self.fc1(y.mean((2, 3), keepdim=True)))))
        return self.out(y * g)


class _Shuffle(nn.Module):
    def __init__(self, c=32):
        super().__init__()
        self.a, self.b = nn.Conv2d(16, c, 1), nn.Conv2d(c, c, 1)

    def forward(self, x):
        y = self.a(x)
        n, c, h, w = y.shape
        return self.b(y.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w))


def _reorders(model, shape, fusion=("conv+bn", "conv+act", "nchwc:16/4")):
    from costlab.latency.features import node_costs

    g = costlab.analyze(model.eval(), input_shape=shape).graph
    return g, [nc for nc in node_costs(g, "float32", list(fusion)) if nc.reorder]


def test_an_nchwc_rule_converts_a_squeeze_excite_blocks_tensor_out_and_back_in_around_its_broadcast_mul():
    """ONNX Runtime's NCHWc Mul needs both inputs of one shape: the SE's x * gate runs in NCHW, so
    the conv's whole result is converted out (once, for the mean, exported as ReduceMean, and the
    Mul), the gate too, and the product back in for the next conv (2 x the tensor's bytes each:
    read + write); conversions are copies (data_movement); without the rule there are none."""
    g, r = _reorders(_SE(), (1, 16, 14, 14))
    by = {n.id: n for n in g.nodes}
    full = 2 * 32 * 14 * 14 * 4 / 1e6
    outs = {(by[nc.node].kind, by[nc.node].module): nc.mb for nc in r if nc.reorder == "out"}
    # the conv's result for the mean, the 8-channel fc1 result for fc2 (fewer input channels than
    # the block: reads NCHW), the gate for the mul, and the returned result (charged to its conv)
    assert outs == pytest.approx({("mean", ""): full, ("conv", "fc2"): 2 * 8 * 4 / 1e6,
                                  ("mul", ""): 2 * 32 * 4 / 1e6, ("conv", "out"): 2 * 16 * 14 * 14 * 4 / 1e6})
    back = [nc for nc in r if nc.reorder == "in" and by[nc.node].module == "out"]
    assert len(back) == 1 and back[0].mb == pytest.approx(full)           # the product, back in
    assert all(nc.cls == "data_movement" and nc.gmac == 0 for nc in r)
    assert not _reorders(_SE(), (1, 16, 14, 14), ("conv+bn", "conv+act"))[1]


def test_an_nchwc_rule_converts_around_a_channel_shuffle_and_off_alignment_depthwise_convs():
    """The shuffle's reshape/transpose has no NCHWc kernel: the first conv's result goes out, the
    shuffled copy comes back in for the second conv. A depthwise conv of 58 channels (not a
    multiple of the rule's alignment 4) runs in NCHW between blocked convs; one of 60 does not."""
    g, r = _reorders(_Shuffle(), (1, 16, 8, 8))
    # + the 16-channel graph input in (not fewer channels than the block) and the result out
    assert sorted(nc.reorder for nc in r) == ["in", "in", "out", "out"]
    copy = next(n for n in g.nodes if n.kind == "copy")
    assert [nc.reorder for nc in r if nc.node == copy.id] == ["out"]

    def dw(c):
        m = nn.Sequential(nn.Conv2d(16, c, 1), nn.Conv2d(c, c, 3, padding=1, groups=c), nn.Conv2d(c, 16, 1))
        g, r = _reorders(m, (1, 16, 8, 8))
        return sorted((nc.reorder, g.nodes[nc.node].module) for nc in r)
    # 60: the 16-channel input in, the returned result out (charged to its producer, the last conv);
    # 58: the first conv's result out for the NCHW depthwise conv, and the last conv (58 input
    # channels, off the alignment) in NCHW too
    assert dw(60) == [("in", "0"), ("out", "2")] and dw(58) == [("in", "0"), ("out", "1")]


def test_nchwc_rules_validate_and_every_layers_latency_adds_up_to_the_total():
    """``nchwc:B/A`` parses, ``nchwc:16`` does not; under a profile with the rule the per-layer
    latencies (a conversion charged to the op that needed it) sum to the predicted total, which
    exceeds the same profile's without the rule by exactly the conversions' kernels."""
    from costlab.latency.breakdown import class_breakdown, kernel_layers
    from costlab.latency.features import expand_rules, nchwc_layout

    assert nchwc_layout(expand_rules(["conv+act", "nchwc:16/4"])) == (16, 4) and nchwc_layout([]) is None
    with pytest.raises(ValueError, match="unknown fusion rule"):
        expand_rules(["nchwc:16"])
    d = load_profile("cpu-local").to_dict()
    validate_profile({**d, "fusion": list(d["fusion"]) + ["nchwc:16/4"]})
    with_rule = load_profile({**d, "name": "with-nchwc", "fusion": list(d["fusion"]) + ["nchwc:16/4"]})
    rep = costlab.analyze(_Shuffle().eval(), input_shape=(1, 16, 8, 8))
    a, b = costlab.analyze(_Shuffle().eval(), input_shape=(1, 16, 8, 8), device=with_rule), \
        costlab.analyze(_Shuffle().eval(), input_shape=(1, 16, 8, 8), device=load_profile(d))
    assert a.totals["latency_ms"] == pytest.approx(float(a.layers["latency_ms"].sum()), abs=1e-3)
    rows = kernel_layers(rep, with_rule)
    conv = rows[rows["name"].str.contains("reorder_")]
    assert len(conv) == 4 and a.totals["latency_ms"] - b.totals["latency_ms"] == pytest.approx(
        float(conv["latency_ms"].sum()), abs=1e-3)
    assert sum(class_breakdown(rep, with_rule).values()) == pytest.approx(float(rows["latency_ms"].sum()))


def test_op_and_block_samples_leave_out_the_conversions_their_timing_took_out():
    """A profile's op/block sample with an edge share (its layout kernels taken out of its time)
    has no conversion features; the same sample without one, and every network sample, has."""
    from costlab.calibrate.fit import profile_data
    from costlab.latency.features import CLASSES

    d = load_profile("cpu-local").to_dict()
    spec, shape = "micro_block_sv2:c=48,stride=1", [1, 48, 28, 28]
    base = {"spec": spec, "input_shape": shape, "granularity": "block", "family": "micro", "latency_ms": 1.0}
    doc = {**d, "fusion": ["conv+bn", "conv+act", "nchwc:16/4"],
           "samples": [{**base, "stats": {"edge_share": 0.1}}, {**base, "stats": {}},
                       {"spec": "shufflenet_v2:width=0.5", "input_shape": [1, 3, 224, 224], "granularity": "network",
                        "family": "shufflenet_v2", "latency_ms": 2.0}]}
    raw = profile_data(doc).raw.reshape(3, len(CLASSES), -1)[:, CLASSES.index("data_movement"), 3]
    assert raw[1] > raw[0] and raw[2] > 0


def test_a_pass_activation_keeps_its_output_elements_as_fused_work():
    """Under ``pass:hardtanh`` a ReLU6 fused into a conv stays fused (no kernel, no bytes) but its
    output elements are fused work, priced at the fused_exp rate; without the modifier, and a ReLU
    under it, cost nothing of their own. The modifier parses as written; per-layer latencies still
    add up to the total, which grows by exactly that rate x those elements."""
    m = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.ReLU6(), nn.Conv2d(16, 8, 1), nn.ReLU())
    r = costlab.analyze(m.eval(), input_shape=(1, 16, 12, 12))

    def fused(rules):
        return {ops.kind_of(r.graph.node(c.node).op): c.gmac for c in node_costs(r.graph, "float32", rules)
                if c.fused_into is not None}

    assert fused(["conv+act"]) == {"hardtanh": 0.0, "relu": 0.0}
    assert fused(["conv+act", "pass:hardtanh"]) == {"hardtanh": pytest.approx(16 * 12 * 12 / 1e9), "relu": 0.0}
    assert expand_rules(["pass:leaky_relu"]) == frozenset({"pass:leaky_relu"})
    for bad in ("pass:", "pass:Hard"):
        with pytest.raises(ValueError, match="unknown fusion rule"):
            expand_rules([bad])
    d = {**load_profile("cpu-local").to_dict(), "fusion": ["conv+bn", "conv+act"]}
    validate_profile({**d, "fusion": d["fusion"] + ["pass:hardtanh"]})
    shape = (1, 16, 96, 96)
    a = costlab.analyze(m.eval(), input_shape=shape,
                        device=load_profile({**d, "name": "with-pass", "fusion": d["fusion"] + ["pass:hardtanh"]}))
    b = costlab.analyze(m.eval(), input_shape=shape, device=load_profile({**d, "name": "without"}))
    rate = coef_matrix(d["predictor"])[CLASSES.index("fused_exp"), 0]
    assert rate > 0 and a.totals["latency_ms"] - b.totals["latency_ms"] == pytest.approx(rate * 16 * 96 * 96 / 1e9, rel=0.01)
    assert a.totals["latency_ms"] == pytest.approx(float(a.layers["latency_ms"].sum()), abs=1e-3)


def test_an_nchwc_rule_counts_a_blocked_convs_macs_padded_to_the_block():
    """ONNX Runtime computes a blocked conv on channels padded up to the block: a 1x1 conv of 144
    to 24 channels computes 32, one of 24 to 144 reads 32, a 72-channel depthwise conv 80; a conv
    of fewer input channels than the block reads NCHW (only its output is padded); a 58-channel
    depthwise conv (off the alignment 4) runs in NCHW, unpadded; no rule, no padding."""
    from costlab.latency.layout import padded_work

    m = nn.Sequential(nn.Conv2d(3, 24, 3, padding=1), nn.Conv2d(24, 144, 1), nn.Conv2d(144, 24, 1),
                      nn.Conv2d(24, 72, 1), nn.Conv2d(72, 72, 3, padding=1, groups=72), nn.Conv2d(72, 58, 1),
                      nn.Conv2d(58, 58, 3, padding=1, groups=58), nn.Conv2d(58, 48, 1), nn.Conv2d(48, 96, 1, groups=3))
    g = costlab.analyze(m.eval(), input_shape=(1, 3, 8, 8)).graph
    convs = [n for n in g.nodes if ops.kind_of(n.op) == "conv"]
    assert [padded_work(n, 16, 4) for n in convs] == pytest.approx(
        [32 / 24, 32 / 24, 32 / 24, (32 / 24) * (80 / 72), 80 / 72, (80 / 72) * (64 / 58), 1.0, 1.0, 1.0])
    gm = {c.node: c.gmac for c in node_costs(g, "float32", ["nchwc:16/4"]) if not c.reorder}
    plain = {c.node: c.gmac for c in node_costs(g, "float32", [])}
    assert [gm[n.id] / plain[n.id] for n in convs] == pytest.approx([padded_work(n, 16, 4) for n in convs])


def test_local_response_norms_channel_window_is_a_pool_class_of_its_own_tied_to_pool_without_samples():
    """LRN traces to an avg_pool3d of kernel (5, 1, 1) over a (N, 1, C, H, W) view: class
    pool_channel; a 2D average pool stays pool. A profile fitted before the class (every shipped
    one) prices it with pool's rates; a fit whose samples hold LRNs gives it rates of its own."""
    from costlab.blocks import sample_graph
    from costlab.latency.features import SPLIT_FROM

    g, _ = sample_graph("micro_lrn:c=64", (1, 64, 28, 28))
    assert [latency_class(n) for n in g.nodes if n.op == "aten.avg_pool3d.default"] == ["pool_channel"]
    g, _ = sample_graph("micro_pool:kind=avg", (1, 64, 28, 28))
    assert [latency_class(n) for n in g.nodes] == ["pool"]
    assert SPLIT_FROM["pool_channel"] == "pool"
    d = load_profile("cpu-local").to_dict()
    assert "pool_channel" not in d["predictor"]["classes"]
    c = coef_matrix(d["predictor"])
    assert (c[CLASSES.index("pool_channel")] == c[CLASSES.index("pool")]).all()


def test_a_split_class_one_row_exercises_is_fitted_as_the_class_it_left():
    """merge_thin_splits: with one training row holding a local response norm the channel window's
    features are folded into pool's (fitted as pool, then tied to it); with two rows they stay
    its own; a class no row exercises is left alone."""
    from costlab.latency.features import merge_thin_splits

    nt = len(TERMS)
    pc, pool = CLASSES.index("pool_channel"), CLASSES.index("pool")
    raw = np.zeros((3, len(CLASSES) * nt))
    raw[:, pool * nt] = [1.0, 2.0, 3.0]
    raw[0, pc * nt:(pc + 1) * nt] = [0.5, 0.1, 0.2, 1.0]
    got = merge_thin_splits(raw)
    assert not got[:, pc * nt:(pc + 1) * nt].any()
    assert got[0, pool * nt:(pool + 1) * nt] == pytest.approx([1.5, 0.1, 0.2, 1.0])
    assert raw[0, pc * nt] == 0.5                                  # the input is not changed
    raw[1, pc * nt + 3] = 1.0
    assert (merge_thin_splits(raw) == raw).all()
