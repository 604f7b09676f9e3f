"""A small, bounded training loop for the page, on the engine's forward/backward/updated.

Temporary home: once train.py (the training issue) lands, `train` should call it instead. Each
request runs at most limits.MAX_EPOCHS epochs, so the page asks again to keep training.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ChainruleError
from ..network import Network

GRID = 41  # the decision boundary is sampled on GRID × GRID points


class Diverged(ChainruleError):
    """The loss stopped being a finite number."""


def data_loss(net: Network) -> float:
    """The mean loss over every example, the number the loss curve plots."""
    return net.batch_loss(net.forward(net.x), net.y, "mean")


def train(net: Network, epochs: int) -> tuple[Network, list[float]]:
    """Run `epochs` epochs of gradient descent, one update per batch; the data loss after each.

    θ ← θ − η ∂L/∂θ for every batch in file order, as `chainrule explain` steps it.
    """
    losses: list[float] = []
    with np.errstate(all="ignore"):  # an overflow is reported as divergence below, not a warning
        for epoch in range(epochs):
            for idx in net.batches():
                fwd = net.forward(net.x[idx])
                net = net.updated(net.backward(fwd, net.y[idx]))
            loss = data_loss(net)
            if not np.isfinite(loss) or not all(np.isfinite(v) for v in net.parameters().values()):
                raise Diverged(
                    f"training diverged in epoch {epoch + 1} (the loss is no longer a finite number): "
                    "try a smaller learning rate"
                )
            losses.append(loss)
    return net, losses


def boundary(net: Network) -> dict[str, Any] | None:
    """The first output over a grid around the data: the decision-boundary heatmap of a 2-D set.

    Rows run from the top (largest x2) down, columns from the left (smallest x1), as drawn.
    """
    if len(net.input_names) != 2 or net.x.shape[0] < 4:  # a plane of one example says nothing
        return None
    lo, hi = net.x.min(axis=0), net.x.max(axis=0)
    pad = np.maximum((hi - lo) * 0.1, 0.1)
    lo, hi = lo - pad, hi + pad
    xs = np.linspace(lo[0], hi[0], GRID)
    ys = np.linspace(hi[1], lo[1], GRID)
    grid = np.array([(x, y) for y in ys for x in xs])
    with np.errstate(all="ignore"):
        out = net.forward(grid).output[:, 0].reshape(GRID, GRID)
    if not np.all(np.isfinite(out)):
        return None
    activation = net.output_layer.activation.name
    low, high = (0.0, 1.0) if activation in ("sigmoid", "softmax") else (float(out.min()), float(out.max()))
    threshold = 0.5 if activation in ("sigmoid", "softmax") else (0.0 if activation == "tanh" else (low + high) / 2)
    return {
        "x1": [float(lo[0]), float(hi[0])],
        "x2": [float(lo[1]), float(hi[1])],
        "size": GRID,
        "values": out.tolist(),
        "low": low,
        "high": high,
        "threshold": threshold,
        "points": [[float(a), float(b), float(t)] for (a, b), t in zip(net.x, net.y[:, 0], strict=True)],
    }
