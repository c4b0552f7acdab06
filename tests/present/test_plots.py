"""costlab.plots and ``costlab plot``: labelled, reproducible, atomic figures."""
from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from matplotlib.figure import Figure

from costlab.present import plots
from costlab.cli import main

POINTS = [{"name": "net_a", "macs": 40e6, "ms": 17.0}, {"name": "net_b", "macs": 150e6, "ms": 41.0},
          {"name": "net_c", "macs": 300e6, "ms": 95.0, "kind": "paper"}]


def _texts(fig: Figure) -> list[str]:
    out = []
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()] + [t.get_text() for t in ax.texts]
    return out


def test_flops_latency_labels_units_device_and_names():
    fig = plots.flops_latency_figure(POINTS, device="Snapdragon 810", profile="arm-sd810")
    ax = fig.axes[0]
    assert "(ms" in ax.get_ylabel() and "MACs" in ax.get_xlabel() and "millions" in ax.get_xlabel()
    assert "Snapdragon 810" in ax.get_title() and "arm-sd810" in ax.get_title()
    texts = _texts(fig)
    for p in POINTS:
        assert p["name"] in texts
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("paper" in t for t in labels) and any("predicted" in t for t in labels)
    assert any("fit" in t for t in labels)          # a least-squares line is drawn without a baseline


def test_flops_latency_baseline_line_is_the_given_model():
    fig = plots.flops_latency_figure(POINTS, device="d", profile="p", baseline=(0.25, 10.0))
    line = fig.axes[0].get_lines()[0]
    x, y = line.get_xdata(), line.get_ydata()
    for xi, yi in zip(x[::50], y[::50]):
        assert yi == pytest.approx(0.25 * xi + 10.0)


def test_linear_fit_recovers_a_line_and_refuses_degenerate_input():
    a, b = plots.linear_fit([1, 2, 3, 4], [5, 7, 9, 11])
    assert (a, b) == (pytest.approx(2.0), pytest.approx(3.0))
    with pytest.raises(plots.PlotError):
        plots.linear_fit([1, 1], [2, 3])


def test_layers_figure_panels_with_and_without_latency():
    df = pd.DataFrame({"name": ["c1", "bn", "c2"], "macs": [2e6, 0, 5e6], "mac_bytes": [1e6, 4e5, 2e6]})
    assert len(plots.layers_figure(df, model="m", device="none", profile=None).axes) == 2
    df["latency_ms"] = [0.5, 0.0, 1.5]
    fig = plots.layers_figure(df, model="m", device="ARM", profile="arm-sd810")
    assert len(fig.axes) == 3
    ylabels = [a.get_ylabel() for a in fig.axes]
    assert any("(ms)" in y for y in ylabels) and any("(MB)" in y for y in ylabels)
    assert "arm-sd810" in fig.axes[0].get_title()


def test_breakdown_refuses_nothing_to_plot():
    with pytest.raises(plots.PlotError):
        plots.breakdown_figure({"conv_pw": 0.0}, model="m", device="d", profile="p")
    fig = plots.breakdown_figure({"conv_pw": 3.0, "conv_dw": 1.0}, model="m", device="d", profile="p")
    assert any("75.0%" in t for t in _texts(fig))


def test_save_is_reproducible_and_carries_no_date_or_version(tmp_path):
    import matplotlib

    for suffix in ("png", "svg", "pdf"):
        a, b = tmp_path / f"a.{suffix}", tmp_path / f"b.{suffix}"
        plots.save_figure(plots.flops_latency_figure(POINTS, device="d", profile="p"), a)
        plots.save_figure(plots.flops_latency_figure(POINTS, device="d", profile="p"), b)
        assert a.read_bytes() == b.read_bytes(), suffix
        assert matplotlib.__version__.encode() not in a.read_bytes()
    svg = (tmp_path / "a.svg").read_text()
    assert "<dc:date>" not in svg
    assert sorted(os.listdir(tmp_path)) == ["a.pdf", "a.png", "a.svg", "b.pdf", "b.png", "b.svg"]  # no temp files


