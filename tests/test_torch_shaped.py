"""PyTorch and shaped networks (#26): from_torch takes an nn.Sequential of Conv2d, MaxPool2d,
AvgPool2d, BatchNorm1d/2d, Flatten, Linear and activations; one plain SGD step of the engine on the
Model it gives equals PyTorch autograd's step to 1e-10 on every parameter and running statistic,
compared through to_torch's state_dict, whose keys are the original's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from chainrule.engine.model import Model
from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.io import loader, modelfile
from chainrule.io.torch import from_torch, to_torch
from chainrule.io.torchfile import load_pt, save_pt
from helpers import torch_loss
from test_modelfile import random_document

nn = torch.nn
HIDDEN = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": lambda: nn.LeakyReLU(0.1),
    "elu": nn.ELU,
    "swish": nn.SiLU,
    "gelu": nn.GELU,
    "softplus": lambda: nn.Softplus(threshold=40.0),
}
OUTPUT = {"cross_entropy": lambda: nn.Softmax(dim=-1), "binary_cross_entropy": nn.Sigmoid, "mse": None}
F64 = torch.float64


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Tiny tensors: PyTorch's thread pool only costs time here (tens of ms a call on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# After batchnorm, an activation smooth at 0: where every example gives a layer the same value (a
# ReLU dead for the whole batch), batchnorm's x̂ is rounding noise around 0, and a kink there would
# compare two libraries' rounding rather than their derivatives.
SMOOTH = ["tanh", "sigmoid", "swish", "gelu", "softplus"]


def _maybe_activation(rng: np.random.Generator, modules: list[nn.Module], chance: float) -> None:
    if rng.random() < chance:
        after_norm = isinstance(modules[-1], nn.BatchNorm1d | nn.BatchNorm2d)
        modules.append(HIDDEN[str(rng.choice(SMOOTH if after_norm else list(HIDDEN)))]())


def _conv_block(rng: np.random.Generator, shape: list[int], modules: list[nn.Module]) -> list[int]:
    """Conv2d (random kernel, stride, padding), perhaps BatchNorm2d, an activation, a pool."""
    c, h, w = shape
    kh, kw = (int(rng.integers(1, min(3, n) + 1)) for n in (h, w))
    # Padding below the kernel's size, so that no window is padding alone: a value that is the same
    # for every example would give batchnorm a variance of 0, and its x̂ would be rounding noise.
    pad = (int(rng.integers(0, 2)) if kh > 1 else 0, int(rng.integers(0, 2)) if kw > 1 else 0)
    stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    out = int(rng.integers(1, 4))
    modules.append(nn.Conv2d(c, out, (kh, kw), stride, pad, bias=bool(rng.random() < 0.8), dtype=F64))
    h, w = (h + 2 * pad[0] - kh) // stride[0] + 1, (w + 2 * pad[1] - kw) // stride[1] + 1
    if rng.random() < 0.4:
        modules.append(nn.BatchNorm2d(out, momentum=float(rng.choice([0.1, 0.3])), dtype=F64))
    _maybe_activation(rng, modules, 0.7)
    if rng.random() < 0.6:
        k = int(rng.integers(1, min(2, h, w) + 1))
        s, p = int(rng.integers(1, 3)), int(rng.integers(0, k // 2 + 1))
        pool = nn.MaxPool2d if rng.random() < 0.5 else nn.AvgPool2d
        modules.append(pool(k, s, p))
        h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return [out, h, w]


def random_sequential(seed: int, loss: str) -> tuple[nn.Sequential, tuple[int, ...], int]:
    """A random nn.Sequential for images, its input shape and its output count."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    shape = [int(rng.integers(1, 4)), int(rng.integers(3, 9)), int(rng.integers(3, 9))]
    input_shape = tuple(shape)
    modules: list[nn.Module] = []
    for _ in range(int(rng.integers(1, 3))):
        shape = _conv_block(rng, shape, modules)
    modules.append(nn.Flatten())
    features = shape[0] * shape[1] * shape[2]
    if rng.random() < 0.5:
        hidden = int(rng.integers(2, 6))
        modules.append(nn.Linear(features, hidden, dtype=F64))
        if rng.random() < 0.5:
            modules.append(nn.BatchNorm1d(hidden, dtype=F64))
        _maybe_activation(rng, modules, 0.8)
        features = hidden
    outputs = int(rng.integers(2 if loss == "cross_entropy" else 1, 4))
    modules.append(nn.Linear(features, outputs, dtype=F64))
    if OUTPUT[loss] is not None:
        modules.append(OUTPUT[loss]())  # type: ignore[misc]
    return nn.Sequential(*modules), input_shape, outputs


