"""Write the tiny .tflite files the TFLite tests read (tests/data/tflite/): each module of
tests/frontends/tflite_modules.py converted with litert-torch, float, and the first int8 with
PT2E quantization (per-channel symmetric, calibrated on one random input).

    pip install litert-torch && python tests/data/make_tflite.py [NAME ...]   # default: every module
"""
from __future__ import annotations

import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from benchmarks.tflite_zoo import convert  # noqa: E402
from tests.frontends.tflite_modules import MODULES  # noqa: E402


def main() -> None:
    out = os.path.join(HERE, "tflite")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    wanted = sys.argv[1:] or list(MODULES)
    for name, (cls, shape) in MODULES.items():
        if name not in wanted:
            continue
        model = cls().eval()
        for int8 in (False, True) if name == "net" else (False,):
            path = os.path.join(out, f"{name}{'_int8' if int8 else ''}.tflite")
            convert(model, shape, path, int8)
            print(f"{path}: {os.path.getsize(path):,} bytes")


if __name__ == "__main__":
    main()
