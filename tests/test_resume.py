"""Resume resumes: stopped anywhere, saved, loaded and continued, every path gives the uninterrupted run bit for bit."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint
from chainrule.train.history import History
from chainrule.train.trainer import TrainConfig, Trainer, TrainResult
from conftest import EXAMPLES
from helpers import CASES, random_document

OPTIMIZERS = ["sgd", "momentum", "nesterov", "rmsprop", "adam"]


def params(net: Network) -> np.ndarray:
    return np.array(list(net.parameters().values()))


def make(net: Network, path: str, config: TrainConfig, val: bool) -> Trainer:
    x_val = y_val = None
    if val:
        x_val, y_val = net.x[::3] * 0.9, net.y[::3]
    return Trainer(net, net.x, net.y, config, rng=np.random.default_rng(5), x_val=x_val, y_val=y_val, path=path)  # type: ignore[arg-type]


def stop_at_update(trainer: Trainer, update: int) -> None:
    """Ask the trainer to stop once `update` updates are done: mid-epoch on the NumPy paths."""
    step = trainer.step

    def counting(x: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, float]:
        sums = step(x, y, lr)
        trainer.stop_requested = trainer.updates + 1 >= update
        return sums

    trainer.step = counting


def interrupted_then_resumed(
    net: Network, path: str, config: TrainConfig, tmp_path: Path, *, update: int = 0, epoch: int = 0, val: bool = False
) -> tuple[TrainResult, Trainer, TrainResult]:
    """(the uninterrupted result, the resumed trainer and its result), through a checkpoint file."""
    whole = make(net, path, config, val)
    whole_result = whole.run()
    first = make(net, path, config, val)
    if update:
        stop_at_update(first, update)

    def stop_after(record: object) -> None:
        first.stop_requested = first.stop_requested or (epoch > 0 and first.epoch >= epoch)

    first.sync_every = epoch  # the compiled loop ends a chunk there, as for --checkpoint-every
    assert first.run([stop_after]).stopped_by == "interrupted"
    assert first.epoch < whole.epoch  # a real interruption, with epochs left to resume
    assert first.ran == whole.ran == {path}
    save_checkpoint(first, tmp_path / "ckpt.json")
    second = make(net, path, config, val)
    load_checkpoint(second, tmp_path / "ckpt.json")
    assert (second.epoch, second.position, second.updates) == (first.epoch, first.position, first.updates)
    if update:  # stopped after exactly that update: mid-epoch unless it ends one
        assert first.updates == update
        assert first.position == (update % -(-len(net.x) // first.size)) * first.size % len(net.x)
    return whole_result, second, second.run()


def assert_same_run(whole: TrainResult, resumed: TrainResult, at_epoch: int) -> None:
    assert np.array_equal(params(resumed.network), params(whole.network))  # bit for bit
    tail = [(r.epoch, r.loss, r.val_loss, r.accuracy, r.updates) for r in whole.history if r.epoch > at_epoch]
    assert [(r.epoch, r.loss, r.val_loss, r.accuracy, r.updates) for r in resumed.history] == tail
    assert resumed.stopped_by == whole.stopped_by


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("where", ["mid-epoch", "between epochs"])
def test_numpy_path_resumes_bit_for_bit(optimizer: str, where: str, tmp_path: Path) -> None:
    net = netfile.load(EXAMPLES / "spirals.toml")
    config = TrainConfig(epochs=5, optimizer=optimizer, batch=16, schedule=_step_schedule())
    update, epoch = (30, 0) if where == "mid-epoch" else (0, 2)
    result, second, resumed = interrupted_then_resumed(
        net, "numpy", config, tmp_path, update=update, epoch=epoch, val=True
    )
    assert second.ran == {"numpy"}
    if where == "mid-epoch":
        assert second.history.count == 3  # 13 updates an epoch: stopped in epoch 3, which it finishes
    assert_same_run(result, resumed, 5 - second.history.count)


@pytest.mark.parametrize("where", ["mid-epoch", "between epochs"])
def test_lean_path_resumes_bit_for_bit(where: str, tmp_path: Path) -> None:
    net = netfile.load(EXAMPLES / "spirals.toml")
    config = TrainConfig(epochs=6, batch=16, reduction="mean")
    update, epoch = (20, 0) if where == "mid-epoch" else (0, 3)
    result, second, resumed = interrupted_then_resumed(net, "lean", config, tmp_path, update=update, epoch=epoch)
    assert second.ran == {"lean"}
    assert_same_run(result, resumed, 6 - second.history.count)


@pytest.mark.parametrize("loop", ["general", "specialised"])
@pytest.mark.parametrize(("example", "batch"), [("xor.toml", 1), ("spirals.toml", 8), ("softmax-classifier.toml", 2)])
def test_compiled_path_resumes_bit_for_bit(
    example: str, batch: int, loop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compiled loop stops between epochs (it checks the stop flag between chunks); the loop
    written out for the network's shape resumes as exactly as the general one."""
    monkeypatch.setenv("CHAINRULE_SPECIALISE", "1" if loop == "specialised" else "0")
    net = netfile.load(EXAMPLES / example)
    config = TrainConfig(epochs=40, batch=batch)
    result, second, resumed = interrupted_then_resumed(net, "compiled", config, tmp_path, epoch=7)
    assert second.ran == {"compiled"} and second.position == 0
    assert second.runner is not None and second.runner.variant == loop  # type: ignore[attr-defined]
    assert_same_run(result, resumed, 40 - second.history.count)


