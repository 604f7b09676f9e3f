"""The compiled loop specialised to a network's shape gives the engine's numbers, and runs when chosen."""

from __future__ import annotations

import copy
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.train.compiled import cache, special
from chainrule.train.compiled import loop as fast
from chainrule.train.config import TrainConfig
from chainrule.train.paths import PlainSGD
from chainrule.train.trainer import Trainer
from helpers import CASES, engine_epochs, random_document

SUPPORTED = [(loss, act) for loss, act in CASES if act in fast.ACTIVATION_CODES]


def online(doc: dict, batch: object = "online") -> Network:
    doc["training"]["batch"] = batch
    for layer in doc["layers"][:-1]:
        if layer["activation"] == "prelu":
            layer["activation"] = "leaky_relu"
    return netfile.from_dict(doc)


def run(net: Network, epochs: int, specialise: bool | None) -> tuple[Network, np.ndarray, str]:
    out = copy.deepcopy(net)
    n = len(net.x)
    batch = {"online": 1, "full": n}.get(str(net.training.batch), net.training.batch)
    sgd = PlainSGD(out, int(batch), compiled=True, matrices=False, specialise=specialise)
    losses = sgd.epochs(epochs, out.training.learning_rate)
    return out, losses, sgd.variant


@pytest.mark.parametrize(("case", "loss", "output"), [(i, lo, o) for i, (lo, o) in enumerate(SUPPORTED)])
def test_specialised_sgd_equals_the_engine(case: int, loss: str, output: str) -> None:
    """Parameters after three epochs equal the engine's, and each epoch's loss (the examples' losses
    before their updates) equals the general loop's; online and in batches of 2, 3 or all the
    examples, some runs with a frozen parameter."""
    rng = np.random.default_rng(900 + case)
    doc = random_document(rng, loss, output)
    doc["examples"] *= 2
    net = online(doc, ["online", 2, 3, "full"][case % 4])
    if case % 2:
        net.training.freeze = (net.parameter_names()[int(rng.integers(0, len(net.parameter_names())))],)
    got, losses, variant = run(net, 3, specialise=True)
    assert variant == "specialised"
    expected = engine_epochs(net, 3)
    for name, value in expected.parameters().items():
        assert got.parameters()[name] == pytest.approx(value, rel=1e-12, abs=1e-14), name
    _, general, variant = run(net, 3, specialise=False)
    assert variant == "general"
    np.testing.assert_allclose(losses, general, rtol=1e-12, atol=1e-15)


def test_the_reference_after_one_specialised_update(reference: Network) -> None:
    got, losses, variant = run(reference, 1, specialise=True)
    assert variant == "specialised"
    assert got.parameters()["w5"] == pytest.approx(0.35891647971788465, rel=1e-14)
    assert got.parameters()["b1"] == pytest.approx(0.35 - 0.5 * 0.028364, abs=1e-6)
    assert losses[0] == pytest.approx(0.274811083176155, rel=1e-14)


def test_a_shape_is_generated_once_and_then_chosen_even_for_short_runs(reference: Network) -> None:
    net = copy.deepcopy(reference)
    net.layers[0].weight[...] = 0.123  # same shape, other numbers: the same loop
    packed = fast.pack(net)
    path = cache.folder()
    run(reference, 1, specialise=True)  # generates and compiles this shape
    files = sorted(path.glob("loop_*.py"))
    use, why = special.variant(packed, 1, examples=1.0)
    assert use and why == ""
    _, _, variant = run(net, 1, specialise=None)  # a one-update run: chosen because it is compiled
    assert variant == "specialised"
    assert sorted(path.glob("loop_*.py")) == files