def _targets(rng: np.random.Generator, loss: str, n: int, outputs: int) -> np.ndarray:
    if loss == "cross_entropy":
        return np.eye(outputs)[rng.integers(0, outputs, n)]
    if loss == "binary_cross_entropy":
        return rng.random((n, outputs))
    return rng.normal(size=(n, outputs))


def _torch_sgd(model: nn.Sequential, x: np.ndarray, y: np.ndarray, loss: str, lr: float, reduction: str) -> None:
    """PyTorch's step: autograd on the batch loss (sum or mean of the per-example losses), then θ −= η g."""
    model.train()
    per_example = torch_loss(loss, model(torch.from_numpy(x)), torch.from_numpy(y))
    (per_example.mean() if reduction == "mean" else per_example.sum()).backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad


@given(seed=st.integers(0, 2**32 - 1), loss=st.sampled_from(sorted(OUTPUT)), reduction=st.sampled_from(["sum", "mean"]))
def test_one_sgd_step_equals_pytorch_autograd(seed: int, loss: str, reduction: str) -> None:
    model, input_shape, outputs = random_sequential(seed, loss)
    rng = np.random.default_rng(seed + 1)
    n = int(rng.integers(2, 6))
    x, y = rng.normal(size=(n, *input_shape)), _targets(rng, loss, n, outputs)
    lr = float(rng.choice([0.01, 0.1, 0.5]))
    net = from_torch(copy.deepcopy(model), loss=loss, x=x, y=y, learning_rate=lr, batch="full", reduction=reduction)
    assert isinstance(net, Model)
    kinds = [type(m).__name__ for m in model if type(m).__name__ in ("Conv2d", "Linear", "Flatten")]
    assert [op.kind for op in net.ops if op.kind in ("conv2d", "dense", "flatten")] == [
        {"Conv2d": "conv2d", "Linear": "dense", "Flatten": "flatten"}[k] for k in kinds
    ]
    net2 = net.updated(net.backward(net.forward(net.x), net.y))
    _torch_sgd(model, x, y, loss, lr, reduction)
    ours, theirs = to_torch(net2).state_dict(), model.state_dict()
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        if key.endswith("num_batches_tracked"):
            continue
        np.testing.assert_allclose(ours[key].numpy(), value.numpy(), rtol=1e-10, atol=1e-10, err_msg=key)


def test_to_torch_keeps_the_module_positions_of_the_original() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, dtype=F64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2, 3, dtype=F64),
        nn.BatchNorm1d(3, dtype=F64),
        nn.Tanh(),
        nn.Linear(3, 2, dtype=F64),
        nn.Softmax(dim=-1),
    )
    net = from_torch(model, loss="cross_entropy", input_shape=(1, 4, 4))
    back = to_torch(net)
    assert list(back.state_dict()) == list(model.state_dict())
    assert [type(m).__name__ for m in back] == [type(m).__name__ for m in model]
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(3, 1, 4, 4)))
    model.eval(), back.eval()
    np.testing.assert_allclose(back(x).detach().numpy(), model(x).detach().numpy(), rtol=1e-13, atol=1e-13)


def test_an_all_linear_sequential_stays_a_network_and_takes_the_new_keywords() -> None:
    model = nn.Sequential(nn.Linear(2, 2, dtype=F64), nn.Tanh(), nn.Linear(2, 1, dtype=F64), nn.Sigmoid())
    x, y = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[1.0], [0.0]])
    net = from_torch(model, loss="binary_cross_entropy", x=x, y=y, learning_rate=0.25, batch=2, reduction="sum")
    assert isinstance(net, Network)
    assert (net.training.learning_rate, net.training.batch, net.training.reduction) == (0.25, 2, "sum")
    np.testing.assert_array_equal(net.x, x)
    np.testing.assert_array_equal(net.y, y)


def test_class_indices_become_one_hot_targets_for_cross_entropy() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, dtype=F64), nn.Softmax(dim=-1))
    net = from_torch(model, loss="cross_entropy", x=np.zeros((2, 1, 2, 2)), y=np.array([2, 0]))
    np.testing.assert_array_equal(net.y, [[0, 0, 1], [1, 0, 0]])


