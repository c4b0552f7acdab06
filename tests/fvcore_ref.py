"""Reference counts from fvcore, computed in the tests (never hard-coded)."""
from __future__ import annotations

import logging

import torch
from fvcore.nn import FlopCountAnalysis

logging.getLogger("fvcore").setLevel(logging.ERROR)

MAC_OPS = ("conv", "linear", "matmul", "addmm", "bmm", "einsum", "convolution", "conv_transpose")


def fvcore_conv_linear_macs(model: torch.nn.Module, input_shape) -> int:
    """Conv + linear + matmul multiply-accumulates as fvcore counts them (it counts 1 MAC
    as one 'flop'), for ``model`` in eval mode on a zero input of ``input_shape``."""
    model.eval()
    x = torch.zeros(*input_shape)
    fca = FlopCountAnalysis(model, x)
    fca.unsupported_ops_warnings(False)
    fca.uncalled_modules_warnings(False)
    by_op = fca.by_operator()
    return int(sum(v for k, v in by_op.items() if any(m in k for m in MAC_OPS)))


def param_count(model: torch.nn.Module) -> int:
    """nn.Parameters only (each shared one once), as torchvision counts."""
    return sum(p.numel() for p in model.parameters())
