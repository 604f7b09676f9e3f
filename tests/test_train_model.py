"""`chainrule train` for shaped networks (#26): random models of every op, loss and optimizer train,
stop anywhere, resume bit for bit from their binary checkpoint (tensors, optimizer state and
batchnorm's running statistics), and --backend torch gives the engine's parameters to 1e-10."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine.model import Model
from chainrule.engine.optimizers import OPTIMIZERS
from chainrule.errors import ChainruleError
from chainrule.io import loader
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint
from chainrule.train.model_state import model_buffers
from chainrule.train.model_trainer import ModelTrainer
from chainrule.train.trainer import TrainConfig
from conftest import ROOT
from helpers import run_cli
from shaped import targets
from test_model_mixed import random_model

LOSSES = ["cross_entropy", "binary_cross_entropy", "mse"]


def _model(seed: int, loss: str, optimizer: str) -> Model:
    rng = np.random.default_rng(seed)
    return random_model(rng, loss, str(rng.choice(["sum", "mean"])), optimizer)


def _state(model: Model) -> dict[str, np.ndarray]:
    """Every number a resumed run must continue from: tensors, running statistics, optimizer slots."""
    state = {f"tensor {k}": v for k, v in model.parameters().items()}
    state |= {f"buffer {k}": v for k, v in model_buffers(model).items()}
    for name, slots in model.optimizer_state.items():
        state |= {f"{slot} {name}": np.asarray(v) for slot, v in slots.items()}
    return state | {"steps": np.array(model.steps_taken)}


def _trainer(model: Model, config: TrainConfig, backend: str = "chainrule") -> ModelTrainer:
    return ModelTrainer(model, model.x, model.y, config, rng=np.random.default_rng(4), backend=backend)


@given(
    seed=st.integers(0, 2**32 - 1), loss=st.sampled_from(LOSSES), optimizer=st.sampled_from(OPTIMIZERS), data=st.data()
)
def test_a_stopped_run_resumes_bit_for_bit(
    seed: int, loss: str, optimizer: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Stopped after any update but the last (mid-epoch or between epochs), with any batch its
    batchnorm layers take (2 or more examples in every batch)."""
    model = _model(seed, loss, optimizer)
    n = len(model.x)
    batches = [b for b in range(1, n + 1) if not model_buffers(model) or 1 not in (b, n % b)]
    batch = data.draw(st.sampled_from(batches), label="batch")
    update = data.draw(st.integers(1, 3 * -(-n // batch) - 1), label="update")
    config = TrainConfig(epochs=3, batch=batch)
    whole = _trainer(model, config)
    whole.run()
    first = _trainer(model, config)
    step = first._update

    def counting(x: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, float]:
        sums = step(x, y, lr)
        first.stop_requested = first.updates + 1 >= update
        return sums

    first._update = counting  # type: ignore[method-assign]
    assert first.run().stopped_by == "interrupted" and first.updates == update
    path = tmp_path_factory.mktemp("model") / "c.npz"
    save_checkpoint(first, path)
    second = _trainer(model, config)
    load_checkpoint(second, path)
    assert (second.epoch, second.position, second.updates) == (first.epoch, first.position, first.updates)
    second.run()
    mine, theirs = _state(second.net), _state(whole.net)
    assert mine.keys() == theirs.keys()
    for key in mine:
        assert np.array_equal(mine[key], theirs[key]), key
    assert [r.loss for r in second.history.recent][-1] == whole.history.recent[-1].loss


def _torch_able(model: Model) -> Model:
    """The model with each activation PyTorch has no module for (PReLU: its α is learnt) made tanh."""
    from chainrule.engine.activations import ACTIVATIONS
    from chainrule.io.torch import TORCH_MODULES

    def fit(op: Any) -> Any:
        if op.kind == "residual":
            op = dataclasses.replace(op, inner=[fit(inner) for inner in op.inner])
        usable = op.activation.name in TORCH_MODULES and op.activation.name != "prelu"
        return op if usable else dataclasses.replace(op, activation=ACTIVATIONS["tanh"])

    return dataclasses.replace(model, ops=[fit(op) for op in model.ops])


@settings(max_examples=25)  # each example trains two runs of three epochs, one on PyTorch
@given(seed=st.integers(0, 2**32 - 1), loss=st.sampled_from(LOSSES), optimizer=st.sampled_from(OPTIMIZERS))
def test_torch_gives_the_engines_parameters(seed: int, loss: str, optimizer: str) -> None:
    model = _model(seed, loss, optimizer)
    model = _torch_able(model)
    # ε above rounding: before a batchnorm a bias's gradient is float noise (exactly 0 in exact
    # arithmetic), which Adam and RMSProp divide by its own size; the two frameworks' noise differs.
    s = model.training.optimizer
    model.training = dataclasses.replace(model.training, optimizer=dataclasses.replace(s, eps=1e-2))
    # Six examples in batches of 3: batch normalisation over 2 examples makes x̂ = ±1 whatever the
    # input, so the gradients reaching the layers before it are float noise, not numbers to compare.
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(6, *model.input_shape))
    model = dataclasses.replace(model, x=x, y=targets(rng, loss, 6, model.y.shape[1]))
    config = TrainConfig(epochs=3, batch=3)
    engine, torch = _trainer(model, config), _trainer(model, config, backend="torch")
    engine.run()
    torch.run()
    assert torch.ran == {"torch"}
    mine, theirs = _state(torch.net), _state(engine.net)
    assert mine.keys() == theirs.keys()
    # 1e-9, the dense torch backend's parity: over six RMSProp or Adam updates, which move a weight
    # by about η whatever its gradient's size, the two frameworks' last-digit differences grow to 3e-10.
    for key in mine:
        scale = max(1.0, float(np.abs(theirs[key]).max(initial=0.0)))
        assert np.abs(mine[key] - theirs[key]).max(initial=0.0) <= 1e-9 * scale, key


def test_a_batch_of_one_through_batchnorm_is_refused_before_training() -> None:
    model = _model(0, "mse", "sgd")
    model = _with_batchnorm(model)
    for batch in (1, len(model.x) - 1):
        with pytest.raises(ChainruleError, match="2 or more examples for batch normalisation"):
            _trainer(model, TrainConfig(epochs=1, batch=batch))


def _with_batchnorm(model: Model) -> Model:
    from chainrule.engine.layers.norm import BatchNorm

    units = model.shapes()[-1][0]
    norm = BatchNorm("bn_out", np.ones(units), np.zeros(units), np.zeros(units), np.ones(units))
    x = np.concatenate([model.x] * 3)[:5]
    return dataclasses.replace(model, ops=[*model.ops, norm], x=x, y=np.concatenate([model.y] * 3)[:5])


def test_a_foreign_checkpoint_is_one_line(tmp_path: Path) -> None:
    conv = loader.load("conv")
    assert isinstance(conv, Model)
    trainer = _trainer(conv, TrainConfig(epochs=2))
    trainer.run()
    save_checkpoint(trainer, tmp_path / "conv.npz")
    other = _model(3, "mse", "adam")
    for path in (tmp_path / "conv.npz", ROOT / "src" / "chainrule" / "examples" / "conv.toml"):
        with pytest.raises(ChainruleError) as caught:
            load_checkpoint(_trainer(other, TrainConfig(epochs=2, batch="full")), path)
        assert "\n" not in str(caught.value) and str(path) in str(caught.value)


@pytest.mark.parametrize(("example", "batch"), [("conv", "2"), ("rnn", "2")])
def test_train_conv_trains_resumes_bit_for_bit_and_torch_agrees(example: str, batch: str, tmp_path: Path) -> None:
    # Momentum: a state to checkpoint. (Adam on these hand-made examples divides float noise by its
    # own size where a symmetric kernel's gradient is 0 exactly; the random models above cover it.)
    base = ["train", example, "--optimizer", "momentum", "--lr", "0.05", "--batch", batch, "-q"]
    first, _ = run_cli(
        [*base, "--epochs", "5", "-o", str(tmp_path / "a.toml"), "--checkpoint", str(tmp_path / "c.json")]
    )
    assert first.exit_code == 0, first.output
    assert "no compiled loop for shaped networks" in first.stderr and first.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.toml", "c.npz"]  # the checkpoint is binary
    resumed, _ = run_cli([*base, "--epochs", "12", "--resume", str(tmp_path / "c.npz"), "-o", str(tmp_path / "r.toml")])
    fresh, _ = run_cli([*base, "--epochs", "12", "-o", str(tmp_path / "f.json")])
    torch, _ = run_cli([*base, "--epochs", "12", "--backend", "torch", "-o", str(tmp_path / "t.toml")])
    assert resumed.exit_code == fresh.exit_code == torch.exit_code == 0, resumed.output + fresh.output + torch.output
    r, f, t, a = (loader.load(tmp_path / n) for n in ("r.toml", "f.json", "t.toml", "a.toml"))
    assert isinstance(r, Model) and isinstance(f, Model) and isinstance(t, Model) and isinstance(a, Model)
    for name, value in f.parameters().items():
        assert np.array_equal(r.parameters()[name], value), name  # bit for bit
        assert np.allclose(t.parameters()[name], value, rtol=1e-10, atol=1e-10), name
    before, after = (float(np.sum(m.example_losses(m.forward(m.x, training=False), m.y))) for m in (a, f))
    assert after < before  # it trained


def test_options_a_shaped_run_does_not_take_are_one_line() -> None:
    for extra in (["--standardize"], ["--weight-decay", "0.1"], ["--nproc", "2", "--backend", "torch"]):
        result, _ = run_cli(["train", "conv", "--epochs", "2", *extra])
        assert result.exit_code == 2 and result.stderr.count("\n") == 1 and extra[0] in result.stderr, result.output


def test_sigint_on_a_shaped_run_is_130_saved_and_resumable(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    train = [sys.executable, "-m", "chainrule", "train", "conv", "-q", "--batch", "1"]
    run = subprocess.Popen([*train, "--epochs", "10000000", "-o", "out.toml", "--history", "h.csv"],
                           cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while not ((tmp_path / "h.csv").exists() and len((tmp_path / "h.csv").read_text().splitlines()) > 3):
        assert time.monotonic() < deadline and run.poll() is None
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 130 and "Traceback" not in stderr, stderr
    assert "--resume out.checkpoint.npz" in stderr
    assert isinstance(loader.load(tmp_path / "out.toml"), Model)
    resumed = subprocess.run([*train, "--epochs", "10000001", "--resume", "out.checkpoint.npz", "--until-loss", "1e9"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert resumed.returncode == 0 and "Traceback" not in resumed.stderr, resumed.stderr


def _bars(path: Path, n: int, seed: int) -> None:
    """`n` 6×6 images of an upright or a lying bar, with noise, one a row (row-major), labelled by name."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        image, upright, at = rng.normal(0, 0.1, (6, 6)), bool(rng.integers(2)), int(rng.integers(1, 5))
        if upright:
            image[:, at] += 1
        else:
            image[at, :] += 1
        rows.append(",".join(f"{v:.3f}" for v in image.ravel()) + ("," + "upright" if upright else ",lying"))
    path.write_text(",".join(f"p{i}" for i in range(36)) + ",bar\n" + "\n".join(rows) + "\n")


def test_a_shaped_network_trains_on_data_with_a_validation_split(tmp_path: Path) -> None:
    """--data: each row's 36 columns are one 1×6×6 image; --val holds a seeded share out and every
    epoch is evaluated on it; the held-out bars are told apart."""
    _bars(tmp_path / "bars.csv", 200, 3)
    args = ["train", "conv", "--data", str(tmp_path / "bars.csv"), "--target", "bar", "--val", "0.25", "-q",
            "--epochs", "12", "--history", str(tmp_path / "h.csv"), "-o", str(tmp_path / "out.toml")]  # fmt: skip
    result, _ = run_cli(args)
    assert result.exit_code == 0, result.output
    rows = [line.split(",") for line in (tmp_path / "h.csv").read_text().splitlines()]
    first, last = (dict(zip(rows[0], rows[i], strict=True)) for i in (1, -1))
    assert "val_loss" in rows[0] and len(rows) == 13
    assert float(last["val_accuracy"]) >= 0.9 and float(last["val_loss"]) < float(first["val_loss"])
    assert isinstance(loader.load(tmp_path / "out.toml"), Model)
    again, _ = run_cli([*args[:-2], "-o", str(tmp_path / "again.toml")])  # the same seed, the same split and run
    assert again.exit_code == 0
    a, b = (loader.load(tmp_path / n) for n in ("out.toml", "again.toml"))
    assert all(np.array_equal(a.parameters()[k], v) for k, v in b.parameters().items())


def test_data_that_does_not_fit_a_shaped_network_is_one_line(tmp_path: Path) -> None:
    result, _ = run_cli(["train", "conv", "--data", "spirals", "--epochs", "1"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert "the data has 2 input columns; expected 36 (1 × 6 × 6, the network's inputs)" in result.stderr
