"""The benchmark workloads: the same network, data and updates for chainrule, PyTorch and NumPy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.train.paths import PlainSGD


def cycle(x: Any, y: Any, batch: int, updates: int) -> Iterator[tuple[Any, Any]]:
    """`updates` batches of (x, y) in order, starting over at the end of the data."""
    start = 0
    for _ in range(updates):
        if start >= len(x):
            start = 0
        yield x[start : start + batch], y[start : start + batch]
        start += batch


@dataclass
class Workload:
    key: str
    title: str
    sizes: tuple[int, ...]
    hidden: str  # hidden activation
    output: str  # output activation
    loss: str
    batch: int
    examples: int
    updates: int  # updates per timed repeat
    dtype: Any = np.float64

    @property
    def params(self) -> int:
        return sum((a + 1) * b for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    @property
    def flops_per_update(self) -> float:
        """Forward 2BP, weight gradients 2BP, input gradients 2BP less the first layer's."""
        first = (self.sizes[0] + 1) * self.sizes[1]
        return self.batch * (6 * self.params - 2 * first)

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((self.examples, self.sizes[0])).astype(self.dtype)
        classes = rng.integers(0, self.sizes[-1], self.examples) if self.sizes[-1] > 1 else None
        if classes is None:
            y = (x[:, :1] * x[:, 1:2] > 0).astype(self.dtype) * 0.98 + 0.01
        else:
            y = np.eye(self.sizes[-1], dtype=self.dtype)[classes]
        return x, y

    def network(self) -> Network:
        layers = []
        for i, units in enumerate(self.sizes[1:]):
            last = i == len(self.sizes) - 2
            layers.append({"units": units, "activation": self.output if last else self.hidden, "bias": [0.0] * units})
        x, y = self.data()
        doc = {
            "inputs": self.sizes[0],
            "loss": self.loss,
            "layers": layers,
            "examples": [{"x": [0.0] * self.sizes[0], "y": [0.0] * self.sizes[-1]}],
            "training": {
                "learning_rate": 0.01,
                "batch": self.batch,
                "reduction": "mean",
                "dtype": "float32" if self.dtype == np.float32 else "float64",
            },
        }
        net = netfile.from_dict(doc)
        net.x, net.y = x, y
        return net

    def runners(self) -> dict[str, Callable[[int], int]]:
        return {"chainrule": self.chainrule(), "pytorch": self.pytorch(), "numpy": self.numpy()}

    # -- chainrule: the same paths `chainrule train` uses --------------------------------
    def chainrule(self) -> Callable[[int], int]:
        net = self.network()
        trainer = PlainSGD(net, self.batch)
        per_epoch = -(-self.examples // self.batch)

        def run(updates: int) -> int:
            epochs = max(round(updates / per_epoch), 1)
            trainer.epochs(epochs, lr=0.01, with_loss=False)
            return epochs * per_epoch

        return run

    # -- PyTorch eager --------------------------------------------------------------------
    def pytorch(self) -> Callable[[int], int]:
        torch.manual_seed(0)
        dt = torch.float32 if self.dtype == np.float32 else torch.float64
        acts = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "softmax": None}
        mods: list[torch.nn.Module] = []
        for i, (a, b) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True)):
            mods.append(torch.nn.Linear(a, b))
            act = self.output if i == len(self.sizes) - 2 else self.hidden
            if acts[act] is not None:
                mods.append(acts[act]())
        model = torch.nn.Sequential(*mods).to(dt)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        x, y = (torch.tensor(v) for v in self.data())
        ce = self.loss == "cross_entropy"

        def run(updates: int) -> int:
            for xb, yb in cycle(x, y, self.batch, updates):
                opt.zero_grad()
                out = model(xb)
                loss = torch.nn.functional.cross_entropy(out, yb) if ce else 0.5 * ((out - yb) ** 2).sum(-1).mean()
                loss.backward()
                opt.step()
            return updates

        return run

    # -- a plain NumPy reference, as a person writes it ----------------------------------------
    def numpy(self) -> Callable[[int], int]:
        rng = np.random.default_rng(0)
        ws = [
            rng.standard_normal((b, a)).astype(self.dtype) * 0.1
            for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True)
        ]
        bs = [np.zeros(b, dtype=self.dtype) for b in self.sizes[1:]]
        x, y = self.data()
        f = {
            "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a: a * (1 - a)),
            "tanh": (np.tanh, lambda a: 1 - a * a),
            "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(a.dtype)),
        }
        hidden = f[self.hidden]
        ce = self.loss == "cross_entropy"

        def run(updates: int) -> int:
            for xb, yb in cycle(x, y, self.batch, updates):
                acts = [xb]
                for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
                    z = acts[-1] @ w.T + b
                    if i < len(ws) - 1:
                        acts.append(hidden[0](z))
                    elif ce:
                        e = np.exp(z - z.max(axis=1, keepdims=True))
                        acts.append(e / e.sum(axis=1, keepdims=True))
                    else:
                        acts.append(f[self.output][0](z))
                out = acts[-1]
                delta = (out - yb) / len(xb)
                if not ce:
                    delta = delta * f[self.output][1](out)
                for i in range(len(ws) - 1, -1, -1):
                    gw, gb = delta.T @ acts[i], delta.sum(axis=0)
                    if i > 0:
                        delta = (delta @ ws[i]) * hidden[1](acts[i])
                    ws[i] -= 0.01 * gw
                    bs[i] -= 0.01 * gb
            return updates

        return run


WORKLOADS = [
    Workload(
        "online-2-2-1", "online SGD, 2-2-1 sigmoid", (2, 2, 1), "sigmoid", "sigmoid", "half_squared_error", 1, 64, 20000
    ),
    Workload(
        "online-2-16-16-1",
        "online SGD, 2-16-16-1 tanh",
        (2, 16, 16, 1),
        "tanh",
        "sigmoid",
        "half_squared_error",
        1,
        256,
        5000,
    ),
    Workload(
        "online-64-32-10",
        "online SGD, 64-32-10 softmax",
        (64, 32, 10),
        "sigmoid",
        "softmax",
        "cross_entropy",
        1,
        512,
        2000,
    ),
    Workload(
        "batch32-64-128-10",
        "batch 32, 64-128-10 softmax",
        (64, 128, 10),
        "relu",
        "softmax",
        "cross_entropy",
        32,
        1792,
        1000,
    ),
    Workload(
        "batch256-784-1024-1024-10",
        "batch 256, 784-1024-1024-10 float32",
        (784, 1024, 1024, 10),
        "relu",
        "softmax",
        "cross_entropy",
        256,
        4096,
        16,
        np.float32,
    ),
]
