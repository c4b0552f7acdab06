"""NAS-Bench-201 cell space on its CIFAR macro (costlab/zoo/nb201.py).

Reference code: D-X-Y/AutoDL-Projects (MIT) at commit
f46486e21b71ae6459a700be720d7648b5429569, xautodl/models/cell_infers/tiny_network.py,
cells.py and xautodl/models/cell_operations.py (with the official state_dict loaded,
costlab's model gave bit-identical logits on the cells below while this family was written).

Published counts (NAS-Bench-201 / NATS-Bench API, CIFAR-10 unless said; "Params ... MB" is
millions of parameters, ``count_parameters_in_MB`` = numel / 1e6; "FLOP" is
``get_model_infos``: conv + linear multiply-accumulates plus the linear bias):

* ``|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|``
  (the ResNet cell, index 11472): params 0.559, FLOPs 78.56 -- AutoDL-Projects
  exps/NAS-Bench-201/visualize.py (same commit), comment ``resnet = {'params': 0.559,
  'flops': 78.56, ...}``;
* ``|skip_connect~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|``:
  params 0.802426, flops 113.95137 (``get_cost_info(..., 'cifar10', hp='12')``, printed in
  D-X-Y/NATS-Bench issue #36);
* index 1, ``|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|``:
  cifar10 FLOP=113.95 M, Params=0.802 MB; cifar100 Params=0.808 MB
  (``query_info_str_by_arch(1)``, D-X-Y/NATS-Bench issue #18);
* index 9930 (the best cell), ``|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|``:
  cifar10 FLOP=184.73 M, Params=1.289 MB; cifar100 Params=1.294 MB (the API's info string,
  as quoted in public code that uses it). (1.07M, a number sometimes quoted for it, is not
  what the API prints.)

``hand_params`` / ``hand_macs`` write the arithmetic out from the official definitions.
"""
from __future__ import annotations

import pytest
import torch

import costlab
from costlab.errors import InputError
from costlab.zoo import SpecError, create_model, get_entry, parse_spec
from costlab.zoo.nb201 import DEFAULT_ARCH, OPS, nb201_blocks, parse_arch
from tests.fvcore_ref import param_count


def cell(*ops: str) -> str:
    return "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)


RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
ISSUE36 = "|skip_connect~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
INDEX1 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = cell(*["none"] * 6)
ALL_SKIP = cell(*["skip_connect"] * 6)


def hand_params(arch: str, classes: int = 10) -> int:
    """From the official definitions (BN: 2 parameters per channel, convs without bias).

    stem conv3x3 3->16 + BN                      = 432 + 32                       = 464
    resblock 16->32: conv_a 3x3 + BN, conv_b 3x3 + BN, shortcut 1x1 (no BN)
                     = 4608 + 64 + 9216 + 64 + 512                                = 14,464
    resblock 32->64  = 18432 + 128 + 36864 + 128 + 2048                           = 57,600
    lastact BN 64 = 128; classifier 64 * classes + classes
    each nor_conv_3x3 edge, in 5 cells at 16, 32, 64 channels:
                     5 * ((9*16*16 + 32) + (9*32*32 + 64) + (9*64*64 + 128))     = 243,040
    each nor_conv_1x1 edge: 5 * ((256 + 32) + (1024 + 64) + (4096 + 128))        = 28,000
    none / skip_connect / avg_pool_3x3 edges: 0
    """
    ops = [op for node in parse_arch(arch) for op, _ in node]
    return (464 + 14_464 + 57_600 + 128 + 64 * classes + classes
            + 243_040 * ops.count("nor_conv_3x3") + 28_000 * ops.count("nor_conv_1x1"))


def hand_macs(arch: str, classes: int = 10) -> int:
    """Conv + linear multiply-accumulates on 1x3x32x32.

    stem 27*16*32*32 = 442,368; each resblock: conv_a 9*cin*cout*(H/2)^2 + conv_b
    9*cout^2*(H/2)^2 + 1x1 cin*cout*(H/2)^2 = 1,179,648 + 2,359,296 + 131,072 = 3,670,016
    (both); classifier 64 * classes.  A 3x3 edge costs 9*C^2*H^2 = 2,359,296 at every stage
    (16@32, 32@16, 64@8), 5 cells each: 35,389,440; a 1x1 edge 3,932,160.
    """
    ops = [op for node in parse_arch(arch) for op, _ in node]
    return (442_368 + 2 * 3_670_016 + 64 * classes
            + 35_389_440 * ops.count("nor_conv_3x3") + 3_932_160 * ops.count("nor_conv_1x1"))


@pytest.mark.parametrize("arch,classes,published_m,digits", [
    (RESNET, 10, 0.559, 3),
    (ISSUE36, 10, 0.802426, 6),
    (INDEX1, 10, 0.802, 3),
    (INDEX1, 100, 0.808, 3),
    (BEST, 10, 1.289, 3),
    (BEST, 100, 1.294, 3),
])
def test_params_equal_published(arch, classes, published_m, digits):
    with torch.device("meta"):
        model = create_model("nb201", arch=arch, classes=classes)
    n = param_count(model)
    assert n == hand_params(arch, classes)
    assert round(n / 1e6, digits) == published_m
    assert costlab.analyze(f"nb201:arch={arch},classes={classes}").totals["params"] == n


@pytest.mark.parametrize("arch,published_mflops,digits", [
    (RESNET, 78.56, 2), (ISSUE36, 113.95137, 5), (INDEX1, 113.95, 2), (BEST, 184.73, 2),
])
def test_macs_equal_published_flops(arch, published_mflops, digits):
    """NAS-Bench-201's FLOP = conv/linear MACs + the classifier's 10 bias adds."""
    macs = costlab.analyze(f"nb201:arch={arch}").totals["macs"]
    assert macs == hand_macs(arch)
    assert round((macs + 10) / 1e6, digits) == published_mflops


