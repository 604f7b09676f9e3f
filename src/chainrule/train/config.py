"""What a run is given, checked before it starts: its settings (`TrainConfig`), the network's
working copy in the run's precision, and the data.

Everything refused here is refused with one line naming the option or the data and what was
expected, before any epoch runs.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from chainrule.engine.network import Batch, Network, Reduction
from chainrule.errors import ChainruleError
from chainrule.train.optim import Schedule

Array = np.ndarray


@dataclass(frozen=True)
class TrainConfig:
    """How to train. None means: take it from the network file's [training] table."""

    epochs: int | None = None
    optimizer: str | None = None  # None: the file's training.optimizer (default "sgd")
    learning_rate: float | None = None
    momentum: float | None = None  # None: the file's training.momentum (default 0.9)
    weight_decay: float = 0.0
    l1: float = 0.0  # λ₁ of the L1 penalty λ₁ Σ|θ| (optim: g += λ₁ sign(θ))
    batch: Batch | None = None
    reduction: Reduction | None = None
    schedule: Schedule = field(default_factory=Schedule)
    until_loss: float | None = None
    patience: int | None = None
    evaluate_every: int = 0  # also evaluate the whole training set every K epochs (0: only where needed)
    shuffle: bool = True
    seed: int | None = None
    dtype: Literal["float64", "float32"] | None = None

    def check(self) -> None:
        """Refuse settings no run can use: non-positive counts, and rates that are not finite numbers."""
        if self.epochs is not None and self.epochs < 1:
            raise ChainruleError(f"--epochs: expected a whole number ≥ 1, got {self.epochs}")
        if self.learning_rate is not None and not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ChainruleError(f"--lr: expected a finite learning rate > 0, got {self.learning_rate}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ChainruleError(f"--weight-decay: expected a finite number ≥ 0, got {self.weight_decay}")
        if not (math.isfinite(self.l1) and self.l1 >= 0):
            raise ChainruleError(f"l1: expected a finite number ≥ 0, got {self.l1}")
        if self.momentum is not None and not math.isfinite(self.momentum):
            raise ChainruleError(f"--momentum: expected a finite number, got {self.momentum}")
        if not math.isfinite(self.schedule.gamma):
            raise ChainruleError(f"--gamma: expected a finite number in (0, 1], got {self.schedule.gamma}")
        if self.patience is not None and self.patience < 1:
            raise ChainruleError(f"--patience: expected a whole number ≥ 1, got {self.patience}")
        if self.evaluate_every < 0:
            raise ChainruleError(f"--evaluate-every: expected a whole number ≥ 0, got {self.evaluate_every}")
        if self.until_loss is not None and not (math.isfinite(self.until_loss) and self.until_loss >= 0):
            raise ChainruleError(f"--until-loss: expected a finite loss ≥ 0, got {self.until_loss}")


def working_copy(net: Network, config: TrainConfig) -> Network:
    """A copy of the network (taken once per run) with the run's settings in its [training] table,
    its parameters in the run's precision; refused when a parameter is not a finite number there
    (1e39 overflows float32 to ∞)."""
    work = copy.deepcopy(net)
    t = work.training
    if config.learning_rate is not None:
        t.learning_rate = config.learning_rate
    if config.batch is not None:
        t.batch = config.batch
    if config.reduction is not None:
        t.reduction = config.reduction
    if config.seed is not None:
        t.seed = config.seed
    if config.epochs is not None:
        t.epochs = config.epochs
    if not (math.isfinite(t.learning_rate) and t.learning_rate > 0):
        raise ChainruleError(
            f"{net.source}: training.learning_rate: expected a finite number > 0, got {t.learning_rate}"
        )
    if config.dtype is not None and config.dtype != t.dtype:
        t.dtype = config.dtype
        with np.errstate(over="ignore"):  # an overflow is refused below, by name
            for layer in work.layers:
                layer.weight, layer.bias, layer.alpha = (
                    a.astype(config.dtype) for a in (layer.weight, layer.bias, layer.alpha)
                )
    _refuse_non_finite(net, work)
    _refuse_constants(work)
    return work


def _refuse_constants(work: Network) -> None:
    """Every constant a loop casts to the run's precision must be finite there: an activation's
    fixed α (not a parameter, so not named above) and the learning rate (1e300 is ∞ in float32)."""
    dtype = np.dtype(work.training.dtype)
    for i, layer in enumerate(work.layers):
        if layer.alpha.size and not np.isfinite(layer.alpha.astype(dtype)).all():
            raise ChainruleError(
                f"{work.source}: layers[{i}].alpha (layer {layer.name}): expected a finite number that fits in "
                f"{dtype} (at most {float(np.finfo(dtype).max):.4g}), got {float(layer.alpha[0])!r}"
            )
    with np.errstate(over="ignore"):
        rate = dtype.type(work.training.learning_rate)
    if not np.isfinite(rate) or rate <= 0:
        raise ChainruleError(
            f"{work.source}: training.learning_rate: expected a number > 0 that fits in {dtype}, "
            f"got {work.training.learning_rate!r}"
        )


def non_finite_parameter(net: Network) -> str | None:
    """The name of the first parameter that is not a finite number, or None when all are."""
    if all(np.isfinite(a).all() for layer in net.layers for a in (layer.weight, layer.bias, layer.alpha)):
        return None  # the usual case, without a Python loop over every parameter
    return next((name for name, value in net.parameters().items() if not math.isfinite(value)), None)


def _refuse_non_finite(original: Network, work: Network) -> None:
    name = non_finite_parameter(work)
    if name is not None:
        was = original.parameters()[name]
        why = f"{was!r} does not fit in {work.training.dtype}" if math.isfinite(was) else f"got {was!r}"
        raise ChainruleError(f"{original.source}: parameter {name}: expected a finite number ({why})")


def checked_data(net: Network, x: Array, y: Array, what: str) -> tuple[Array, Array]:
    """(x, y) as 2-D floating arrays that fit the network's inputs and outputs, or one clear error."""
    # Keep the caller's floating dtype: a float32 data set is not copied to float64 on the way in.
    x, y = np.asarray(x), np.asarray(y)
    x = x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)
    y = y if np.issubdtype(y.dtype, np.floating) else y.astype(np.float64)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise ChainruleError(f"{what}: expected x as (examples, inputs) and y as (examples, outputs)")
    if not len(x):
        raise ChainruleError(f"{what}: expected at least one example, got none")
    if x.shape[1] != len(net.input_names):
        raise ChainruleError(
            f"{what}: expected {len(net.input_names)} input columns for the network's inputs "
            f"({', '.join(net.input_names[:6])}), got {x.shape[1]}"
        )
    if y.shape[1] != net.output_layer.units:
        raise ChainruleError(
            f"{what}: expected {net.output_layer.units} target column(s) for the network's outputs, got {y.shape[1]}"
        )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ChainruleError(f"{what}: expected finite numbers, got NaN or infinity")
    return x, y


def in_precision(net: Network, x: Array, y: Array, what: str) -> tuple[Array, Array]:
    """(x, y) cast to the network's precision, refused where a number does not fit there."""
    dtype = net.layers[0].weight.dtype
    with np.errstate(over="ignore"):
        x, y = x.astype(dtype, copy=False), y.astype(dtype, copy=False)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ChainruleError(f"{what}: expected numbers that fit in {dtype} (at most {float(np.finfo(dtype).max):.4g})")
    return x, y
