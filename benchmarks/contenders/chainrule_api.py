"""chainrule's API loop: `PlainSGD(net, batch).epochs(count, lr, order=file order, with_loss=False)`,
the path `chainrule train` would choose (or the one `options` force: compiled, matrices), whole
epochs per call, after `keep_freed_memory()` as `chainrule train` does. Where a long run would
use the loop written out for the network's shape, it is compiled (or loaded from the disk cache)
before the clock starts, as `chainrule train` does for such a run."""

from __future__ import annotations

from typing import Any

import numpy as np
from contenders.base import serve, whole_epochs

from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.train.allocator import keep_freed_memory
from chainrule.train.compiled import loop as fast
from chainrule.train.compiled import special
from chainrule.train.paths import PlainSGD, loop_for


def network(w: dict[str, Any], params: list[np.ndarray]) -> Network:
    """The workload's network in chainrule, with these parameters (mean reduction, its lr and dtype)."""
    sizes = w["sizes"]
    layers = [
        {"units": units, "activation": w["output"] if i == len(sizes) - 2 else w["hidden"], "bias": [0.0] * units}
        for i, units in enumerate(sizes[1:])
    ]
    doc = {
        "inputs": sizes[0],
        "loss": w["loss"],
        "layers": layers,
        "training": {"learning_rate": w["lr"], "batch": w["batch"], "reduction": "mean", "dtype": w["dtype"]},
    }
    net = netfile.from_dict(doc, require_examples=False)
    for layer, weight, bias in zip(net.layers, params[0::2], params[1::2], strict=True):
        layer.weight = np.array(weight, dtype=w["dtype"])
        layer.bias = np.array(bias, dtype=w["dtype"])
    return net


class ApiLoop:
    def __init__(self, job: dict[str, Any], x: np.ndarray, y: np.ndarray, params: list[np.ndarray]) -> None:
        keep_freed_memory()
        self.w, self.options = job["workload"], job.get("options", {})
        self.net = network(self.w, params)
        self.net.x, self.net.y = x.astype(self.w["dtype"]), y.astype(self.w["dtype"])
        self.per_epoch = -(-len(x) // self.w["batch"])
        self._make()
        self.orders: dict[int, np.ndarray] = {}

    def _make(self) -> None:
        batch = self.w["batch"]
        if not self.options and loop_for(self.net, batch) == "specialised":
            special.module(fast.pack(self.net))  # compiled (or loaded) once per shape, as a long run does
        self.trainer = PlainSGD(self.net, batch, **self.options)
        matrices = getattr(self.trainer, "matrices", None)
        self.info = {"path": self.trainer.path, **({"matrices": matrices} if self.options else {})}

    def restart(self, params: list[np.ndarray]) -> None:
        for layer, weight, bias in zip(self.net.layers, params[0::2], params[1::2], strict=True):
            layer.weight[...] = weight
            layer.bias[...] = bias
        ran = self.info["path"]  # what the warm-up ran, as `run` named it
        self._make()  # the compiled path packs the parameters when it is made
        self.info["path"] = ran

    def params(self) -> list[np.ndarray]:
        return [p for la in self.net.layers for p in (la.weight, la.bias)]

    def run(self, updates: int) -> int:
        epochs = whole_epochs(updates, self.per_epoch)
        if epochs not in self.orders:  # file order, writable (see PlainSGD.epochs)
            self.orders[epochs] = np.tile(np.arange(len(self.net.x)), (epochs, 1))
        self.trainer.epochs(epochs, self.w["lr"], order=self.orders[epochs], with_loss=False)
        ran = {"specialised": "compiled, written out for the shape", "general": "compiled"}
        self.info["path"] = ran.get(self.trainer.variant, "lean NumPy")  # the loop that ran
        return epochs * self.per_epoch


if __name__ == "__main__":
    serve(ApiLoop)
