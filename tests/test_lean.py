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


@pytest.mark.parametrize(("case", "loss", "output"), [(i, lo, o) for i, (lo, o) in enumerate(CASES)])
def test_a_steps_loss_and_count_right_are_the_engines_before_the_update(case: int, loss: str, output: str) -> None:
    rng = np.random.default_rng(1900 + case)
    net = netfile.from_dict(random_document(rng, loss, output))
    trainer = LeanSGD(copy.deepcopy(net), len(net.x))
    for idx in net.batches():
        x, y = net.x[idx], net.y[idx]
        before = trainer.net.forward(x)  # the engine on the parameters the step starts from
        expected_loss = float(np.sum(trainer.net.example_losses(before, y)))
        expected_right = int(np.sum(net.loss.classes(before.output) == net.loss.classes(y)))
        mean = net.training.reduction == "mean"
        loss = trainer.step(x, y, net.training.learning_rate, mean)
        total = loss * len(x) if mean else loss
        assert total == pytest.approx(expected_loss, rel=1e-12, abs=1e-14)
        assert trainer.right == (expected_right if net.loss.classifies else 0)


def _wide_relu_network(rng: np.random.Generator, reduction: str, dtype: str, freeze: list[str]):  # type: ignore[no-untyped-def]
    """300-256-10 relu/softmax: the first layer (76,800 weights) is large enough for one gemm."""
    hidden = {"units": 256, "activation": "relu", "bias": rng.normal(0, 0.1, 256).tolist()}
    out = {"units": 10, "activation": "softmax", "bias": [0.0] * 10}
    x, labels = rng.normal(size=(48, 300)), rng.integers(0, 10, 48)
    examples = [{"x": xi.tolist(), "y": np.eye(10)[c].tolist()} for xi, c in zip(x, labels, strict=True)]
    doc = {"inputs": 300, "loss": "cross_entropy", "layers": [hidden, out], "examples": examples}
    doc["training"] = {"batch": 16, "learning_rate": 0.05, "freeze": freeze, "reduction": reduction, "dtype": dtype}
    return netfile.from_dict(doc)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("freeze", [[], ["w1", "b_h2"]], ids=["blas-update", "masked"])
def test_sum_and_mean_with_and_without_frozen_weights_equal_the_engine(reduction: str, freeze: list[str]) -> None:
    net = _wide_relu_network(np.random.default_rng(11), reduction, "float64", freeze)
    trainer = LeanSGD(copy.deepcopy(net), 16)
    assert trainer.in_place == [not freeze, False]
    for _ in range(2):
        for idx in net.batches():
            trainer.step(net.x[idx], net.y[idx], 0.05, reduction == "mean")
    expected = engine_epochs(net, 2).parameters()
    got = trainer.net.parameters()
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-14), name
    for name in freeze:
        assert got[name] == net.parameters()[name]


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_float32_stays_within_float32_rounding_of_the_float64_engine(reduction: str) -> None:
    single = _wide_relu_network(np.random.default_rng(12), reduction, "float32", [])
    double = _wide_relu_network(np.random.default_rng(12), reduction, "float64", [])
    trainer = LeanSGD(single, 16)
    assert trainer.in_place == [True, False] and single.layers[0].weight.dtype == np.float32
    for idx in single.batches():
        trainer.step(single.x[idx], single.y[idx], 0.05, reduction == "mean")
    assert single.layers[0].weight.dtype == np.float32 and single.layers[0].bias.dtype == np.float32
    expected = engine_epochs(double, 1)
    for mine, theirs in zip(single.layers, expected.layers, strict=True):
        np.testing.assert_allclose(mine.weight, theirs.weight, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(mine.bias, theirs.bias, rtol=1e-4, atol=1e-6)
    moved = np.abs(expected.layers[0].weight - double.layers[0].weight).max()
    assert moved > 1e-3  # the updates are far larger than the tolerance


def test_the_large_workload_goes_to_the_lean_path_with_one_gemm_per_large_layer() -> None:
    """784-1024-1024-10 relu/softmax (the benchmark's large workload, 64 examples): `choose_path`
    sends it to NumPy, both hidden layers update by gemm with β = 1, and it is the engine's SGD."""
    from chainrule.train.paths import PlainSGD, choose_path

    rng = np.random.default_rng(5)
    layers = [{"units": u, "activation": "relu", "bias": rng.normal(0, 0.1, u).tolist()} for u in (1024, 1024)]
    layers.append({"units": 10, "activation": "softmax", "bias": [0.0] * 10})
    doc = {"inputs": 784, "loss": "cross_entropy", "layers": layers, "examples": [{"x": [0.0] * 784, "y": [1.0] * 10}]}
    doc["training"] = {"batch": 32, "learning_rate": 0.05, "reduction": "mean"}
    net = netfile.from_dict(doc)
    net.x, net.y = rng.normal(size=(64, 784)), np.eye(10)[rng.integers(0, 10, 64)]
    assert choose_path(net, 32) == ("numpy", "")
    sgd = PlainSGD(copy.deepcopy(net), 32)
    assert sgd.path == "numpy" and sgd._lean is not None and sgd._lean.in_place == [True, True, False]
    losses = sgd.epochs(2, 0.05)
    expected = engine_epochs(net, 2)
    for mine, theirs in zip(sgd.net.layers, expected.layers, strict=True):
        np.testing.assert_allclose(mine.weight, theirs.weight, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(mine.bias, theirs.bias, rtol=1e-12, atol=1e-14)
    assert losses[1] < losses[0]