def test_short_runs_of_a_new_shape_use_the_general_loop_and_say_why() -> None:
    rng = np.random.default_rng(7)
    doc = random_document(rng, "mse", "identity")
    doc["layers"] = [{"units": 12, "activation": "tanh"}, {"units": 9, "activation": "relu"}, doc["layers"][-1]]
    net = online(doc)
    packed = fast.pack(net)
    use, why = special.variant(packed, 1, examples=10.0)
    assert not use and "short run" in why
    assert special.variant(packed, 1, examples=1e9)[0]
    assert special.variant(packed, 2, examples=1e9)[0]
    assert not special.variant(packed, 1000, examples=1e9)[0]  # through matrix products
    doc["layers"] = [{"units": 4, "activation": "tanh"}, {"units": 4, "activation": "relu"}, doc["layers"][-1]]
    assert special.variant(fast.pack(online(doc)), 1000, examples=1e9)[0]  # narrow: example by example wins


def test_the_environment_forces_either_loop(monkeypatch: pytest.MonkeyPatch, reference: Network) -> None:
    packed = fast.pack(reference)
    monkeypatch.setenv(special.ENV_FORCE, "0")
    assert special.variant(packed, 1, examples=1e12) == (False, "CHAINRULE_SPECIALISE=0")
    monkeypatch.setenv(special.ENV_FORCE, "1")
    assert special.variant(packed, 1, examples=0.0) == (True, "")


def test_an_unwritable_cache_folder_falls_back_to_a_temporary_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, reference: Network
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(special.ENV_CACHE, str(blocked / "cache"))
    monkeypatch.setattr(cache, "_private", None)
    net = copy.deepcopy(reference)
    net.layers[0].weight = np.full((2, 2), 0.5)
    monkeypatch.setattr(special, "_loaded", {})
    got, _, variant = run(net, 1, specialise=True)
    assert variant == "specialised"
    assert not (blocked / "cache").exists()
    assert os.environ[special.ENV_CACHE] == str(blocked / "cache")  # this process's own folder, not the environment's
    private = cache.folder()
    assert stat.S_IMODE(private.stat().st_mode) == 0o700 and list(private.glob("loop_*.py"))
    for name, value in engine_epochs(net, 1).parameters().items():
        assert got.parameters()[name] == pytest.approx(value, rel=1e-12), name


@pytest.mark.parametrize(
    ("seed", "loss", "output"), [(1, "cross_entropy", "softmax"), (2, "half_squared_error", "tanh")]
)
def test_training_on_the_specialised_loop_reports_the_general_loops_numbers(
    monkeypatch: pytest.MonkeyPatch, seed: int, loss: str, output: str
) -> None:
    """`Trainer` (what `chainrule train` runs): the same parameters and, epoch by epoch, the same
    running and evaluated metrics, validation included, whichever loop it runs."""
    rng = np.random.default_rng(seed)
    doc = random_document(rng, loss, output)
    doc["examples"] *= 4
    net = online(doc)
    runs = {}
    for force in ("1", "0"):
        monkeypatch.setenv(special.ENV_FORCE, force)
        config = TrainConfig(epochs=12, batch=1, evaluate_every=4)  # type: ignore[arg-type]
        n = len(net.x) * 3 // 4
        x, y, xv, yv = net.x[:n], net.y[:n], net.x[n:], net.y[n:]
        trainer = Trainer(copy.deepcopy(net), x, y, config, x_val=xv, y_val=yv)
        result = trainer.run()
        assert trainer.runner is not None and trainer.ran == {"compiled"}
        assert trainer.runner.variant == ("specialised" if force == "1" else "general")  # type: ignore[attr-defined]
        runs[force] = result
    fast_run, general = runs["1"], runs["0"]
    assert [r.measured for r in fast_run.history] == [r.measured for r in general.history]
    assert "evaluated" in {r.measured for r in general.history} and "running" in {r.measured for r in general.history}
    for a, b in zip(fast_run.history, general.history, strict=True):
        assert a.loss == pytest.approx(b.loss, rel=1e-12), a.epoch
        assert a.val_loss == pytest.approx(b.val_loss, rel=1e-12), a.epoch
        assert a.accuracy == b.accuracy and a.val_accuracy == b.val_accuracy
    for name, value in general.network.parameters().items():
        assert fast_run.network.parameters()[name] == pytest.approx(value, rel=1e-12, abs=1e-14), name