def test_save_refuses_bad_paths_without_leaving_files(tmp_path):
    fig = plots.flops_latency_figure(POINTS, device="d", profile="p")
    with pytest.raises(plots.PlotError, match=r"\.png"):
        plots.save_figure(fig, tmp_path / "out.txt")
    with pytest.raises(plots.PlotError, match="does not exist"):
        plots.save_figure(fig, tmp_path / "missing" / "out.png")
    assert os.listdir(tmp_path) == []


# -- costlab plot ---------------------------------------------------------------------------

def _profile_file(tmp_path) -> str:
    """A small valid fitted profile (made-up coefficients: this tests plumbing, not accuracy)."""
    from costlab.latency.features import CLASSES

    d = {"schema": "costlab.profile/1", "name": "test-device", "device": "Test Device", "device_class": "cpu",
         "runtime": "none", "threads": 1, "batch": 1, "dtype": "float32", "fusion": ["conv+bn+act"],
         "provenance": {"source": "unit test", "measured_by": "nobody", "date": "2024-01-01", "method": "made up",
                        "command": "none"},
         "samples": [],
         "predictor": {"form": "test", "classes": {c: {"ms_per_gmac": 10.0, "ms_per_mb": 0.5, "ms_per_mpix": 0.0,
                                                       "ms_per_op": 0.01} for c in CLASSES}},
         "baseline": {"ms_per_gmac": 12.0, "ms_const": 0.1}}
    p = tmp_path / "test-device.json"
    p.write_text(json.dumps(d))
    return str(p)


def test_cli_plot_commands_write_their_files(tmp_path, capsys):
    prof = _profile_file(tmp_path)
    out = tmp_path / "fl.svg"
    assert main(["plot", "flops-latency", "lenet5", "lenet_300_100", "--device", prof, "-o", str(out)]) == 0
    svg = out.read_text()
    assert "<svg" in svg
    assert main(["plot", "breakdown", "lenet5", "--device", prof, "-o", str(tmp_path / "bd.png")]) == 0
    assert main(["plot", "layers", "lenet5", "--device", prof, "-o", str(tmp_path / "ly.png")]) == 0
    assert main(["plot", "layers", "lenet5", "-o", str(tmp_path / "ly2.pdf")]) == 0
    for f in ("bd.png", "ly.png", "ly2.pdf"):
        assert (tmp_path / f).stat().st_size > 1000


@pytest.mark.parametrize("args, message", [
    (["plot", "layers", "lenet5", "-o", "OUT/x.txt"], ".png"),
    (["plot", "layers", "lenet5", "-o", "OUT/missing/x.png"], "does not exist"),
    (["plot", "breakdown", "lenet5", "--device", "no-such-profile", "-o", "OUT/x.png"], "no-such-profile"),
    (["plot", "flops-latency", "not_a_model", "--device", "PROFILE", "-o", "OUT/x.png"], "not_a_model"),
    # was: "unknown device profile 'None'" (click 8.3 let the required --device through as None)
    (["plot", "flops-latency", "lenet5", "-o", "OUT/x.png"], "--device is required: name a device profile"),
    (["plot", "breakdown", "lenet5", "-o", "OUT/x.png"], "e.g. --device arm"),
    (["plot", "breakdown", "--device", "PROFILE", "-o", "OUT/x.png"], "(see 'costlab plot breakdown --help')"),
    (["plot", "nope", "lenet5"], "(see 'costlab plot --help')"),
])
def test_cli_plot_errors_are_one_line_exit_2(tmp_path, capsys, args, message):
    prof = _profile_file(tmp_path)
    args = [a.replace("OUT", str(tmp_path)).replace("PROFILE", prof) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("costlab: error:") and message in err[0]
    assert not list(tmp_path.glob("x.*"))
