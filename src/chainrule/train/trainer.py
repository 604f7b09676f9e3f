"""Training: epochs of updates, batching, stopping, checkpoints; progress goes out as events.

The loop works on the network's own arrays in place (training runs many thousands of updates; the
explained step's copy-per-update is for one step). The math is the engine's: each update is
``Network.forward`` then ``Network.backward``, and the optimizer moves θ by those gradients. An
update is one call of a *step function* ``step(x_batch, y_batch, learning_rate)``, so a faster
path (a compiled loop, say) can replace it without touching the rest.

After each epoch the whole training set (and the validation set) is evaluated once with the
updated parameters; the loss reported is the mean of the examples' losses, whatever the update's
reduction, so runs with different batch settings compare.
"""

from __future__ import annotations

import copy
import json
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from chainrule.engine.network import Backward, Batch, Network, Reduction
from chainrule.errors import ChainruleError
from chainrule.train import paths as sgd
from chainrule.train.compiled import loop as fast
from chainrule.train.lean import LeanSGD
from chainrule.train.optim import Optimizer, Schedule, make_optimizer

Array = np.ndarray
StepFn = Callable[[Array, Array, float], None]
StopReason = Literal["epochs", "until_loss", "patience", "interrupted"]
CLASSIFIER_LOSSES = ("binary_cross_entropy", "cross_entropy", "hinge")

STOP_WORDS: dict[str, str] = {
    "epochs": "reached the number of epochs",
    "until_loss": "reached the target loss (--until-loss)",
    "patience": "validation loss stopped improving (--patience)",
    "interrupted": "interrupted (Ctrl-C) after the current update",
}


@dataclass(frozen=True)
class TrainConfig:
    """How to train. None means: take it from the network file's [training] table."""

    epochs: int | None = None
    optimizer: str = "sgd"
    learning_rate: float | None = None
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch: Batch | None = None
    reduction: Reduction | None = None
    schedule: Schedule = field(default_factory=Schedule)
    until_loss: float | None = None
    patience: int | None = None
    shuffle: bool = True
    seed: int | None = None
    dtype: Literal["float64", "float32"] | None = None

    def check(self) -> None:
        if self.epochs is not None and self.epochs < 1:
            raise ChainruleError(f"--epochs: expected a whole number ≥ 1, got {self.epochs}")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise ChainruleError(f"--lr: expected a learning rate > 0, got {self.learning_rate}")
        if self.patience is not None and self.patience < 1:
            raise ChainruleError(f"--patience: expected a whole number ≥ 1, got {self.patience}")
        if self.until_loss is not None and not self.until_loss >= 0:
            raise ChainruleError(f"--until-loss: expected a loss ≥ 0, got {self.until_loss}")


@dataclass(slots=True)
class EpochRecord:
    """The metrics after one epoch: what the progress bar, the history CSV and the plot show."""

    epoch: int
    loss: float
    val_loss: float | None
    accuracy: float | None
    val_accuracy: float | None
    learning_rate: float
    updates: int
    seconds: float


@dataclass
class TrainResult:
    """A finished (or stopped) run: the trained network, its history, and why it stopped."""

    network: Network
    history: list[EpochRecord]
    stopped_by: StopReason
    best_epoch: int | None = None  # with --patience: the epoch whose parameters were kept
    seconds: float = 0.0

    @property
    def final(self) -> EpochRecord | None:
        """The metrics of the parameters the network holds: the last epoch's, or the best one kept."""
        if self.best_epoch is not None:
            return self.history[self.best_epoch - 1]
        return self.history[-1] if self.history else None


Callback = Callable[[EpochRecord], None]


def gradient_arrays(net: Network, back: Backward) -> list[Array]:
    """The backward pass's gradients in the order of `optim.network_parameters`."""
    grads: list[Array] = []
    for i, layer in enumerate(net.layers):
        grads.append(back.d_weight[i])
        if layer.bias_names:
            grads.append(back.d_bias[i])
        if layer.alpha_name:
            grads.append(back.d_alpha[i])
    return grads


def numpy_step(net: Network, optimizer: Optimizer) -> StepFn:
    """One update with the engine: forward, backward, then the optimizer's step on the arrays."""

    def step(x: Array, y: Array, learning_rate: float) -> None:
        back = net.backward(net.forward(x), y)
        optimizer.step(gradient_arrays(net, back), learning_rate)

    return step


EVAL_SLICE = 1024  # examples per forward pass when evaluating: memory stays bounded on large data


def evaluate(net: Network, x: Array, y: Array) -> tuple[float, float | None]:
    """The mean loss over the examples and, for a classifier, the fraction classified right."""
    total, right = 0.0, 0.0
    for s in range(0, len(x), EVAL_SLICE):
        fwd = net.forward(x[s : s + EVAL_SLICE])
        total += float(np.sum(net.example_losses(fwd, y[s : s + EVAL_SLICE])))
        acc = accuracy(net, fwd.output, y[s : s + EVAL_SLICE])
        right += 0.0 if acc is None else acc * len(fwd.output)
    n = max(len(x), 1)
    return total / n, (right / n if net.loss.name in CLASSIFIER_LOSSES else None)