def test_resume_with_patience_keeps_the_best_so_far(tmp_path: Path) -> None:
    net = netfile.load(EXAMPLES / "spirals.toml")
    config = TrainConfig(epochs=60, optimizer="adam", batch=32, patience=4, learning_rate=0.05)
    result, _second, resumed = interrupted_then_resumed(net, "numpy", config, tmp_path, epoch=5, val=True)
    assert result.stopped_by == "patience"
    assert resumed.best_epoch == result.best_epoch
    assert np.array_equal(params(resumed.network), params(result.network))


@pytest.mark.parametrize("seed", range(16))
def test_random_networks_resume_bit_for_bit_on_every_path(seed: int, tmp_path: Path) -> None:
    """Random networks, losses, batches and stopping points: the resumed run is the uninterrupted one."""
    rng = np.random.default_rng(seed)
    loss, output = CASES[seed % len(CASES)]
    doc = random_document(rng, loss, output)
    net = netfile.from_dict(doc)
    epochs = int(rng.integers(3, 9))
    config = TrainConfig(epochs=epochs, learning_rate=0.05)
    from chainrule.train.compiled.loop import unsupported

    for path in ("compiled", "lean", "numpy")[bool(unsupported(net)) :]:  # the compiled loop lacks a few
        updates_per_epoch = -(-len(net.x) // _batch(net))
        update = int(rng.integers(1, epochs * updates_per_epoch)) if path != "compiled" else 0
        epoch = 0 if update else int(rng.integers(1, epochs))
        result, _second, resumed = interrupted_then_resumed(net, path, config, tmp_path, update=update, epoch=epoch)
        assert np.array_equal(params(resumed.network), params(result.network)), path


def test_a_checkpoint_holds_the_state_not_the_history(tmp_path: Path) -> None:
    net = netfile.load()
    sizes = []
    for epochs in (10, 20_000):
        trainer = Trainer(net, net.x, net.y, TrainConfig(epochs=epochs))
        trainer.run()
        save_checkpoint(trainer, tmp_path / "ckpt.json")
        doc = json.loads((tmp_path / "ckpt.json").read_text())
        assert "history" not in doc["trainer"] and doc["trainer"]["epoch"] == epochs
        sizes.append((tmp_path / "ckpt.json").stat().st_size)
    assert abs(sizes[1] - sizes[0]) < 200  # a few digits more, not 20,000 epochs of records


def test_history_in_memory_is_bounded_and_spans_the_run() -> None:
    from chainrule.train.records import EpochRecord

    history = History(recent=10, points=100)
    for e in range(1, 100_001):
        history.add(EpochRecord(e, 1.0 / e, None, None, None, "running", 0.5, e, 0.0))
    curve = history.curve()
    assert len(curve) <= 101 and len(history.recent) == 10
    epochs = [r.epoch for r in curve]
    assert epochs[-1] == 100_000 and epochs[0] <= 100_000 // 100 * 2
    gaps = {b - a for a, b in itertools.pairwise(epochs[:-1])}
    assert len(gaps) == 1  # evenly spaced
    assert [r.epoch for r in history.recent] == list(range(99_991, 100_001))


def _batch(net: Network) -> int:
    b = net.training.batch
    return 1 if b == "online" else len(net.x) if b == "full" else min(int(b), len(net.x))


def _step_schedule():  # type: ignore[no-untyped-def]
    from chainrule.train.optim import Schedule

    return Schedule("step", every=2, gamma=0.5)


def test_the_history_file_reaches_the_disk_as_training_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chainrule.train import history

    monkeypatch.setattr(history, "FLUSH_SECONDS", 0.0)
    net = netfile.load()
    csv_file = history.HistoryFile(tmp_path / "h.csv")
    seen: list[int] = []

    def on_disk(record: object) -> None:
        seen.append(len((tmp_path / "h.csv").read_text().splitlines()))

    Trainer(net, net.x, net.y, TrainConfig(epochs=5)).run([csv_file, on_disk])
    csv_file.close()
    assert seen == [2, 3, 4, 5, 6]  # the header and each epoch's row, written before the next epoch
    # resumed after epoch 3: rows after it are dropped, and the run appends from epoch 4
    resumed = history.HistoryFile(tmp_path / "h.csv", resume_after=3)
    resumed.close()
    assert [row.split(",")[0] for row in (tmp_path / "h.csv").read_text().splitlines()] == ["epoch", "1", "2", "3"]


@pytest.mark.parametrize("loop", ["general", "specialised"])
def test_compiled_epochs_in_stretches_stop_mid_epoch_and_resume_bit_for_bit(
    loop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An epoch too long for one call runs in stretches, the stop flag checked between them (here
    every epoch, a batch a stretch): stopped mid-epoch, saved and resumed, the run is the
    uninterrupted one bit for bit, whose epochs after the first ran whole."""
    from chainrule.train.compiled import loop as fast
    from chainrule.train.compiled import run as compiled_run

    monkeypatch.setenv("CHAINRULE_SPECIALISE", "1" if loop == "specialised" else "0")
    net = netfile.load(EXAMPLES / "spirals.toml")
    config = TrainConfig(epochs=5, batch=8)
    whole = make(net, "compiled", config, val=True)
    whole_result = whole.run()
    monkeypatch.setattr(compiled_run, "LONG_EPOCH_SECONDS", 0.0)
    monkeypatch.setattr(compiled_run, "STRETCH_SECONDS", 0.0)
    first = make(net, "compiled", config, val=True)
    stretches: list[tuple[int, int]] = []
    real = fast.train_stretch

    def stretch(
        packed: fast.Packed, data: object, order: object, span: tuple[int, int], *args: object, **kw: object
    ) -> None:
        real(packed, data, order, span, *args, **kw)  # type: ignore[arg-type]
        if span[1] > span[0]:  # not the empty call that loads the loop
            stretches.append(span)
        first.stop_requested = len(stretches) == 30  # the trainer counts this stretch's update after

    monkeypatch.setattr(fast, "train_stretch", stretch)
    assert first.run().stopped_by == "interrupted"
    updates_per_epoch = -(-len(net.x) // 8)
    assert first.updates == 30 and first.position == 30 % updates_per_epoch * 8 > 0  # mid-epoch
    assert all(stop - start == 8 or stop == len(net.x) for start, stop in stretches)
    save_checkpoint(first, tmp_path / "ckpt.json")
    second = make(net, "compiled", config, val=True)
    load_checkpoint(second, tmp_path / "ckpt.json")
    resumed = second.run()
    assert second.ran == whole.ran == {"compiled"}
    assert second.runner is not None and second.runner.variant == loop  # type: ignore[attr-defined]
    assert_same_run(whole_result, resumed, first.epoch)
