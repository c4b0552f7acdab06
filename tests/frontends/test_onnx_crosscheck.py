"""``costlab crosscheck model.onnx``: onnx-tool's per-node counts beside costlab's, every difference
explained (onnx_tool/node.py: ConvNode, GemmNode, ConvTransposeNode profile; graph.py profile)."""
from __future__ import annotations

import json

import pytest
import torch

import costlab
from costlab.cli import main
from costlab.crosscheck_onnx import crosscheck_file
from costlab.spec import build_zoo, input_shapes_for, resolve

from .onnx_graphs import helper, init, model, save
from .test_onnx_zoo import _export, _randomize_bn

pytest.importorskip("onnx_tool")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("cc")
    out = {}
    for name in ("resnet18", "mobilenet_v2", "shufflenet_v2"):
        r = build_zoo(name, device="cpu")
        m = r.model.eval()
        _randomize_bn(m)
        shape = tuple(input_shapes_for(r, None, None)[0])
        out[name] = (_export(m, shape, d / f"{name}_f.onnx"), _export(m, shape, d / f"{name}_k.onnx", keep_bn=True))
    return out


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "shufflenet_v2"])
def test_three_models_macs_and_params_against_onnx_tool(exported, name):
    """onnx-tool's MACs of the conv / linear nodes = costlab's MACs + the bias adds; its params =
    costlab's (the legacy exporter's files hold no shape or scalar initializers)."""
    for path in exported[name]:
        res = crosscheck_file(resolve(path))
        rep = costlab.analyze(path)
        assert res.unexplained == [] and res.mismatched_nodes == []
        mac_rows = [r for r in res.rows if r.expected is not None]
        assert sum(r.costlab_macs for r in mac_rows) == rep.totals["macs"]
        biases = sum(r.costlab_elem_ops for r in mac_rows)
        assert sum(r.onnx_tool for r in mac_rows) == rep.totals["macs"] + biases
        assert res.params["onnx_tool"] == res.params["costlab"] == rep.totals["params"]
        # onnx-tool's total adds its weighted element work: never below costlab's MACs
        assert res.totals.onnx_tool > rep.totals["macs"]


def test_conv_transpose_convention_and_cli(tmp_path, capsys):
    m = model([helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], kernel_shape=[3, 3], name="ct")],
              [("x", [1, 4, 5, 5])], [("y", [1, 2, 11, 11])], [init("w", [4, 2, 3, 3])])
    path = save(m, tmp_path / "ct.onnx")
    res = crosscheck_file(resolve(path))
    assert res.rows[0].costlab_macs == 4 * 25 * 18                   # input elements x weight
    assert res.rows[0].onnx_tool == 2 * 121 * 18                     # output elements x weight[1:]
    assert res.unexplained == []
    code = main(["crosscheck", path, "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out[0]["tool"] == "onnx-tool" and out[0]["unexplained"] == []


def test_an_unexplained_difference_exits_1(tmp_path, capsys, monkeypatch):
    m = model([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")], [("a", [4, 6])], [("y", [4, 5])],
              [init("b", [6, 5])])
    path = save(m, tmp_path / "mm.onnx")
    import costlab.crosscheck_onnx as cc

    real = cc._run_onnx_tool
    monkeypatch.setattr(cc, "_run_onnx_tool", lambda p, i: ({"mm": real(p, i)[0]["mm"] + 1}, real(p, i)[1]))
    assert main(["crosscheck", path]) == 1
    assert "without a known cause" in capsys.readouterr().out


def test_a_matmul_without_bias_is_not_explained_by_bias_adds(tmp_path):
    m = model([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")], [("a", [4, 6])], [("y", [4, 5])],
              [init("b", [6, 5])])
    res = crosscheck_file(resolve(save(m, tmp_path / "mm.onnx")))
    row = res.rows[0]
    assert row.onnx_tool == row.costlab_macs == 120 and row.explained
    assert row.reasons == ["the same count (no bias adds)"]     # was 'onnx-tool = MACs + the bias adds'


def test_dynamo_export_scalars_and_shapes_are_explained(tmp_path):
    pytest.importorskip("onnxscript")
    model_ = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 2)).eval()
    path = str(tmp_path / "dyn.onnx")
    import contextlib
    import io
    import warnings

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model_, (torch.zeros(1, 3, 8, 8),), path, dynamo=True, external_data=False)
    res = crosscheck_file(resolve(path))
    assert res.unexplained == []
    assert res.params["costlab"] == sum(p.numel() for p in model_.parameters())
    assert res.params["onnx_tool"] == res.params["costlab"] + res.params["shape_and_scalar_elements"]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_file_beside_a_pytorch_model_is_one_document(tmp_path, capsys, fmt):
    """json was two lists one after the other (not JSON), csv two tables with two headers."""
    m = model([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")], [("a", [4, 6])], [("y", [4, 5])],
              [init("b", [6, 5])])
    path = save(m, tmp_path / "mm.onnx")
    code = main(["crosscheck", path, "lenet5", "--format", fmt])
    out = capsys.readouterr().out
    assert code == 0
    if fmt == "json":
        d = json.loads(out)
        assert [x["model"] for x in d] == ["mm.onnx", "lenet5"] and d[0]["tool"] == "onnx-tool"
    else:
        import csv
        import io

        rows = list(csv.reader(io.StringIO(out)))
        assert rows[0][:2] == ["model", "op type"] and {"fvcore", "onnx-tool MACs"} <= set(rows[0])
        assert sum(r[0] == "model" for r in rows) == 1 and len({len(r) for r in rows}) == 1
        assert {r[0] for r in rows[1:]} == {"mm.onnx", "lenet5"}
        assert not any(c.endswith(".0") or c == "nan" for r in rows[1:] for c in r)
        params = next(r for r in rows if r[1] == "params")
        assert "0 elements" not in params[-1]


def test_a_graph_onnx_tool_cannot_read_says_what_to_do(tmp_path, capsys):
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], name="dq"),
             helper.make_node("ConvInteger", ["xq", "w", "xz"], ["ci"], name="ci")]
    import numpy as np

    m = model(nodes, [("x", [1, 4, 4, 4])], [("ci", [1, 8, 4, 4], 6)],
              [init("w", [8, 4, 1, 1], dtype=np.uint8, value=np.ones(32))])
    path = save(m, tmp_path / "dq.onnx")
    code = main(["crosscheck", path])
    err = capsys.readouterr().err
    if code == 0:
        pytest.skip("this onnx-tool reads DynamicQuantizeLinear")
    assert code == 2 and err.count("\n") == 1 and f"costlab analyze {path}" in err


def test_an_lstm_is_counted_and_explained(tmp_path):
    """onnx.LSTM was unsupported (exit 1); now costlab counts its gates' MACs and onnx-tool's larger
    figure is its weighted element work on top."""
    model_ = torch.nn.LSTM(8, 16).eval()
    path = str(tmp_path / "lstm.onnx")
    import contextlib
    import io
    import warnings

    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model_, (torch.zeros(6, 1, 8),), path, dynamo=False, opset_version=17)
    res = crosscheck_file(resolve(path))
    rnn = next(r for r in res.rows if r.op_type == "rnn")
    assert rnn.costlab_macs == 6 * 4 * 16 * (8 + 16) and rnn.onnx_tool > rnn.costlab_macs
    assert res.unexplained == [] and res.totals.explained
