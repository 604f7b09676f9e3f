"""`chainrule check` for shaped networks: on random conv, batch-norm, residual and RNN models, the
correct answers score full marks, the author's 4-place rounding is ≈ not wrong, and each planted slip
(replayed through the ops with the wrong rule) is found at the first number it moves and named once."""

from __future__ import annotations

import re

import numpy as np
import pytest

from chainrule.check.answers import Claim
from chainrule.check.grading import marks_of
from chainrule.check.model_checker import check_model
from chainrule.check.model_pins import Pins
from chainrule.check.model_slips import catalogue
from chainrule.check.model_values import replay
from chainrule.engine.activations import ACTIVATIONS
from chainrule.engine.functions import LOSSES as LOSS_FUNCTIONS
from chainrule.engine.layers.base import Op
from chainrule.engine.layers.conv import Conv2d
from chainrule.engine.layers.dense import Dense
from chainrule.engine.layers.flatten import Flatten
from chainrule.engine.layers.norm import BatchNorm
from chainrule.engine.layers.pool import AvgPool2d, MaxPool2d
from chainrule.engine.layers.recurrent import RNN
from chainrule.engine.layers.residual import Residual
from chainrule.engine.model import Model
from chainrule.engine.network import Training
from chainrule.record.model_step import explain_model_step

FAMILIES = ("conv", "conv_bn", "bn", "residual", "rnn")
ACTS = ("relu", "tanh", "sigmoid", "leaky_relu", "identity")
# (loss, output activation, targets): every loss a classifier or a regression uses
LOSSES = (
    ("cross_entropy", "softmax"),
    ("binary_cross_entropy", "sigmoid"),
    ("mse", "identity"),
    ("half_squared_error", "tanh"),
)


def _targets(rng: np.random.Generator, loss: str, n: int, outputs: int) -> np.ndarray:
    if loss == "cross_entropy":
        return np.eye(outputs)[rng.integers(0, outputs, n)]
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, (n, outputs)).astype(np.float64)
    return rng.uniform(-1, 1, (n, outputs)).round(1)


