"""torchvision specs never download: every ``*weights*`` argument of the builder is None
(issue 22 item 3); video and optical-flow models get the inputs they take. Checked on a stand-in
torchvision so it runs without the library."""
from __future__ import annotations

import functools
import sys
import types

import pytest
import torch
import torch.nn as nn

from costlab import spec
from costlab.api import count


def test_every_weights_argument_of_a_torchvision_builder_is_none(monkeypatch):
    seen = {}

    def fasterrcnn(*, weights="DEFAULT", progress=True, num_classes=None, weights_backbone="DEFAULT",
                   trainable_backbone_layers=None, **kwargs):
        return nn.Linear(2, 2)

    def get_model(name, **kw):
        seen.update(kw)
        return fasterrcnn(**kw)

    fake = types.ModuleType("torchvision.models")
    fake.list_models = lambda: ["fasterrcnn_resnet50_fpn"]
    fake.get_model_builder = lambda name: fasterrcnn
    fake.get_model = get_model
    monkeypatch.setitem(sys.modules, "torchvision", types.ModuleType("torchvision"))
    monkeypatch.setitem(sys.modules, "torchvision.models", fake)
    model, shapes = spec._torchvision("fasterrcnn_resnet50_fpn", {"num_classes": 3})
    assert seen == {"weights": None, "weights_backbone": None, "num_classes": 3}
    assert isinstance(model, nn.Linear) and shapes == [(1, 3, 224, 224)]


class _Clip(nn.Module):
    """A video classifier: conv3d over N x 3 x T x H x W (as torchvision's r3d_18)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(3, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(x).mean((2, 3, 4))


class _Flow(nn.Module):
    """An optical-flow model: two frames in (as torchvision's RAFT)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(6, 2, 1)

    def forward(self, image1, image2):
        return self.conv(torch.cat([image1, image2], 1))


def _stand_in(monkeypatch, name, cls, family, crop=None):
    def builder(*, weights=None, progress=True, **kw):
        return cls()

    builder.__module__ = family
    fake = types.ModuleType("torchvision.models")
    fake.list_models = lambda: [name]
    fake.get_model_builder = lambda n: builder
    fake.get_model = lambda n, **kw: builder(**kw)
    if crop is not None:
        weights = types.SimpleNamespace(DEFAULT=types.SimpleNamespace(
            transforms=functools.partial(object, crop_size=crop)))
        fake.get_model_weights = lambda n: weights
    monkeypatch.setitem(sys.modules, "torchvision", types.ModuleType("torchvision"))
    monkeypatch.setitem(sys.modules, "torchvision.models", fake)


@pytest.mark.parametrize("crop, side", [((112, 112), 112), ((224, 224), 224), (None, 112)])
def test_a_torchvision_video_spec_takes_a_clip_by_default(monkeypatch, crop, side):
    # the external check (benchmarks/library_models.py): every torchvision video model failed as a spec
    # on the default 1x3x224x224 image while the same model passed as an object with a clip counted
    _stand_in(monkeypatch, "r3d_18", _Clip, "torchvision.models.video.resnet", crop)
    r = count("torchvision:r3d_18")
    assert [tuple(s) for s in r.input_shape] == [(1, 3, 16, side, side)]
    assert r.totals["macs"] == 16 * side * side * 4 * 3 * 27
    assert [tuple(s) for s in count("torchvision:r3d_18", resolution=64).input_shape] == [(1, 3, 16, 64, 64)]


def test_a_torchvision_optical_flow_spec_takes_two_frames_by_default(monkeypatch):
    _stand_in(monkeypatch, "raft_small", _Flow, "torchvision.models.optical_flow.raft")
    r = count("torchvision:raft_small")
    assert [tuple(s) for s in r.input_shape] == [(1, 3, 224, 224), (1, 3, 224, 224)]
    assert r.totals["macs"] == 224 * 224 * 6 * 2


@pytest.mark.parametrize("exc", [AttributeError("'DbrxAttentionConfig' object has no attribute 'rope_theta'"),
                                 ImportError("\nDinatModel requires the natten library but it was not found"),
                                 RuntimeError("DefaultCPUAllocator: can't allocate memory")])
def test_a_library_that_cannot_build_its_model_is_one_line(monkeypatch, capsys, exc):
    # hf:dbrx and hf:moonshine_streaming (AttributeError in transformers' __init__), hf:dinat (natten
    # missing) ended `costlab analyze` with a traceback: only TypeError / ValueError were caught
    from costlab.cli import main

    def fails(*a, **k):
        raise exc

    tf = types.ModuleType("transformers")
    tf.CONFIG_MAPPING = {"dbrx": None}
    tf.AutoConfig = types.SimpleNamespace(for_model=lambda name, **kw: types.SimpleNamespace())
    tf.AutoModel = types.SimpleNamespace(from_config=fails)
    monkeypatch.setitem(sys.modules, "transformers", tf)
    assert main(["analyze", "hf:dbrx"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot build 'hf:dbrx': {type(exc).__name__}: {str(exc).strip()}" in err
