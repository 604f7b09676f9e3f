"""What the shaped-network tests share: each op as the PyTorch module it mirrors, and the checks
every op passes (forward and backward against torch autograd and central finite differences).

Imported only by test files that compare with PyTorch (torch is installed in CI)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from chainrule.engine.activations import ACTIVATIONS, Activation, Array
from chainrule.engine.layers.base import Op
from helpers import torch_activation

torch.set_default_dtype(torch.float64)

# Activations an op may carry (softmax only where a test asks for it: it is not element-wise).
ELEMENTWISE = sorted({a.name for a in ACTIVATIONS.values() if a.elementwise and a.name != "binary_step"})
TOLERANCE = 1e-10


class TorchActivation(nn.Module):
    """An op's activation, by PyTorch's own functions (tests/helpers.torch_activation)."""

    def __init__(self, act: Activation) -> None:
        super().__init__()
        self.act = act

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        alpha = float(self.act.alpha or 0.0)
        return torch_activation(self.act.name, z, torch.tensor([alpha]) if self.act.name == "prelu" else alpha)


def _tensor(array: Array) -> nn.Parameter:
    return nn.Parameter(torch.tensor(np.asarray(array, dtype=np.float64)))


def _dense(op: Op) -> nn.Module:
    w = op.params()["weight"]
    module = nn.Linear(w.shape[1], w.shape[0], bias="bias" in op.params())
    return _load(module, op)


def _load(module: nn.Module, op: Op) -> nn.Module:
    """The op's tensors and buffers copied into the module by their state_dict names."""
    state = {role: torch.tensor(np.asarray(value, dtype=np.float64)) for role, value in op.params().items()}
    state |= {role: torch.tensor(np.asarray(value, dtype=np.float64)) for role, value in op.buffers().items()}
    missing, unexpected = module.load_state_dict(state, strict=False)
    assert not unexpected and set(missing) <= {"num_batches_tracked"}, (missing, unexpected)
    return module.double()


def _conv(op: Op) -> nn.Module:
    w = op.params()["weight"]
    stride, padding = op.stride, op.padding  # type: ignore[attr-defined]
    module = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2:], stride, padding, bias="bias" in op.params())
    return _load(module, op)


class TorchBatchNorm(nn.BatchNorm1d):
    """nn.BatchNorm1d that also takes (n, C, H, W), which is all BatchNorm2d adds (one forward)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        assert input.dim() in (2, 3, 4)


def _batchnorm(op: Op) -> nn.Module:
    module = TorchBatchNorm(op.params()["weight"].shape[0], op.eps, op.momentum)  # type: ignore[attr-defined]
    return _load(module, op)


class TorchResidual(nn.Module):
    """inner(x) + x, the inner ops each as `torch_module` makes them."""

    def __init__(self, op: Op) -> None:
        super().__init__()
        self.inner = nn.Sequential(*[torch_module(inner) for inner in op.inner])  # type: ignore[attr-defined]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x) + x


MODULES: dict[str, Callable[[Op], nn.Module]] = {
    "residual": TorchResidual,
    "batchnorm": _batchnorm,
    "maxpool2d": lambda op: nn.MaxPool2d(op.kernel, op.steps, op.padding),  # type: ignore[attr-defined]
    "avgpool2d": lambda op: nn.AvgPool2d(op.kernel, op.steps, op.padding),  # type: ignore[attr-defined]
    "dense": _dense,
    "conv2d": _conv,
    "flatten": lambda _op: nn.Flatten(),
}


def torch_module(op: Op) -> nn.Module:
    """The op (its map, then its activation) as a PyTorch module holding copies of its tensors."""
    return nn.Sequential(MODULES[op.kind](op), TorchActivation(op.activation))


def roles(op: Op, module: nn.Module) -> dict[str, nn.Parameter]:
    """The parameters of `torch_module(op)` by the op's roles (a residual's inner ``<k>.<role>``)."""
    if op.kind != "residual":
        return dict(module[0].named_parameters())
    found: dict[str, nn.Parameter] = {}
    for k, (inner, inner_module) in enumerate(zip(op.inner, module[0].inner, strict=True)):  # type: ignore[attr-defined]
        found |= {f"{k}.{role}": p for role, p in roles(inner, inner_module).items()}
    return found


def torch_grads(op: Op, x: Array, upstream: Array, training: bool = True) -> tuple[Array, Array, dict[str, Array]]:
    """PyTorch's output, ∂L/∂x and ∂L/∂param (by role) for L = Σ upstream ⊙ op(x)."""
    module = torch_module(op)
    module.train(training)
    tx = torch.tensor(x, requires_grad=True)
    out = module(tx)
    (out * torch.tensor(upstream)).sum().backward()
    grads = {role: p.grad.numpy() for role, p in roles(op, module).items() if p.grad is not None}
    assert tx.grad is not None
    return out.detach().numpy(), tx.grad.numpy(), grads


