"""costlab's planned arena against the arena TensorFlow Lite Micro allocates (skipped without
the ``tflite-micro`` package: ``pip install costlab[tflm]``)."""
from __future__ import annotations

import pytest
import torch.nn as nn

from costlab.api import count
from costlab.memory import memory_pass
from costlab.memory.tflm import NotConvertible, available, tflm_arena, to_tflite

pytestmark = pytest.mark.skipif(not available(), reason="tflite-micro is not installed")


class TieChain(nn.Module):
    """Two equal-sized buffers in a row: TFLite Micro's plan breaks the tie last-added first."""

    def __init__(self):
        super().__init__()
        self.c0, self.c1 = nn.Conv2d(3, 32, 3, 2, 1), nn.Conv2d(32, 32, 3, 1, 1, groups=32)
        self.c2, self.c3 = nn.Conv2d(32, 16, 1), nn.Conv2d(16, 48, 1)
        self.c4 = nn.Conv2d(48, 48, 5, 2, 2, groups=48)
        self.relu = nn.ReLU6(inplace=True)

    def forward(self, x):
        return self.c4(self.relu(self.c3(self.c2(self.c1(self.relu(self.c0(x)))))))


@pytest.mark.parametrize("model,shape", [(TieChain(), (1, 3, 32, 32)), ("mobilenet_v2", (1, 3, 96, 96)),
                                         ("resnet18", (1, 3, 64, 64)), ("squeezenet1_1", (1, 3, 96, 96))])
def test_planned_arena_is_tflms(model, shape):
    rep = count(model, shape, dtype="int8")
    m = memory_pass(rep, order=False)
    rec = tflm_arena(to_tflite(rep.graph))
    assert m.converted_arena_bytes == rec["head"]
    assert rec["tail"] > 0 and rec["total"] == rec["head"] + rec["tail"]


def test_group_conv_is_not_written():
    rep = count("micro_conv:groups=4", dtype="int8")
    with pytest.raises(NotConvertible):
        to_tflite(rep.graph)
