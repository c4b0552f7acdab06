"""``torchvision:``, ``timm:`` and ``hf:`` specs with the real packages (skipped where the
extra is not installed; CI installs none). Checked against the numbers the libraries
publish: torchvision's model docs list params and "GFLOPS" (multiply-adds, costlab's MACs)
per model (https://pytorch.org/vision/stable/models.html)."""
from __future__ import annotations

import pytest

from costlab.api import count

# (spec, params, GMACs to 2 decimals) from torchvision's model table
TORCHVISION = [("torchvision:resnet50", 25_557_032, 4.09), ("torchvision:mobilenet_v2", 3_504_872, 0.30),
               ("torchvision:efficientnet_b0", 5_288_548, 0.39), ("torchvision:vit_b_16", 86_567_656, 17.56),
               ("torchvision:shufflenet_v2_x1_0", 2_278_604, 0.14)]


@pytest.mark.parametrize("spec, params, gmacs", TORCHVISION)
def test_torchvision_models_match_the_published_table(spec, params, gmacs):
    pytest.importorskip("torchvision")
    r = count(spec)
    assert r.totals["params"] == params
    assert round(r.totals["macs"] / 1e9, 2) == gmacs
    assert not r.unsupported


@pytest.mark.parametrize("spec", ["timm:resnet18", "timm:convnext_tiny", "timm:mobilenetv3_large_100"])
def test_timm_models_count_every_op_and_every_parameter(spec):
    timm = pytest.importorskip("timm")
    r = count(spec)
    model = timm.create_model(spec.split(":", 1)[1], pretrained=False)
    assert r.totals["params"] == sum(p.numel() for p in model.parameters())
    assert not r.unsupported and r.totals["macs"] > 0


@pytest.mark.parametrize("spec, params, pooler", [("hf:bert", 109_482_240, True), ("hf:gpt2", 124_439_808, False)])
def test_transformers_configs_count_the_published_sizes(spec, params, pooler):
    pytest.importorskip("transformers")
    r = count(spec)
    assert r.totals["params"] == params          # bert-base 110M, gpt2 124M
    assert not r.unsupported
    # by hand: 12 layers of d=768 over n=128 tokens: Q, K, V, output (4 d^2) and the MLP (2 x d x 4d) per
    # token, plus Q K^T and A V (2 n^2 d); BERT's pooler reads one token (d^2); embeddings are lookups
    n, d, layers = 128, 768, 12
    macs = layers * (n * (4 * d * d + 2 * d * 4 * d) + 2 * n * n * d) + (d * d if pooler else 0)
    assert r.totals["macs"] == macs
