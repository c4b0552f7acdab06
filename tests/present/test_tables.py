"""The one number-format helper set (costlab.present.tables): percent, ms, counts, missing."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import costlab
from costlab.present.tables import NONE, count, missing, ms, num, pct


@pytest.mark.parametrize("x,kw,want", [
    (0.1234, {}, "12.3%"),                        # a fraction by default
    (0.1234, {"digits": 2}, "12.34%"),
    (12.34, {"percent": True}, "12.3%"),          # a value already in percent
    (-0.05, {"sign": True}, "-5.0%"),
    (0.05, {"sign": True}, "+5.0%"),
    (None, {}, NONE),
    (float("nan"), {}, NONE),
    (np.float64("nan"), {"percent": True}, NONE),
    (None, {"none": "n/a"}, "n/a"),
])
def test_pct(x, kw, want):
    assert pct(x, **kw) == want


def test_num_ms_count_and_missing():
    assert num(0.98765) == "0.988" and num(0.98765, ".3g") == "0.988" and num(3.25, ".1f", "x") == "3.2x"
    assert num(None) == num(float("nan")) == NONE
    assert ms(1.23456) == "1.235" and ms(1.23456, 4) == "1.2346" and ms(None) == NONE
    assert count(1234567) == "1,234,567" and count(np.int64(12)) == "12" and count(None) == NONE
    assert missing(None) and missing(float("nan")) and not missing(0) and not missing("text")


def test_one_pct_helper_in_the_package():
    """No module keeps its own percent / rank-correlation formatter: they use present.tables."""
    root = Path(costlab.__file__).parent
    own = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name in ("_pct", "_rho", "_opt"):
                own.append(f"{path.relative_to(root)}:{node.name}")
    assert own == []
