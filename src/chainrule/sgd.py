"""Plain SGD over epochs, by the fastest path that serves the network, with the engine's numbers.

Small networks with small batches go to the compiled per-example loop (`fast`), where NumPy's
per-call overhead would dominate; everything else, and any network the compiled loop cannot
train, goes to the lean in-place NumPy path (`lean`). Both are held to the explained engine's
numbers at 1e-12 by the tests; `Trainer.path` and `Trainer.note` say which one runs and why.
"""

from __future__ import annotations

import numpy as np

from . import fast
from .lean import LeanSGD
from .network import Network

# Past these sizes a batch's matrix products outweigh NumPy's per-call overhead and BLAS wins
# (measured by benchmarks/scaling.py: see docs/performance.md, "Where each path wins").
COMPILED_MAX_WORK = 100_000  # batch size × parameters
COMPILED_MAX_BATCH = 32


class Trainer:
    """Epochs of SGD on `net` in place (its layer arrays change), batch by batch in the given order."""

    def __init__(self, net: Network, batch: int, *, compiled: bool | None = None) -> None:
        self.net = net
        self.batch = max(1, batch)
        self.mean = net.training.reduction == "mean"
        reason = fast.unsupported(net)
        small = self.batch <= COMPILED_MAX_BATCH and self.batch * net.parameter_count() <= COMPILED_MAX_WORK
        use = (reason is None and small) if compiled is None else (compiled and reason is None)
        self.path = "compiled" if use else "numpy"
        self.note = reason if (reason and small) else ""
        self._packed = fast.pack(net) if use else None
        self._lean = None if use else LeanSGD(net, self.batch)

    def epochs(self, count: int, lr: float, order: np.ndarray | None = None) -> np.ndarray:
        """Run `count` epochs; returns each epoch's mean example loss (before each example's update).

        ``order``: the example order of each epoch, shape (count, n); file order when omitted.
        """
        n = self.net.x.shape[0]
        if order is None:
            order = np.broadcast_to(np.arange(n), (count, n))
        if self._packed is not None:
            losses = fast.train_epochs(self._packed, self.net.x, self.net.y, order, self.batch, self.mean, lr, count)
            self._packed.unpack_into(self.net)
            return losses
        assert self._lean is not None
        losses = np.empty(count)
        x, y = self.net.x, self.net.y
        for e in range(count):
            total = 0.0
            for start in range(0, n, self.batch):
                idx = order[e, start : start + self.batch]
                batch_loss = self._lean.step(x[idx], y[idx], lr, self.mean)
                total += batch_loss * (len(idx) if self.mean else 1.0)
            losses[e] = total / n
        return losses
