"""FBNet space on HW-NAS-Bench's CIFAR-100 macro (costlab/zoo/fbnet.py).

Reference: RICE-EIC/HW-NAS-Bench (MIT) hw_nas_bench_api/fbnet_models/model_infer.py at
commit edf73c33ffec12c575253fd8462339a9fed0f9c1. The parameter counts in OFFICIAL were
printed by that code (``FBNet_Infer({"op_idx_list": ..., "num_classes": 100,
"dataset": "cifar100"})``, ``sum(p.numel() for p in model.parameters())``, run on CPU while
this family was written; with the official state_dict loaded, costlab's model gave
bit-identical logits). ``official_params`` below recomputes them by hand from that file's
class definitions, so the test needs no copy of the official code.
"""
from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
import torch

import costlab
from costlab.cli import main
from costlab.zoo import SpecError, create_model, get_entry, parse_spec
from costlab.zoo.fbnet import DEFAULT_ARCH, PRIMITIVES, fbnet_blocks, layer_plan, parse_arch
from tests.fvcore_ref import param_count

# HELP's FBNet latency data (HayeonLee/HELP data/fbnet, MIT), kept next to the repository
HELP_CSV = Path(__file__).resolve().parents[3] / "shared" / "data" / "fbnet_space_help_latency.csv"

# hw_nas_bench_api.py get_net_config: ops_str_lookup_table (op_idx_list indexes it)
HW_NAS_BENCH_OPS = ["k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip"]

HELP_ARCH_0 = ("k5_e6|skip|k3_e1_g2|skip|k5_e1|skip|skip|skip|k5_e6|k5_e1|k3_e1_g2|k5_e1|k5_e6|k3_e6|"
               "k3_e3|k5_e6|k3_e6|k3_e3|k5_e1|k3_e3|k5_e1|k5_e1_g2")
HELP_ARCH_1 = ("k5_e1_g2|k3_e6|k5_e1_g2|k5_e1_g2|k3_e1|k5_e1|k5_e6|k5_e1_g2|k5_e1_g2|k3_e3|k3_e1|"
               "k3_e3|k5_e1|k5_e1_g2|k3_e1_g2|k3_e6|k5_e6|k3_e3|k5_e3|k3_e1|k5_e1|k3_e1")
HELP_ARCH_2 = ("skip|k3_e3|k3_e1_g2|k5_e1_g2|k3_e1_g2|skip|k5_e1|k5_e3|k5_e3|k3_e3|k5_e1_g2|k3_e3|"
               "k5_e1_g2|k3_e1_g2|k3_e3|k5_e1_g2|k3_e3|skip|k3_e3|k3_e6|k5_e1_g2|k3_e1")


def _all(op: str) -> str:
    return "|".join([op] * 22)


# arch -> parameters printed by HW-NAS-Bench's FBNet_Infer (cifar100); HELP_ARCH_i = arch_str of
# HELP's arch_index i
OFFICIAL = {
    HELP_ARCH_0: 1_790_500,
    HELP_ARCH_1: 1_695_572,
    HELP_ARCH_2: 1_737_316,
    _all("skip"): 780_660,
    _all("k3_e1_g2"): 940_084,
    _all("k5_e6"): 3_749_652,
    _all("k3_e1"): 1_170_676,
}


def official_params(arch: str) -> int:
    """Parameter count from model_infer.py's definitions, by hand.

    ConvNorm(ci, co, k): conv k*k*ci*co (no bias) + BN 2*co.
    ConvBlock(ci, co, e, k, g): conv1 ci*(ci*e)/g + BN 2*ci*e, depthwise conv2 k*k*ci*e + BN
    2*ci*e, conv3 (ci*e)*co/g + BN 2*co.  Skip: 0 when ci == co and stride 1, else conv 1x1
    ci*co + BN 2*co.  stem ConvNorm(3, 16, 3), header ConvNorm(352, 1504, 1), fc 1504*100 + 100.
    """
    total = (9 * 3 * 16 + 2 * 16) + (352 * 1504 + 2 * 1504) + (1504 * 100 + 100)
    for op, (ci, co, s) in zip(arch.split("|"), layer_plan()):
        if op == "skip":
            total += 0 if (ci == co and s == 1) else ci * co + 2 * co
            continue
        k, e = int(op[1]), int(op[4])
        g = 2 if op.endswith("_g2") else 1
        mid = ci * e
        total += ci * mid // g + 2 * mid + k * k * mid + 2 * mid + mid * co // g + 2 * co
    return total


