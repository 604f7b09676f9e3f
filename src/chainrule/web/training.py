"""Training for the page: a bounded number of epochs with train.py, and the decision boundary.

Each request runs at most limits.MAX_EPOCHS epochs, so the page asks again to keep training.
The epochs run in chunks of about limits.CHUNK_WORK, with a look between chunks at whether the
request should stop (its client left, its time ran out): plain SGD with the batches in file
order carries nothing from one epoch to the next but the parameters, so chunks chain exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.web.features import made, planar
from chainrule.web.limits import CHUNK_WORK

GRID = 41  # the decision boundary is sampled on GRID × GRID points
NEURON_GRID = 25  # each hidden neuron's heat map: NEURON_GRID × NEURON_GRID points
MAX_NEURON_MAPS = 32  # heat maps sent at most (the first hidden neurons, layer by layer)


@dataclass(frozen=True)
class Regime:
    """How the page trains: the share of examples held out as a test set, and the penalties.

    The held-out examples are a seeded choice (the file's training.seed), the same in every request,
    so that the chunks and requests of one run all train on the same examples.
    """

    test_fraction: float = 0.0
    l1: float = 0.0
    l2: float = 0.0


def split(net: Network, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(training, test) example indices, each in file order; the test set holds round(fraction · n)."""
    n = net.x.shape[0]
    held = min(n - 1, round(fraction * n)) if n > 1 else 0
    order = np.random.default_rng(net.training.seed).permutation(n)
    return np.sort(order[held:]), np.sort(order[:held])


class Diverged(ChainruleError):
    """The loss stopped being a finite number."""


def data_loss(net: Network) -> float:
    """The mean loss over every example, the number the loss curve plots (as train.py's history)."""
    from chainrule.train.trainer import evaluate

    with np.errstate(all="ignore"):
        return evaluate(net, net.x, net.y)[0]


def start_losses(net: Network, regime: Regime) -> tuple[float, float | None]:
    """The loss at epoch 0, before any training: over the training examples, and over the test
    examples (None without a test set), as train() reports each epoch's."""
    from chainrule.train.trainer import evaluate

    fit_on, held = split(net, regime.test_fraction)
    with np.errstate(all="ignore"):
        trained = evaluate(net, net.x[fit_on], net.y[fit_on])[0]
        tested = evaluate(net, net.x[held], net.y[held])[0] if len(held) else None
    return trained, tested


def chunk_epochs(net: Network) -> int:
    """Epochs in one chunk: about CHUNK_WORK epochs × examples × parameters, at least one."""
    return max(1, CHUNK_WORK // (max(net.x.shape[0], 1) * max(net.parameter_count(), 1)))


def train(
    net: Network, epochs: int, check: Callable[[], None] = lambda: None, regime: Regime = Regime()
) -> tuple[Network, list[float], list[float]]:
    """Run `epochs` epochs with train.py (SGD, batches in file order, as `chainrule explain` steps
    them) on the training examples; the mean loss over them after each epoch, and over the test
    examples (empty without a test set). `check()` runs between chunks of epochs and raises to stop.
    """
    from chainrule.train.trainer import TrainConfig, fit

    fit_on, held = split(net, regime.test_fraction)
    data = {"x": net.x[fit_on], "y": net.y[fit_on]}
    if len(held):
        data |= {"x_val": net.x[held], "y_val": net.y[held]}
    # Every epoch evaluated: the page's curve plots the loss of the parameters after each epoch.
    config = TrainConfig(shuffle=False, weight_decay=regime.l2, l1=regime.l1, evaluate_every=1)
    losses: list[float] = []
    tested: list[float] = []
    chunk = chunk_epochs(net)
    while len(losses) < epochs:
        check()
        with np.errstate(all="ignore"):  # an overflow is reported as divergence below, not a warning
            result = fit(net, config=dataclasses.replace(config, epochs=min(chunk, epochs - len(losses))), **data)
        if not result.history:  # no epoch ran: nothing more will
            break
        net = result.network
        losses += [record.loss for record in result.history]
        tested += [record.val_loss for record in result.history if record.val_loss is not None]
        if not np.isfinite(losses[-1]):
            break
    _refuse_divergence(net, losses + tested)
    return net, losses, tested


def _refuse_divergence(net: Network, losses: list[float]) -> None:
    for loss in losses:
        if not np.isfinite(loss):
            raise Diverged("training diverged (the loss is no longer a finite number): try a smaller learning rate")
    if not all(np.isfinite(v) for v in net.parameters().values()):
        raise Diverged("training diverged (a parameter is no longer a finite number): try a smaller learning rate")


def _plane(net: Network) -> np.ndarray:
    """Each example's point of the plane: its inputs x1 and x2 (whatever features are made of them)."""
    return net.x[:, [net.input_names.index("x1"), net.input_names.index("x2")]]


def _grid(net: Network, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lo, hi, points): size × size points (x1, x2) over the data's box, padded by a tenth; rows from the top."""
    plane = _plane(net)
    lo, hi = plane.min(axis=0), plane.max(axis=0)
    pad = np.maximum((hi - lo) * 0.1, 0.1)
    lo, hi = lo - pad, hi + pad
    xs = np.linspace(lo[0], hi[0], size)
    ys = np.linspace(hi[1], lo[1], size)
    return lo, hi, np.array([(x, y) for y in ys for x in xs])


def boundary(net: Network, held: float = 0.0) -> dict[str, Any] | None:
    """The first output over a grid around the data: the decision-boundary heatmap of a 2-D set,
    and each hidden neuron's activation a over a coarser grid (`neurons`, at most MAX_NEURON_MAPS).

    Rows run from the top (largest x2) down, columns from the left (smallest x1), as drawn. Each
    point is [x1, x2, target, 1 if held out as a test example (the share `held`, as split() holds
    them out) else 0].
    """
    if not planar(net.input_names) or net.x.shape[0] < 4:  # a plane of one example says nothing
        return None
    lo, hi, grid = _grid(net, GRID)
    tested = set(split(net, held)[1].tolist())
    with np.errstate(all="ignore"):
        out = net.forward(made(net.input_names, grid)).output[:, 0].reshape(GRID, GRID)
    if not np.all(np.isfinite(out)):
        return None
    activation = net.output_layer.activation.name
    low, high = (0.0, 1.0) if activation in ("sigmoid", "softmax") else (float(out.min()), float(out.max()))
    # A classifier's cut is the engine's (the loss's, as accuracy and predictions read it); a
    # regression has none, and its colours change at the middle of what the output spans.
    threshold = net.loss.threshold if net.loss.classifies else (0.0 if activation == "tanh" else (low + high) / 2)
    return {
        "x1": [float(lo[0]), float(hi[0])],
        "x2": [float(lo[1]), float(hi[1])],
        "size": GRID,
        "values": out.tolist(),
        "low": low,
        "high": high,
        "threshold": threshold,
        "points": [
            [float(a), float(b), float(t), int(i in tested)]
            for i, ((a, b), t) in enumerate(zip(_plane(net), net.y[:, 0], strict=True))
        ],
        "neurons": neuron_maps(net),
    }


def neuron_maps(net: Network) -> list[dict[str, Any]]:
    """Each hidden neuron's activation over the plane: its name, NEURON_GRID rows of values, and
    the lowest and highest value (what the colours span)."""
    _, _, grid = _grid(net, NEURON_GRID)
    with np.errstate(all="ignore"):
        forward = net.forward(made(net.input_names, grid))
    maps: list[dict[str, Any]] = []
    for index, layer in enumerate(net.layers[:-1], 1):
        a = forward.a[index]
        for j, name in enumerate(layer.neuron_names):
            if len(maps) == MAX_NEURON_MAPS:
                return maps
            values = a[:, j].reshape(NEURON_GRID, NEURON_GRID)
            if not np.all(np.isfinite(values)):
                continue
            maps.append(
                {
                    "name": name,
                    "size": NEURON_GRID,
                    "values": values.tolist(),
                    "low": float(values.min()),
                    "high": float(values.max()),
                }
            )
    return maps
