"""torchvision specs never download: every ``*weights*`` argument of the builder is None
(issue 22 item 3), checked on a stand-in torchvision so it runs without the library."""
from __future__ import annotations

import sys
import types

import torch.nn as nn

from costlab import spec


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