def official_macs(arch: str) -> int:
    """Conv + linear multiply-accumulates of the same network on 1x3x32x32 (by hand)."""
    h = 32
    total = 9 * 3 * 16 * h * h                         # stem, stride 1
    for op, (ci, co, s) in zip(arch.split("|"), layer_plan()):
        ho = (h - 1) // s + 1
        if op == "skip":
            total += 0 if (ci == co and s == 1) else ci * co * ho * ho
        else:
            k, e = int(op[1]), int(op[4])
            g = 2 if op.endswith("_g2") else 1
            mid = ci * e
            total += ci * mid // g * h * h + k * k * mid * ho * ho + mid * co // g * ho * ho
        h = ho
    return total + 352 * 1504 * h * h + 1504 * 100       # header at 4x4, fc


def h_final() -> int:
    h = 32
    for _, _, s in layer_plan():
        h = (h - 1) // s + 1
    return h


def test_macro_layout():
    assert h_final() == 4
    assert layer_plan() == (
        [(16, 16, 1)]
        + [(16, 24, 1)] + [(24, 24, 1)] * 3
        + [(24, 32, 2)] + [(32, 32, 1)] * 3
        + [(32, 64, 2)] + [(64, 64, 1)] * 3
        + [(64, 112, 1)] + [(112, 112, 1)] * 3
        + [(112, 184, 2)] + [(184, 184, 1)] * 3
        + [(184, 352, 1)]
    )
    assert list(PRIMITIVES) == HW_NAS_BENCH_OPS
    assert DEFAULT_ARCH == HELP_ARCH_0


@pytest.mark.parametrize("arch", list(OFFICIAL), ids=[f"arch{i}" for i in range(len(OFFICIAL))])
def test_params_equal_official_code(arch):
    assert official_params(arch) == OFFICIAL[arch]
    with torch.device("meta"):   # no weights, no kernels: the counts and shapes only
        model = create_model("fbnet", arch=arch)
        assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 100)
    assert param_count(model) == OFFICIAL[arch]


@pytest.mark.parametrize("arch", [HELP_ARCH_0, HELP_ARCH_2, _all("skip"), _all("k5_e1_g2")])
def test_costlab_counts_equal_hand_counts(arch):
    t = costlab.analyze(f"fbnet:arch={arch}").totals
    assert t["params"] == official_params(arch)
    assert t["macs"] == official_macs(arch)


def test_block_executes_official_op_order():
    """ConvBlock: 1x1 (g) -> BN -> ReLU -> shuffle -> depthwise -> BN -> ReLU -> 1x1 (g) -> BN -> += x."""
    r = costlab.analyze("fbnet_block:op=k5_e1_g2,cin=24,cout=24,stride=1", input_shape=(1, 24, 32, 32))
    assert r.unsupported == []
    assert list(r.layers["op"]) == ["gconv1x1/g2", "batch_norm", "relu", "copy", "dwconv5x5", "batch_norm",
                                    "relu", "gconv1x1/g2", "batch_norm", "add"]
    # no residual when the width or the stride changes; no shuffle without groups
    r = costlab.analyze("fbnet_block:op=k3_e6,cin=24,cout=32,stride=2", input_shape=(1, 24, 32, 32))
    assert list(r.layers["op"]) == ["conv1x1", "batch_norm", "relu", "dwconv3x3/s2", "batch_norm", "relu",
                                    "conv1x1", "batch_norm"]
    # skip: 1x1 conv -> BN -> ReLU when shapes change, nothing when they do not
    r = costlab.analyze("fbnet_block:op=skip,cin=24,cout=32,stride=2", input_shape=(1, 24, 32, 32))
    assert list(r.layers["op"]) == ["conv1x1/s2", "batch_norm", "relu"]
    r = costlab.analyze("fbnet_block:op=skip,cin=24,cout=24,stride=1", input_shape=(1, 24, 32, 32))
    assert r.totals["params"] == r.totals["macs"] == r.totals["mac_bytes"] == 0


SUMMED = ("params", "macs", "mac_bytes", "elem_ops")