def assert_op_matches_torch(op: Op, x: Array, rng: np.random.Generator, training: bool = True) -> None:
    """Forward and backward of one op equal PyTorch autograd's to 1e-10 (relative to their size)."""
    cache = op.forward(x, training)
    upstream = rng.normal(size=cache.a.shape)
    d_x, d_params = op.backward(upstream, cache)
    out, t_dx, t_grads = torch_grads(op, x, upstream, training)
    assert_close(cache.a, out)
    assert_close(d_x, t_dx)
    assert set(d_params) == set(op.params()) == set(t_grads)
    for role, grad in d_params.items():
        assert grad.shape == op.params()[role].shape
        assert_close(grad, t_grads[role])


def assert_close(ours: Array, theirs: Array, tol: float = TOLERANCE) -> None:
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    scale = max(1.0, float(np.max(np.abs(theirs), initial=0.0)))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=tol * scale)


def assert_op_matches_differences(op: Op, x: Array, rng: np.random.Generator, h: float = 1e-6) -> None:
    """The backward's ∂L/∂x and ∂L/∂θ, along random directions, equal central finite differences
    of L = Σ upstream ⊙ op(x) (a directional derivative checks every element at once)."""
    cache = op.forward(x)
    upstream = rng.normal(size=cache.a.shape)
    d_x, d_params = op.backward(upstream, cache)

    def loss(candidate: Op, inputs: Array) -> float:
        return float(np.sum(upstream * candidate.forward(inputs).a))

    v = rng.normal(size=x.shape)
    numeric = (loss(op, x + h * v) - loss(op, x - h * v)) / (2 * h)
    _assert_directional(float(np.sum(d_x * v)), numeric)
    for role, theta in op.params().items():
        v = rng.normal(size=theta.shape)
        plus = op.with_params({**op.params(), role: theta + h * v})
        minus = op.with_params({**op.params(), role: theta - h * v})
        numeric = (loss(plus, x) - loss(minus, x)) / (2 * h)
        _assert_directional(float(np.sum(d_params[role] * v)), numeric)


def _assert_directional(analytic: float, numeric: float) -> None:
    assert abs(analytic - numeric) <= 1e-5 * max(1.0, abs(numeric)), (analytic, numeric)


# -- whole models ------------------------------------------------------------------------------

TARGETS: dict[str, str] = {  # each loss and the output activation it is used with
    "cross_entropy": "softmax",
    "binary_cross_entropy": "sigmoid",
    "mse": "identity",
    "half_squared_error": "tanh",
}


def targets(rng: np.random.Generator, loss: str, n: int, m: int) -> Array:
    """Targets a loss expects: one-hot classes, 0/1 labels, or real values."""
    if loss == "cross_entropy":
        return np.eye(m)[rng.integers(0, m, size=n)]
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, size=(n, m)).astype(np.float64)
    return rng.normal(size=(n, m))


def torch_model(ops: list[Op]) -> nn.Sequential:
    return nn.Sequential(*[torch_module(op) for op in ops])


def torch_parameters(model: nn.Sequential, ops: list[Op]) -> dict[str, nn.Parameter]:
    """The torch model's parameters by the chainrule tensor names of the ops they mirror."""
    found: dict[str, nn.Parameter] = {}
    for op, module in zip(ops, model, strict=True):
        names = op.tensor_names()
        for role, parameter in roles(op, module).items():
            found[names[role]] = parameter
    return found


def torch_batch_loss(model: nn.Sequential, loss: str, x: Array, y: Array, reduction: str) -> torch.Tensor:
    from helpers import torch_loss

    losses = torch_loss(loss, model(torch.tensor(x)), torch.tensor(y))
    return losses.mean() if reduction == "mean" else losses.sum()
