"""What an epoch leaves behind: its metrics (`EpochRecord`), how they are measured, and why a run stopped.

An epoch's training metrics are measured one of two ways, and the record says which (`measured`):

- "running" (the default, as Keras and Lightning report): from the forward passes the epoch
  already made, loss = (1/n) Σᵢ L(ŷᵢ, yᵢ) with each ŷᵢ computed before its own batch's update, and
  accuracy = (1/n) Σᵢ [class(ŷᵢ) = class(yᵢ)]. It costs nothing extra, but describes parameters that
  moved during the epoch.
- "evaluated": the whole training set run forward once more after the epoch, with the updated
  parameters (`evaluate`). `evaluation_flags` says when: every epoch of a run with a target loss
  (the stopping rule compares this number), every K epochs when asked (--evaluate-every K), and
  always the run's last epoch, so the final numbers describe the final parameters (the trainer
  also evaluates an interrupted or diverged run's last good epoch).

The validation set is always evaluated, after every epoch. Either way a loss is the mean of the
examples' losses, whatever the update's reduction, so runs with different batch settings compare.
Every path (compiled, lean NumPy, NumPy, torch) reports these same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np

from chainrule.engine.functions import LOSSES
from chainrule.engine.network import Network
from chainrule.train.compiled.codes import CLASSIFY_ARGMAX, CLASSIFY_CUT, CLASSIFY_NONE

Array = np.ndarray
Measured = Literal["running", "evaluated"]
StopReason = Literal["epochs", "until_loss", "patience", "interrupted", "diverged"]
CLASSIFIER_LOSSES = tuple(name for name, loss in LOSSES.items() if loss.classifies)

STOP_WORDS: dict[str, str] = {
    "epochs": "reached the number of epochs",
    "until_loss": "reached the target loss (--until-loss)",
    "patience": "validation loss stopped improving (--patience)",
    "interrupted": "interrupted (Ctrl-C) after the current update",
    "diverged": "diverged (a loss or parameter stopped being a finite number)",
}


@dataclass(slots=True)
class EpochRecord:
    """The metrics after one epoch: what the progress bar, the history CSV and the plot show."""

    epoch: int
    loss: float
    val_loss: float | None
    accuracy: float | None
    val_accuracy: float | None
    measured: Measured  # how loss and accuracy were measured: "running" or "evaluated" (see above)
    learning_rate: float
    updates: int
    seconds: float

    def finite(self) -> bool:
        """Whether the training (and validation) loss are finite numbers: false once a run diverged."""
        return math.isfinite(self.loss) and (self.val_loss is None or math.isfinite(self.val_loss))


EVAL_SLICE = 1024  # examples per forward pass when evaluating: memory stays bounded on large data


def evaluate(net: Network, x: Array, y: Array) -> tuple[float, float | None]:
    """The mean loss over the examples, (1/n) Σᵢ L(ŷᵢ, yᵢ), and, for a classifier, the fraction classified right."""
    total, right = 0.0, 0.0
    for s in range(0, len(x), EVAL_SLICE):
        fwd = net.forward(x[s : s + EVAL_SLICE])
        total += float(np.sum(net.example_losses(fwd, y[s : s + EVAL_SLICE])))
        acc = accuracy(net, fwd.output, y[s : s + EVAL_SLICE])
        right += 0.0 if acc is None else acc * len(fwd.output)
    n = max(len(x), 1)
    return total / n, (right / n if net.loss.classifies else None)


def accuracy(net: Network, output: Array, y: Array) -> float | None:
    """The fraction of examples whose output says the target's class (the loss's `classes` rule)."""
    if not net.loss.classifies or not len(y):
        return None
    return right_count(net, output, y) / len(y)


def right_count(net: Network, output: Array, y: Array) -> float:
    """How many examples' outputs say their target's class (0 when the loss does not classify)."""
    if not net.loss.classifies:
        return 0.0
    return float(np.count_nonzero(net.loss.classes(output) == net.loss.classes(y)))


def running_metrics(net: Network, loss_sum: float, right: float, n: int) -> tuple[float, float | None]:
    """An epoch's running loss and accuracy from its sums: (Σ example losses)/n, (Σ right)/n."""
    n = max(n, 1)
    return loss_sum / n, (right / n if net.loss.classifies else None)


def evaluation_flags(first: int, count: int, last: int, every: int, always: bool) -> Array:
    """For epochs first+1 … first+count: 1 where the training set is evaluated in full after the
    epoch (every epoch when `always`, each multiple of `every` when > 0, and epoch `last`), else 0."""
    epochs = np.arange(first + 1, first + count + 1)
    flags = (epochs == last) | always
    if every > 0:
        flags |= epochs % every == 0
    return flags.astype(np.uint8)


def classify_mode(net: Network) -> tuple[int, float]:
    """How `accuracy` judges an output, as the compiled loop takes it: (codes.CLASSIFY_*, the cut)."""
    if net.loss.cut is None:
        return CLASSIFY_NONE, 0.0
    if net.output_layer.units == 1:
        return CLASSIFY_CUT, net.loss.cut
    return CLASSIFY_ARGMAX, 0.0


class EpochChunk(Sequence[EpochRecord]):
    """A chunk of consecutive epochs' records held as columns (arrays), each `EpochRecord` made
    only when asked for: a fast loop runs thousands of microsecond-long epochs a call, and one
    Python object per epoch would cost more than the epoch. The history keeps the few it needs
    (`History.extend`), the progress bar reads the last."""

    def __init__(
        self,
        epoch: Array,
        metrics: Array,
        learning_rate: Array,
        updates: Array,
        seconds: Array,
        *,
        classify: bool,
        validation: bool,
    ) -> None:
        """metrics: (epochs, 5) as the compiled loop fills it: training loss, accuracy, validation
        loss and accuracy, 1.0 where the training metrics were evaluated (0.0: running)."""
        self.epochs, self.metrics = epoch, metrics
        self.learning_rate, self.updates, self.seconds = learning_rate, updates, seconds
        self.classify, self.validation = classify, validation

    def __len__(self) -> int:
        return len(self.epochs)

    @overload
    def __getitem__(self, i: int) -> EpochRecord: ...
    @overload
    def __getitem__(self, i: slice) -> list[EpochRecord]: ...
    def __getitem__(self, i: int | slice) -> EpochRecord | list[EpochRecord]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        row = self.metrics[i]
        val, acc = self.validation, self.classify
        return EpochRecord(
            int(self.epochs[i]),
            float(row[0]),
            float(row[2]) if val else None,
            float(row[1]) if acc else None,
            float(row[3]) if val and acc else None,
            "evaluated" if row[4] == 1.0 else "running",
            float(self.learning_rate[i]),
            int(self.updates[i]),
            float(self.seconds[i]),
        )
