"""SqueezeNet v1.0 / v1.1 (Iandola et al. 2016): counts against paper_counts.csv."""
from __future__ import annotations

import math

import pytest
import torch

from costlab.zoo import SpecError, create_model, list_paper_rows, parse_spec
from costlab.zoo.squeezenet import TABLE1_FIRES, FIRE_NAMES, fire_channels
from tests.fvcore_ref import fvcore_conv_linear_macs, param_count
from tests.zoo.paper_rows import CSV_ROWS

MIB = 2**20


def _rows() -> dict[tuple[str, str], dict]:
    return {(r["variant"], r["metric"]): r for r in CSV_ROWS if r["model"] == "SqueezeNet"}


ROWS = _rows()


def paper(variant: str, metric: str) -> tuple[float, int]:
    r = ROWS[(variant, metric)]
    return float(r["value"]), int(r["resolution"])


def build(spec: str):
    entry, knobs = parse_spec(spec)
    return entry.build(**knobs)


def macs(model, res: int) -> int:
    return fvcore_conv_linear_macs(model, (1, 3, res, res))


def declared(variant: str, metric: str) -> str | None:
    for pr in list_paper_rows():
        if pr.model == "SqueezeNet" and pr.variant == variant:
            assert metric in pr.metrics, (variant, metric)
            return pr.reasons.get(metric) or pr.reasons.get(f"{metric}@{ROWS[(variant, metric)]['resolution']}")
    raise AssertionError(f"row {variant!r} not declared")


def close(got: float, want: float, tol: float = 0.01) -> bool:
    return abs(got - want) <= tol * abs(want)


# ---------------------------------------------------------------- architecture
@pytest.mark.parametrize("name", ["squeezenet1_0", "squeezenet1_1"])
def test_default_channels_are_table1(name):
    m = create_model(name)
    got = {f: (getattr(m.features, f).squeeze.out_channels, getattr(m.features, f).expand1x1.out_channels,
               getattr(m.features, f).expand3x3.out_channels) for f in FIRE_NAMES}
    assert got == TABLE1_FIRES
    assert [n for n, _ in m.features.named_children() if n.startswith("pool")] == (
        ["pool1", "pool4", "pool8"] if name.endswith("1_0") else ["pool1", "pool3", "pool5"])


def test_metaparameter_formulas():
    # Sec. 5.1: e_i = base_e + incr_e * floor(i / freq); e3 = e * pct; e1 = e - e3; s = SR * e
    assert fire_channels() == [TABLE1_FIRES[f] for f in FIRE_NAMES]
    for base, incr, freq, pct, sr in [(128, 128, 2, 0.5, 0.75), (64, 32, 3, 0.25, 0.25),
                                      (96, 0, 1, 0.125, 1.0), (128, 128, 1, 0.5, 0.5)]:
        for i, (s, e1, e3) in enumerate(fire_channels(base, incr, freq, pct, sr)):
            e = base + incr * math.floor(i / freq)
            assert e1 + e3 == e and e3 == round(e * pct) and s == round(sr * e)
    m = create_model("squeezenet1_0", sr=0.5, pct_3x3=0.25, base_e=64, incr_e=64, freq=1)
    f9 = m.features.fire9
    assert (f9.squeeze.out_channels, f9.expand1x1.out_channels, f9.expand3x3.out_channels) == (256, 384, 128)
    assert m.classifier.conv10.in_channels == 512


def ls_h_mib(params: int) -> str:
    """fp32 size as `ls -lh` prints it: MiB rounded UP, one decimal below 10."""
    mib = params * 4 / MIB
    return f"{math.ceil(mib * 10) / 10:.1f}MB" if mib < 10 else f"{math.ceil(mib)}MB"


def test_fig3_model_sizes_from_text():
    # Sec. 5.2/5.3 text (verified transcription; not CSV rows): SR=0.125 is the 4.8MB model,
    # SR=0.75 "a 19MB model", SR=0.5 with pct_3x3=0.5 "the 13MB models" of Fig. 3(a)/(b).
    assert ls_h_mib(param_count(create_model("squeezenet1_0"))) == "4.8MB"
    assert ls_h_mib(param_count(create_model("squeezenet1_0", sr=0.75))) == "19MB"
    assert ls_h_mib(param_count(create_model("squeezenet1_0", sr=0.5, pct_3x3=0.5))) == "13MB"
    # size grows monotonically with SR and with pct_3x3 (Fig. 3 x-axes)
    by_sr = [param_count(create_model("squeezenet1_0", sr=s)) for s in (0.125, 0.25, 0.5, 0.75, 1.0)]
    by_pct = [param_count(create_model("squeezenet1_0", sr=0.5, pct_3x3=p)) for p in (0.01, 0.25, 0.5, 0.99)]
    assert by_sr == sorted(by_sr) and by_pct == sorted(by_pct)


