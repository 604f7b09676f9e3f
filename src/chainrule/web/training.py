"""Training for the page: a bounded number of epochs with train.py, and the decision boundary.

Each request runs at most limits.MAX_EPOCHS epochs, so the page asks again to keep training.
The epochs run in chunks of about limits.CHUNK_WORK, with a look between chunks at whether the
request should stop (its client left, its time ran out): plain SGD with the batches in file
order carries nothing from one epoch to the next but the parameters, so chunks chain exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.web.limits import CHUNK_WORK

GRID = 41  # the decision boundary is sampled on GRID × GRID points


class Diverged(ChainruleError):
    """The loss stopped being a finite number."""


def data_loss(net: Network) -> float:
    """The mean loss over every example, the number the loss curve plots (as train.py's history)."""
    from chainrule.train.trainer import evaluate

    with np.errstate(all="ignore"):
        return evaluate(net, net.x, net.y)[0]


def chunk_epochs(net: Network) -> int:
    """Epochs in one chunk: about CHUNK_WORK epochs × examples × parameters, at least one."""
    return max(1, CHUNK_WORK // (max(net.x.shape[0], 1) * max(net.parameter_count(), 1)))


def train(net: Network, epochs: int, check: Callable[[], None] = lambda: None) -> tuple[Network, list[float]]:
    """Run `epochs` epochs with train.py (plain SGD, batches in file order, as `chainrule explain`
    steps them); the mean loss over the data after each epoch. `check()` runs between chunks
    of epochs and raises to stop the training.
    """
    from chainrule.train.trainer import TrainConfig, fit

    losses: list[float] = []
    chunk = chunk_epochs(net)
    while len(losses) < epochs:
        check()
        with np.errstate(all="ignore"):  # an overflow is reported as divergence below, not a warning
            result = fit(net, config=TrainConfig(epochs=min(chunk, epochs - len(losses)), shuffle=False))
        if not result.history:  # no epoch ran: nothing more will
            break
        net = result.network
        losses += [record.loss for record in result.history]
        if not np.isfinite(losses[-1]):
            break
    for epoch, loss in enumerate(losses, 1):
        if not np.isfinite(loss):
            raise Diverged(
                f"training diverged in epoch {epoch} (the loss is no longer a finite number): try a smaller learning rate"
            )
    if not all(np.isfinite(v) for v in net.parameters().values()):
        raise Diverged("training diverged (a parameter is no longer a finite number): try a smaller learning rate")
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
