"""One op taxonomy: every kind has one category (ops.KINDS, checked at registration), every
category is mapped by the passes that read it, and passes ask named predicates."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from costlab import ops

ROOT = Path(__file__).resolve().parents[2]


def unmapped_categories() -> list[str]:
    """Categories (declared, or of a registered op) that a downstream pass does not map:
    a latency class (latency.features.CLASS_OF_CATEGORY) or a guideline group
    (guidelines.GROUP_OF_CATEGORY, None = no guideline counts it)."""
    from costlab.guidelines import GROUP_OF_CATEGORY
    from costlab.latency.features import CLASS_OF_CATEGORY, CLASSES

    cats = set(ops.CATEGORIES) | {spec.category for spec in ops.registered().values()} | {"unsupported"}
    bad = [c for c in cats if c not in GROUP_OF_CATEGORY or c not in CLASS_OF_CATEGORY]
    bad += [c for c in cats if CLASS_OF_CATEGORY.get(c) not in (None, *CLASSES)]
    return sorted(set(bad))


def test_every_op_category_is_known_downstream():
    assert unmapped_categories() == []


def test_an_unmapped_category_fails_the_check():
    """Register a fake category (as a contributor adding one to ops.CATEGORIES would) and an
    op of it before the passes load: the check names the category, as neither the latency
    classes nor the guideline groups are derived from the category list."""
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from costlab import ops\n"
            "ops.CATEGORIES['fake_category'] = 'a category no pass maps (test only)'\n"
            "ops.register('aten.fake_op_for_test', 'fake_kind', lambda n: (0, 0), category='fake_category')\n"
            "from tests.core.test_taxonomy import unmapped_categories\n"
            "from costlab.guidelines import GROUP_OF_CATEGORY\n"
            "print(unmapped_categories(), 'fake_category' in GROUP_OF_CATEGORY)\n") % str(ROOT)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[0] == "['fake_category'] False"


def test_register_refuses_duplicates_and_unknown_categories():
    with pytest.raises(ValueError, match="twice"):
        ops.register("aten.relu", "relu", lambda n: (0, 0), category="activation")
    with pytest.raises(ValueError, match="category"):
        ops.register("aten.not_an_op_xyz", "x", lambda n: (0, 0), category="nonsense")


def test_a_kind_has_one_category_and_one_label():
    with pytest.raises(ValueError, match="kind 'relu' is 'activation'"):
        ops.register("aten.not_an_op_xyz", "relu", lambda n: (0, 0), category="binary")
    with pytest.raises(ValueError, match="labelled 'pool'"):
        ops.register("aten.not_an_op_xyz", "max_pool", lambda n: (0, 0), category="pool_max", label="maxpool")
    assert "aten.not_an_op_xyz" not in ops.registered()
    for name, spec in ops.registered().items():
        assert ops.KINDS[spec.kind] == spec.category, name
        assert ops.category(spec.kind) == spec.category


def test_labels_keep_the_words_tables_print():
    """Max and average pooling are two kinds (two categories, two latency classes) that
    tables call 'pool'; likewise nearest and interpolating upsampling."""
    assert ops.kind_of("aten.max_pool2d_with_indices.default") == "max_pool"
    assert ops.kind_of("aten.avg_pool2d.default") == "avg_pool"
    assert {ops.label_of(k) for k in ("max_pool", "avg_pool")} == {"pool"}
    assert {ops.label_of(k) for k in ("upsample_nearest", "upsample_interp")} == {"upsample"}
    assert ops.label_of("conv") == "conv" and ops.label_of("unsupported") == "unsupported"


def test_predicates_follow_the_categories():
    kinds = set(ops.KINDS)
    norms = {k for k in kinds if ops.is_norm(k)}
    # the aten norms, and ONNX's LRN once the ONNX reader has registered its op names
    assert {"batch_norm", "layer_norm", "group_norm", "rms_norm"} <= norms <= {"batch_norm", "layer_norm", "group_norm",
                                                                              "rms_norm", "lrn"}
    assert {k for k in kinds if ops.is_activation(k)} == {k for k, c in ops.KINDS.items() if c == "activation"}
    assert "relu" in kinds and ops.is_activation("relu") and not ops.is_activation("add")
    assert {k for k in kinds if ops.is_gemm(k)} == {"linear", "matmul"}
    assert {k for k in kinds if ops.is_weight_layer(k)} == {"conv", "linear"}
    assert all(ops.KINDS[k] == "mac" for k in kinds if ops.is_gemm(k) or ops.is_conv(k))
    assert ops.category("no_such_kind") == "unsupported" and not ops.is_norm("no_such_kind")


def test_every_binary_kind_has_an_arithmetic_family():
    binary = {k for k, c in ops.KINDS.items() if c == "binary"}
    assert binary and all(ops.arith_family(k) is not None for k in binary)
    assert [ops.arith_family(k) for k in ("add", "sub", "rsub", "mul", "div", "maximum")] == \
        ["add", "add", "add", "mul", "mul", "minmax"]
    assert ops.arith_family("relu") is None and ops.arith_family("cat") is None
