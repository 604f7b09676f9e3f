"""Training: the loop equals the engine's explained updates, learns, stops as told, reproduces, resumes."""

from __future__ import annotations

import copy
import itertools
import json
import os
from pathlib import Path

import numpy as np
import pytest

from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.io import netfile
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint
from chainrule.train.trainer import TrainConfig, Trainer, fit
from conftest import EXAMPLES


def explain_style(net: Network, epochs: int) -> Network:
    """N epochs of the explained step: Network.updated on each batch of Network.batches, in file order."""
    for _ in range(epochs):
        for idx in net.batches():
            net = net.updated(net.backward(net.forward(net.x[idx]), net.y[idx]))
    return net


def params(net: Network) -> np.ndarray:
    return np.array(list(net.parameters().values()))


@pytest.mark.parametrize("batch", ["online", 3, "full"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_loop_with_sgd_equals_explained_updates(batch: str | int, reduction: str) -> None:
    net = netfile.load(EXAMPLES / "softmax-classifier.toml")
    net.x, net.y = np.vstack([net.x, net.x[:2] * 0.5]), np.vstack([net.y, net.y[:2]])  # 5 examples: ragged batches
    net.training.batch, net.training.reduction = batch, reduction  # type: ignore[assignment]
    trained = fit(net, config=TrainConfig(epochs=30, shuffle=False)).network
    assert np.allclose(params(trained), params(explain_style(net, 30)), rtol=0, atol=1e-12)


def test_reference_online_10000_updates_against_plain_numpy() -> None:
    net = netfile.load()
    result = fit(net, config=TrainConfig(epochs=10_000))
    losses = [r.loss for r in result.history]
    assert all(b < a for a, b in itertools.pairwise(losses))  # falls at every update
    # An independent loop: the 2-2-1 sigmoid network, half squared error, one shared bias per layer.
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    w_h, b1 = np.array([[0.15, 0.20], [0.25, 0.30]]), 0.35
    w_o, b2 = np.array([0.40, 0.45]), 0.60
    x, y, eta = np.array([0.05, 0.10]), 0.01, 0.5
    for _ in range(10_000):
        h = sig(w_h @ x + b1)
        out = sig(w_o @ h + b2)
        d_out = (out - y) * out * (1 - out)
        d_h = d_out * w_o * h * (1 - h)
        w_o, b2, w_h, b1 = w_o - eta * d_out * h, b2 - eta * d_out, w_h - eta * np.outer(d_h, x), b1 - eta * d_h.sum()
    expected = [*w_h.ravel(), b1, *w_o, b2]
    assert np.allclose(params(result.network), expected, rtol=0, atol=1e-12)
    assert losses[-1] < 1e-5


def test_xor_2_2_1_sigmoid_learns() -> None:
    doc = netfile.read_document(EXAMPLES / "xor.toml")
    doc["layers"] = [{"units": 2, "activation": "sigmoid", "bias": [0.0, 0.0]}, doc["layers"][1]]
    del doc["layers"][1]["weights"]
    doc["training"].update(seed=3, learning_rate=2.0)
    net = netfile.from_dict(doc)
    trained = fit(net, config=TrainConfig(epochs=3000)).network
    out = trained.forward(net.x).output[:, 0]
    assert np.array_equal(out > 0.5, net.y[:, 0] > 0.5), out


def test_spirals_example_reaches_95_percent() -> None:
    net = netfile.load(EXAMPLES / "spirals.toml")
    result = fit(net, config=TrainConfig(epochs=600, optimizer="adam"))
    assert result.final is not None and result.final.accuracy is not None
    assert result.final.accuracy >= 0.95


def test_seed_reproduces_bit_for_bit() -> None:
    net = netfile.load(EXAMPLES / "spirals.toml")

    def run(seed: int) -> tuple[np.ndarray, list[float]]:
        result = fit(net, config=TrainConfig(epochs=15, optimizer="adam", batch=16, seed=seed))
        return params(result.network), [r.loss for r in result.history]

    first, again, other = run(1), run(1), run(2)
    assert np.array_equal(first[0], again[0]) and first[1] == again[1]
    assert not np.array_equal(first[0], other[0])  # the seed does shuffle the batches


def test_until_loss_stops_at_the_first_epoch_below() -> None:
    net = netfile.load(EXAMPLES / "xor.toml")
    result = fit(net, config=TrainConfig(epochs=100_000, until_loss=0.01))
    assert result.stopped_by == "until_loss"
    assert result.history[-1].loss <= 0.01 < result.history[-2].loss


def test_patience_stops_and_keeps_the_best_parameters() -> None:
    net = netfile.load(EXAMPLES / "spirals.toml")
    rng = np.random.default_rng(0)
    x_val = rng.uniform(-1, 1, size=(40, 2))
    y_val = (x_val[:, :1] > 0).astype(float)  # a different rule: validation loss must turn up
    trainer = Trainer(
        net, net.x, net.y, TrainConfig(epochs=2000, patience=10, optimizer="adam"), x_val=x_val, y_val=y_val
    )
    result = trainer.run()
    assert result.stopped_by == "patience"
    val = [r.val_loss for r in result.history]
    best = int(np.argmin(val))
    assert result.best_epoch == best + 1 and len(val) == best + 1 + 10
    kept = result.network.example_losses(result.network.forward(x_val), y_val).mean()
    assert kept == val[best]


def test_patience_needs_validation_data() -> None:
    net = netfile.load()
    with pytest.raises(ChainruleError, match="--patience: expected validation data"):
        fit(net, config=TrainConfig(patience=3))


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path: Path) -> None:
    net = netfile.load(EXAMPLES / "spirals.toml")
    config = TrainConfig(epochs=6, optimizer="adam", batch=16)
    whole = Trainer(net, net.x, net.y, config).run()

    first = Trainer(net, net.x, net.y, config)
    step, count = first.step, [0]

    def counting(x: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, float]:
        count[0] += 1
        first.stop_requested = count[0] == 30  # mid-epoch: 13 updates per epoch
        return step(x, y, lr)

    first.step = counting
    stopped = first.run()
    assert stopped.stopped_by == "interrupted" and first.updates == 30 and first.position > 0
    save_checkpoint(first, tmp_path / "ckpt.json")

    second = Trainer(net, net.x, net.y, config)
    load_checkpoint(second, tmp_path / "ckpt.json")
    resumed = second.run()
    assert np.array_equal(params(resumed.network), params(whole.network))
    # The checkpoint holds no history: the resumed run's records are the uninterrupted run's from epoch 3 on.
    assert [r.epoch for r in resumed.history] == [3, 4, 5, 6]
    assert [r.loss for r in resumed.history] == [r.loss for r in whole.history][2:]


def test_checkpoint_of_another_network_is_refused(tmp_path: Path) -> None:
    ref = netfile.load()
    save_checkpoint(Trainer(ref, ref.x, ref.y, TrainConfig(epochs=1)), tmp_path / "ckpt.json")
    spirals = netfile.load(EXAMPLES / "spirals.toml")
    with pytest.raises(ChainruleError, match=r"ckpt\.json: expected a checkpoint of .*spirals\.toml; it is of another"):
        load_checkpoint(Trainer(spirals, spirals.x, spirals.y, TrainConfig()), tmp_path / "ckpt.json")


def test_a_failed_save_leaves_the_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net = netfile.load()
    trainer = Trainer(net, net.x, net.y, TrainConfig(epochs=2))
    path = tmp_path / "ckpt.json"
    save_checkpoint(trainer, path)
    before = path.read_text()
    trainer.run()

    def crash(*args: object) -> None:
        raise KeyboardInterrupt  # a kill between writing the temporary file and the rename

    monkeypatch.setattr("os.replace", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(trainer, path)
    assert path.read_text() == before and json.loads(before)["trainer"]["epoch"] == 0
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.json"]


def test_fit_leaves_the_given_network_alone() -> None:
    net = netfile.load()
    before = copy.deepcopy(net.parameters())
    fit(net, config=TrainConfig(epochs=5))
    assert net.parameters() == before


def test_width_mismatch_is_one_clear_error() -> None:
    net = netfile.load()
    with pytest.raises(ChainruleError, match="expected 2 input columns"):
        fit(net, np.zeros((3, 4)), np.zeros((3, 1)))


MEMORY_PROGRAM = """
from pathlib import Path
from chainrule.io import netfile
from chainrule.train.trainer import TrainConfig, fit

def resident_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

net = netfile.load()
fit(net, config=TrainConfig(epochs=20_000))  # the compiled loop loaded, the allocator warmed up
before = resident_mib()
result = fit(net, config=TrainConfig(epochs=1_000_000))
print(resident_mib() - before, result.history[-1].epoch, len(result.history))
"""


def test_a_million_epochs_keep_memory_bounded() -> None:
    """History in memory is a bounded summary: 10⁶ epochs of the 2-2-1 network grow the process by < 20 MB."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", MEMORY_PROGRAM], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    grown, last, points = out.stdout.split()
    assert int(last) == 1_000_000 and int(points) <= 2_001
    assert float(grown) < 20.0, f"resident memory grew by {grown} MiB"


def test_write_atomic_names_its_temporary_file_and_clears_a_crashed_writes_leftovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chainrule.io import netwrite

    target = tmp_path / "net.toml"
    dead = 2**22 + 12_345  # above the kernel's pid_max default: no such process
    leftover = tmp_path / f".net.toml.chainrule-tmp-{dead}-abc123"
    leftover.write_text("half a fil")
    alive = tmp_path / f".net.toml.chainrule-tmp-{os.getppid()}-def456"  # another process still writing
    alive.write_text("in progress")
    other = tmp_path / ".other.toml.chainrule-tmp-1-x"
    other.write_text("someone else's")
    seen: list[str] = []
    real = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append(Path(src).name)
        real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    netwrite.write_atomic(target, "whole\n")
    assert target.read_text() == "whole\n"
    assert seen[0].startswith(f".net.toml.chainrule-tmp-{os.getpid()}-")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, alive.name, other.name])
