"""``hf:`` default inputs come from the model's declared main input and its config (issue 22
item 4): pixel_values for image models (with or without ``image_size`` in the config),
input_ids for text models, decoder_input_ids as well for encoder-decoders, each passed to the
forward by name. The transformers tests skip where it is not installed (CI installs none);
the keyword plumbing is tested with a plain module."""
from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

from costlab.api import count
from costlab.spec import InputShape, input_shapes_for, resolve
from costlab.tracer import trace

TINY_T5 = "hf:t5:num_layers=2,num_decoder_layers=2,d_model=64,d_ff=128,num_heads=2,d_kv=32"
TINY_BART = ("hf:bart:encoder_layers=1,decoder_layers=1,d_model=64,encoder_attention_heads=2,"
             "decoder_attention_heads=2,encoder_ffn_dim=128,decoder_ffn_dim=128")
TINY_VIT = "hf:vit:image_size=64,patch_size=16,hidden_size=64,num_hidden_layers=1,num_attention_heads=2,intermediate_size=128"


def _inputs(report):
    return [tuple(s) for s in report.input_shape]


@pytest.mark.parametrize("spec, shapes", [
    ("hf:resnet", [((1, 3, 224, 224), None, "pixel_values")]),     # num_channels, no image_size: 224
    (TINY_VIT, [((1, 3, 64, 64), None, "pixel_values")]),          # the config's image_size
    (TINY_T5, [((1, 128), "int64", "input_ids"), ((1, 128), "int64", "decoder_input_ids")]),
    (TINY_BART, [((1, 128), "int64", "input_ids"), ((1, 128), "int64", "decoder_input_ids")]),
])
def test_hf_default_inputs_follow_the_main_input_name_and_the_config(spec, shapes):
    pytest.importorskip("transformers")
    resolved = resolve(spec)
    assert [(tuple(s), s.dtype, s.name) for s in resolved.default_shapes] == shapes
    r = count(spec)                                   # the trace runs on those inputs
    assert _inputs(r) == [s for s, _, _ in shapes]
    assert r.totals["macs"] > 0 and not r.unsupported


def test_hf_resnet_counts_resnet50():
    pytest.importorskip("transformers")
    r = count("hf:resnet")                            # transformers' default ResNet is ResNet-50
    assert round(r.totals["macs"] / 1e9, 2) == 4.09   # torchvision's table: 4.09 GMACs (no fc: 2048x1000 less)


def test_hf_encoder_decoder_counts_the_decoder_on_its_own_length():
    pytest.importorskip("transformers")
    short = count(TINY_T5, input_shape="1x128:int64,1x8:int64")   # the user's shapes keep the names by position
    full = count(TINY_T5)
    assert _inputs(short) == [(1, 128), (1, 8)]
    assert 0 < short.totals["macs"] < full.totals["macs"]


def test_hf_image_model_takes_a_resolution():
    pytest.importorskip("transformers")
    resolved = resolve("hf:resnet")
    assert input_shapes_for(resolved, None, 160, 2) == [(2, 3, 160, 160)]
    assert input_shapes_for(resolved, None, 160, 2)[0].name == "pixel_values"


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 4), nn.Linear(6, 6)

    def forward(self, x, mask=None, other=None):
        assert mask is None, "the named input went in positionally"
        return self.a(x).sum() + self.b(other).sum()


def test_named_inputs_are_passed_as_keywords():
    g = trace(TwoInputs(), [InputShape((2, 4)), InputShape((3, 6), None, "other")])
    assert sum(1 for n in g.nodes if n.op.startswith("aten.addmm") or n.op.startswith("aten.mm")) == 2


def test_input_shape_keeps_its_name_through_pickle_and_repr():
    s = InputShape((1, 8), "int64", "decoder_input_ids")
    back = pickle.loads(pickle.dumps(s))
    assert (tuple(back), back.dtype, back.name) == ((1, 8), "int64", "decoder_input_ids")
    assert "decoder_input_ids" in repr(s) and repr(InputShape((1, 2))) == "(1, 2)"


def test_crosscheck_passes_the_decoder_ids_by_name_to_the_other_counters():
    pytest.importorskip("transformers")
    from costlab.crosscheck import crosscheck

    res = crosscheck(TINY_T5)
    assert not res.unexplained                # torch's counter ran the same encoder-decoder forward
    assert res.totals.torch == res.totals.torch_expected > 0


def _sweep_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "hf_auto_sweep.py"
    spec = importlib.util.spec_from_file_location("hf_auto_sweep", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_auto_sweep_reports_analysed_and_failed_types_with_a_reason(capsys):
    pytest.importorskip("transformers")
    sweep = _sweep_module()
    assert sweep.main(["--types", "resnet,no_such_type", "--limit-s", "60"]) == 0
    out = capsys.readouterr().out
    assert "summary: analysed 1, build 1" in out
    assert "- `no_such_type`: build: SpecError: unknown transformers model type" in out


def test_auto_sweep_stops_a_type_at_its_time_limit(monkeypatch):
    import time

    sweep = _sweep_module()                       # the child is forked: it runs the patched _one
    monkeypatch.setattr(sweep, "_one", lambda model_type, mem_gb, conn: time.sleep(30))
    status, detail, seconds = sweep.run("bert", 0.5, 8.0)
    assert (status, detail) == ("timeout", "over 0.5 s") and seconds < 5


def test_hf_image_inputs_read_a_nested_vision_config_and_video_frames():
    # hf:sam got 224 px (its 1024 px sits in config.vision_config), hf:vivit and hf:timesformer a 4-D
    # image where their forward takes 1 x frames x C x H x W (benchmarks/hf_auto_sweep.py)
    from types import SimpleNamespace as NS

    from costlab.spec import hf_default_inputs

    model = NS(main_input_name="pixel_values")
    sam = NS(is_encoder_decoder=False, vision_config=NS(image_size=1024, num_channels=3))
    assert [tuple(s) for s in hf_default_inputs(model, sam)] == [(1, 3, 1024, 1024)]
    vivit = NS(is_encoder_decoder=False, image_size=224, num_frames=32, num_channels=3)
    assert [tuple(s) for s in hf_default_inputs(model, vivit)] == [(1, 32, 3, 224, 224)]
    vit = NS(is_encoder_decoder=False, image_size=384, num_channels=3, vision_config=NS(image_size=64))
    assert [tuple(s) for s in hf_default_inputs(model, vit)] == [(1, 3, 384, 384)]   # its own size wins
