"""Shared helpers for the zoo tests: the paper_counts.csv rows a zoo family declares
(:class:`costlab.zoo.PaperRow`), fvcore reference counts for them, and the one check every
declared row must pass.

Rows and their values come from :mod:`costlab.reproduce.paper_counts` (``load_rows``, ``paper_value``);
the counts they are held against come from fvcore (``tests/fvcore_ref.py``), never from
costlab itself.
"""
from __future__ import annotations

import functools

import pytest
import torch
from fvcore.nn import FlopCountAnalysis

from costlab.reproduce.paper_counts import load_rows, paper_value
from costlab.zoo import PaperRow, list_paper_rows, parse_spec
from tests.fvcore_ref import fvcore_conv_linear_macs, param_count

__all__ = ["CSV_ROWS", "paper_value", "params", "counts", "fvcore_by_module", "family_rows",
           "csv_rows", "declared_params", "declared_metric_params", "check_family_declared",
           "check_declared_row", "check_declared_metric", "paper_row_tests"]

CSV_ROWS = load_rows()

# Expected-off tables map (CSV model, CSV variant, metric) to the largest relative
# difference accepted for a row that is more than 1% off (it must declare a reason).
ExpectedOff = dict[tuple[str, str, str], float]

_PARAMS: dict[str, int] = {}


def params(spec: str) -> int:
    """nn.Parameters of the built spec (no trace: a params-only row needs no fvcore run)."""
    if spec not in _PARAMS:
        entry, knobs = parse_spec(spec)
        _PARAMS[spec] = param_count(entry.build(**knobs))
    return _PARAMS[spec]


@functools.lru_cache(maxsize=None)
def counts(spec: str, resolution: int) -> dict[str, int]:
    """fvcore's conv + linear MACs of ``spec`` at ``resolution``, once per pair (fvcore on
    VGG/AlexNet at 224 costs seconds): ``{"params", "madds", "flops" (= 2 x MAC)}``."""
    entry, knobs = parse_spec(spec)
    model = entry.build(**knobs)
    macs = fvcore_conv_linear_macs(model, entry.default_input_shape(resolution))
    _PARAMS[spec] = n = param_count(model)
    return {"params": n, "madds": macs, "flops": 2 * macs}


def fvcore_by_module(model: torch.nn.Module, input_shape) -> dict[str, int]:
    """fvcore's MACs per module path, on a zero input of ``input_shape``."""
    fca = FlopCountAnalysis(model, torch.zeros(*input_shape))
    fca.unsupported_ops_warnings(False)
    fca.uncalled_modules_warnings(False)
    return fca.by_module()


def family_rows(family: str, model: str | None = None) -> list[PaperRow]:
    """The PaperRows whose spec is a model of zoo ``family`` (and, given ``model``, that
    zoo model: the spec's name before any ``:knobs``)."""
    return [pr for pr in list_paper_rows() if parse_spec(pr.spec)[0].family == family
            and (model is None or pr.spec.split(":")[0] == model)]


def csv_rows(pr: PaperRow, metric: str | None = None) -> list[dict]:
    """CSV rows of ``pr``'s (model, variant): every declared metric, or only ``metric``."""
    metrics = pr.metrics if metric is None else (metric,)
    return [r for r in CSV_ROWS
            if r["model"] == pr.model and r["variant"] == pr.variant and r["metric"] in metrics]


def declared_params(family: str, model: str | None = None) -> list:
    """One ``pytest.param(pr, row)`` per declared CSV row, id ``spec|model|variant|metric``."""
    return [pytest.param(pr, row, id=f"{pr.spec}|{row['model']}|{row['variant']}|{row['metric']}")
            for pr in family_rows(family, model) for row in csv_rows(pr)]


def declared_metric_params(family: str, model: str | None = None) -> list:
    """One ``pytest.param(pr, metric)`` per declared (PaperRow, metric), id ``variant-metric``."""
    return [pytest.param(pr, metric, id=f"{pr.variant}-{metric}")
            for pr in family_rows(family, model) for metric in pr.metrics]


def check_family_declared(family: str, n_paper_rows: int) -> None:
    """``family`` declares ``n_paper_rows`` PaperRows, each with a row in the CSV."""
    prs = family_rows(family)
    assert len(prs) == n_paper_rows
    for pr in prs:
        assert csv_rows(pr), pr


def _resolution(pr: PaperRow, row: dict) -> int:
    return parse_spec(pr.spec)[0].resolution if row["resolution"] == "-" else int(row["resolution"])


def check_declared_row(pr: PaperRow, row: dict, expected_off: ExpectedOff) -> None:
    """Within 1% of the paper, or a declared reason and the stated tolerance (and then more
    than 1% off, so a stale tolerance is noticed); 'count' rows without a reason exactly."""
    res = _resolution(pr, row)
    metric = row["metric"]
    got = params(pr.spec) if metric == "params" else counts(pr.spec, res)[metric]
    want = paper_value(row)
    assert want is not None, row
    rel = abs(got - want) / want
    key = (row["model"], row["variant"], metric)
    if key in expected_off:
        assert metric in pr.reasons or f"{metric}@{res}" in pr.reasons, key
        assert 0.01 < rel <= expected_off[key], (got, want, rel)
    else:
        assert rel <= 0.01, (got, want, rel)
    if row["unit"] == "count" and metric not in pr.reasons:  # exact framework counts
        assert got == int(want)


def check_declared_metric(pr: PaperRow, metric: str, expected_off: ExpectedOff) -> None:
    """``pr`` has a CSV row for ``metric``, and each such row passes :func:`check_declared_row`."""
    rows = csv_rows(pr, metric)
    assert rows, f"no CSV row for {pr.model} / {pr.variant} / {metric}"
    for row in rows:
        check_declared_row(pr, row, expected_off)


def paper_row_tests(family: str, n_paper_rows: int, expected_off: ExpectedOff | None = None):
    """The costlab-vs-fvcore-vs-paper tests every zoo family's declared rows get, for the
    family's test module to bind at module level (pytest collects them by name)::

        test_every_declared_row_exists_in_csv, test_declared_rows = paper_row_tests("vgg", 7, EXPECTED_OFF)

    ``expected_off``: (CSV model, variant, metric) -> the largest relative difference
    accepted for a row more than 1% off (it must declare a reason); none by default."""
    off = dict(expected_off or {})

    def test_every_declared_row_exists_in_csv():
        check_family_declared(family, n_paper_rows)

    @pytest.mark.parametrize("pr,row", declared_params(family))
    def test_declared_rows(pr, row):
        """Within 1% of the paper, or a declared reason and the stated tolerance."""
        check_declared_row(pr, row, off)

    return test_every_declared_row_exists_in_csv, test_declared_rows
