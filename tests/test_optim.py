"""Optimizers: the textbook rules by hand, PyTorch's torch.optim in float64, and frozen parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from chainrule.errors import ChainruleError
from chainrule.io import netfile
from chainrule.train.optim import SGD, Adam, RMSProp, Schedule, make_optimizer
from chainrule.train.trainer import TrainConfig, Trainer

GRADS = [np.array([0.5, -1.0]), np.array([0.25, 0.75]), np.array([-0.4, 0.1])]


def run(opt_cls: type, steps: int = 3, **kw: object) -> np.ndarray:
    theta = np.array([1.0, -2.0])
    opt = opt_cls([theta], 0.1, **kw)
    for g in GRADS[:steps]:
        opt.step([g])
    return theta


def test_sgd_is_theta_minus_eta_g() -> None:
    assert np.allclose(run(SGD), [1.0 - 0.1 * 0.35, -2.0 - 0.1 * (-0.15)], rtol=0, atol=1e-15)


def test_momentum_and_nesterov_by_hand() -> None:
    mu, eta = 0.9, 0.1
    theta, theta_n, v = np.array([1.0, -2.0]), np.array([1.0, -2.0]), np.zeros(2)
    for g in GRADS:
        v = mu * v + g
        theta = theta - eta * v
        theta_n = theta_n - eta * (g + mu * v)
    assert np.allclose(run(SGD, momentum=0.9), theta, rtol=0, atol=1e-15)
    assert np.allclose(run(SGD, momentum=0.9, nesterov=True), theta_n, rtol=0, atol=1e-15)


def test_rmsprop_by_hand() -> None:
    theta, s = [1.0, -2.0], [0.0, 0.0]
    for g in GRADS:
        for j in range(2):
            s[j] = 0.99 * s[j] + 0.01 * g[j] ** 2
            theta[j] -= 0.1 * g[j] / (math.sqrt(s[j]) + 1e-8)
    assert np.allclose(run(RMSProp), theta, rtol=0, atol=1e-14)


def test_adam_by_hand() -> None:
    theta, m, v = [1.0, -2.0], [0.0, 0.0], [0.0, 0.0]
    for t, g in enumerate(GRADS, start=1):
        for j in range(2):
            m[j] = 0.9 * m[j] + 0.1 * g[j]
            v[j] = 0.999 * v[j] + 0.001 * g[j] ** 2
            m_hat, v_hat = m[j] / (1 - 0.9**t), v[j] / (1 - 0.999**t)
            theta[j] -= 0.1 * m_hat / (math.sqrt(v_hat) + 1e-8)
    assert np.allclose(run(Adam), theta, rtol=0, atol=1e-14)
    # Adam's first step moves each parameter by η·sign(g) (up to ε), whatever the gradient's size.
    assert np.allclose(run(Adam, steps=1), [1.0 - 0.1, -2.0 + 0.1], rtol=0, atol=1e-8)


def test_weight_decay_adds_lambda_theta_to_the_gradient() -> None:
    assert np.allclose(run(SGD, steps=1, weight_decay=0.01), [1.0 - 0.1 * (0.5 + 0.01), -2.0 - 0.1 * (-1.0 - 0.02)])


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "rmsprop", "adam"])
def test_frozen_parameters_never_change(name: str) -> None:
    net = netfile.load()
    net.training.freeze = ("w1", "w6", "b2")
    before = net.parameters()
    result = Trainer(net, net.x, net.y, TrainConfig(epochs=20, optimizer=name, weight_decay=0.1)).run()
    after = result.network.parameters()
    for key in ("w1", "w6", "b2"):
        assert after[key] == before[key]
    assert after["w2"] != before["w2"] and after["w5"] != before["w5"]


def test_bad_settings_say_which() -> None:
    net = netfile.load()
    with pytest.raises(ChainruleError, match="learning rate"):
        make_optimizer("adam", net, 0.0)
    with pytest.raises(ChainruleError, match="--optimizer"):
        make_optimizer("adagrad", net, 0.1)
    with pytest.raises(ChainruleError, match="--schedule"):
        Schedule("linear")  # type: ignore[arg-type]


def test_schedules() -> None:
    step = Schedule("step", every=10, gamma=0.5)
    assert [step.rate(0.8, e, 100) for e in (0, 9, 10, 25)] == [0.8, 0.8, 0.4, 0.2]
    cosine = Schedule("cosine", min_lr=0.1)
    assert cosine.rate(1.0, 0, 100) == 1.0
    assert cosine.rate(1.0, 50, 100) == pytest.approx(0.55, abs=1e-15)
    assert cosine.rate(1.0, 100, 100) == pytest.approx(0.1, abs=1e-15)


# -- parity with torch.optim on a small network, float64 ----------------------------------------

NET = {
    "inputs": 3,
    "loss": "half_squared_error",
    "layers": [
        {"units": 4, "activation": "tanh", "bias": [0.0] * 4},
        {"units": 2, "activation": "sigmoid", "bias": 0.1},
    ],
    "training": {"learning_rate": 0.05, "batch": "full", "reduction": "mean", "seed": 3},
}

TORCH = {
    "sgd": lambda p, lr, wd: torch.optim.SGD(p, lr=lr, weight_decay=wd),
    "momentum": lambda p, lr, wd: torch.optim.SGD(p, lr=lr, momentum=0.9, weight_decay=wd),
    "nesterov": lambda p, lr, wd: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True, weight_decay=wd),
    "rmsprop": lambda p, lr, wd: torch.optim.RMSprop(p, lr=lr, weight_decay=wd),
    "adam": lambda p, lr, wd: torch.optim.Adam(p, lr=lr, weight_decay=wd),
}


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("name", list(TORCH))
def test_training_matches_torch_optim(name: str, weight_decay: float) -> None:
    net = netfile.from_dict(NET, require_examples=False)
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(6, 3)), rng.uniform(size=(6, 2))
    h, out = net.layers
    tw1 = torch.tensor(h.weight, requires_grad=True)
    tb1 = torch.tensor(h.bias, requires_grad=True)
    tw2 = torch.tensor(out.weight, requires_grad=True)
    tb2 = torch.tensor(out.bias, requires_grad=True)  # one bias shared by both outputs
    opt = TORCH[name]([tw1, tb1, tw2, tb2], 0.05, weight_decay)
    tx, ty = torch.tensor(x), torch.tensor(y)
    for _ in range(5):
        opt.zero_grad()
        a = torch.sigmoid(torch.tanh(tx @ tw1.T + tb1) @ tw2.T + tb2)
        loss = (0.5 * ((ty - a) ** 2).sum(dim=1)).mean()
        loss.backward()
        opt.step()
    config = TrainConfig(epochs=5, optimizer=name, weight_decay=weight_decay)
    trained = Trainer(net, x, y, config).run().network
    h, out = trained.layers
    for ours, theirs in [(h.weight, tw1), (h.bias, tb1), (out.weight, tw2), (out.bias, tb2)]:
        assert np.allclose(ours, theirs.detach().numpy(), rtol=0, atol=1e-10)
    assert not np.allclose(h.weight, net.layers[0].weight, atol=1e-3)  # it did train


@pytest.mark.parametrize(
    "training",
    [
        {"optimizer": "adam", "beta1": 0.5, "beta2": 0.9, "eps": 1e-3},
        {"optimizer": "rmsprop", "rho": 0.5, "eps": 1e-4},
        {"optimizer": "nesterov", "momentum": 0.3},
        {"optimizer": "momentum"},
        {"optimizer": "sgd"},
    ],
)
def test_the_trainers_optimizer_carries_the_files_settings(training: dict) -> None:
    """The one Settings the file gives is what the trainer's optimizer reports (and hands to the
    torch backend and the generated script), and its state keys are the one table's."""
    from chainrule.engine.optimizers import STATE

    doc = netfile.read_document(netfile.example_path("xor.toml"))
    doc["training"] = doc.get("training", {}) | training
    net = netfile.from_dict(doc)
    trainer = Trainer(net, net.x, net.y, TrainConfig(epochs=1))
    assert trainer.optimizer.settings == net.training.optimizer
    assert tuple(trainer.optimizer.state) == tuple(s.saved for s in STATE[training["optimizer"]])
