"""A recurrent layer in a shaped network (engine.model.Model): RNN → (Flatten →) dense layers → an output with
each loss, one step of plain SGD, against the same network in PyTorch (nn.RNN, nn.Linear, torch.optim.SGD)."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from chainrule.engine.activations import ACTIVATIONS
from chainrule.engine.functions import LOSSES
from chainrule.engine.layers.base import Op
from chainrule.engine.layers.dense import Dense
from chainrule.engine.layers.flatten import Flatten
from chainrule.engine.layers.recurrent import RNN
from chainrule.engine.model import Model
from chainrule.engine.network import Training
from helpers import CASES
from shaped import ELEMENTWISE, assert_close, torch_batch_loss, torch_module


class TorchRNN(nn.Module):
    """torch.nn.RNN with the op's tensors, giving every state or the last, as the op does."""

    def __init__(self, op: RNN) -> None:
        super().__init__()
        self.output = op.output
        self.rnn = nn.RNN(op.features, op.units, nonlinearity=op.activation.name, batch_first=True)
        self.rnn.load_state_dict({role: torch.tensor(array) for role, array in op.params().items()})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states, _ = self.rnn(x)
        return states if self.output == "all" else states[:, -1]


def _torch_layer(op: Op) -> nn.Module:
    return TorchRNN(op) if isinstance(op, RNN) else torch_module(op)


def _targets(rng: np.random.Generator, loss: str, n: int, outputs: int) -> np.ndarray:
    """What each loss expects: class probabilities, 0–1 labels, ±1 (one hinge output) or one-hot, reals."""
    if loss == "cross_entropy":
        return rng.dirichlet(np.ones(outputs), n)
    if loss == "binary_cross_entropy":
        return rng.uniform(0, 1, (n, outputs))
    if loss == "hinge":
        return rng.choice([-1.0, 1.0], (n, 1)) if outputs == 1 else np.eye(outputs)[rng.integers(0, outputs, n)]
    return rng.normal(size=(n, outputs))


def random_model(rng: np.random.Generator, loss: str, output: str) -> Model:
    """An RNN (tanh or ReLU; its last state, or every state flattened) then 0–2 hidden dense layers with odd
    names and random activations, then an output layer with `output` for `loss`; 1–4 sequences of 1–5 steps."""
    steps, features, units = (int(v) for v in rng.integers(1, 6, size=3))
    states = str(rng.choice(["last", "all"]))
    activation = str(rng.choice(["tanh", "relu"]))
    rnn = RNN.initial("r€c", features, units, rng, activation=activation, output=states)  # type: ignore[arg-type]
    ops: list[Op] = [rnn] if states == "last" else [rnn, Flatten("flat")]
    fan_in = units if states == "last" else steps * units
    for k in range(int(rng.integers(0, 3))):
        width = int(rng.integers(1, 5))
        hidden = ACTIVATIONS[str(rng.choice(ELEMENTWISE))]
        ops.append(Dense(f"h{k} ü", rng.normal(size=(width, fan_in)), rng.normal(size=width), hidden))
        fan_in = width
    outputs = int(rng.integers(2, 4)) if output == "softmax" or loss == "cross_entropy" else int(rng.integers(1, 4))
    ops.append(Dense("out", rng.normal(size=(outputs, fan_in)), rng.normal(size=outputs), ACTIVATIONS[output]))
    n = int(rng.integers(1, 5))
    x = rng.normal(size=(n, steps, features))
    training = Training(learning_rate=0.3, reduction=str(rng.choice(["mean", "sum"])))  # type: ignore[arg-type]
    return Model("rnn", (steps, features), ops, LOSSES[loss], x, _targets(rng, loss, n, outputs), training)


@settings(max_examples=30)
@given(st.integers(0, 2**32 - 1), st.sampled_from(CASES))
def test_sgd_steps_through_an_rnn_equal_torch(seed: int, case: tuple[str, str]) -> None:
    """Every loss with each output activation it allows; two steps of plain SGD, each compared."""
    loss, output = case
    model = random_model(np.random.default_rng(seed), loss, output)
    torch_net = nn.Sequential(*[_torch_layer(op) for op in model.ops])
    optimizer = torch.optim.SGD(torch_net.parameters(), lr=model.training.learning_rate)
    # torch's parameters in op order and, within an op, in the op's role order (nn.RNN's own state_dict order)
    t_params = [p for module in torch_net for p in module.parameters()]
    names = list(model.parameters())
    assert len(t_params) == len(names)
    for _ in range(2):
        fwd = model.forward(model.x)
        back = model.backward(fwd, model.y)
        optimizer.zero_grad()
        t_loss = torch_batch_loss(torch_net, loss, model.x, model.y, model.training.reduction)
        t_loss.backward()
        assert abs(back.loss - t_loss.item()) <= 1e-10 * max(1.0, abs(t_loss.item()))
        assert_close(fwd.output, torch_net(torch.tensor(model.x)).detach().numpy())
        grads = model.gradients(back)
        for name, p in zip(names, t_params, strict=True):
            assert p.grad is not None
            assert_close(grads[name], p.grad.numpy())
        optimizer.step()
        model = model.updated(back)
        for name, p in zip(names, t_params, strict=True):
            assert_close(model.parameters()[name], p.detach().numpy())
    rnn = model.ops[0]
    assert isinstance(rnn, RNN) and names[:4] == [f"{prefix}_r€c" for prefix in ("Wx", "Wh", "bx", "bh")]
    # The model hands the RNN its ∂L/∂a whole (its activation is inside its map): the op's BPTT gives the
    # model's ∂L/∂input and every ∂L/∂θ of the layer, and its cache keeps every step's z_t.
    fwd = model.forward(model.x)
    back = model.backward(fwd, model.y)
    bptt = rnn.through_time(back.d_a[0], fwd.caches[0])
    assert fwd.caches[0].z.shape == (len(model.x), *model.input_shape[:1], rnn.units)
    np.testing.assert_array_equal(back.d_z[0], back.d_a[0])
    np.testing.assert_array_equal(back.d_x[0], bptt.d_x)
    for role, grad in bptt.gradients().items():
        np.testing.assert_array_equal(back.d_params[0][role], grad)
