"""One table for every activation and loss: value and derivative against PyTorch and finite differences.

Adding an activation or a loss to the registry adds a row here automatically: the test fails until
`torch_reference.py` knows it too, so nothing enters the registry unchecked.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chainrule.engine.functions import ACTIVATIONS, LOSSES, softmax_backward
from helpers import torch_activation, torch_loss

Z = np.concatenate([np.linspace(-6, 6, 41), [-700.0, -50.0, -20.0, -1e-3, 1e-3, 20.0, 50.0, 700.0]])
Z = Z[np.abs(Z) > 1e-12]  # kinks at exactly 0 are conventions, compared separately below


@pytest.mark.parametrize("name", sorted({a.name for a in ACTIVATIONS.values()}))
def test_activation_value_and_derivative_equal_torch(name: str) -> None:
    act = ACTIVATIONS[name]
    alpha = act.alpha if act.alpha is not None else 0.0
    z = Z.reshape(1, -1) if act.elementwise else np.stack([Z[:5], Z[5:10], Z[-5:]])
    a = act.value(z, alpha)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    at_alpha = torch.tensor([alpha], dtype=torch.float64) if name == "prelu" else alpha
    at = torch_activation(name, zt, at_alpha)
    np.testing.assert_allclose(a, at.detach().numpy(), rtol=1e-13, atol=1e-300)
    # A random upstream gradient g: compare g·∂a/∂z (the full Jacobian for softmax).
    g = np.random.default_rng(0).normal(size=z.shape)
    (gt,) = torch.autograd.grad(at, zt, torch.tensor(g))
    ours = softmax_backward(a, g) if not act.elementwise else g * act.derivative(z, a, alpha)
    np.testing.assert_allclose(ours, gt.numpy(), rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("name", sorted({a.name for a in ACTIVATIONS.values() if a.elementwise}))
def test_activation_derivative_equals_central_differences(name: str) -> None:
    act = ACTIVATIONS[name]
    alpha = act.alpha if act.alpha is not None else 0.0
    z = np.linspace(-5, 5, 50) + 0.0123  # off the kinks at 0
    h = 1e-6
    fd = (act.value(z + h, alpha) - act.value(z - h, alpha)) / (2 * h)
    np.testing.assert_allclose(act.derivative(z, act.value(z, alpha), alpha), fd, rtol=1e-6, atol=1e-8)


def test_derivatives_at_the_kink_follow_pytorch() -> None:
    """At z = 0 exactly: ReLU' = 0, leaky/PReLU' = α, ELU' = α (PyTorch's conventions)."""
    z = np.zeros(1)
    assert ACTIVATIONS["relu"].derivative(z, z, 0.0)[0] == 0.0
    assert ACTIVATIONS["leaky_relu"].derivative(z, z, 0.01)[0] == 0.01
    assert ACTIVATIONS["elu"].derivative(z, z, 1.0)[0] == 1.0


def _targets(name: str, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    if name == "cross_entropy":
        return rng.dirichlet(np.ones(shape[1]), shape[0])
    if name == "binary_cross_entropy":
        return rng.uniform(0, 1, shape)
    if name == "hinge":
        return np.eye(shape[1])[rng.integers(0, shape[1], shape[0])]
    return rng.normal(size=shape)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_value_and_gradient_equal_torch(name: str) -> None:
    loss = LOSSES[name]
    rng = np.random.default_rng(1)
    y = _targets(name, rng, (6, 3))
    if name in ("cross_entropy",):
        a = rng.dirichlet(np.ones(3), 6)
    elif name == "binary_cross_entropy":
        a = rng.uniform(0.05, 0.95, (6, 3))
    else:
        a = rng.normal(size=(6, 3))
    at = torch.tensor(a, requires_grad=True)
    lt = torch_loss(name, at, torch.tensor(y))
    np.testing.assert_allclose(loss.value(a, y), lt.detach().numpy(), rtol=1e-13)
    (gt,) = torch.autograd.grad(lt.sum(), at)
    np.testing.assert_allclose(loss.gradient(a, y), gt.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(n for n, lo in LOSSES.items() if lo.fused_activation))
def test_fused_loss_equals_the_unfused_chain(name: str) -> None:
    """Cross-entropy with softmax (and BCE with sigmoid) from z: same value, ∂L/∂z = ŷ − y."""
    loss = LOSSES[name]
    act = ACTIVATIONS[loss.fused_activation or ""]
    rng = np.random.default_rng(2)
    z = rng.normal(size=(5, 3))
    y = _targets(name, rng, (5, 3))
    a = act.value(z, 0.0)
    assert loss.fused_value is not None and loss.fused_gradient is not None
    np.testing.assert_allclose(loss.fused_value(z, y), loss.value(a, y), rtol=1e-12)
    chain = (
        softmax_backward(a, loss.gradient(a, y))
        if not act.elementwise
        else loss.gradient(a, y) * act.derivative(z, a, 0.0)
    )
    np.testing.assert_allclose(loss.fused_gradient(z, a, y), chain, rtol=1e-10, atol=1e-14)


def test_every_entry_has_its_formulas_and_words() -> None:
    for act in ACTIVATIONS.values():
        for text in (act.symbol, act.formula, act.derivative_formula, act.description, act.plain, act.derivative_plain):
            assert text, act.name
    for loss in LOSSES.values():
        for text in (loss.formula, loss.gradient_formula, loss.description, loss.plain, loss.gradient_plain):
            assert text, loss.name


EXTREME = np.array([[-1e308, -1e300, -710.0, -50.0, -1e-300, 0.0, 1e-300, 50.0, 710.0, 1e300, 1e308]])


@pytest.mark.parametrize("name", sorted({a.name for a in ACTIVATIONS.values()}))
def test_activations_at_extreme_z_are_finite_without_warnings(name: str) -> None:
    """Stable forms: no overflow warning and no inf or nan, for z up to float64's largest."""
    act = ACTIVATIONS[name]
    alpha = act.alpha if act.alpha is not None else 0.0
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is exact enough
        a = act.value(EXTREME, alpha)
        d = act.derivative(EXTREME, a, alpha) if act.elementwise else softmax_backward(a, np.ones_like(a))
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(d))
