"""sgd.PlainSGD: whichever path it takes, the numbers are the engine's."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from chainrule import netfile
from chainrule.network import Network
from chainrule.sgd import PlainSGD
from test_fast import engine_epochs


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
    big = {"inputs": 200, "layers": [{"units": 200, "activation": "relu"}, {"units": 10, "activation": "softmax"}]}
    big |= {"loss": "cross_entropy", "examples": [{"x": [0.0] * 200, "y": [1.0] + [0.0] * 9}]}
    assert PlainSGD(netfile.from_dict(big), 64).path == "numpy"


def test_epoch_losses_fall_on_xor() -> None:
    net = netfile.load(netfile.example_path("xor.toml"))
    losses = PlainSGD(net, 4).epochs(2000, 0.5)
    assert losses[0] == pytest.approx(0.7237749808818916, rel=1e-12)  # before any update
    assert losses[-1] < 0.05 and np.all(np.isfinite(losses))
