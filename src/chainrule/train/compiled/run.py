"""`chainrule train` on the compiled path: whole chunks of epochs, each evaluated, in numba.

Used by `Trainer.run` for plain SGD wherever `sgd.choose_path` picks the compiled loop; the
records it makes and the stopping rules it applies are the NumPy loop's, and the tests hold the
two paths' parameters and metrics to 1e-12.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Sequence

import numpy as np

from chainrule.engine.network import Network
from chainrule.train.compiled import loop as fast
from chainrule.train.trainer import CLASSIFIER_LOSSES, Array, Callback, EpochRecord, StopReason, Trainer, TrainResult


def classify_mode(net: Network) -> tuple[int, float]:
    """How `accuracy` judges an output, as the compiled loop takes it: (0 none | 1 cut | 2 argmax, cut)."""
    if net.loss.name not in CLASSIFIER_LOSSES:
        return 0, 0.0
    if net.output_layer.units == 1:
        return 1, 0.0 if net.loss.name == "hinge" else 0.5
    return 2, 0.0


def _data(t: Trainer) -> tuple[Array, Array, Array, Array]:
    empty = np.empty((0, t.x.shape[1]), t.x.dtype), np.empty((0, t.y.shape[1]), t.y.dtype)
    return (t.x, t.y, *((t.x_val, t.y_val) if t.x_val is not None and t.y_val is not None else empty))


def load_loop(t: Trainer) -> None:
    """Load the compiled loop for this run's types (on a fresh install: build it, for seconds),
    by running it for zero epochs."""
    assert t.packed is not None
    n = len(t.x)
    classify, cut = classify_mode(t.net)
    fast.train_and_evaluate(
        t.packed, _data(t), np.empty((0, n), np.int64), t.size, True, np.empty(0), classify, cut, 0.0
    )


def run_compiled(t: Trainer, callbacks: Sequence[Callback]) -> TrainResult:
    """Whole chunks of epochs in the compiled loop, each epoch evaluated there as `_record` would.

    Chunks grow until one takes about 50 ms, so progress still updates often and Ctrl-C answers
    fast; with --patience a chunk is one epoch (the best parameters are kept epoch by epoch).
    """
    assert t.packed is not None
    n, size = len(t.x), t.size
    per_epoch = -(-n // size)
    classify, cut = classify_mode(t.net)
    until = -math.inf if t.config.until_loss is None else t.config.until_loss
    data = _data(t)
    load_loop(t)  # before the clock starts
    start = time.perf_counter() - t.elapsed
    stopped: StopReason | None = None
    chunk = 1
    while t.epoch < t.epochs and stopped is None:
        count = 1 if t.config.patience is not None else min(chunk, t.epochs - t.epoch)
        if t.sync_every:  # end a chunk where a checkpoint is due, so it saves that epoch's parameters
            count = min(count, t.sync_every - t.epoch % t.sync_every)
        base_lr = t.net.training.learning_rate
        if t.config.schedule.kind == "constant":
            lrs = np.full(count, base_lr)
        else:
            lrs = np.array([t.config.schedule.rate(base_lr, t.epoch + c, t.epochs) for c in range(count)])
        if t.config.shuffle and size < n:
            orders = np.empty((count, n), dtype=np.int64)
            for c in range(count):
                t.rng.shuffle(t.order)
                orders[c] = t.order
        else:
            orders = np.empty((count, n), dtype=np.int64)  # writable: numba compiles read-only views anew
            orders[:] = t.order
        began = time.perf_counter()
        _done, metrics = fast.train_and_evaluate(
            t.packed, data, orders, size, t.net.training.reduction == "mean", lrs, classify, cut, until
        )
        t.packed.unpack_into(t.net)
        took = time.perf_counter() - began
        chunk = max(1, min(100_000, int(count * 0.05 / max(took, 1e-6))))
        records = _records(t, metrics, lrs, classify, per_epoch, began - start, took)
        t.history += records
        t.epoch, t.updates = records[-1].epoch, records[-1].updates
        t.elapsed = records[-1].seconds
        for record in records:
            for callback in callbacks:
                callback(record)
        # --until-loss already ended the chunk in the compiled loop; --patience runs one epoch a chunk.
        stopped = t._should_stop(records[-1])
        if t.stop_requested and stopped is None:
            stopped = "interrupted"
    t.elapsed = time.perf_counter() - start
    best_epoch = None
    if stopped == "patience" and t.best is not None:
        t._restore(t.best[2])
        best_epoch = t.best[1]
    return TrainResult(t.net, list(t.history), stopped or "epochs", best_epoch, t.elapsed)


def _records(
    t: Trainer, metrics: Array, lrs: Array, classify: int, per_epoch: int, before: float, took: float
) -> list[EpochRecord]:
    """The chunk's epochs as records (plain floats; the chunk's time shared out evenly)."""
    has_val = t.x_val is not None
    done = len(metrics)
    # Up to 100,000 small records a chunk: the cyclic garbage collector would rescan the growing
    # history on every few thousand of them (they make no cycles), so it waits meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _make_records(t, metrics, lrs, classify, per_epoch, before, took, has_val, done)
    finally:
        if collecting:
            gc.enable()


def _make_records(
    t: Trainer,
    metrics: Array,
    lrs: Array,
    classify: int,
    per_epoch: int,
    before: float,
    took: float,
    has_val: bool,
    done: int,
) -> list[EpochRecord]:
    # Column by column, then one constructor call per record: half the time of building each
    # record from a row, which counts when an epoch is a single microsecond-long update.
    step = np.arange(1, done + 1)
    none = [None] * done

    def column(j: int, present: bool) -> list[float] | list[None]:
        return metrics[:done, j].tolist() if present else none

    return list(
        map(
            EpochRecord,
            (t.epoch + step).tolist(),
            metrics[:done, 0].tolist(),
            column(2, has_val),
            column(1, bool(classify)),
            column(3, bool(classify) and has_val),
            lrs[:done].tolist(),
            (t.updates + step * per_epoch).tolist(),
            (before + took * step / done).tolist(),
        )
    )