@pytest.mark.parametrize("arch", [HELP_ARCH_0, HELP_ARCH_1, _all("skip")], ids=["help0", "help1", "all_skip"])
def test_blocks_add_up_to_the_network(arch):
    whole = costlab.analyze(f"fbnet:arch={arch}").totals
    entry, knobs = parse_spec(f"fbnet:arch={arch}")
    blocks = entry.blocks((1, 3, 32, 32), **knobs)
    assert len(blocks) == 24
    summed = dict.fromkeys(SUMMED, 0)
    for spec, shape in blocks:
        t = costlab.analyze(spec, input_shape=[shape]).totals
        for k in SUMMED:
            summed[k] += t[k]
    assert summed == {k: whole[k] for k in SUMMED}


def test_blocks_layout():
    blocks = fbnet_blocks((8, 3, 32, 32), arch=HELP_ARCH_0)
    assert blocks[0] == ("fbnet_stem", (8, 3, 32, 32))
    assert blocks[1] == ("fbnet_block:op=k5_e6,cin=16,cout=16,stride=1", (8, 16, 32, 32))
    assert blocks[6] == ("fbnet_block:op=skip,cin=24,cout=32,stride=2", (8, 24, 32, 32))
    assert blocks[7] == ("fbnet_block:op=skip,cin=32,cout=32,stride=1", (8, 32, 16, 16))
    assert blocks[-1] == ("fbnet_head:cin=352,classes=100", (8, 352, 4, 4))
    assert get_entry("fbnet").blocks is fbnet_blocks


def test_block_entry_on_the_command_line(capsys):
    code = main(["analyze", "fbnet_block:op=k3_e6,cin=16,cout=24,stride=1", "--input-shape", "1x16x32x32"])
    out = capsys.readouterr().out
    assert code in (0, None)
    assert "fbnet_block" in out and "dwconv3x3" in out


@pytest.mark.skipif(not HELP_CSV.is_file(), reason=f"{HELP_CSV} not present (shared data beside the repo)")
def test_every_help_arch_is_accepted():
    with HELP_CSV.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5000
    assert [r["arch_str"] for r in rows[:3]] == [HELP_ARCH_0, HELP_ARCH_1, HELP_ARCH_2]
    for row in rows:
        arch = row["arch_str"]
        ops = parse_arch(arch)
        assert list(ops) == [HW_NAS_BENCH_OPS[int(i)] for i in row["op_idx_list"].split("-")]
        entry, knobs = parse_spec(f"fbnet:arch={arch}")
        assert knobs["arch"] == arch
        assert len(entry.blocks((1, 3, 32, 32), **knobs)) == 24
    for row in random.Random(0).sample(rows, 3):   # and some build
        assert param_count(create_model("fbnet", arch=row["arch_str"])) == official_params(row["arch_str"])


def test_every_op_at_every_position_is_accepted():
    rng = random.Random(1)
    for pos in range(22):
        for op in PRIMITIVES:
            ops = [rng.choice(HW_NAS_BENCH_OPS) for _ in range(22)]
            ops[pos] = op
            assert parse_arch("|".join(ops)) == tuple(ops)


@pytest.mark.parametrize("bad", [
    HELP_ARCH_0.replace("k5_e6", "k7_e6", 1),           # unknown op
    "|".join(HELP_ARCH_0.split("|")[:21]),               # 21 ops
    HELP_ARCH_0 + "|skip",                               # 23 ops
    HELP_ARCH_0.replace("|", ";"),                       # wrong separator
])
def test_bad_arch_is_a_one_line_spec_error(bad):
    for call in (lambda: create_model("fbnet", arch=bad),
                 lambda: costlab.analyze(f"fbnet:arch={bad}"),
                 lambda: fbnet_blocks((1, 3, 32, 32), arch=bad)):
        with pytest.raises(SpecError) as ei:
            call()
        msg = str(ei.value)
        assert "\n" not in msg
        assert "22 ops joined by '|'" in msg and "k3_e1_g2" in msg and "fbnet:arch=k3_e6|" in msg


def test_bad_block_knobs():
    with pytest.raises(SpecError, match="op"):
        parse_spec("fbnet_block:op=k7_e6")
    with pytest.raises(SpecError, match="groups 2"):
        create_model("fbnet_block", op="k3_e1_g2", cin=15, cout=24)