@pytest.mark.parametrize("arch", [ALL_NONE, ALL_SKIP])
def test_degenerate_cells_build_and_count(arch):
    """No path from input to output (all none) or no op at all (all skip) is still a network."""
    with torch.device("meta"):
        model = create_model("nb201", arch=arch)
        assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 10)
    assert param_count(model) == hand_params(arch) == 73_306
    r = costlab.analyze(f"nb201:arch={arch}")
    assert r.unsupported == []
    assert r.totals["macs"] == hand_macs(arch) == 7_783_040
    ops = list(costlab.analyze(f"nb201_cell:arch={arch},c=16", input_shape=(1, 16, 32, 32)).layers["op"])
    # node j = sum(...) starts at 0: one add per edge; each none edge runs x.mul(0.)
    assert ops.count("add") == 6
    assert ops.count("mul") == (6 if arch == ALL_NONE else 0)
    assert len(ops) == ops.count("add") + ops.count("mul")


def test_cell_executes_official_op_order():
    ops = list(costlab.analyze(f"nb201_cell:arch={INDEX1},c=16", input_shape=(1, 16, 32, 32)).layers["op"])
    conv = ["relu", "conv3x3", "batch_norm"]
    assert ops == (conv + ["add"]                                 # node 1 = 0 + conv(x)
                   + conv + ["add", "pool", "add"]                # node 2 = 0 + conv(x) + pool(n1)
                   + ["add"] + conv + ["add", "add"])             # node 3 = 0 + x + conv(n1) + n2
    ops = list(costlab.analyze("nb201_resblock:cin=16,cout=32", input_shape=(1, 16, 32, 32)).layers["op"])
    assert ops == ["relu", "conv3x3/s2", "batch_norm", "relu", "conv3x3", "batch_norm", "pool", "conv1x1", "add"]


SUMMED = ("params", "macs", "mac_bytes", "elem_ops")


@pytest.mark.parametrize("arch", [INDEX1, RESNET, ALL_NONE], ids=["index1", "resnet", "all_none"])
def test_blocks_add_up_to_the_network(arch):
    spec = f"nb201:arch={arch},classes=100"
    whole = costlab.analyze(spec).totals
    entry, knobs = parse_spec(spec)
    summed = dict.fromkeys(SUMMED, 0)
    for block, shape in entry.blocks((1, 3, 32, 32), **knobs):
        t = costlab.analyze(block, input_shape=[shape]).totals
        for k in SUMMED:
            summed[k] += t[k]
    assert summed == {k: whole[k] for k in SUMMED}


def test_blocks_layout():
    blocks = nb201_blocks((4, 3, 32, 32), arch=RESNET, classes=10)
    assert get_entry("nb201").blocks is nb201_blocks
    assert [s.split(":")[0] for s, _ in blocks] == (
        ["nb201_stem"] + ["nb201_cell"] * 5 + ["nb201_resblock"] + ["nb201_cell"] * 5
        + ["nb201_resblock"] + ["nb201_cell"] * 5 + ["nb201_head"])
    assert blocks[1] == (f"nb201_cell:arch={RESNET},c=16", (4, 16, 32, 32))
    assert blocks[6] == ("nb201_resblock:cin=16,cout=32", (4, 16, 32, 32))
    assert blocks[13] == (f"nb201_cell:arch={RESNET},c=64", (4, 64, 8, 8))
    assert blocks[-1] == ("nb201_head:c=64,classes=10", (4, 64, 8, 8))
    with pytest.raises(InputError):
        nb201_blocks((1, 3, 30, 30), arch=RESNET)   # 15x15 cannot be halved by the resblock


def test_every_op_on_every_edge_parses():
    for edge in range(6):
        for op in OPS:
            ops = ["nor_conv_3x3"] * 6
            ops[edge] = op
            genotype = parse_arch(cell(*ops))
            assert [o for node in genotype for o, _ in node] == ops
            assert [i for node in genotype for _, i in node] == [0, 0, 1, 0, 1, 2]
    assert parse_spec(f"nb201:arch={BEST}")[1]["arch"] == BEST
    assert DEFAULT_ARCH == INDEX1


@pytest.mark.parametrize("bad,why", [
    (cell("nor_conv_3x3", "conv_3x3", "none", "none", "none", "none"), "unknown op 'conv_3x3'"),
    ("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|", "2 nodes"),
    ("|nor_conv_3x3~0|+|none~0|+|skip_connect~0|none~1|none~2|", "node 2 has 1 edges"),
    ("|nor_conv_3x3~0|+|none~1|nor_conv_3x3~0|+|skip_connect~0|none~1|none~2|", "must come from node 0"),
    ("nor_conv_3x3~0+|none~0|none~1|+|skip_connect~0|none~1|none~2|", "start and end with '|'"),
    ("|nor_conv_3x3-0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|", "not op~i"),
    ("", "1 nodes"),
])
def test_bad_arch_is_a_one_line_spec_error(bad, why):
    calls = [lambda: create_model("nb201", arch=bad), lambda: nb201_blocks((1, 3, 32, 32), arch=bad)]
    if bad:   # an empty knob value is refused earlier, by the spec parser
        calls.append(lambda: costlab.analyze(f"nb201_cell:arch={bad}"))
    for call in calls:
        with pytest.raises(SpecError) as ei:
            call()
        msg = str(ei.value)
        assert "\n" not in msg and why in msg
        assert "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|" in msg and f"nb201:arch={DEFAULT_ARCH}" in msg
