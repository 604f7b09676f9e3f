"""Exact where the paper is exact: the explained step's sums are exact in the file's decimals, so a sum
that is 0 on paper is 0 in the record (and ReLU′(0) = 0 applies), and where float64 training lands on
the other side of a kink the record says so and holds float64's numbers beside its own."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.record.forms import in_form
from chainrule.record.graph import build, evaluate
from chainrule.record.step import StepRecord, explain_step
from helpers import CASES

# Hidden activations that carry exact decimals to the next layer; α = 0.5 keeps the decimals short.
CARRY = ["identity", "relu", "leaky_relu", "prelu"]
ALPHA = 0.5
# Where each activation's value or slope jumps, as the side of 0 a z lies on.
KINKS: dict[str, Callable[[float], bool]] = {
    **dict.fromkeys(["relu", "leaky_relu", "prelu", "elu", "selu"], lambda z: z > 0),
    "binary_step": lambda z: z >= 0,
}


def _fraction(x: float) -> Fraction:
    return Fraction(Decimal(repr(float(x))))


def _activate(act: str, z: Fraction) -> Fraction:
    if act == "identity" or z > 0:
        return z
    return Fraction(0) if act == "relu" else _fraction(ALPHA) * z


def _tenths(rng: np.random.Generator, shape: tuple[int, ...]) -> list[Any]:
    """Decimals with one place (0.1, −0.7, …): short on paper, rarely exact in binary."""
    return (rng.integers(-9, 10, shape) / 10).tolist()


def _cancelling_network(seed: int, cases: list[tuple[str, str]] = CASES) -> tuple[Network, list[list[list[Fraction]]]]:
    """A random network of tenths whose chosen neurons' biases cancel their sum on the first example,
    and every z of every example by exact arithmetic ([layer][example][neuron])."""
    rng = np.random.default_rng(seed)
    loss, output = cases[int(rng.integers(0, len(cases)))]
    n_in, n_ex = int(rng.integers(1, 4)), int(rng.integers(1, 5))  # a mean's 1/3 is no short decimal
    x = _tenths(rng, (n_ex, n_in))
    acts = [str(rng.choice(CARRY)) for _ in range(int(rng.integers(1, 5)))] + [output]
    n_out = 2 if output == "softmax" or loss == "cross_entropy" else int(rng.integers(1, 3))
    if loss in ("binary_cross_entropy", "hinge"):
        n_out = 1
    a = [[_fraction(v) for v in row] for row in x]
    layers, exact_z = [], []
    for li, act in enumerate(acts):
        units = n_out if li == len(acts) - 1 else int(rng.integers(1, 4))
        weights = _tenths(rng, (units, len(a[0])))
        bias = _tenths(rng, (units,))
        for j in range(units):
            if rng.random() < 0.6:  # cancel this neuron's sum on example 1
                total = sum(_fraction(w) * ai for w, ai in zip(weights[j], a[0], strict=True))
                bias[j] = float(-total)
                assert _fraction(bias[j]) == -total  # short enough to be written as a decimal
        z = [
            [
                sum((_fraction(w) * ai for w, ai in zip(weights[j], row, strict=True)), _fraction(bias[j]))
                for j in range(units)
            ]
            for row in a
        ]
        exact_z.append(z)
        a = [[_activate(act, v) for v in row] for row in z]
        layer: dict[str, Any] = {"units": units, "activation": act, "weights": weights, "bias": bias}
        if act in ("leaky_relu", "prelu"):
            layer["alpha"] = ALPHA
        layers.append(layer)
    y = (
        np.eye(n_out)[rng.integers(0, n_out, n_ex)]
        if loss in ("cross_entropy", "binary_cross_entropy")
        else rng.integers(-1, 2, (n_ex, n_out))
    )
    if loss == "hinge":
        y = np.where(y > 0, 1.0, -1.0)
    doc = {
        "inputs": n_in,
        "loss": loss,
        "layers": layers,
        "examples": [{"x": xi, "y": [float(v) for v in yi]} for xi, yi in zip(x, y, strict=True)],
        "training": {"learning_rate": 0.1, "batch": "full", "reduction": str(rng.choice(["sum", "mean"]))},
    }
    return netfile.from_dict(doc), exact_z


def _z_names(net: Network, rec: StepRecord, li: int, k: int) -> list[str]:
    return [f"z_{n}{rec.suffix(k)}" for n in net.layers[li].neuron_names]


@given(st.integers(0, 2**32 - 1))
def test_every_sum_is_the_exact_sum_rounded_once_and_zero_on_paper_is_zero(seed: int) -> None:
    net, exact_z = _cancelling_network(seed)
    rec = explain_step(net)
    for li, per_example in enumerate(exact_z):
        for k, zs in enumerate(per_example):
            for name, z in zip(_z_names(net, rec, li, k), zs, strict=True):
                assert rec.values[name] == float(z), name
    # no float noise stands for a 0 on paper: a neuron that is 0 exactly is 0 in every value it gives
    for name, value in rec.values.items():
        if name.startswith(("z_", "a_")) and value != 0:
            assert abs(value) > 1e-13, (name, value)


@given(st.integers(0, 2**32 - 1))
def test_at_a_kink_exactly_at_zero_the_convention_applies_and_no_gradient_flows(seed: int) -> None:
    net, exact_z = _cancelling_network(seed)
    rec = explain_step(net)
    one = len(rec.examples) == 1
    for li, layer in enumerate(net.layers[:-1]):
        for j, n in enumerate(layer.neuron_names):
            if layer.activation.name != "relu" or any(exact_z[li][k][j] != 0 for k in range(len(rec.examples))):
                continue
            for k in range(len(rec.examples)):  # ReLU′(0) = 0 on every example: nothing reaches its weights
                s = rec.suffix(k)
                assert rec.values[f"da_{n}/dz_{n}{s}"] == 0.0
                assert rec.values[f"dL/dz_{n}{s}"] == 0.0
            for w in layer.weight_names[j]:
                assert rec.values[f"dL/d{w}"] == 0.0
                assert not one or rec.chains[w][0].value == 0.0


@given(st.integers(0, 2**32 - 1))
def test_the_step_graph_lands_on_the_same_side_of_every_kink(seed: int) -> None:
    net, _ = _cancelling_network(seed)
    rec = explain_step(net)
    graph = evaluate(build(net, rec.examples))
    for name, value in rec.values.items():
        if name in graph:
            assert abs(graph[name] - value) <= 1e-12 * (1 + abs(value)), name
            assert (graph[name] == 0) == (value == 0) or not name.startswith(("z_", "da_")), name


@given(st.integers(0, 2**32 - 1))
def test_where_float64_lands_across_a_kink_the_record_says_so_with_float64s_numbers(seed: int) -> None:
    net, _ = _cancelling_network(seed)
    rec = explain_step(net)
    idx = np.array(rec.examples)
    binary = net.forward(net.x[idx])
    expected = {}
    for li, layer in enumerate(net.layers):
        side = KINKS.get(layer.activation.name)
        if side is None or (layer.activation.name == "elu" and layer.alpha_value() == 1):
            continue  # no kink (ELU with α = 1 has a continuous slope at 0)
        for k in range(len(idx)):
            for j, name in enumerate(_z_names(net, rec, li, k)):
                if side(binary.z[li][k, j]) != side(rec.values[name]):
                    expected[name] = float(binary.z[li][k, j])
    assert rec.other_side == expected
    if not expected:
        assert rec.float64 == {}
        return
    grads = net.gradients(net.backward(binary, net.y[idx]))
    for name, g in grads.items():
        assert rec.float64[f"dL/d{name}"] == g


def test_the_2_1_1_relu_example_is_zero_where_the_paper_is() -> None:
    """0.1 + 0.2 − 0.3 is 5.551e−17 in float64, where ReLU′ = 1; on paper it is 0, where ReLU′(0) = 0."""
    doc = {
        "inputs": 2,
        "loss": "half_squared_error",
        "layers": [
            {"units": 1, "activation": "relu", "weights": [[0.1, 0.2]], "bias": -0.3},
            {"units": 1, "activation": "identity", "weights": [[0.5]], "bias": 0.0},
        ],
        "examples": [{"x": [1, 1], "y": [1]}],
    }
    net = netfile.from_dict(doc)
    rec = explain_step(net)
    z = rec.sums[0].neuron
    assert rec.values[f"z_{z}"] == 0.0
    assert rec.values[f"da_{z}/dz_{z}"] == 0.0
    assert rec.values["dL/dw1"] == 0.0 and rec.values["w1_new"] == 0.1
    assert rec.other_side == {f"z_{z}": 0.1 + 0.2 - 0.3}
    assert rec.float64["dL/dw1"] == -0.5  # float64's side: ReLU′ = 1, ∂L/∂w1 = (0 − 1) · 0.5 · 1 · 1
    graph = build(net, rec.examples)
    assert evaluate(graph)["dL/dw1"] == 0.0  # the checker's graph agrees with the paper,
    assert evaluate(graph, float64=True)["dL/dw1"] == -0.5  # and can work float64's side too


def test_seeds_reach_both_sides_of_a_kink() -> None:
    """The cancelling networks above do put float64 across a kink now and then (else the test proves nothing)."""
    flagged = sum(bool(explain_step(_cancelling_network(seed)[0]).other_side) for seed in range(60))
    assert flagged >= 3


# Losses whose ∂L/∂ŷ is plain arithmetic on ŷ and y, with outputs that carry exact decimals.
EXACT_CASES = [(lo, o) for lo, o in CASES if lo in ("half_squared_error", "squared_error", "mse") and o in CARRY]


def _slope(act: str, z: Fraction) -> Fraction:
    return Fraction(1) if act == "identity" or z > 0 else Fraction(0) if act == "relu" else _fraction(ALPHA)


def _exact_gradients(net: Network, exact_z: list[list[list[Fraction]]]) -> dict[str, Fraction]:
    """∂L/∂θ, ∂L/∂a and ∂L/∂z of the whole batch by exact arithmetic (names without the #k: batch sums)."""
    n, m = net.x.shape[0], net.output_layer.units
    scale = Fraction(1, n) if net.training.reduction == "mean" else Fraction(1)
    factor = {"half_squared_error": Fraction(1), "squared_error": Fraction(2), "mse": Fraction(2, m)}[net.loss.name]
    acts = [layer.activation.name for layer in net.layers]
    a = [[[_activate(act, z) for z in row] for row in zs] for act, zs in zip(acts, exact_z, strict=True)]
    inputs = [[_fraction(v) for v in row] for row in net.x.tolist()]
    d_a = [[factor * (a[-1][k][j] - _fraction(net.y[k, j])) * scale for j in range(m)] for k in range(n)]
    out: dict[str, Fraction] = {}
    for li in range(len(net.layers) - 1, -1, -1):
        layer = net.layers[li]
        d_z = [[_slope(acts[li], exact_z[li][k][j]) * d_a[k][j] for j in range(layer.units)] for k in range(n)]
        sending = a[li - 1] if li else inputs
        for j, n_j in enumerate(layer.neuron_names):
            suffixes = ["#" + str(k + 1) if n > 1 else "" for k in range(n)]
            out |= {f"dL/da_{n_j}{s}": d_a[k][j] for k, s in enumerate(suffixes)}
            out |= {f"dL/dz_{n_j}{s}": d_z[k][j] for k, s in enumerate(suffixes)}
            for i, w in enumerate(layer.weight_names[j]):
                out[f"dL/d{w}"] = sum((d_z[k][j] * sending[k][i] for k in range(n)), Fraction(0))
            out[f"dL/d{layer.bias_names[j]}"] = sum((d_z[k][j] for k in range(n)), Fraction(0))
        d_a = [
            [
                sum(_fraction(layer.weight[j, i]) * d_z[k][j] for j in range(layer.units))
                for i in range(layer.weight.shape[1])
            ]
            for k in range(n)
        ]
    return out


@given(st.integers(0, 2**32 - 1))
def test_the_backward_pass_is_exact_where_the_paper_is(seed: int) -> None:
    """Squared errors on outputs that carry decimals: every ∂L/∂a, ∂L/∂z and ∂L/∂θ is the exact value
    rounded once, so a gradient that is 0 on paper is 0 (0.3 − 0.1 is 0.2, 0.1·0.3 − 0.2·0.15 is 0),
    a mean over three examples included (its 1/3 is taken last)."""
    net, exact_z = _cancelling_network(seed, EXACT_CASES)
    rec = explain_step(net)
    for name, exact in _exact_gradients(net, exact_z).items():
        assert abs(rec.values[name] - exact) <= abs(exact) * Fraction(1, 10**15), (name, rec.values[name], exact)


@given(st.integers(0, 2**32 - 1))
def test_a_gradient_worked_path_by_path_is_the_exact_sum_of_its_paths(seed: int) -> None:
    """Each path's product and the sum of the paths are worked in decimals as the paper works them:
    two paths of 0.09 and −0.09 times the same ∂L/∂ŷ total 0, not 2.8×10⁻¹⁷, and every chain's total
    is the exact gradient rounded once, in the path form and in the delta form."""
    net, exact_z = _cancelling_network(seed, EXACT_CASES)
    exact = _exact_gradients(net, exact_z)
    records = [explain_step(net)]
    for form in ("paths", "delta"):
        rec = in_form(net, records, 0, form)[0]
        for param, chains in rec.chains.items():
            total = (
                sum((_fraction(c.value) for c in chains), Fraction(0))
                if len(chains) > 1
                else _fraction(chains[0].value)
            )
            value = exact.get(f"dL/d{param}")  # (none for a PReLU's α here)
            if (
                len(chains) == 1 and value is not None
            ):  # (a batch's chains are one an example: their float sum is the record's gradient)
                assert abs(total - value) <= abs(value) * Fraction(1, 10**15), (form, param, chains[0].value)
