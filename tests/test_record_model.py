"""The record of a shaped network's step (record.model_step): every value by its contract name, equal
to the engine's numbers, and each op's worked sums adding up to the values they explain.

Over random Models of every op type (convolution with stride and padding, max and average pooling,
flatten, dense, a recurrent layer), odd layer names, every loss with its output activation, batches
and reductions; derivatives also against central finite differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from chainrule.engine.activations import ACTIVATIONS
from chainrule.engine.functions import LOSSES
from chainrule.engine.layers.conv import Conv2d
from chainrule.engine.layers.dense import Dense
from chainrule.engine.layers.flatten import Flatten
from chainrule.engine.layers.norm import BatchNorm
from chainrule.engine.layers.pool import AvgPool2d, MaxPool2d
from chainrule.engine.layers.recurrent import RNN
from chainrule.engine.layers.residual import Residual
from chainrule.engine.model import Model
from chainrule.engine.network import Training
from chainrule.engine.optimizers import Settings
from chainrule.record.model_step import ModelStepRecord, explain_model_step, explain_model_steps

# each loss with the output activation it pairs with (fused where the engine fuses them)
OUTPUT = {
    "cross_entropy": "softmax",
    "binary_cross_entropy": "sigmoid",
    "mse": "identity",
    "half_squared_error": "tanh",
}
HIDDEN = ["relu", "tanh", "sigmoid", "identity", "leaky_relu"]
NAMES = ["conv", "c_α", "Ω1", "layer-2", "β", "$\\alpha^{2}$", "<b>&amp;", "50%_{x}"]  # hostile: TeX, HTML
KINDS = ["conv", "pool", "rnn", "dense", "batchnorm", "residual"]


def batchnorm(rng: np.random.Generator, name: str, channels: int) -> BatchNorm:
    return BatchNorm(name, rng.normal(size=channels), rng.normal(size=channels), np.zeros(channels), np.ones(channels))


def targets(rng: np.random.Generator, loss: str, n: int, outputs: int) -> np.ndarray:
    if loss == "cross_entropy":
        return np.eye(outputs)[rng.integers(0, outputs, size=n)]
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, size=(n, outputs)).astype(float)
    return rng.normal(size=(n, outputs))


def random_model(seed: int, kind: str, loss: str, reduction: str = "mean", batch: Any = "full") -> Model:
    """A small Model of `kind`: conv (conv → maybe pool → flatten → dense), pool (conv → max or avg
    pool with padding → flatten → dense), rnn (rnn → dense) or dense (dense → dense), odd names."""
    rng = np.random.default_rng(seed)
    name = str(rng.choice(NAMES))
    act = ACTIVATIONS[str(rng.choice(HIDDEN))]
    outputs = 1 if loss == "binary_cross_entropy" else int(rng.integers(2, 4))
    ops: list[Any]
    if kind == "rnn":
        steps, features, units = (int(v) for v in rng.integers(1, 4, size=3))
        shape: tuple[int, ...] = (steps, features)
        rnn = RNN.initial(
            name, features, units, rng, str(rng.choice(["tanh", "relu"])), str(rng.choice(["last", "all"]))
        )  # type: ignore[arg-type]
        ops = [rnn, *([Flatten("flat")] if rnn.output == "all" else [])]
        fan_in = units * (steps if rnn.output == "all" else 1)
    elif kind == "dense" or (kind == "batchnorm" and rng.integers(0, 2)):
        shape = (int(rng.integers(1, 5)),)
        units = int(rng.integers(1, 4))
        ops = [Dense(name, rng.normal(size=(units, shape[0])), rng.normal(size=units), act)]
        if kind == "batchnorm":  # 1-D: per feature over the batch
            ops.append(batchnorm(rng, "bn·1", units))
        fan_in = units
    elif kind == "residual":
        channels, size = int(rng.integers(1, 3)), int(rng.integers(2, 5))
        shape = (channels, size, size)
        inner = [
            Conv2d(
                f"{name}_in",
                rng.normal(size=(channels, channels, 3, 3)),
                rng.normal(size=channels),
                padding=(1, 1),
                activation=act,
            ),
            batchnorm(rng, "bn in", channels),
        ]
        ops = [
            Residual("res 1", inner[: int(rng.integers(1, 3))], ACTIVATIONS[str(rng.choice(HIDDEN))]),
            Flatten("flat"),
        ]
        fan_in = int(np.prod(shape))
    else:
        channels, size = int(rng.integers(1, 3)), int(rng.integers(3, 6))
        shape = (channels, size, size)
        out, k = int(rng.integers(1, 3)), int(rng.integers(1, 4))
        stride, padding = int(rng.integers(1, 3)), int(rng.integers(0, 2))
        conv = Conv2d(
            name,
            rng.normal(size=(out, channels, k, k)),
            rng.normal(size=out),
            (stride, stride),
            (padding, padding),
            act,
        )
        ops = [conv]
        in_shape: tuple[int, ...] = conv.out_shape(shape)
        if kind == "batchnorm":  # 2-D: per channel over the batch and the map
            ops.append(batchnorm(rng, "bn·1", out))
        if kind == "pool":
            pool = MaxPool2d if rng.integers(0, 2) else AvgPool2d
            pad = 1 if min(in_shape[1:]) < 2 else int(rng.integers(0, 2))
            ops.append(pool("pool 1", (2, 2), (1, 1), (pad, pad)))
            in_shape = ops[-1].out_shape(in_shape)
        ops.append(Flatten("flat"))
        fan_in = int(np.prod(in_shape))
    ops.append(Dense("out", rng.normal(size=(outputs, fan_in)), rng.normal(size=outputs), ACTIVATIONS[OUTPUT[loss]]))
    n = int(rng.integers(2 if kind in ("batchnorm", "residual") else 1, 4))
    x = rng.normal(size=(n, *shape))
    training = Training(learning_rate=0.1, reduction=reduction, batch=batch, optimizer=Settings("sgd"))  # type: ignore[arg-type]
    return Model(f"random {kind}", shape, ops, LOSSES[loss], x, targets(rng, loss, n, outputs), training)


MODELS = st.builds(
    random_model,
    st.integers(0, 2**31),
    st.sampled_from(KINDS),
    st.sampled_from(sorted(OUTPUT)),
    st.sampled_from(["sum", "mean"]),
)


def _flat(record: ModelStepRecord, prefix: str, k: int) -> list[float]:
    s = record.suffix(k)
    return [v for name, v in record.values.items() if name.startswith(prefix + "[") and name.endswith("]" + s)]


@given(MODELS)
def test_values_are_the_engines_numbers_by_name(model: Model) -> None:
    record = explain_model_step(model)
    fwd = model.forward(model.x)
    back = model.backward(fwd, model.y)
    new = model.updated(back)
    assert record.values["loss"] == back.loss
    for i, (info, cache) in enumerate(zip(record.ops, fwd.caches, strict=True)):
        if info.kind == "rnn":
            z, a, d_a = cache.z, cache.extra["h"], op_bptt(model, i, cache, back.d_a[i])
        else:
            z, a, d_a = cache.z, cache.a, back.d_a[i]
        for k in range(len(model.x)):
            assert _flat(record, f"z_{info.name}", k) == list(z[k].ravel())
            assert _flat(record, f"a_{info.name}", k) == list(a[k].ravel())
            assert _flat(record, f"dL/da_{info.name}", k) == list(d_a[k].ravel())
    for k in range(len(model.x)):
        assert _flat(record, "x", k) == list(model.x[k].ravel())
        assert _flat(record, "dL/dx", k) == list(back.d_x[0][k].ravel())
    for name, g in model.gradients(back).items():
        assert [
            record.values[f"dL/d{name}[{','.join(str(i + 1) for i in ix)}]"] for ix in np.ndindex(*g.shape)
        ] == list(g.ravel())
    for name, arr in new.parameters().items():
        assert [
            record.values[f"{name}[{','.join(str(i + 1) for i in ix)}]_new"] for ix in np.ndindex(*arr.shape)
        ] == list(arr.ravel())


def op_bptt(model: Model, i: int, cache: Any, d_a: np.ndarray) -> np.ndarray:
    """∂L/∂h_t of every state: what the record names dL/da_<rnn>[t,j]."""
    return np.asarray(model.ops[i].through_time(d_a, cache).d_h)  # type: ignore[attr-defined]


@given(MODELS)
def test_each_worked_sum_adds_up_to_the_value_it_explains(model: Model) -> None:
    """A window's products plus the bias give z; the correlation gives ∂L/∂W; the full convolution with
    the flipped kernel, pooling's routing and BPTT's terms give ∂L/∂x and ∂L/∂W_h: to 1e-12."""
    record = explain_model_step(model)
    worked = 0
    for detail, v in _every(record.details, record.values):  # a residual block's inner layers too
        for s in (*detail.forward, *detail.weight_grads, *detail.input_grads):
            total = sum(t.left_value * t.right_value for t in s.terms) + s.constant_value
            assert abs(total - v[s.name]) <= 1e-12 * max(1.0, abs(v[s.name])), s.name
            for t in s.terms:  # every operand is the step's own value of that name
                assert v.get(t.left, t.left_value) == t.left_value and v.get(t.right, t.right_value) == t.right_value
            worked += 1
        for w in detail.windows:
            picked = w.values[w.winner] if w.winner >= 0 else sum(w.values) / len(w.values)
            assert abs(picked - v[w.name]) <= 1e-12 or detail.kind == "avgpool2d"
        for name, parts, total in detail.paths:  # batchnorm's three paths, the residual's two
            tolerance = 1e-12 * max(1.0, abs(v[name]))
            assert abs(sum(parts) - v[name]) <= tolerance and abs(total - v[name]) <= tolerance, name
            worked += 1
        for name, terms in detail.steps.items():
            assert abs(sum(terms) - v[name]) <= 1e-12 * max(1.0, abs(v[name]))
    kinds = {o.kind for o in record.ops}
    assert worked > 0 or kinds <= {"dense", "flatten"}


def test_the_kernel_gradient_is_the_correlation_and_the_input_gradient_the_flipped_kernel() -> None:
    """By hand on a 1×3×3 input, a 2×2 kernel and ∂L/∂z = 1 everywhere (L = Σ z): ∂L/∂W[p,q] is the sum
    of the inputs the element met, ∂L/∂x the sum of the kernel elements that met x."""
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    conv = Conv2d("c", w, np.zeros(1))
    out = Dense("out", np.ones((1, 4)), np.zeros(1))
    model = Model(
        "hand", (1, 3, 3), [conv, Flatten("f"), out], LOSSES["mse"], x, np.zeros((1, 1)), Training(reduction="sum")
    )
    record = explain_model_step(model)
    v = record.values
    scale = v["dL/dz_c[1,1,1]"]  # ∂L/∂z is the same at every position (one output adding them all)
    assert [v[f"dL/dW_c[1,1,{p},{q}]"] / scale for p in (1, 2) for q in (1, 2)] == [12.0, 16.0, 24.0, 28.0]
    by_hand = [[1, 3, 2], [4, 10, 6], [3, 7, 4]]  # the full convolution of ones with the flipped kernel
    assert [[v[f"dL/dx[1,{r},{c}]"] / scale for c in (1, 2, 3)] for r in (1, 2, 3)] == by_hand
    centre = next(s for s in record.details[0].input_grads if s.name == "dL/dx[1,2,2]")
    assert sorted(t.right for t in centre.terms) == [f"W_c[1,1,{p},{q}]" for p in (1, 2) for q in (1, 2)]


def test_max_pool_routes_to_the_first_of_equal_maxima_and_average_pool_shares() -> None:
    x = np.array([[[[1.0, 1.0], [0.0, 1.0]]]])
    for pool, expected in ((MaxPool2d("p", (2, 2)), [1.0, 0.0, 0.0, 0.0]), (AvgPool2d("p", (2, 2)), [0.25] * 4)):
        out = Dense("out", np.ones((1, 1)), np.zeros(1))
        model = Model(
            "pool", (1, 2, 2), [pool, Flatten("f"), out], LOSSES["mse"], x, np.zeros((1, 1)), Training(reduction="sum")
        )
        record = explain_model_step(model)
        d = record.values["dL/dz_p[1,1,1]"]
        assert [record.values[f"dL/dx[1,{r},{c}]"] / d for r in (1, 2) for c in (1, 2)] == expected
        if pool.kind == "maxpool2d":
            assert record.details[0].windows[0].winner == 0


def _every(details: Any, values: dict[str, float]) -> Any:
    """Each detail with the values its names mean: inside a residual block, the first inner layer's
    input gradient is the inner path's part of the block input's (the skip adds the rest)."""
    for detail in details:
        yield detail, values
        inner_part = {name: parts[0] for name, parts, _ in detail.paths} if detail.kind == "residual" else {}
        for k, (_, inner) in enumerate(detail.inner):
            yield from _every([inner], values | inner_part if k == 0 else values)


def _finite_difference(model: Model, name: str, index: tuple[int, ...], h: float = 1e-6) -> float:
    def loss(delta: float) -> float:
        ops = []
        for op in model.ops:
            params = {role: arr.copy() for role, arr in op.params().items()}
            for role, tensor in op.tensor_names().items():
                if tensor == name:
                    params[role][index] += delta
            ops.append(op.with_params(params))
        other = Model(model.title, model.input_shape, ops, model.loss, model.x, model.y, model.training)
        return other.batch_loss(other.forward(other.x), other.y)

    return (loss(h) - loss(-h)) / (2 * h)


@given(MODELS)
def test_the_recorded_gradients_are_central_finite_differences(model: Model) -> None:
    record = explain_model_step(model)
    for name, arr in model.parameters().items():
        index = tuple(int(s) // 2 for s in arr.shape)
        key = f"dL/d{name}[{','.join(str(i + 1) for i in index)}]"
        assert abs(record.values[key] - _finite_difference(model, name, index)) <= 1e-6 * max(
            1.0, abs(record.values[key])
        )


def test_steps_follow_each_other_and_the_batches_of_the_epoch() -> None:
    model = random_model(3, "conv", "cross_entropy", batch=1)
    records = explain_model_steps(model, 0, 3)
    assert [r.examples for r in records] == [(0,), (1,), (2,)][: len(records)] or len(model.x) < 3
    first, second = records[0], records[1] if len(records) > 1 else records[0]
    for name, value in first.values.items():
        if name.endswith("_new") and len(records) > 1:
            assert second.values[name[: -len("_new")]] == value


@given(MODELS)
def test_a_fused_output_gradient_is_a_minus_y_over_n(model: Model) -> None:
    """What the story says of the loss fused with its activation holds for every output: (a − y)·(1/N)."""
    record = explain_model_step(model)
    last = record.ops[-1].name
    if not record.fused:
        return
    for k in range(len(record.examples)):
        s = record.suffix(k)
        for j in range(record.ops[-1].out_shape[-1]):
            a, y = record.values[f"a_{last}[{j + 1}]{s}"], record.values[f"y_{last}[{j + 1}]{s}"]
            assert abs(record.values[f"dL/dz_{last}[{j + 1}]{s}"] - (a - y) * record.mean_factor) <= 1e-15