def _w(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.uniform(-1, 1, shape).round(2)


def _bn(rng: np.random.Generator, name: str, channels: int, f: str) -> BatchNorm:
    ones = np.ones(channels)
    return BatchNorm(name, _w(rng, channels), _w(rng, channels), 0 * ones, ones, activation=ACTIVATIONS[f])


def _features(rng: np.random.Generator, family: str, f: str) -> tuple[list[Op], tuple[int, ...]]:
    """The model's layers before its dense output, and one example's input shape."""
    act = ACTIVATIONS[f]
    if family in ("conv", "conv_bn"):
        c_in, c_out, k = int(rng.integers(1, 3)), int(rng.integers(1, 3)), int(rng.integers(2, 4))
        pad, stride = int(rng.integers(0, 2)), int(rng.integers(1, 3))
        ops: list[Op] = [Conv2d("conv_1", _w(rng, c_out, c_in, k, k), _w(rng, c_out), (stride,) * 2, (pad,) * 2, act)]
        if family == "conv_bn":
            ops.append(_bn(rng, "BN", c_out, f))
        pool = MaxPool2d if rng.integers(2) or family == "conv" else AvgPool2d
        return [*ops, pool("Pool", (2, 2)), Flatten("flat")], (c_in, 5, 5)
    if family == "rnn":
        steps, features, hidden = int(rng.integers(2, 4)), 2, 2
        weights = (_w(rng, hidden, features), _w(rng, hidden, hidden), _w(rng, hidden), _w(rng, hidden))
        return [RNN("r", ACTIVATIONS["tanh"], *weights, output="all"), Flatten("flat")], (steps, features)
    features, width = int(rng.integers(2, 4)), 3
    ops = [Dense("h1", _w(rng, width, features), _w(rng, width), act)]
    if family == "bn":
        ops.append(_bn(rng, "bn_2", width, f))
    else:
        inner = [Dense("res_in", _w(rng, width, width), _w(rng, width), ACTIVATIONS["relu"])]
        ops.append(Residual("res", [*inner, Dense("res_out", _w(rng, width, width), _w(rng, width))], act))
    return ops, (features,)


def random_model(family: str, seed: int) -> Model:
    """A small random model of one family, with odd layer names, a random activation and loss."""
    rng = np.random.default_rng(seed)
    f = ACTS[rng.integers(len(ACTS))]
    loss, out_act = LOSSES[rng.integers(len(LOSSES))]
    outputs = 1 if loss == "binary_cross_entropy" else int(rng.integers(2, 4))
    n = int(rng.integers(2, 4)) if "bn" in family else int(rng.integers(1, 3))
    ops, shape = _features(rng, family, f)
    fan_in = int(np.prod(Model("", shape, ops, LOSS_FUNCTIONS[loss], np.zeros(0), np.zeros(0)).shapes()[-1]))
    ops.append(Dense("out", _w(rng, outputs, fan_in), _w(rng, outputs), ACTIVATIONS[out_act]))
    x = rng.uniform(-1, 1, (n, *shape)).round(1)
    training = Training(learning_rate=0.5, batch="full")
    return Model("random", shape, ops, LOSS_FUNCTIONS[loss], x, _targets(rng, loss, n, outputs), training)


def written(values: dict[str, float], names: list[str], digits: int = 4) -> list[Claim]:
    """Claims as the author writes them: each value to `digits` places."""
    return [Claim(n, 1, f"{values[n]:.{digits}f}", float(f"{values[n]:.{digits}f}"), digits) for n in names]


def _worked(m: Model) -> list[str]:
    """The names a student works out: every computed value (the given ones left out)."""
    given = set(m.parameters()) | {m.input_name}
    return [k for k in replay(m).values if k.partition("[")[0] not in given]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("seed", [1, 2])
def test_correct_answers_score_full_marks_and_rounding_is_not_wrong(family: str, seed: int) -> None:
    m = random_model(family, seed)
    names = _worked(m)
    exact = check_model(m, written(replay(m).values, names), "a.toml", digits=4)
    assert exact.count("ok") == len(names) > 0
    # the author writes every intermediate to 4 places and works on from the rounded numbers
    rounded = check_model(m, written(replay(m, decimals=4).values, names), "a.toml", digits=4)
    assert rounded.count("wrong") == 0
    assert rounded.count("ok") + rounded.count("rounding") == len(names)


CASES = [(family, seed) for seed, family in enumerate(FAMILIES, start=3)]


@pytest.mark.parametrize(("family", "seed"), CASES)
@pytest.mark.parametrize("rounded", [False, True])
def test_a_planted_slip_is_found_and_named_once(family: str, seed: int, rounded: bool) -> None:
    m = random_model(family, seed)
    names = _worked(m)
    slips = catalogue(m)
    assert slips
    for slip in slips:
        values = replay(m, slip, 4 if rounded else None).values
        exact = replay(m).values
        claims = written(values, [n for n in names if n in values])
        moved = [c for c in claims if c.written != f"{exact[c.name]:.4f}"]
        if not moved:
            continue  # this draw's numbers hide the slip at 4 places (a kernel that is its own flip)
        report = check_model(m, claims, "a.toml")
        first = report.first_wrong
        assert first is not None
        assert first.name in {c.name for c in moved}  # a number the slip moves; none before it is wrong
        named = {(d.mistake, d.kind, d.where) for d in first.diagnosis}
        assert (slip.id, slip.kind, slip.where) in named, (slip, first.diagnosis)
        marks = marks_of(report)
        assert list(marks.values()).count("wrong") == 1  # one slip, told once; the rest follow from it


def test_a_shape_changing_slip_names_the_first_map_value() -> None:
    """Padding forgotten in the forward pass: a smaller map, its first value wrong and named."""
    m = next(random_model("conv", s) for s in range(50) if any(random_model("conv", s).ops[0].padding))  # type: ignore[attr-defined]
    slip = next(s for s in catalogue(m) if s.kind == "forward")
    values = replay(m, slip).values
    report = check_model(m, written(values, [n for n in values if n.startswith("z_conv_1")]), "a.toml")
    assert report.first_wrong is not None
    assert report.first_wrong.diagnosis[0].mistake == "padding_forgotten"


@pytest.mark.parametrize("family", FAMILIES)
def test_the_replay_is_the_record(family: str) -> None:
    """The checker's exact numbers are the engine's record (what `chainrule explain` prints), name for name."""
    m = random_model(family, 7)
    ours, record = replay(m).values, explain_model_step(m).values
    assert list(ours) == list(record)
    for name, value in record.items():
        assert ours[name] == pytest.approx(value, abs=1e-12), name


def _slip_d_x(m: Model, slip_id: str, kind: str = "") -> np.ndarray:
    """The slip's ∂L/∂(the op's input), by name from its replay, as an array of one example's shape."""
    slip = next(s for s in catalogue(m) if (s.id, s.kind) == (slip_id, kind))
    values = replay(m, slip).values
    return np.array([values[f"dL/dx[1,{i},{j}]"] for i in range(1, 6) for j in range(1, 6)]).reshape(5, 5)


def _one_conv(seed: int) -> tuple[Model, np.ndarray, np.ndarray]:
    """conv (1 kernel 3×3, stride 1, no padding) → flatten → dense: ∂L/∂z of the conv and its kernel."""
    rng = np.random.default_rng(seed)
    kernel = _w(rng, 1, 1, 3, 3)
    ops: list[Op] = [Conv2d("c", kernel, _w(rng, 1)), Flatten("f"), Dense("out", _w(rng, 1, 9), _w(rng, 1))]
    m = Model("t", (1, 5, 5), ops, LOSS_FUNCTIONS["mse"], rng.uniform(-1, 1, (1, 1, 5, 5)), np.ones((1, 1)))
    values = replay(m).values
    d_z = np.array([values[f"dL/dz_c[1,{i},{j}]"] for i in range(1, 4) for j in range(1, 4)]).reshape(3, 3)
    return m, d_z, kernel[0, 0]


def test_the_unflipped_kernel_is_the_full_convolution_with_the_kernel_as_it_is() -> None:
    """Worked independently: ∂L/∂x[i,j] = Σ ∂L/∂z[i−u, j−v]·K[2−u, 2−v] (K turned 180°: the right rule),
    and the slip's with K[u, v] unturned."""
    m, d_z, k = _one_conv(11)
    right, unturned = np.zeros((5, 5)), np.zeros((5, 5))
    for i, j, u, v in np.ndindex(5, 5, 3, 3):
        if 0 <= i - u < 3 and 0 <= j - v < 3:
            right[i, j] += d_z[i - u, j - v] * k[u, v]  # = the full convolution with the turned kernel
            unturned[i, j] += d_z[i - u, j - v] * k[2 - u, 2 - v]
    values = replay(m).values
    exact = np.array([values[f"dL/dx[1,{i},{j}]"] for i in range(1, 6) for j in range(1, 6)]).reshape(5, 5)
    assert np.allclose(exact, right, atol=1e-12)
    assert np.allclose(_slip_d_x(m, "kernel_not_flipped"), unturned, atol=1e-12)
    assert not np.allclose(unturned, right)


def test_the_spread_max_pool_gradient_gives_each_window_input_the_window_gradient() -> None:
    rng = np.random.default_rng(12)
    ops: list[Op] = [MaxPool2d("p", (2, 2), (1, 1)), Flatten("f"), Dense("out", _w(rng, 1, 16), _w(rng, 1))]
    m = Model("t", (1, 5, 5), ops, LOSS_FUNCTIONS["mse"], rng.uniform(-1, 1, (1, 1, 5, 5)), np.ones((1, 1)))
    values = replay(m).values
    d_z = np.array([values[f"dL/dz_p[1,{i},{j}]"] for i in range(1, 5) for j in range(1, 5)]).reshape(4, 4)
    copied = np.zeros((5, 5))
    for r, c, u, v in np.ndindex(4, 4, 2, 2):  # window (r, c) covers rows r..r+1, columns c..c+1
        copied[r + u, c + v] += d_z[r, c]
    assert np.allclose(_slip_d_x(m, "maxpool_spread", "copied"), copied, atol=1e-12)
    assert np.allclose(_slip_d_x(m, "maxpool_spread", "averaged"), copied / 4, atol=1e-12)


@pytest.mark.parametrize("family", FAMILIES)
def test_an_arithmetic_slip_costs_once_and_numbers_worked_from_it_follow(family: str) -> None:
    """One map value written wrong (no catalogued slip), every later number worked correctly from it:
    that value is the one wrong number, and the numbers after it are follow-through (→)."""
    m = random_model(family, 9)
    names = _worked(m)
    target = next(n for n in names if n.startswith("z_") and not n.startswith("z_r["))
    pins = Pins({target: replay(m).values[target] + 0.37})
    claims = written(replay(m, pins=pins).values, names)
    report = check_model(m, claims, "a.toml")
    assert report.first_wrong is not None and report.first_wrong.name == target
    marks = marks_of(report)
    assert list(marks.values()).count("wrong") == 1
    assert list(marks.values()).count("follow_through") >= 1


@pytest.mark.parametrize("family", FAMILIES)
def test_answers_named_as_explain_prints_them_are_checked(family: str) -> None:
    """`W_c_new[1,2]`, `∂L/∂W_c[1,2]` as the terminal shows them, for the record's `W_c[1,2]_new`, `dL/dW_c[1,2]`."""
    m = random_model(family, 11)
    values = replay(m).values
    names = [n for n in values if n.endswith("_new") or n.startswith("dL/d")]
    printed = {n: n.replace("d", "∂", 1).replace("/d", "/∂", 1) if n.startswith("dL/d") else n for n in names}
    printed = {n: re.sub(r"(\[[0-9,]+\])_new$", r"_new\1", p) for n, p in printed.items()}
    assert any(p.endswith("]") and "_new[" in p for p in printed.values())
    claims = [Claim(printed[n], 1, f"{values[n]:.4f}", float(f"{values[n]:.4f}"), 4) for n in names]
    report = check_model(m, claims, "a.toml", digits=4)
    assert report.count("ok") == len(names)