def test_bypass_structure():
    plain = create_model("squeezenet1_0")
    simple = create_model("squeezenet1_0", bypass="simple")
    cplx = create_model("squeezenet1_0", bypass="complex")
    assert param_count(simple) == param_count(plain)  # "just a wire"
    ident = [f for f in FIRE_NAMES if getattr(simple.features, f).identity_bypass]
    assert ident == ["fire3", "fire5", "fire7", "fire9"]
    assert [f for f in FIRE_NAMES if getattr(cplx.features, f).identity_bypass] == ident
    convs = {f: (getattr(cplx.features, f).bypass.in_channels, getattr(cplx.features, f).bypass.out_channels)
             for f in FIRE_NAMES if getattr(cplx.features, f).bypass is not None}
    assert convs == {"fire2": (96, 128), "fire4": (128, 256), "fire6": (256, 384), "fire8": (384, 512)}
    assert param_count(cplx) - param_count(plain) == 96 * 128 + 128 * 256 + 256 * 384 + 384 * 512 + 1280
    x = torch.zeros(1, 3, 64, 64)
    assert cplx(x).shape == (1, 1000)


@pytest.mark.parametrize("spec", ["squeezenet1_0", "squeezenet1_1:bypass=complex",
                                  "squeezenet1_0:conv10_pad=1,num_classes=10"])
def test_traceable_on_meta(spec):
    m = build(spec).to("meta")
    out = m(torch.empty(2, 3, 224, 224, device="meta"))
    assert out.shape[0] == 2 and out.shape[1] == m.classifier.conv10.out_channels


# ---------------------------------------------------------------- paper rows
def test_torchvision_rows():
    for name, variant in [("squeezenet1_0", "torchvision squeezenet1_0"),
                          ("squeezenet1_1", "torchvision squeezenet1_1")]:
        m = create_model(name)
        p, _ = paper(variant, "params")
        assert param_count(m) == int(p)
        g, res = paper(variant, "madds")
        assert close(macs(m, res) / 1e9, g)
        mb, _ = paper(variant, "size_mb")
        assert close(param_count(m) * 4 / MIB, mb)
        assert declared(variant, "params") is None and declared(variant, "madds") is None


def test_caffe_v1_0_rows():
    m = build("squeezenet1_0:conv10_pad=1")
    n = param_count(m)
    p, _ = paper("1.0 paper Table 1 total (before pruning)", "params")
    assert n == int(p)
    mb, _ = paper("1.0 Caffe model (official)", "size_mb")
    assert close(n * 4 / MIB, mb)
    pm, _ = paper("1.0 (as quoted in MobileNetV1 paper Table 9)", "params")
    assert close(n / 1e6, pm)
    gflops, res = paper("1.0", "flops")
    mac = macs(m, res)
    assert close(2 * mac / 1e9, gflops)  # 1.7227 vs 1.72: official README
    # MobileNet Table 9 "1700 Mult-Adds" is 2 x MAC: declared, and 2 x MAC within 2%
    mm, res_mn = paper("1.0 (as quoted in MobileNetV1 paper Table 9)", "madds")
    assert res_mn == res and not close(mac / 1e6, mm)
    assert declared("1.0 (as quoted in MobileNetV1 paper Table 9)", "madds")
    assert close(2 * mac / 1e6, mm, 0.02)


def test_shufflenet_quote():
    v, res = paper("as quoted in ShuffleNetV1 paper Table 6", "madds")
    m = create_model("squeezenet1_0")
    at_row = macs(m, res) / 1e6
    assert declared("as quoted in ShuffleNetV1 paper Table 6", "madds")
    assert close(at_row, v, 0.02)          # 818.9 vs 833 at 224
    assert close(macs(m, 227) / 1e6, v, 0.001)  # 832.7 at the Caffe crop


def test_v1_1_flops():
    v, res = paper("1.1", "flops")
    got = 2 * macs(create_model("squeezenet1_1"), res) / 1e9
    assert declared("1.1", "flops")
    assert close(got, v, 0.08)  # 0.775 vs 0.72, reason declared


def test_table3_sizes():
    for variant, spec in [("1.0 vanilla", "none"), ("1.0 simple bypass", "simple")]:
        mb, _ = paper(variant, "size_mb")
        assert close(param_count(create_model("squeezenet1_0", bypass=spec)) * 4 / MIB, mb)
        assert declared(variant, "size_mb") is None
    mb, _ = paper("1.0 complex bypass", "size_mb")
    got = param_count(create_model("squeezenet1_0", bypass="complex")) * 4 / MIB
    assert declared("1.0 complex bypass", "size_mb")
    assert 6.0 < got < 6.1 and not close(got, mb)  # 6.06 MiB vs 7.7 (UNVERIFIED row)


# ---------------------------------------------------------------- knobs
def test_parse_spec_and_aliases():
    entry, knobs = parse_spec("squeezenet1_0:sr=0.25,pct_3x3=0.75,bypass=simple")
    assert entry.name == "squeezenet1_0" and knobs["sr"] == 0.25 and knobs["bypass"] == "simple"
    assert parse_spec("squeezenet")[0].name == "squeezenet1_0"
    assert parse_spec("squeezenet1.1")[0].name == "squeezenet1_1"
    assert entry.default_input_shape() == (1, 3, 224, 224)


@pytest.mark.parametrize("spec", [
    "squeezenet1_0:bypass=fancy", "squeezenet1_0:sr=0", "squeezenet1_0:sr=1.5",
    "squeezenet1_0:pct_3x3=1.0", "squeezenet1_0:freq=0", "squeezenet1_0:num_classes=0",
    "squeezenet1_0:conv10_pad=2", "squeezenet1_0:base_e=abc", "squeezenet1_1:width=0.5",
    "squeezenet1_0:sr",
])
def test_bad_knobs(spec):
    with pytest.raises(SpecError):
        build(spec)
