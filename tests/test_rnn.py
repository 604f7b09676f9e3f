"""The recurrent layer: forward and backpropagation through time against torch.nn.RNN and central differences."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from chainrule.engine.activations import ACTIVATIONS
from chainrule.engine.layers.recurrent import RNN, ROLES
from chainrule.errors import ChainruleError


@dataclass
class Case:
    """A random layer, a batch of sequences, the upstream gradient G (L = Σ a ⊙ G, so ∂L/∂a = G) and the
    initial states h_0 the sequences start from (the layer's own, or one per example)."""

    rnn: RNN
    x: np.ndarray
    g: np.ndarray
    h0: np.ndarray


def _case(seed: int, activation: str, output: str, h0: str = "zeros") -> Case:
    rng = np.random.default_rng(seed)
    n, steps, features, units = (int(rng.integers(1, hi)) for hi in (5, 6, 5, 6))
    rnn = RNN.initial("r", features, units, rng, activation=activation, output=output)  # type: ignore[arg-type]
    if h0 == "shared":
        rnn = RNN(rnn.name, rnn.activation, *rnn.params().values(), output=rnn.output, h0=rng.normal(size=units))
    x = rng.normal(size=(n, steps, features)) * 1.5
    shape = (n, steps, units) if output == "all" else (n, units)
    start = rng.normal(size=(n, units)) if h0 == "each" else rnn.initial_state(n)
    return Case(rnn, x, rng.normal(size=shape), start)


def _torch(case: Case) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """torch.nn.RNN on the same weights: its output, ∂L/∂x, ∂L/∂param by state_dict key and ∂L/∂h0."""
    rnn = case.rnn
    module = torch.nn.RNN(
        rnn.features, rnn.units, nonlinearity=rnn.activation.name, batch_first=True, dtype=torch.float64
    )
    module.load_state_dict({role: torch.tensor(array) for role, array in rnn.params().items()})
    x = torch.tensor(case.x, requires_grad=True)
    h0 = torch.tensor(case.h0[None], requires_grad=True)
    states, _ = module(x, h0)
    out = states if rnn.output == "all" else states[:, -1]
    (out * torch.tensor(case.g)).sum().backward()
    grads = {name: p.grad.numpy() for name, p in module.named_parameters()}
    return out.detach().numpy(), x.grad.numpy(), grads, h0.grad.numpy()[0]  # type: ignore[union-attr]


@given(
    seed=st.integers(0, 2**32 - 1),
    activation=st.sampled_from(["tanh", "relu"]),
    output=st.sampled_from(["all", "last"]),
    h0=st.sampled_from(["zeros", "shared", "each"]),
)
def test_forward_and_bptt_equal_torch_rnn_to_1e_10(seed: int, activation: str, output: str, h0: str) -> None:
    case = _case(seed, activation, output, h0)
    out, d_x_torch, grads_torch, d_h0_torch = _torch(case)
    cache = case.rnn.forward(case.x) if h0 != "each" else case.rnn.forward_from(case.x, case.h0)
    assert cache.a.shape == (len(case.x), *case.rnn.out_shape(case.x.shape[1:]))
    np.testing.assert_allclose(cache.a, out, rtol=0, atol=1e-10)
    d_x, grads = case.rnn.backward(case.g, cache)
    np.testing.assert_allclose(d_x, d_x_torch, rtol=0, atol=1e-10)
    assert list(grads) == list(ROLES) == list(grads_torch)
    for role in ROLES:
        np.testing.assert_allclose(grads[role], grads_torch[role], rtol=0, atol=1e-10, err_msg=role)
    np.testing.assert_allclose(case.rnn.through_time(case.g, cache).d_h0, d_h0_torch, rtol=0, atol=1e-10)


def _loss(rnn: RNN, x: np.ndarray, g: np.ndarray) -> float:
    return float(np.sum(rnn.forward(x).a * g))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("output", ["all", "last"])
@pytest.mark.parametrize("seed", range(4))
def test_every_gradient_equals_central_differences(seed: int, activation: str, output: str) -> None:
    case = _case(100 + seed, activation, output)
    rnn, h = case.rnn, 1e-6
    d_x, grads = rnn.backward(case.g, rnn.forward(case.x))
    for role, array in rnn.params().items():
        for index in np.ndindex(array.shape):
            plus, minus = array.copy(), array.copy()
            plus[index] += h
            minus[index] -= h
            numeric = (
                _loss(rnn.with_params({role: plus}), case.x, case.g)
                - _loss(rnn.with_params({role: minus}), case.x, case.g)
            ) / (2 * h)
            assert grads[role][index] == pytest.approx(numeric, rel=1e-6, abs=1e-8), (role, index)
    for index in np.ndindex(case.x.shape):
        plus, minus = case.x.copy(), case.x.copy()
        plus[index] += h
        minus[index] -= h
        numeric = (_loss(rnn, plus, case.g) - _loss(rnn, minus, case.g)) / (2 * h)
        assert d_x[index] == pytest.approx(numeric, rel=1e-6, abs=1e-8), index


def test_the_gradient_is_the_sum_over_time_not_the_last_step_alone() -> None:
    """BPTT's terms, one per step, add up to the gradient; the last step's term alone (the slip of a
    sum stopped at one step) is a different number whenever the sequence is longer than one step."""
    rng = np.random.default_rng(5)
    rnn = RNN.initial("r", 2, 3, rng)
    x, g = rng.normal(size=(2, 4, 2)), rng.normal(size=(2, 3))
    cache = rnn.forward(x)
    bptt = rnn.through_time(g, cache)
    _, grads = rnn.backward(g, cache)
    for role in ROLES:
        assert bptt.steps[role].shape == (4, *rnn.params()[role].shape)
        np.testing.assert_array_equal(bptt.steps[role].sum(axis=0), grads[role])
        assert np.max(np.abs(bptt.steps[role][-1] - grads[role])) > 1e-3, role
    # ∂L/∂h_t: only the last state has an output of its own; earlier ones hear from their successor only
    np.testing.assert_array_equal(bptt.d_h[:, -1], g)
    np.testing.assert_allclose(bptt.d_h[:, 2], bptt.d_z[:, 3] @ rnn.weight_hh, rtol=0, atol=0)
    np.testing.assert_array_equal(bptt.d_z, bptt.d_h * (1 - cache.extra["h"] ** 2))


def test_shapes_names_and_the_table_it_writes() -> None:
    rnn = RNN.initial("enc", 3, 4, np.random.default_rng(0), activation="relu", output="all")
    assert rnn.kind == "rnn" and rnn.units == 4 and rnn.features == 3
    assert rnn.out_shape((7, 3)) == (7, 4)
    assert RNN.initial("enc", 3, 4, np.random.default_rng(0)).out_shape((7, 3)) == (4,)
    assert rnn.tensor_names() == {
        "weight_ih_l0": "Wx_enc",
        "weight_hh_l0": "Wh_enc",
        "bias_ih_l0": "bx_enc",
        "bias_hh_l0": "bh_enc",
    }
    renamed = RNN(rnn.name, rnn.activation, *rnn.params().values(), renames={"weight_hh_l0": "U"})
    assert renamed.tensor_names()["weight_hh_l0"] == "U" and renamed.tensor_names()["weight_ih_l0"] == "Wx_enc"
    table = rnn.to_dict()
    assert {k: table[k] for k in ("type", "name", "units", "activation", "output")} == {
        "type": "rnn",
        "name": "enc",
        "units": 4,
        "activation": "relu",
        "output": "all",
    }
    assert "h0" not in table
    assert np.array_equal(np.array(table["weight_hh_l0"]), rnn.weight_hh)
    bound = 1 / np.sqrt(4)
    assert all(np.all(np.abs(a) <= bound) for a in rnn.params().values())  # torch.nn.RNN's initial range


def test_with_params_makes_a_new_layer_and_leaves_this_one() -> None:
    rnn = RNN.initial("r", 2, 2, np.random.default_rng(1))
    before = rnn.weight_hh.copy()
    new = rnn.with_params({"weight_hh_l0": np.eye(2)})
    assert np.array_equal(new.weight_hh, np.eye(2)) and np.array_equal(rnn.weight_hh, before)
    assert new.weight_ih is rnn.weight_ih and new.output == rnn.output


def test_a_given_initial_state_starts_the_sequence() -> None:
    rnn = RNN.initial("r", 1, 2, np.random.default_rng(2))
    h0 = np.array([0.5, -0.25])
    started = RNN(rnn.name, rnn.activation, *rnn.params().values(), h0=h0)
    x = np.array([[[1.0]]])
    expected = np.tanh(x[0, 0] @ rnn.weight_ih.T + rnn.bias_ih + h0 @ rnn.weight_hh.T + rnn.bias_hh)
    np.testing.assert_allclose(started.forward(x).a[0], expected, rtol=0, atol=1e-15)
    assert started.to_dict()["h0"] == [0.5, -0.25]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"activation": ACTIVATIONS["sigmoid"]}, "rnn layer 'r': activation: expected tanh or relu, got 'sigmoid'"),
        ({"output": "first"}, "rnn layer 'r': output: expected 'all' or 'last', got 'first'"),
        (
            {"weight_hh": np.zeros((2, 3))},
            "rnn layer 'r': weight_hh_l0: expected a square matrix (units, units), got shape (2, 3)",
        ),
        ({"weight_ih": np.zeros((3, 1))}, "rnn layer 'r': weight_ih_l0: expected shape (2, features), got (3, 1)"),
        ({"bias_hh": np.zeros(3)}, "rnn layer 'r': bias_hh_l0: expected shape (2,), got (3,)"),
        ({"h0": np.zeros(3)}, "rnn layer 'r': h0: expected shape (2,), got (3,)"),
    ],
)
def test_a_malformed_layer_is_one_line_naming_the_key(change: dict[str, object], message: str) -> None:
    rnn = RNN.initial("r", 1, 2, np.random.default_rng(3))
    fields = {
        "name": "r",
        "activation": rnn.activation,
        **dict(zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), rnn.params().values(), strict=True)),
    }
    with pytest.raises(ChainruleError) as caught:
        RNN(**{**fields, **change})  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_an_input_of_the_wrong_width_is_named() -> None:
    rnn = RNN.initial("r", 2, 2, np.random.default_rng(4))
    for shape, shown in [((1, 3, 5), r"\(3, 5\)"), ((2, 0, 2), r"\(0, 2\)"), ((2, 4), r"\(4,\)")]:
        with pytest.raises(
            ChainruleError, match=rf"rnn layer 'r': input: expected \(steps ≥ 1, 2\) per example, got {shown}"
        ):
            rnn.forward(np.zeros(shape))


