"""The derivations' numbers in the record, against PyTorch autograd in float64: a softmax's whole Jacobian
by name, each output's ∂L/∂z worked through it (the softmax + cross-entropy and sigmoid + BCE shortcut),
the units no gradient flows through, and the mean's 1/N."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.record.step import StepRecord, explain_step
from helpers import CASES, random_document, torch_activation, torch_loss

SOFTMAX = [(loss, out) for loss, out in CASES if out == "softmax"]
FUSED = [("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid")]


def _net(seed: int, loss: str, output: str) -> Network:
    return netfile.from_dict(random_document(np.random.default_rng(seed), loss, output))


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def _output_z(rec: StepRecord, k: int) -> torch.Tensor:
    z = [rec.values[f"z_{n}{rec.suffix(k)}"] for n in rec.output_neurons]
    return torch.tensor(z, dtype=torch.float64)


@pytest.mark.parametrize(("loss", "output"), SOFTMAX)
@pytest.mark.parametrize("seed", range(4))
def test_every_entry_of_the_softmax_jacobian_is_in_the_record_by_name(loss: str, output: str, seed: int) -> None:
    net = _net(seed, loss, output)
    rec = explain_step(net)
    names = rec.output_neurons
    for k in range(len(rec.examples)):
        jac = torch.autograd.functional.jacobian(lambda z: torch_activation("softmax", z, 0.0), _output_z(rec, k))
        for j, nj in enumerate(names):  # ∂a_j/∂z_i, off the diagonal too
            for i, ni in enumerate(names):
                assert _close(rec.values[f"da_{nj}/dz_{ni}{rec.suffix(k)}"], float(jac[j, i]))


@pytest.mark.parametrize(("loss", "output"), sorted({*SOFTMAX, *FUSED}))
@pytest.mark.parametrize("seed", range(4))
def test_each_outputs_dl_dz_worked_through_the_jacobian_is_torchs(loss: str, output: str, seed: int) -> None:
    net = _net(seed, loss, output)
    rec = explain_step(net)
    scale = rec.mean_factor
    assert scale == (1 / len(rec.examples) if net.training.reduction == "mean" else 1.0)
    y = torch.tensor(net.y[list(rec.examples)], dtype=torch.float64)
    chains = {(c.neuron, c.suffix): c for c in rec.output_chains}
    assert len(chains) == len(rec.examples) * len(rec.output_neurons)
    for k in range(len(rec.examples)):
        z = _output_z(rec, k).requires_grad_(True)
        loss_k = scale * torch_loss(loss, torch_activation(output, z, 0.0)[None, :], y[k : k + 1])[0]
        (grad,) = torch.autograd.grad(loss_k, z)
        for i, n in enumerate(rec.output_neurons):
            chain = chains[n, rec.suffix(k)]
            assert chain.shortcut == ((loss, output) in FUSED)
            for d_a, d_j, product in chain.terms:
                assert product == rec.values[d_a] * rec.values[d_j]
            assert _close(chain.total, float(grad[i]))
            assert _close(rec.values[f"dL/dz_{n}{rec.suffix(k)}"], float(grad[i]))


def test_a_relu_unit_that_is_negative_on_every_example_is_listed_dead_and_gets_no_gradient() -> None:
    doc = {
        "inputs": 2,
        "loss": "half_squared_error",
        "layers": [
            {"units": 3, "activation": "relu", "weights": [[0.5, 0.1], [-1, -2], [0.3, -0.3]], "bias": [0, -0.5, 0]},
            {"units": 1, "activation": "identity", "weights": [[0.4, 0.6, 0.2]], "bias": 0.1},
        ],
        "examples": [{"x": [1, 2], "y": [1]}, {"x": [2, 1], "y": [0]}],
        "training": {"batch": "full"},
    }
    net = netfile.from_dict(doc)
    rec = explain_step(net)
    # h2: z = −5.5 and −4.5; h3: z = −0.3 and 0.3 (alive on the second); h1 alive on both
    assert rec.dead == ("h2",)
    assert rec.values["dL/dw3"] == rec.values["dL/dw4"] == rec.values["dL/db_h2"] == 0.0


@pytest.mark.parametrize(("loss", "output"), CASES)
def test_the_dead_units_are_those_torch_sends_no_gradient_through(loss: str, output: str) -> None:
    for seed in range(3):
        net = _net(seed, loss, output)
        rec = explain_step(net)
        for li, layer in enumerate(net.layers):
            if not layer.activation.elementwise:
                continue
            for n in layer.neuron_names:
                zs = torch.tensor(
                    [rec.values[f"z_{n}{rec.suffix(k)}"] for k in range(len(rec.examples))], dtype=torch.float64
                )
                zs.requires_grad_(True)
                (slope,) = torch.autograd.grad(
                    torch_activation(
                        layer.activation.name, zs, torch.tensor([layer.alpha_value()], dtype=torch.float64)
                    ).sum(),
                    zs,
                )
                assert (n in rec.dead) == bool(torch.all(slope == 0)), (li, n)
