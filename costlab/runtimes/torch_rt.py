"""PyTorch eager on the CPU: the baseline every runtime is compared with (no artifact)."""
from __future__ import annotations

from .base import Artifact, Runtime, Session


class TorchEager(Runtime):
    name = "torch"
    title = "PyTorch eager"
    extra = ""
    modules = ("torch",)
    suffix = None
    per_op = ""

    def version(self) -> str:
        import torch

        return torch.__version__

    def load(self, artifact: Artifact, threads: int = 1, *, model=None, example=None,
             profile: bool = False) -> Session:
        return TorchSession(model, example, threads)


class TorchSession(Session):
    runtime = "torch"

    def __init__(self, model, example, threads: int):
        import torch

        self.model, self.x, self.threads = model.eval(), example, int(threads)
        self._mode = torch.inference_mode
        with torch.inference_mode():
            self.model(self.x)

    def run(self):
        with self._mode():
            return self.model(self.x)