def test_initial_states_of_the_wrong_shape_are_named() -> None:
    rnn = RNN.initial("r", 2, 3, np.random.default_rng(6))
    with pytest.raises(ChainruleError, match=r"rnn layer 'r': h0: expected shape \(4, 3\), got \(3,\)"):
        rnn.forward_from(np.zeros((4, 2, 2)), np.zeros(3))


shapes = st.lists(st.integers(0, 3), max_size=3).map(tuple)


@given(shapes, shapes, shapes, shapes, st.one_of(st.none(), shapes), st.text(max_size=8))
def test_any_tensor_shapes_make_a_layer_or_one_line(
    ih: tuple[int, ...],
    hh: tuple[int, ...],
    b_ih: tuple[int, ...],
    b_hh: tuple[int, ...],
    h0: tuple[int, ...] | None,
    name: str,
) -> None:
    """Tensors of any shape (as a hostile file could give them): a consistent set makes a layer that runs; any
    other is one ChainruleError line naming the layer and the tensor."""
    arrays = [np.zeros(s) for s in (ih, hh, b_ih, b_hh)]
    try:
        rnn = RNN(name, ACTIVATIONS["tanh"], *arrays, h0=None if h0 is None else np.zeros(h0))
    except ChainruleError as error:
        text = str(error)
        assert "\n" not in text and text.startswith(f"rnn layer {name!r}: ")
        return
    assert rnn.forward(np.zeros((2, 3, rnn.features))).a.shape == (2, rnn.units)
