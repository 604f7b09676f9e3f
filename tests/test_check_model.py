"""`chainrule check` for shaped networks: on random conv, batch-norm, residual and RNN models, the
correct answers score full marks, the author's 4-place rounding is ≈ not wrong, and each planted slip
(replayed through the ops with the wrong rule) is found at the first number it moves and named once."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.check.answers import Claim
from chainrule.check.grading import marks_of
from chainrule.check.model_checker import check_model
from chainrule.check.model_slips import catalogue
from chainrule.check.model_values import replay
from chainrule.engine.model import Model
from model_standins import RNN, AvgPool, BatchNorm, Conv, Dense, Flatten, MaxPool, Residual, act, model

FAMILIES = ("conv", "conv_bn", "bn", "residual", "rnn")
ACTS = ("relu", "tanh", "sigmoid", "leaky_relu", "identity")
# (loss, output activation, targets): every loss a classifier or a regression uses
LOSSES = (("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid"), ("mse", "identity"), ("half_squared_error", "tanh"))


def _targets(rng: np.random.Generator, loss: str, n: int, outputs: int) -> np.ndarray:
    if loss == "cross_entropy":
        return np.eye(outputs)[rng.integers(0, outputs, n)]
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, (n, outputs)).astype(np.float64)
    return rng.uniform(-1, 1, (n, outputs)).round(1)


def _w(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.uniform(-1, 1, shape).round(2)


def random_model(family: str, seed: int) -> Model:
    """A small random model of one family, with odd layer names, a random activation and loss."""
    rng = np.random.default_rng(seed)
    f = ACTS[rng.integers(len(ACTS))]
    loss, out_act = LOSSES[rng.integers(len(LOSSES))]
    outputs = 1 if loss == "binary_cross_entropy" else int(rng.integers(2, 4))
    n = int(rng.integers(2, 4)) if "bn" in family else int(rng.integers(1, 3))
    if family in ("conv", "conv_bn"):
        c_in, c_out, k = int(rng.integers(1, 3)), int(rng.integers(1, 3)), int(rng.integers(2, 4))
        pad, stride, size = int(rng.integers(0, 2)), int(rng.integers(1, 3)), 5
        ops = [Conv("conv_1", {"weight": _w(rng, c_out, c_in, k, k), "bias": _w(rng, c_out)}, act(f), stride, pad)]
        if family == "conv_bn":
            ops.append(BatchNorm("BN", {"weight": _w(rng, c_out), "bias": _w(rng, c_out)}, act(f)))
        pool = MaxPool if rng.integers(2) or family == "conv" else AvgPool
        ops += [pool("Pool", kernel=2, stride=2), Flatten("flat")]
        shape: tuple[int, ...] = (c_in, size, size)
    elif family == "rnn":
        steps, features, hidden = int(rng.integers(2, 4)), 2, 2
        tensors = {"weight_ih_l0": _w(rng, hidden, features), "weight_hh_l0": _w(rng, hidden, hidden)}
        tensors |= {"bias_ih_l0": _w(rng, hidden), "bias_hh_l0": _w(rng, hidden)}
        ops, shape = [RNN("r", tensors, act("tanh")), Flatten("flat")], (steps, features)
    else:
        features, width = int(rng.integers(2, 4)), 3
        ops = [Dense("h1", {"weight": _w(rng, width, features), "bias": _w(rng, width)}, act(f))]
        if family == "bn":
            ops.append(BatchNorm("bn_2", {"weight": _w(rng, width), "bias": _w(rng, width)}, act(f)))
        else:
            ops.append(Residual("res", {"weight1": _w(rng, width, width), "weight2": _w(rng, width, width)}, act(f)))
        shape = (features,)
    fan_in = int(np.prod(model(ops, shape, np.zeros((1, *shape)), np.zeros((1, 1)), "mse").shapes()[-1]))
    ops.append(Dense("out", {"weight": _w(rng, outputs, fan_in), "bias": _w(rng, outputs)}, act(out_act)))
    x = rng.uniform(-1, 1, (n, *shape)).round(1)
    return model(ops, shape, x, _targets(rng, loss, n, outputs), loss, rate=0.5)


def written(values: dict[str, float], names: list[str], digits: int = 4) -> list[Claim]:
    """Claims as the author writes them: each value to `digits` places."""
    return [Claim(n, 1, f"{values[n]:.{digits}f}", float(f"{values[n]:.{digits}f}"), digits) for n in names]


def _worked(m: Model) -> list[str]:
    """The names a student works out: every computed value (the given ones left out)."""
    given = set(m.parameters()) | {m.input_name}
    return [k for k in replay(m, m.x, m.y).values if k.partition("[")[0] not in given]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("seed", [1, 2])
def test_correct_answers_score_full_marks_and_rounding_is_not_wrong(family: str, seed: int) -> None:
    m = random_model(family, seed)
    names = _worked(m)
    exact = check_model(m, written(replay(m, m.x, m.y).values, names), "a.toml", digits=4)
    assert exact.count("ok") == len(names) > 0
    # the author writes every intermediate to 4 places and works on from the rounded numbers
    rounded = check_model(m, written(replay(m, m.x, m.y, decimals=4).values, names), "a.toml", digits=4)
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
        values = replay(m, m.x, m.y, slip, 4 if rounded else None).values
        exact = replay(m, m.x, m.y).values
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
    m = next(random_model("conv", s) for s in range(50) if random_model("conv", s).ops[0].padding)  # type: ignore[attr-defined]
    slip = next(s for s in catalogue(m) if s.kind == "forward")
    values = replay(m, m.x, m.y, slip).values
    report = check_model(m, written(values, [n for n in values if n.startswith("z_conv_1")]), "a.toml")
    assert report.first_wrong is not None
    assert report.first_wrong.diagnosis[0].mistake == "padding_forgotten"


def test_replayed_gradients_equal_central_differences() -> None:
    """The replay's own numbers (the checker's exact ones) against central finite differences of its loss."""
    for family in FAMILIES:
        m = random_model(family, 7)
        values = replay(m, m.x, m.y).values
        for op_index, op in enumerate(m.ops):
            for role, tensor in op.params().items():
                index = (0,) * tensor.ndim
                h = 1e-6
                losses = []
                for step in (h, -h):
                    moved = tensor.copy()
                    moved[index] += step
                    ops = [o.with_params({role: moved}) if i == op_index else o for i, o in enumerate(m.ops)]
                    other = model(ops, m.input_shape, m.x, m.y, m.loss.name)
                    losses.append(replay(other, m.x, m.y).values["loss"])
                numeric = (losses[0] - losses[1]) / (2 * h)
                name = f"dL/d{op.tensor_names()[role]}[{','.join('1' * tensor.ndim)}]"
                assert values[name] == pytest.approx(numeric, abs=1e-7, rel=1e-6), (family, name)
