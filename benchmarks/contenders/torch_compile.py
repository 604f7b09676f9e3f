"""PyTorch with `torch.compile` of the whole training step (zero_grad, forward, loss, backward,
optimizer step); otherwise as torch_eager. Compilation happens in the warm-up, outside the clock."""

from __future__ import annotations

from contenders.base import serve
from contenders.torch_eager import TorchSGD


class TorchCompiled(TorchSGD):
    compiled = True


if __name__ == "__main__":
    serve(TorchCompiled)
