"""sgd.PlainSGD: whichever path it takes, the numbers are the engine's."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.train.paths import PlainSGD
from helpers import engine_epochs


def _trained(net: Network, compiled: bool, epochs: int = 5) -> tuple[PlainSGD, Network]:
    net = copy.deepcopy(net)
    batch = {"online": 1, "full": net.x.shape[0]}.get(str(net.training.batch), net.training.batch)
    trainer = PlainSGD(net, int(batch), compiled=compiled)
    trainer.epochs(epochs, net.training.learning_rate)
    return trainer, net


@pytest.mark.parametrize("example", ["forward-backprop.toml", "xor.toml", "softmax-classifier.toml"])
def test_both_paths_equal_the_engine(example: str) -> None:
    net = netfile.load(netfile.example_path(example))
    expected = engine_epochs(net, 5).parameters()
    for compiled in (True, False):
        trainer, got = _trained(net, compiled)
        assert trainer.path == ("compiled" if compiled else "numpy")
        for name, value in expected.items():
            assert got.parameters()[name] == pytest.approx(value, rel=1e-12, abs=1e-14), (example, compiled, name)


def test_the_path_follows_the_size_and_says_why_it_falls_back() -> None:
    assert PlainSGD(netfile.load(), 1).path == "compiled"
    doc = {
        "inputs": 2,
        "layers": [{"units": 3, "activation": "prelu"}, {"units": 1, "activation": "sigmoid"}],
        "examples": [{"x": [1, 2], "y": [1]}],
    }
    trainer = PlainSGD(netfile.from_dict(doc), 1)
    assert trainer.path == "numpy" and "prelu" in trainer.note
    # relu runs in the compiled loop's own vectorized loops: a batch of 64 as matrices
    assert PlainSGD(netfile.from_dict(_net(200, 200, "relu")), 64).path == "compiled"
    # tanh calls the maths library once per number there: past 2,500 a batch, NumPy's tanh wins
    assert PlainSGD(netfile.from_dict(_net(2, 64, "tanh")), 8).path == "compiled"  # 8 × 64
    assert PlainSGD(netfile.from_dict(_net(2, 64, "tanh")), 64).path == "numpy"  # 64 × 64
    # past 50 million multiply-adds an update the products are all the time: NumPy, without numba's memory
    assert PlainSGD(netfile.from_dict(_net(784, 1024, "relu")), 256).path == "numpy"


def _net(inputs: int, width: int, hidden: str) -> dict[str, object]:
    layers = [{"units": width, "activation": hidden}, {"units": 10, "activation": "softmax"}]
    example = {"x": [0.0] * inputs, "y": [1.0] + [0.0] * 9}
    return {"inputs": inputs, "layers": layers, "loss": "cross_entropy", "examples": [example]}


def test_epoch_losses_fall_on_xor() -> None:
    net = netfile.load(netfile.example_path("xor.toml"))
    losses = PlainSGD(net, 4).epochs(2000, 0.5)
    assert losses[0] == pytest.approx(0.7237749808818916, rel=1e-12)  # before any update
    assert losses[-1] < 0.05 and np.all(np.isfinite(losses))
