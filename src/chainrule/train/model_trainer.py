"""Training a shaped network (`engine.model.Model`: conv2d, pooling, batchnorm, residual, rnn).

The dense trainer's run, reused: the epoch loop, the stopping rules, the history, the progress
callbacks, Ctrl-C and the checkpoints are `Trainer`'s; what differs is one update. An update is the
engine's step on whole tensors, ``model.updated(model.backward(model.forward(x), y))``: every
optimizer of `engine.optimizers` (the same constants, `engine.optimizers.step_array`), batchnorm's
running statistics taken from the batch. A Model is immutable, so the run holds the latest one.
With ``backend="torch"`` the same updates run on PyTorch (`model_torch`), on the module that
`to_torch` makes, and the tensors come back into the Model between epochs and on Ctrl-C.

There is no compiled (numba) path for shaped networks: every update is the engine's (NumPy).
Evaluations run in prediction mode (batchnorm's running statistics), as PyTorch's `eval()`.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any

import numpy as np

from chainrule.engine.batching import batch_size
from chainrule.engine.model import Model
from chainrule.engine.optimizers import Settings
from chainrule.errors import ChainruleError
from chainrule.train.config import TrainConfig
from chainrule.train.history import History
from chainrule.train.model_state import model_buffers, right_count, with_tensors
from chainrule.train.records import EpochRecord
from chainrule.train.trainer import Trainer

Array = np.ndarray
EVAL_SLICE = 256  # examples per forward pass when the whole set is evaluated
# The one line `train` prints when it chooses the engine path for a shaped network.
ENGINE_NOTE = "no compiled loop for shaped networks (conv2d, pooling, batchnorm, residual, rnn)"


class ModelTensors:
    """What the run's loop and checkpoints read of the optimizer: the Model's learnt tensors in
    order (`params`), the optimizer's name, settings and step count (the Model keeps its state)."""

    def __init__(self, trainer: ModelTrainer, settings: Settings) -> None:
        self.trainer, self.settings, self.name = trainer, settings, settings.name

    @property
    def params(self) -> list[Array]:
        return list(self.trainer.net.parameters().values())

    @property
    def steps(self) -> int:
        return self.trainer.net.steps_taken


class ModelTrainer(Trainer):
    """One training run of a Model, resumable; `Trainer`'s loop with the Model's update."""

    def __init__(
        self,
        model: Model,
        x: Array,
        y: Array,
        config: TrainConfig,
        *,
        rng: np.random.Generator | None = None,
        x_val: Array | None = None,
        y_val: Array | None = None,
        backend: str = "chainrule",
    ) -> None:
        config.check()
        _refuse(config, model)
        self.config = config
        self.net: Model = _working_copy(model, config)  # type: ignore[assignment]
        self.x, self.y = _checked(self.net, x, y, "training data")
        self.x_val = self.y_val = None
        if x_val is not None and y_val is not None and len(x_val):
            self.x_val, self.y_val = _checked(self.net, x_val, y_val, "validation data")
        t = self.net.training
        self.epochs = config.epochs or t.epochs
        self.rng = rng if rng is not None else np.random.default_rng(t.seed)
        self.optimizer_name = t.optimizer.name
        self.optimizer = ModelTensors(self, t.optimizer)  # type: ignore[assignment]
        self.size = batch_size(t.batch, len(self.x))
        if model_buffers(self.net) and 1 in (self.size, len(self.x) % self.size):  # as PyTorch, batch statistics of one
            raise ChainruleError(
                f"--batch: expected every batch to hold 2 or more examples for batch normalisation, but with "
                f"{len(self.x)} examples in batches of {self.size} one holds 1 (choose another --batch)"
            )
        self.path, self.path_note = "numpy", ENGINE_NOTE
        self.backend = backend
        self.session: Any = None  # the PyTorch module and optimizer (backend "torch"), once made
        self.runner = None
        self.ran: set[str] = set()
        self.order = np.arange(len(self.x))
        self.epoch, self.position, self.running, self.updates = 0, 0, (0.0, 0.0), 0
        self.history = History()
        self.best = None
        self.stop_requested = False
        self.abandonable = False
        self._step_seconds = 0.0
        self.divergence: str | None = None
        self.elapsed = 0.0
        self.sync_every = 0

    def preflight(self) -> None:
        """Before the first update: with --backend torch, PyTorch takes this Model (one line if not)."""
        if self.backend == "torch":
            from chainrule.train.model_torch import Session

            self.session = Session(self.net)

    # -- one epoch --------------------------------------------------------------------------
    def _epoch(self) -> list[EpochRecord]:
        """The rest of the current epoch, update by update; no record when stopped mid-epoch."""
        n, size = len(self.x), self.size
        lr = float(self.learning_rates(1)[0])
        order = self.next_order() if self.position == 0 else self.order
        before = self.net  # immutable: the parameters before this epoch, kept by reference
        self.ran.add(self.backend if self.backend == "torch" else "numpy")
        loss_sum, right = self.running if self.position else (0.0, 0.0)
        while self.position < n:
            idx = order[self.position : self.position + size]
            loss, hits = self._update(self.x[idx], self.y[idx], lr)
            loss_sum, right = loss_sum + loss, right + hits
            self.position += len(idx)
            self.updates += 1
            if self.stop_requested:
                break
        self.running = (loss_sum, right)
        self._sync()
        if self.position < n:
            return []
        self.position = 0
        self.epoch += 1
        record = self._record(lr, (loss_sum / n, right / n if self.net.loss.classifies else None))
        name = _non_finite(self.net)
        if not record.finite() or name:
            self.divergence = (
                f"the loss became {record.loss}" if not record.finite() else f"tensor {name} stopped being finite"
            )
            self.net, self.session = before, None
            self.epoch -= 1
        return [record]

    def _update(self, x: Array, y: Array, lr: float) -> tuple[float, float]:
        """One update; (Σ example losses, Σ classified right) of its forward pass before it."""
        if self.backend == "torch":
            from chainrule.train.model_torch import torch_update

            return torch_update(self, x, y, lr)
        model = self.net
        fwd = model.forward(x, training=True)
        losses = model.example_losses(fwd, y)
        hits = right_count(model, fwd.output, y)
        self.net = model.updated(model.backward(fwd, y), lr)
        return float(np.sum(losses)), hits

    def _sync(self) -> None:
        """The PyTorch module's tensors into the Model (backend torch), so that records, checkpoints
        and -o see the parameters the run has."""
        if self.session is not None:
            from chainrule.train.model_torch import into_model

            into_model(self)

    # -- what `Trainer` asks of the network ------------------------------------------------
    def _evaluate(self, x: Array, y: Array) -> tuple[float, float | None]:
        return evaluate_model(self.net, x, y)

    def _restore(self, values: list[Array]) -> None:
        """The Model with these tensors (in `parameters()` order) in place of its own."""
        self.net = with_tensors(self.net, dict(zip(self.net.parameters(), values, strict=True)))
        self.session = None