def accuracy(net: Network, output: Array, y: Array) -> float | None:
    """argmax agreement for several outputs; one output: the same side of 0.5 (of 0 for hinge)."""
    if net.loss.name not in CLASSIFIER_LOSSES or not len(y):
        return None
    if output.shape[1] == 1:
        cut = 0.0 if net.loss.name == "hinge" else 0.5
        return float(np.mean((output[:, 0] > cut) == (y[:, 0] > cut)))
    return float(np.mean(np.argmax(output, axis=1) == np.argmax(y, axis=1)))


class Trainer:
    """One training run, resumable: the network, the optimizer, the random stream and the position."""

    def __init__(
        self,
        net: Network,
        x: Array,
        y: Array,
        config: TrainConfig,
        *,
        rng: np.random.Generator | None = None,
        x_val: Array | None = None,
        y_val: Array | None = None,
    ) -> None:
        config.check()
        self.config = config
        self.net = _working_copy(net, config)
        dtype = self.net.layers[0].weight.dtype
        self.x, self.y = _checked(self.net, x, y, "training data")
        self.x = self.x.astype(dtype, copy=False)
        self.y = self.y.astype(dtype, copy=False)
        self.x_val = self.y_val = None
        if x_val is not None and y_val is not None and len(x_val):
            self.x_val, self.y_val = _checked(self.net, x_val, y_val, "validation data")
            self.x_val, self.y_val = self.x_val.astype(dtype, copy=False), self.y_val.astype(dtype, copy=False)
        if config.patience is not None and self.x_val is None:
            raise ChainruleError("--patience: expected validation data to watch (add --val FRACTION)")
        t = self.net.training
        self.epochs = config.epochs or t.epochs
        self.rng = rng if rng is not None else np.random.default_rng(t.seed)
        self.optimizer = make_optimizer(
            config.optimizer, self.net, t.learning_rate, momentum=config.momentum, weight_decay=config.weight_decay
        )
        n = len(self.x)
        self.size = 1 if t.batch == "online" else n if t.batch == "full" else min(int(t.batch), n)
        # The fastest path that gives the engine's numbers (issue: speed): plain SGD runs whole
        # epochs in the compiled loop or, where `choose_path` says NumPy wins, the lean NumPy path.
        plain = config.optimizer == "sgd" and config.weight_decay == 0
        self.path, self.path_note = sgd.choose_path(self.net, self.size, plain)
        self.packed = fast.pack(self.net) if self.path == "compiled" else None
        self.step: StepFn = numpy_step(self.net, self.optimizer)
        if plain and self.path == "numpy":
            lean = LeanSGD(self.net, self.size)
            mean = self.net.training.reduction == "mean"

            def lean_step(xb: Array, yb: Array, lr: float) -> None:
                lean.step(xb, yb, lr, mean, with_loss=False)

            self.step = lean_step
        self.order = np.arange(n)
        self.epoch = 0  # epochs finished
        self.position = 0  # examples of the current epoch already used
        self.updates = 0
        self.history: list[EpochRecord] = []
        self.best: tuple[float, int, list[Array]] | None = None  # val loss, epoch, parameters
        self.stop_requested = False
        self.elapsed = 0.0
        self.sync_every = 0  # epochs: callbacks that save the network need it current at these epochs

    # -- the loop ---------------------------------------------------------------------------
    def run(self, callbacks: Sequence[Callback] = ()) -> TrainResult:
        """Train until a stopping rule fires; `stop_requested` (Ctrl-C) stops after the current update."""
        if self.packed is not None and self.position == 0:
            from chainrule.train.compiled.run import run_compiled

            return run_compiled(self, callbacks)
        start = time.perf_counter() - self.elapsed
        n, size = len(self.x), self.size
        # Preallocated batch buffers: an update copies its examples in, it allocates nothing for them.
        xb, yb = np.empty((size, self.x.shape[1]), self.x.dtype), np.empty((size, self.y.shape[1]), self.y.dtype)
        stopped: StopReason = "epochs"
        while self.epoch < self.epochs:
            lr = self.config.schedule.rate(self.net.training.learning_rate, self.epoch, self.epochs)
            if self.position == 0 and self.config.shuffle and size < n:
                self.rng.shuffle(self.order)
            while self.position < n:
                idx = self.order[self.position : self.position + size]
                k = len(idx)
                np.take(self.x, idx, axis=0, out=xb[:k])
                np.take(self.y, idx, axis=0, out=yb[:k])
                self.step(xb[:k], yb[:k], lr)
                self.position += k
                self.updates += 1
                if self.stop_requested:
                    break
            if self.position < n:
                stopped = "interrupted"
                break
            self.position = 0
            self.epoch += 1
            self.elapsed = time.perf_counter() - start
            record = self._record(lr)
            for callback in callbacks:
                callback(record)
            reason = self._should_stop(record)
            if reason:
                stopped = reason
                break
            if self.stop_requested:
                stopped = "interrupted"
                break
        self.elapsed = time.perf_counter() - start
        best_epoch = None
        if stopped == "patience" and self.best is not None:
            self._restore(self.best[2])
            best_epoch = self.best[1]
        return TrainResult(self.net, list(self.history), stopped, best_epoch, self.elapsed)

    def _record(self, lr: float) -> EpochRecord:
        loss, acc = evaluate(self.net, self.x, self.y)
        val_loss = val_acc = None
        if self.x_val is not None and self.y_val is not None:
            val_loss, val_acc = evaluate(self.net, self.x_val, self.y_val)
        record = EpochRecord(self.epoch, loss, val_loss, acc, val_acc, lr, self.updates, self.elapsed)
        self.history.append(record)
        return record

    def _should_stop(self, record: EpochRecord) -> StopReason | None:
        if self.config.until_loss is not None and record.loss <= self.config.until_loss:
            return "until_loss"
        if self.config.patience is not None and record.val_loss is not None:
            if self.best is None or record.val_loss < self.best[0]:
                self.best = (record.val_loss, record.epoch, [p.copy() for p in self.optimizer.params])
            elif record.epoch - self.best[1] >= self.config.patience:
                return "patience"
        return None

    def _restore(self, values: list[Array]) -> None:
        for p, v in zip(self.optimizer.params, values, strict=True):
            p[...] = v

    # -- checkpoints ------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything beyond the parameters that an exact resume needs, as plain data."""
        best = None
        if self.best is not None:
            best = {"val_loss": self.best[0], "epoch": self.best[1], "parameters": _flat(self.best[2])}
        return {
            "epoch": self.epoch,
            "position": self.position,
            "updates": self.updates,
            "elapsed": self.elapsed,
            "order": [int(i) for i in self.order],
            "rng": json.dumps(self.rng.bit_generator.state),
            "optimizer": self.optimizer.state_dict(),
            "history": [asdict(r) for r in self.history],
            "best": best,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from `state()` of a run on the same network and data."""
        order = np.asarray(state["order"], dtype=np.int64)
        if len(order) != len(self.x) or set(order.tolist()) != set(range(len(self.x))):
            raise ChainruleError(f"checkpoint: made with {len(order)} training examples, this run has {len(self.x)}")
        self.order[...] = order
        self.epoch, self.position, self.updates = int(state["epoch"]), int(state["position"]), int(state["updates"])
        self.elapsed = float(state.get("elapsed", 0.0))
        self.rng.bit_generator.state = json.loads(state["rng"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.history = [EpochRecord(**r) for r in state["history"]]
        best = state.get("best")
        if best:
            values = [np.empty_like(p) for p in self.optimizer.params]
            _unflat(best["parameters"], values)
            self.best = (float(best["val_loss"]), int(best["epoch"]), values)


def _flat(arrays: Sequence[Array]) -> list[float]:
    return [float(v) for a in arrays for v in a.ravel()]


def _unflat(flat: Sequence[float], arrays: Sequence[Array]) -> None:
    start = 0
    for a in arrays:
        a[...] = np.asarray(flat[start : start + a.size], dtype=a.dtype).reshape(a.shape)
        start += a.size


def _working_copy(net: Network, config: TrainConfig) -> Network:
    """A copy of the network (taken once per run) with the run's settings in its [training] table."""
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
    if config.dtype is not None and config.dtype != t.dtype:
        t.dtype = config.dtype
        for layer in work.layers:
            layer.weight, layer.bias, layer.alpha = (
                a.astype(config.dtype) for a in (layer.weight, layer.bias, layer.alpha)
            )
    return work


def _checked(net: Network, x: Array, y: Array, what: str) -> tuple[Array, Array]:
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


@contextmanager
def stop_on_interrupt(trainer: Trainer) -> Iterator[None]:
    """While training, Ctrl-C asks the trainer to stop after the current update instead of killing it."""

    def ask(signum: int, frame: object) -> None:
        trainer.stop_requested = True

    try:
        previous = signal.signal(signal.SIGINT, ask)
    except ValueError:  # not the main thread (a notebook worker, say): leave Ctrl-C alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def fit(
    net: Network,
    x: Array | None = None,
    y: Array | None = None,
    config: TrainConfig | None = None,
    *,
    rng: np.random.Generator | None = None,
    x_val: Array | None = None,
    y_val: Array | None = None,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Train a copy of `net` on (x, y) (default: the file's examples); `net` itself is unchanged."""
    trainer = Trainer(
        net,
        net.x if x is None else x,
        net.y if y is None else y,
        config or TrainConfig(),
        rng=rng,
        x_val=x_val,
        y_val=y_val,
    )
    return trainer.run(callbacks)
