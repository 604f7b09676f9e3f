"""PyTorch eager as its documentation recommends: `nn.Sequential`, `torch.optim.SGD`,
`zero_grad(set_to_none=True)`, a loop over tensor slices (no DataLoader); one Python call per
update. The loss is chainrule's: cross-entropy of the softmax (`F.cross_entropy`, mean over the
batch) or ½ Σ (y − ŷ)² over the outputs, meaned over the batch."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch
from contenders.base import Cursor, serve
from torch import nn
from torch.nn import functional as F

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class TorchSGD:
    compiled = False

    def __init__(self, job: dict[str, Any], x: np.ndarray, y: np.ndarray, params: list[np.ndarray]) -> None:
        torch.set_num_threads(job["threads"])
        w = job["workload"]
        sizes = w["sizes"]
        mods: list[nn.Module] = []
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            mods.append(nn.Linear(a, b))
            act = w["output"] if i == len(sizes) - 2 else w["hidden"]
            if act != "softmax":  # softmax is inside F.cross_entropy
                mods.append(ACTIVATIONS[act]())
        dtype = torch.float32 if w["dtype"] == "float32" else torch.float64
        self.model = nn.Sequential(*mods).to(dtype)
        self.linears = [m for m in self.model if isinstance(m, nn.Linear)]
        self.restart(params)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=w["lr"])
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.cursor = Cursor(len(x), w["batch"])
        self.ce = w["loss"] == "cross_entropy"
        self.step = torch.compile(self._step) if self.compiled else self._step
        self.info = {"path": "torch.compile" if self.compiled else "eager", "torch": torch.__version__}

    def _loss(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        out = self.model(xb)
        if self.ce:
            return F.cross_entropy(out, yb)
        return 0.5 * ((out - yb) ** 2).sum(dim=1).mean()

    def _step(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        self.opt.zero_grad(set_to_none=True)
        self._loss(xb, yb).backward()
        self.opt.step()

    def restart(self, params: list[np.ndarray]) -> None:
        with torch.no_grad():
            for lin, weight, bias in zip(self.linears, params[0::2], params[1::2], strict=True):
                lin.weight.copy_(torch.from_numpy(np.asarray(weight)))
                lin.bias.copy_(torch.from_numpy(np.asarray(bias)))
        if hasattr(self, "cursor"):
            self.cursor.start = 0

    def params(self) -> list[np.ndarray]:
        return [t.detach().numpy().copy() for lin in self.linears for t in (lin.weight, lin.bias)]

    def run(self, updates: int) -> int:
        for _ in range(updates):
            s = self.cursor.next()
            self.step(self.x[s], self.y[s])
        return updates


if __name__ == "__main__":
    serve(TorchSGD)
