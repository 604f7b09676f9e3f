"""The compiled path gives the explained engine's numbers: every activation, every loss, to 1e-12."""

from __future__ import annotations

import copy
import sys

import numpy as np
import pytest

from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.train.compiled import loop as fast
from helpers import CASES, engine_epochs, random_document


def fast_epochs(net: Network, epochs: int, matrices: bool | None = None) -> tuple[Network, np.ndarray]:
    packed = fast.pack(net)
    n = net.x.shape[0]
    batch = {"online": 1, "full": n}.get(str(net.training.batch), net.training.batch)
    order = np.tile(np.arange(n), (epochs, 1))
    mean, lr = net.training.reduction == "mean", net.training.learning_rate
    losses = fast.train_epochs(packed, net.x, net.y, order, int(batch), mean, lr, epochs, matrices, specialise=False)
    assert packed.variant == "general"
    out = copy.deepcopy(net)
    packed.unpack_into(out)
    return out, losses


SUPPORTED = [(loss, act) for loss, act in CASES if act in fast.ACTIVATION_CODES]


@pytest.mark.parametrize("matrices", [False, True], ids=["per-example", "matrices"])
@pytest.mark.parametrize(("case", "loss", "output"), [(i, lo, o) for i, (lo, o) in enumerate(SUPPORTED)])
def test_compiled_sgd_equals_the_engine(case: int, loss: str, output: str, matrices: bool) -> None:
    """Each batch example by example, or as matrices through BLAS (batches of two or more)."""
    rng = np.random.default_rng(500 + case)
    doc = random_document(rng, loss, output)
    if matrices:  # batches of several examples, so that the matrix products do the work
        doc["examples"] *= 3
        doc["training"]["batch"] = ["full", 2, 5][case % 3]
    for layer in doc["layers"][:-1]:
        if layer["activation"] == "prelu":
            layer["activation"] = "leaky_relu"
    net = netfile.from_dict(doc)
    if rng.random() < 0.5:
        net.training.freeze = (net.parameter_names()[0],)
    expected = engine_epochs(net, 3)
    got, losses = fast_epochs(net, 3, matrices)
    for name, value in expected.parameters().items():
        assert got.parameters()[name] == pytest.approx(value, rel=1e-12, abs=1e-14), name
    # the first epoch's loss: the example losses met before each update, averaged
    assert np.isfinite(losses).all()


def test_epoch_loss_of_full_batch_is_the_loss_before_the_update(reference: Network) -> None:
    net = netfile.load(netfile.example_path("xor.toml"))
    _, losses = fast_epochs(net, 2)
    assert losses[0] == pytest.approx(net.batch_loss(net.forward(net.x), net.y), rel=1e-13)


def test_the_reference_after_one_online_update(reference: Network) -> None:
    got, losses = fast_epochs(reference, 1)
    assert got.parameters()["w5"] == pytest.approx(0.35891647971788465, rel=1e-14)
    assert losses[0] == pytest.approx(0.274811083176155, rel=1e-14)


@pytest.mark.parametrize("specialise", [False, True], ids=["general", "specialised"])
def test_float32_stays_within_float32_rounding(reference: Network, specialise: bool) -> None:
    packed = fast.pack(reference, np.float32)
    order = np.zeros((100, 1), dtype=np.int64)
    fast.train_epochs(packed, reference.x, reference.y, order, 1, True, 0.5, 100, specialise=specialise)
    assert packed.variant == ("specialised" if specialise else "general")
    exact = engine_epochs(reference, 100).parameters()
    got = copy.deepcopy(reference)
    packed.unpack_into(got)
    for name, value in exact.items():
        assert got.parameters()[name] == pytest.approx(value, rel=1e-5), name


def test_unsupported_networks_say_why() -> None:
    doc = {
        "inputs": 1,
        "layers": [{"units": 2, "activation": "prelu"}, {"units": 1, "activation": "sigmoid"}],
        "examples": [{"x": [1], "y": [0]}],
    }
    assert "prelu" in (fast.unsupported(netfile.from_dict(doc)) or "")
    assert fast.unsupported(netfile.load()) is None


def test_float32_matrices_stay_within_float32_rounding() -> None:
    """Batches of 8 through single-precision BLAS products (sgemm) against the float64 engine."""
    net = netfile.load(netfile.example_path("spirals.toml"))
    net.training.batch, net.training.learning_rate = 8, 0.05
    packed = fast.pack(net, np.float32)
    order = np.tile(np.arange(net.x.shape[0]), (3, 1))
    fast.train_epochs(packed, net.x, net.y, order, 8, True, 0.05, 3, matrices=True)
    exact = engine_epochs(net, 3).parameters()
    got = copy.deepcopy(net)
    packed.unpack_into(got)
    moved = 0
    for name, value in exact.items():
        assert got.parameters()[name] == pytest.approx(value, rel=1e-4, abs=1e-5), name
        moved += value != net.parameters()[name]
    assert moved == len(exact)  # every parameter learned: the comparison is not of untouched numbers


@pytest.mark.parametrize("missing", ["numba", "scipy"])
def test_without_its_libraries_the_compiled_path_says_which_to_install(
    missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # `import missing` now fails
    reason = fast.unsupported(netfile.load()) or ""
    assert reason == f"{missing} is not installed (pip install 'chainrule[fast]')"
