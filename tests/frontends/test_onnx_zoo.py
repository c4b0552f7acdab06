"""Zoo models exported with torch.onnx.export and read back: the same MACs as costlab's trace of
the PyTorch model, params from the initializers, and every element-op / MAC-byte difference
explained per op. (All zoo models: benchmarks/onnx_zoo.py.)

The differences, each checked below:
* BN folded (eval export default): each BN row goes (2 element ops per output, its bytes) and its
  conv gains a bias (1 per output, c_out elements read);
* Identity (deduplicated initializers), Constant and Flatten: free in both (no row);
* GlobalAveragePool where torch's trace says mean / adaptive pool: one formula (the label differs);
* Transpose: a view, as torch's permute, unless a reshape after it cannot view it (then the copy
  torch's contiguous() makes): no difference left (costlab.frontends.onnx_views).
* outside this set (benchmarks/onnx_zoo.py): Inception v3's nested torch.cat, which the legacy
  exporter merges into one Concat (the inner concat's copy is gone).
"""
from __future__ import annotations

import contextlib
import io
import warnings

import pytest
import torch

import costlab
from costlab import ops
from costlab.spec import build_zoo, input_shapes_for

from .onnx_graphs import onnx

MODELS = ["resnet18", "mobilenet_v2", "shufflenet_v1", "shufflenet_v2", "micro_lrn"]


def _randomize_bn(model):
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                for t in (m.running_mean, m.weight, m.bias):
                    t.uniform_(-1, 1, generator=g)
                m.running_var.uniform_(0.5, 2, generator=g)


def _export(model, shape, path, opset=17, keep_bn=False):
    kw = dict(do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE) if keep_bn else {}
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(shape),), str(path), dynamo=False, opset_version=opset, **kw)
    return str(path)


@pytest.fixture(scope="module", params=MODELS)
def zoo_case(request, tmp_path_factory):
    name = request.param
    d = tmp_path_factory.mktemp(name)
    resolved = build_zoo(name, device="cpu")
    model = resolved.model.eval()
    _randomize_bn(model)
    shape = tuple(input_shapes_for(resolved, None, None)[0])
    ref = costlab.analyze(model, [shape], name=name)
    files = {"folded": _export(model, shape, d / "f.onnx"), "kept": _export(model, shape, d / "k.onnx", keep_bn=True),
             "kept11": _export(model, shape, d / "k11.onnx", opset=11, keep_bn=True)}
    return name, model, shape, ref, files


def _by_category(report, key):
    out = {}
    for node_id, v in zip(report.layers["node"], report.layers[key]):
        cat = ops.category_of(report.graph.nodes[int(node_id)].op)
        out[cat] = out.get(cat, 0) + int(v)
    return out


def test_macs_equal_for_every_export(zoo_case):
    name, _, _, ref, files = zoo_case
    for tag, path in files.items():
        assert costlab.analyze(path).totals["macs"] == ref.totals["macs"], (name, tag)


def test_kept_bn_params_are_model_params_plus_running_stats(zoo_case):
    name, model, _, ref, files = zoo_case
    stats = sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
    for tag in ("kept", "kept11"):
        rep = costlab.analyze(files[tag])
        assert rep.totals["params"] == ref.totals["params"] + stats, (name, tag)


def test_params_are_the_distinct_initializers(zoo_case):
    """Folded export: the initializers' elements, the Identity-deduplicated ones once; shape
    constants (int64 initializers read as Reshape targets) are not parameters."""
    _, _, _, _, files = zoo_case
    m = onnx.load(files["folded"])
    floats = sum(int(torch.tensor(list(t.dims)).prod()) if t.dims else 1 for t in m.graph.initializer
                 if t.data_type == onnx.TensorProto.FLOAT)
    assert costlab.analyze(files["folded"]).totals["params"] == floats


def test_kept_bn_element_ops_and_bytes_differ_only_where_explained(zoo_case):
    name, _, _, ref, files = zoo_case
    rep = costlab.analyze(files["kept"])
    e_ref, e_onnx = _by_category(ref, "elem_ops"), _by_category(rep, "elem_ops")
    b_ref, b_onnx = _by_category(ref, "mac_bytes"), _by_category(rep, "mac_bytes")
    assert e_onnx == e_ref, name
    assert b_onnx == b_ref, name
    assert rep.totals["activations"] == ref.totals["activations"]


def test_folded_bn_difference_is_the_bn_rows_and_the_conv_biases(zoo_case):
    name, _, _, ref, files = zoo_case
    kept, folded = costlab.analyze(files["kept"]), costlab.analyze(files["folded"])
    bn = [i for i, n in enumerate(kept.layers["node"]) if ops.kind_of(kept.graph.nodes[int(n)].op) == "batch_norm"]
    bn_elem = int(kept.layers["elem_ops"].iloc[bn].sum())
    bn_bytes = int(kept.layers["mac_bytes"].iloc[bn].sum())
    convs_without_bias = [kept.graph.nodes[int(n)] for n in kept.layers["node"]
                          if ops.kind_of(kept.graph.nodes[int(n)].op) == "conv" and len(kept.graph.nodes[int(n)].inputs) == 2]
    new_bias = [n for n in convs_without_bias if any(
        kept.graph.nodes[c].kind == "batch_norm" for c in kept.graph.consumers()[n.id])]
    bias_elem = sum(n.outputs[0].numel for n in new_bias)
    bias_bytes = 4 * sum(n.outputs[0].shape[1] for n in new_bias)
    assert folded.totals["elem_ops"] == kept.totals["elem_ops"] - bn_elem + bias_elem, name
    assert folded.totals["mac_bytes"] == kept.totals["mac_bytes"] - bn_bytes + bias_bytes, name
    assert not any(str(op).startswith(("onnx.Identity", "onnx.Constant", "onnx.Flatten"))
                   for op in folded.layers["op"])


def test_arm_latency_within_one_percent(zoo_case):
    name, model, shape, _, files = zoo_case
    ref = costlab.analyze(model, [shape], device="arm").totals["latency_ms"]
    for tag in ("folded", "kept"):
        ms = costlab.analyze(files[tag], device="arm").totals["latency_ms"]
        assert abs(ms - ref) <= 0.01 * ref, (name, tag, ms, ref)


def test_dynamo_exporter(tmp_path):
    """torch.onnx.export(dynamo=True) (onnxscript): the same MACs, BN folded by its optimizer,
    module paths from its name-scope metadata."""
    pytest.importorskip("onnxscript")
    resolved = build_zoo("shufflenet_v1", device="cpu")
    model = resolved.model.eval()
    _randomize_bn(model)
    path = str(tmp_path / "dyn.onnx")
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, 224, 224),), path, dynamo=True, external_data=False)
    ref = costlab.analyze(model, [(1, 3, 224, 224)])
    rep = costlab.analyze(path)
    assert rep.totals["macs"] == ref.totals["macs"] and rep.unsupported == []
    bn_params = sum(m.weight.numel() * 2 for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    bn_out = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert rep.totals["params"] == ref.totals["params"] - bn_params + bn_out   # a folded bias per BN
    assert set(rep.rollup(1)["name"]) >= {"stage2", "stage3", "stage4"}
