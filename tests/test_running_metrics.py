"""Running metrics: each epoch's training loss and accuracy from the forward passes it already made.

Every path (compiled, lean NumPy, NumPy) reports the explained engine's numbers to 1e-12: the mean
over the epoch's examples of each example's loss before its own batch's update, and the fraction
its output classified right. The whole training set is evaluated only where asked (every epoch
with --until-loss, every K with --evaluate-every K, the last epoch, and the final record).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from chainrule.cli.root import main
from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.train.compiled import loop as fast
from chainrule.train.compiled.codes import ACTIVATION_CODES
from chainrule.train.history import History
from chainrule.train.records import EpochChunk, evaluate
from chainrule.train.trainer import TrainConfig, Trainer
from conftest import EXAMPLES
from helpers import CASES, random_document

PATHS = ("compiled", "lean", "numpy")


def engine_run(net: Network, epochs: int) -> list[tuple[float, float | None, float, float | None]]:
    """Per epoch, by the explained engine (one `updated` per batch, in file order): the running
    loss and accuracy, and the loss and accuracy of the whole set evaluated after the epoch."""
    rows = []
    n = len(net.x)
    for _ in range(epochs):
        total, right = 0.0, 0
        for idx in net.batches():
            x, y = net.x[idx], net.y[idx]
            fwd = net.forward(x)
            total += float(np.sum(net.example_losses(fwd, y)))
            right += int(np.sum(net.loss.classes(fwd.output) == net.loss.classes(y))) if net.loss.classifies else 0
            net = net.updated(net.backward(fwd, y))
        accuracy = right / n if net.loss.classifies else None
        rows.append((total / n, accuracy, *evaluate(net, net.x, net.y)))
    return rows


def trained(net: Network, path: str, **config: object) -> tuple[Trainer, list]:  # type: ignore[type-arg]
    trainer = Trainer(net, net.x, net.y, TrainConfig(shuffle=False, **config), path=path)  # type: ignore[arg-type]
    result = trainer.run()
    assert trainer.path == path and trainer.ran == {path}
    return trainer, result.history


def random_net(seed: int, loss: str, output: str, compiled: bool) -> Network:
    """A random network (for the compiled path: the first the compiled loop supports, which has
    no learned α); half the time its examples three times over (batches of 4 or more then go
    through the compiled loop's matrices)."""
    rng = np.random.default_rng(seed)
    for _ in range(100):
        net = netfile.from_dict(random_document(rng, loss, output))
        if not compiled or fast.unsupported(net) is None:
            break
    else:
        raise AssertionError(f"no random network the compiled loop supports with a {output} output")
    if rng.random() < 0.5:
        net.x, net.y = np.tile(net.x, (3, 1)), np.tile(net.y, (3, 1))
    return net


# The compiled loop has no learned α (prelu): that output trains on the lean and NumPy paths only.
RUNS = [(i, lo, o, p) for i, (lo, o) in enumerate(CASES) for p in PATHS if p != "compiled" or o in ACTIVATION_CODES]


@pytest.mark.parametrize(("case", "loss", "output", "path"), RUNS)
def test_every_path_reports_the_engines_running_metrics(case: int, loss: str, output: str, path: str) -> None:
    net = random_net(4000 + case, loss, output, path == "compiled")
    epochs = 4
    expected = engine_run(net, epochs)
    _, history = trained(net, path, epochs=epochs)
    assert [r.measured for r in history] == ["running"] * (epochs - 1) + ["evaluated"]
    for record, (run_loss, run_acc, eval_loss, eval_acc) in zip(history, expected, strict=True):
        evaluated = record.measured == "evaluated"
        assert record.loss == pytest.approx(eval_loss if evaluated else run_loss, rel=1e-12, abs=1e-300), record
        assert record.accuracy == (eval_acc if evaluated else run_acc), record


@pytest.mark.parametrize("path", PATHS)
def test_evaluate_every_k_and_until_loss_evaluate_the_epochs_they_name(path: str) -> None:
    net = netfile.load(EXAMPLES / "xor.toml")
    expected = engine_run(net, 10)
    _, history = trained(net, path, epochs=10, evaluate_every=3)
    assert [r.epoch for r in history if r.measured == "evaluated"] == [3, 6, 9, 10]
    for record, row in zip(history, expected, strict=True):
        want = row[2] if record.measured == "evaluated" else row[0]
        assert record.loss == pytest.approx(want, rel=1e-12)
    # a target loss is compared with the evaluated loss: every epoch evaluated, and the stop where the engine's is
    _, history = trained(net, path, epochs=10, until_loss=expected[4][2])
    assert {r.measured for r in history} == {"evaluated"} and history[-1].epoch == 5
    assert [r.loss for r in history] == pytest.approx([row[2] for row in expected[:5]], rel=1e-12)


@pytest.mark.parametrize("path", PATHS)
def test_an_interrupted_runs_final_record_describes_its_final_parameters(path: str) -> None:
    net = netfile.load(EXAMPLES / "xor.toml")
    trainer = Trainer(net, net.x, net.y, TrainConfig(epochs=50, shuffle=False), path=path)  # type: ignore[arg-type]
    trainer.sync_every = 7  # the compiled loop ends a chunk there

    def stop(record: object) -> None:
        trainer.stop_requested = trainer.stop_requested or trainer.epoch >= 7

    result = trainer.run([stop])
    assert result.stopped_by == "interrupted" and trainer.epoch == 7
    assert result.history[-1].measured == "running"  # as the run made it (and the history file has it)
    final = result.final
    assert final is not None and final.epoch == 7 and final.measured == "evaluated"
    loss, accuracy = evaluate(result.network, net.x, net.y)
    assert (final.loss, final.accuracy) == (loss, accuracy)
    assert final.loss != result.history[-1].loss


def test_patience_keeps_the_best_epoch_with_its_training_metrics_evaluated() -> None:
    net = netfile.load(EXAMPLES / "spirals.toml")
    x_val, y_val = net.x[::4], net.y[::4]
    config = TrainConfig(epochs=400, patience=5, batch=16)
    trainer = Trainer(net, net.x, net.y, config, rng=np.random.default_rng(1), x_val=x_val, y_val=y_val)
    result = trainer.run()
    assert result.stopped_by == "patience" and result.final is not None
    assert result.final.epoch == result.best_epoch and result.final.measured == "evaluated"
    assert (result.final.loss, result.final.accuracy) == evaluate(result.network, trainer.x, trainer.y)
    assert result.final.val_loss == pytest.approx(evaluate(result.network, trainer.x_val, trainer.y_val)[0], rel=1e-12)


def test_the_history_file_says_how_each_epochs_metrics_were_measured(tmp_path: Path) -> None:
    history = tmp_path / "h.csv"
    args = ["train", str(EXAMPLES / "xor.toml"), "--epochs", "9", "--evaluate-every", "4", "-q"]
    result = CliRunner().invoke(main, [*args, "--history", str(history)])
    assert result.exit_code == 0, result.output
    with history.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["measured"] for row in rows] == ["evaluated" if e in (4, 8, 9) else "running" for e in range(1, 10)]


