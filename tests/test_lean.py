"""The lean NumPy path gives the explained engine's numbers for every activation and loss, to 1e-12."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from chainrule.io import netfile
from chainrule.train.lean import LeanSGD
from helpers import CASES, engine_epochs, random_document


@pytest.mark.parametrize(("case", "loss", "output"), [(i, lo, o) for i, (lo, o) in enumerate(CASES)])
def test_lean_sgd_equals_the_engine(case: int, loss: str, output: str) -> None:
    rng = np.random.default_rng(900 + case)
    net = netfile.from_dict(random_document(rng, loss, output))
    if rng.random() < 0.5:
        net.training.freeze = (net.parameter_names()[-1],)
    expected = engine_epochs(net, 3)
    lean_net = copy.deepcopy(net)
    batches = net.batches()
    trainer = LeanSGD(lean_net, max(len(b) for b in batches))
    for _ in range(3):
        for idx in batches:
            trainer.step(net.x[idx], net.y[idx], net.training.learning_rate, net.training.reduction == "mean")
    for name, value in expected.parameters().items():
        assert lean_net.parameters()[name] == pytest.approx(value, rel=1e-12, abs=1e-14), name


def test_the_returned_loss_is_the_batch_loss_before_the_update(reference) -> None:  # type: ignore[no-untyped-def]
    before = reference.batch_loss(reference.forward(reference.x), reference.y)
    assert LeanSGD(reference, 1).step(reference.x, reference.y, 0.5) == pytest.approx(before, rel=1e-15)
    assert reference.parameters()["w5"] == pytest.approx(0.35891647971788465, rel=1e-15)


@pytest.mark.parametrize("frozen", [False, True], ids=["blas-update", "masked"])
def test_large_layers_update_in_one_blas_call_with_the_engines_numbers(frozen: bool) -> None:
    """A 300-256-10 relu network: its first layer (76,800 weights) is updated by one gemm with
    β = 1 (`blas.update_weights`) unless one of its weights is frozen."""
    rng = np.random.default_rng(7)
    hidden = {"units": 256, "activation": "relu", "bias": rng.normal(0, 0.1, 256).tolist()}
    out = {"units": 10, "activation": "softmax", "bias": [0.0] * 10}
    x, labels = rng.normal(size=(48, 300)), rng.integers(0, 10, 48)
    examples = [{"x": xi.tolist(), "y": np.eye(10)[c].tolist()} for xi, c in zip(x, labels, strict=True)]
    doc = {"inputs": 300, "loss": "cross_entropy", "layers": [hidden, out], "examples": examples}
    doc["training"] = {"batch": 16, "learning_rate": 0.1, "freeze": ["w1"] if frozen else []}
    net = netfile.from_dict(doc)
    trainer = LeanSGD(copy.deepcopy(net), 16)
    assert trainer.in_place == [not frozen, False]
    for _ in range(2):
        for idx in net.batches():
            trainer.step(net.x[idx], net.y[idx], 0.1)
    expected = engine_epochs(net, 2)
    got = trainer.net
    for mine, theirs in zip(got.layers, expected.layers, strict=True):
        np.testing.assert_allclose(mine.weight, theirs.weight, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(mine.bias, theirs.bias, rtol=1e-12, atol=1e-14)
    assert not np.array_equal(got.layers[0].weight, net.layers[0].weight)
    assert (got.layers[0].weight.flat[0] == net.layers[0].weight.flat[0]) == frozen
