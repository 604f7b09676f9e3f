"""Gradients of random networks against central finite differences and PyTorch autograd (float64).

Random networks cover 1–4 layers, every activation, every loss, the three bias forms (shared,
per neuron, none), frozen parameters, online / mini-batch / full batches, sum and mean.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from chainrule.engine.functions import ACTIVATIONS
from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.record.step import explain_step
from helpers import CASES, random_document, torch_activation, torch_loss


def torch_gradients(net: Network, idx: np.ndarray) -> dict[str, float]:
    """∂L/∂θ of the batch `idx` by PyTorch autograd, from an independent torch model."""
    x = torch.tensor(net.x[idx], dtype=torch.float64)
    y = torch.tensor(net.y[idx], dtype=torch.float64)
    params: dict[str, torch.Tensor] = {}
    a = x
    for layer in net.layers:
        w = torch.tensor(layer.weight, dtype=torch.float64, requires_grad=True)
        b = torch.tensor(layer.bias, dtype=torch.float64, requires_grad=True)
        alpha: torch.Tensor | float = layer.alpha_value()
        if layer.alpha_name:
            alpha = torch.tensor(layer.alpha, dtype=torch.float64, requires_grad=True)
            params[layer.alpha_name] = alpha
        z = a @ w.T + (b if layer.bias_mode != "none" else 0.0)
        a = torch_activation(layer.activation.name, z, alpha)
        for r, row in enumerate(layer.weight_names):
            for c, n in enumerate(row):
                params[n] = w[r, c]  # views into w: gradients read from w.grad below
        params[f"__w{id(layer)}"], params[f"__b{id(layer)}"] = w, b
    losses = torch_loss(net.loss.name, a, y)
    loss = losses.mean() if net.training.reduction == "mean" else losses.sum()
    leaves = [t for t in params.values() if t.is_leaf]
    grads = dict(zip(map(id, leaves), torch.autograd.grad(loss, leaves, allow_unused=True), strict=True))
    out: dict[str, float] = {}
    for layer in net.layers:
        gw = grads[id(params[f"__w{id(layer)}"])]
        gb = grads[id(params[f"__b{id(layer)}"])]
        for r, row in enumerate(layer.weight_names):
            for c, n in enumerate(row):
                out[n] = 0.0 if gw is None else float(gw[r, c])
        for j, n in enumerate(layer.bias_names):
            out[n] = 0.0 if gb is None else float(gb[j])
        if layer.alpha_name:
            ga = grads[id(params[layer.alpha_name])]
            out[layer.alpha_name] = 0.0 if ga is None else float(ga[0])
    return out


def finite_differences(net: Network, idx: np.ndarray, h: float = 1e-6) -> dict[str, float]:
    """Central differences (L(θ+h) − L(θ−h)) / 2h of the batch loss, parameter by parameter."""
    x, y = net.x[idx], net.y[idx]
    out = {}
    for name in net.parameter_names():
        losses = []
        for sign in (1.0, -1.0):
            moved = copy.deepcopy(net)
            _nudge(moved, name, sign * h)
            losses.append(moved.batch_loss(moved.forward(x), y))
        out[name] = (losses[0] - losses[1]) / (2 * h)
    return out


def _nudge(net: Network, name: str, delta: float) -> None:
    for layer in net.layers:
        for r, row in enumerate(layer.weight_names):
            if name in row:
                layer.weight[r, row.index(name)] += delta
        if name in layer.bias_names:
            layer.bias[layer.bias_names.index(name)] += delta
        if name == layer.alpha_name:
            layer.alpha[0] += delta


def _build(case: int, loss: str, output: str) -> Network:
    rng = np.random.default_rng(1000 + case)
    doc = random_document(rng, loss, output)
    net = netfile.from_dict(doc, source=f"random-{case}")
    # Freeze a random parameter now and then: its gradient is still reported, it just does not move.
    if rng.random() < 0.3:
        names = net.parameter_names()
        net.training.freeze = (names[int(rng.integers(0, len(names)))],)
    return net


@pytest.mark.parametrize(("case", "loss", "output"), [(i, lo, o) for i, (lo, o) in enumerate(CASES)])
def test_gradients_equal_torch_and_finite_differences(case: int, loss: str, output: str) -> None:
    net = _build(case, loss, output)
    for idx in net.batches()[:2]:
        fwd = net.forward(net.x[idx])
        ours = net.gradients(net.backward(fwd, net.y[idx]))
        theirs = torch_gradients(net, idx)
        fd = finite_differences(net, idx)
        for name in net.parameter_names():
            assert ours[name] == pytest.approx(theirs[name], rel=1e-10, abs=1e-13), (name, loss, output)
            assert ours[name] == pytest.approx(fd[name], rel=1e-5, abs=1e-7), (name, loss, output)


@pytest.mark.parametrize("case", range(6))
def test_prelu_alpha_and_every_bias_form_in_one_network(case: int) -> None:
    """A learnable PReLU slope next to shared, per-neuron and absent biases, against torch."""
    rng = np.random.default_rng(case)
    doc = {
        "inputs": 3,
        "loss": "mse",
        "layers": [
            {"units": 3, "activation": "prelu", "alpha": 0.2, "bias": 0.1},
            {"units": 2, "activation": "tanh", "bias": [0.1, -0.2]},
            {"units": 2, "activation": "identity"},
        ],
        "examples": [{"x": rng.normal(size=3).tolist(), "y": rng.normal(size=2).tolist()} for _ in range(4)],
        "training": {"batch": "full", "reduction": "sum", "seed": case},
    }
    net = netfile.from_dict(doc)
    idx = net.batches()[0]
    ours = net.gradients(net.backward(net.forward(net.x[idx]), net.y[idx]))
    theirs = torch_gradients(net, idx)
    assert "alpha_h1" in ours
    for name in net.parameter_names():
        assert ours[name] == pytest.approx(theirs[name], rel=1e-10, abs=1e-13), name


def test_the_update_uses_the_gradients_from_before_it_and_respects_freeze() -> None:
    net = _build(3, "half_squared_error", "sigmoid")
    net.training.freeze = (net.parameter_names()[0],)
    record = explain_step(net)
    before = net.parameters()
    for u in record.updates:
        assert u.old == before[u.param]
        if u.frozen:
            assert u.new == u.old
        else:
            assert u.new == pytest.approx(u.old - net.training.learning_rate * u.gradient, rel=1e-15, abs=1e-15)
    assert net.parameters() == before  # the step is a value: the network it came from is unchanged


def test_step_chains_add_up_to_the_engines_gradients() -> None:
    """Whatever the form (paths or deltas), the record's chains sum to the engine's gradient."""
    for case, (loss, output) in enumerate(CASES[:20]):
        net = _build(case, loss, output)
        record = explain_step(net)
        for name in net.parameter_names():
            total = sum(chain.value for chain in record.chains[name])
            assert total == pytest.approx(record.values[f"dL/d{name}"], rel=1e-12, abs=1e-15), name


def test_no_overflow_for_huge_pre_activations() -> None:
    """σ, softplus, softmax and the cross-entropies give the right numbers, without warnings, for |z| up to 1e4."""
    z = np.array([[-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4]])
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    for name in ("sigmoid", "softplus", "softmax", "tanh", "elu", "selu", "swish", "gelu"):
        act = ACTIVATIONS[name]
        a = act.value(z, act.alpha or 0.0)
        # torch's own stable form for softplus (the helper's log1p(exp(z)) overflows past z ≈ 710)
        at = (
            torch.logaddexp(zt, torch.zeros_like(zt))
            if name == "softplus"
            else torch_activation(name, zt, act.alpha or 0.0)
        )
        np.testing.assert_allclose(a, at.detach().numpy(), rtol=1e-12, atol=1e-300, err_msg=name)
        if act.elementwise:  # the derivative, against autograd's
            (grad,) = torch.autograd.grad(at.sum(), zt)
            np.testing.assert_allclose(act.derivative(z, a, act.alpha or 0.0), grad.numpy(), rtol=1e-12, err_msg=name)
    for loss, activation in (("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid")):
        doc = {
            "inputs": 1,
            "loss": loss,
            "layers": [{"units": 2, "activation": activation, "weights": [[1e4], [-1e4]]}],
            "examples": [{"x": [1.0], "y": [0.0, 1.0]}],
        }
        net = netfile.from_dict(doc)
        fwd = net.forward(net.x)
        # z = (1e4, −1e4) against y = (0, 1): both outputs wrong by 1e4 in the logit, so L = 2e4, ∂L/∂z = ŷ − y = (1, −1)
        assert net.batch_loss(fwd, net.y) == 2e4, loss
        assert net.gradients(net.backward(fwd, net.y)) == {"w1": 1.0, "w2": -1.0}, loss