def evaluate_model(model: Model, x: Array, y: Array) -> tuple[float, float | None]:
    """The mean loss over the examples and, for a classifier, the fraction right, in prediction
    mode (batchnorm's running statistics)."""
    total, right = 0.0, 0.0
    for s in range(0, len(x), EVAL_SLICE):
        fwd = model.forward(x[s : s + EVAL_SLICE], training=False)
        total += float(np.sum(model.example_losses(fwd, y[s : s + EVAL_SLICE])))
        right += right_count(model, fwd.output, y[s : s + EVAL_SLICE])
    n = max(len(x), 1)
    return total / n, (right / n if model.loss.classifies else None)


def _non_finite(model: Model) -> str | None:
    return next((name for name, a in model.parameters().items() if not np.isfinite(a).all()), None)


def _refuse(config: TrainConfig, model: Model) -> None:
    """Options the shaped trainer does not take, each one line."""
    if config.weight_decay or config.l1:
        raise ChainruleError("--weight-decay: expected 0 for a shaped network (not yet supported there)")
    if config.patience is not None:
        raise ChainruleError("--patience: not yet supported for a shaped network")
    if config.dtype is not None and config.dtype != model.training.dtype:
        raise ChainruleError(
            f"--dtype: expected the file's training.dtype ({model.training.dtype}) for a shaped network"
        )


def _working_copy(model: Model, config: TrainConfig) -> Model:
    """The Model with the run's settings in its [training] table (--lr, --batch, --optimizer, …)."""
    t = copy.deepcopy(model.training)
    for key in ("learning_rate", "batch", "reduction", "seed", "epochs"):
        if getattr(config, key) is not None:
            setattr(t, key, getattr(config, key))
    if config.optimizer is not None or config.momentum is not None:
        s = t.optimizer
        name = config.optimizer or s.name
        momentum = s.momentum if config.momentum is None else config.momentum
        t.optimizer = dataclasses.replace(s, name=name, momentum=momentum)
        if name != s.name:
            model = dataclasses.replace(model, optimizer_state={}, steps_taken=0)
    if not (math.isfinite(t.learning_rate) and t.learning_rate > 0):
        raise ChainruleError(f"training.learning_rate: expected a finite number > 0, got {t.learning_rate}")
    return dataclasses.replace(model, training=t)


def _checked(model: Model, x: Array, y: Array, what: str) -> tuple[Array, Array]:
    """(x, y) in the Model's precision, x of shape (n, *input_shape) and y (n, outputs)."""
    dtype = np.dtype(model.training.dtype)
    x, y = np.asarray(x, dtype=dtype), np.asarray(y, dtype=dtype)
    shape, outputs = tuple(model.input_shape), model.shapes()[-1]
    if x.ndim == 2 and x.shape[1] == math.prod(shape) and len(shape) > 1:
        x = x.reshape((len(x), *shape))  # one row per example, as a table or an image file gives it
    if tuple(x.shape[1:]) != shape or y.ndim != 2 or (y.shape[1],) != tuple(outputs) or len(x) != len(y):
        raise ChainruleError(
            f"{what}: expected x of shape (examples, {', '.join(map(str, shape))}) and y (examples, "
            f"{outputs[0] if outputs else '?'}), got {x.shape} and {y.shape}"
        )
    if not len(x):
        raise ChainruleError(f"{what}: expected at least one example, got none")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ChainruleError(f"{what}: expected finite numbers, got NaN or infinity")
    return x, y