def test_a_negative_evaluate_every_is_refused() -> None:
    result = CliRunner().invoke(main, ["train", str(EXAMPLES / "xor.toml"), "--evaluate-every", "-1", "-q"])
    assert result.exit_code == 2 and "--evaluate-every" in result.stderr
    with pytest.raises(Exception, match="--evaluate-every: expected a whole number ≥ 0, got -2"):
        Trainer(netfile.load(), np.zeros((1, 2)), np.zeros((1, 1)), TrainConfig(evaluate_every=-2))


@pytest.mark.parametrize("seed", range(5))
def test_a_chunk_of_columns_enters_the_history_as_its_records_one_by_one(seed: int) -> None:
    """`History.extend` reads only the records it keeps; the history equals adding every one."""
    rng = np.random.default_rng(seed)
    by_chunk, by_record = History(recent=7, points=16), History(recent=7, points=16)
    epoch = 0
    while epoch < 3000:
        count = int(rng.integers(1, 400))
        metrics = rng.normal(size=(count, 5))
        metrics[:, 4] = rng.integers(0, 2, count)
        step = np.arange(1, count + 1)
        chunk = EpochChunk(epoch + step, metrics, rng.uniform(size=count), epoch + 3 * step, epoch + 0.5 * step,
                           classify=bool(seed % 2), validation=seed > 2)  # fmt: skip
        by_chunk.extend(chunk)
        for record in list(chunk):
            by_record.add(record)
        epoch += count
        assert by_chunk.count == by_record.count == epoch
        assert list(by_chunk.recent) == list(by_record.recent)
        assert by_chunk.curve() == by_record.curve() and len(by_chunk.curve()) <= 17