@pytest.mark.parametrize(
    ("modules", "said"),
    [
        ([nn.Conv2d(1, 1, 2, dilation=2), nn.Flatten()], "module 0 (Conv2d): expected Conv2d with dilation 1"),
        ([nn.Conv2d(1, 1, 2), nn.Dropout(), nn.Flatten()], "module 1 (Dropout): expected one of Linear, Conv2d"),
        ([nn.ReLU(), nn.Conv2d(1, 1, 2)], "module 0 (ReLU): expected a layer module"),
        ([nn.Conv2d(1, 1, 2), nn.ReLU(), nn.Tanh()], "module 2 (Tanh): expected a layer module"),
        ([nn.MaxPool2d(2, ceil_mode=True), nn.Flatten()], "module 0 (MaxPool2d): expected MaxPool2d with dilation 1"),
        ([nn.AvgPool2d(2, count_include_pad=False)], "module 0 (AvgPool2d): expected AvgPool2d with"),
        ([nn.BatchNorm2d(1, affine=False)], "module 0 (BatchNorm2d): expected BatchNorm with affine=True"),
        ([nn.Flatten(0)], "module 0 (Flatten): expected Flatten(start_dim=1, end_dim=-1)"),
        ([nn.Conv2d(1, 1, 2), nn.PReLU()], "module 1 (PReLU): expected an activation without a learnt α"),
    ],
)
def test_a_module_it_cannot_take_is_named_with_its_position(modules: list[nn.Module], said: str) -> None:
    with pytest.raises(ChainruleError) as caught:
        from_torch(nn.Sequential(*modules), input_shape=(1, 4, 4))
    assert str(caught.value).startswith(said)
    assert "\n" not in str(caught.value)


def test_a_shape_that_does_not_fit_names_both_layers() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3, dtype=F64), nn.Flatten(), nn.Linear(5, 1, dtype=F64))
    with pytest.raises(ChainruleError) as caught:
        from_torch(model, input_shape=(1, 4, 4))
    assert "layers[2].weights" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_pt_file_carries_a_model(tmp_path: Path) -> None:
    import chainrule

    net = chainrule.load("conv")
    assert isinstance(net, Model)
    path = tmp_path / "conv.pt"
    save_pt(net, path)
    back = load_pt(path)
    assert isinstance(back, Model)
    for name, value in net.parameters().items():
        np.testing.assert_array_equal(back.parameters()[name], value)
    np.testing.assert_array_equal(back.x, net.x)


@given(seed=st.integers(0, 2**32 - 1))
def test_to_torch_of_any_file_computes_what_the_engine_computes(seed: int) -> None:
    """Every layer type (rnn and residual blocks as chainrule's own modules), in training mode
    (batchnorm on the batch) and in prediction (on its running statistics)."""
    doc = random_document(seed)
    doc["training"]["dtype"] = "float64"
    model = modelfile.from_dict(doc)
    module = to_torch(model)
    for training in (False, True):  # prediction first: a training pass moves the running statistics
        module.train(training)
        out = module(torch.from_numpy(model.x)).detach().numpy()
        np.testing.assert_allclose(out, model.forward(model.x, training).output, rtol=1e-12, atol=1e-12)


def test_the_rnn_example_goes_to_a_pt_file_and_back(tmp_path: Path) -> None:
    net = loader.load("rnn")
    save_pt(net, tmp_path / "rnn.pt")
    payload = torch.load(tmp_path / "rnn.pt", weights_only=True)
    rnn = ["0.weight_ih_l0", "0.weight_hh_l0", "0.bias_ih_l0", "0.bias_hh_l0"]
    assert list(payload["state_dict"]) == [*rnn, "1.weight", "1.bias"]
    back = load_pt(tmp_path / "rnn.pt")
    assert isinstance(back, Model)
    for name, value in net.parameters().items():
        np.testing.assert_array_equal(back.parameters()[name], value)


def test_a_float32_sequential_comes_back_with_the_same_tensors() -> None:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(2, 3, 2, padding=1), nn.BatchNorm2d(3), nn.ELU(), nn.AvgPool2d(2), nn.Flatten())
    model.append(nn.Linear(12, 2))
    net = from_torch(model, input_shape=(2, 3, 3))
    assert isinstance(net, Model) and net.training.dtype == "float32"
    assert all(v.dtype == np.float32 for v in net.parameters().values())
    back = to_torch(net).state_dict()
    for key, value in model.state_dict().items():
        assert back[key].dtype == value.dtype and torch.equal(back[key], value), key
