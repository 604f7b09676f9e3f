"""Published worked examples of backpropagation through time and of a convolution, reproduced by the engine.

Each example's inputs and its author's numbers are data in tests/published/ with their source. A number is
compared at the precision its author printed it with: the engine's value, rounded half-up to as many decimals as
the printed figure has, must be that figure. Where an author slipped, the file says so and gives the corrected
figure at the same precision, and the test asserts the engine's value is the corrected one, not the author's.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chainrule.engine.activations import ACTIVATIONS
from chainrule.engine.functions import LOSSES
from chainrule.engine.layers.conv import Conv2d
from chainrule.engine.layers.dense import Dense
from chainrule.engine.layers.pool import AvgPool2d, MaxPool2d
from chainrule.engine.layers.recurrent import RNN
from chainrule.engine.model import Model
from chainrule.engine.network import Training

PUBLISHED = Path(__file__).resolve().parent / "published"


def _load(name: str) -> dict[str, Any]:
    return tomllib.loads((PUBLISHED / name).read_text(encoding="utf-8"))


def at_precision(value: float, published: str) -> str:
    """The value rounded half-up to as many decimals as the published figure has, written like it."""
    places = len(published.split(".")[1]) if "." in published else 0
    return str(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _drawn(example: dict[str, Any]) -> dict[str, np.ndarray]:
    """The example's arrays, drawn as its author drew them: NumPy's legacy generator (whose stream NumPy keeps
    fixed across versions), one randn per array in the listed order."""
    legacy = np.random.RandomState(example["seed"])
    return {name: legacy.randn(*shape) for name, *shape in example["draws"]}


# deeplearning.ai's rnn_backward: 10 sequences of 4 steps, 5 tanh units, every state's gradient given.

DLAI_RNN = _load("dlai-rnn-backward.toml")


@pytest.fixture(scope="module")
def dlai_rnn() -> dict[str, np.ndarray]:
    """The engine's gradients for the course's example, indexed as the course indexes them."""
    d = _drawn(DLAI_RNN)
    units = d["Waa"].shape[0]
    # The course's one bias b_a is torch's b_ih; its b_hh is 0 (z = W_ax x + W_aa a + b_a either way).
    rnn = RNN("a", ACTIVATIONS["tanh"], d["Wax"], d["Waa"], d["ba"][:, 0], np.zeros(units), output="all")
    x = d["x"].transpose(1, 2, 0)  # (n_x, m, T_x) -> (m, T_x, n_x): batch first
    cache = rnn.forward_from(x, d["a0"].T)
    bptt = rnn.through_time(d["da"].transpose(1, 2, 0), cache)
    grads = bptt.gradients()
    np.testing.assert_array_equal(grads["bias_ih_l0"], grads["bias_hh_l0"])  # both biases are Σ_t Σ_n ∂L/∂z_t
    return {
        "dx": bptt.d_x.transpose(2, 0, 1),
        "da0": bptt.d_h0.T,
        "dWax": grads["weight_ih_l0"],
        "dWaa": grads["weight_hh_l0"],
        "dba": grads["bias_ih_l0"],
    }


@pytest.mark.parametrize(("name", "published"), DLAI_RNN["published"].items())
def test_deeplearning_ai_rnn_backward_at_its_printed_precision(
    dlai_rnn: dict[str, np.ndarray], name: str, published: str | list[str]
) -> None:
    array, _, index = name.partition("[")
    value = dlai_rnn[array][tuple(int(i) for i in index.rstrip("]").split("]["))]
    figures = published if isinstance(published, list) else [published]
    assert [at_precision(v, p) for v, p in zip(np.ravel(value), figures, strict=True)] == figures


def test_deeplearning_ai_rnn_backward_needs_the_sum_over_time() -> None:
    """The slip of stopping BPTT at one step (each step's term taken alone, nothing passed back through W_aa)
    misses the course's ∂L/∂W_aa[1][2] = 2.30333312658 by more than the figure's last digit allows."""
    d = _drawn(DLAI_RNN)
    x, a_prev, da = d["x"].transpose(1, 2, 0), d["a0"].T, d["da"].transpose(1, 2, 0)
    one_step = np.zeros_like(d["Waa"])
    for t in range(x.shape[1]):
        a = np.tanh(x[:, t] @ d["Wax"].T + a_prev @ d["Waa"].T + d["ba"][:, 0])
        one_step += ((1 - a**2) * da[:, t]).T @ a_prev
        a_prev = a
    assert at_precision(one_step[1, 2], "2.30333312658") != "2.30333312658"


# PracHub's two-step walkthrough: one tanh unit, a linear output at each step, ½ squared error summed over time.

PRACHUB = _load("prachub-bptt.toml")


@pytest.fixture(scope="module")
def prachub() -> dict[str, float]:
    """Every number the page names, from the engine: the page's network as a Model (the RNN's every state,
    then y_t = W_y h_t as a dense layer with no bias applied at each step, ½ squared error summed over both
    steps), and BPTT's terms step by step from the RNN op."""
    p = PRACHUB
    rnn = RNN(
        "h",
        ACTIVATIONS["tanh"],
        np.array([[p["W_x"]]]),
        np.array([[p["W_h"]]]),
        np.array([p["b"]]),
        np.zeros(1),
        output="all",
        h0=np.array([p["h0"]]),
    )
    head = Dense("y", np.array([[p["W_y"]]]), np.zeros(0))
    x, y = np.array(p["x"]).reshape(1, 2, 1), np.array(p["targets"]).reshape(1, 2, 1)
    model = Model("prachub", (2, 1), [rnn, head], LOSSES["half_squared_error"], x, y, Training(reduction="sum"))
    fwd = model.forward(x)
    back = model.backward(fwd, y)
    cache = fwd.caches[0]
    bptt = rnn.through_time(back.d_a[0], cache)
    h, a, out = cache.a[0, :, 0], cache.z[0, :, 0], fwd.output[0, :, 0]
    errors = out - y[0, :, 0]
    grads = model.gradients(back)
    return {
        "a1": a[0],
        "a2": a[1],
        "h1": h[0],
        "h2": h[1],
        "h2^2": h[1] ** 2,
        "y1": out[0],
        "y2": out[1],
        "L1": 0.5 * errors[0] ** 2,
        "L2": 0.5 * errors[1] ** 2,
        "L": back.loss,
        "dL/dy2": back.d_a[1][0, 1, 0],
        "dL/dh2": bptt.d_h[0, 1, 0],
        "tanh'(a2)": bptt.d_z[0, 1, 0] / bptt.d_h[0, 1, 0],
        "dL/da2": bptt.d_z[0, 1, 0],
        "dL/dW_x at t=2": bptt.steps["weight_ih_l0"][1, 0, 0],
        "dL/dW_h at t=2": bptt.steps["weight_hh_l0"][1, 0, 0],
        # beyond the page: the t = 1 terms and the sums over time, as the model has them
        "dL/dW_h at t=1": bptt.steps["weight_hh_l0"][0, 0, 0],
        "dL/dW_h": grads["Wh_h"][0, 0],
        "dL/dW_x": grads["Wx_h"][0, 0],
    }


@pytest.mark.parametrize(("name", "published"), PRACHUB["published"].items())
def test_prachub_bptt_walkthrough_at_its_printed_precision(
    prachub: dict[str, float], name: str, published: str
) -> None:
    corrected = PRACHUB["corrected"].get(name)
    if corrected is None:
        assert at_precision(prachub[name], published) == published
    else:
        assert at_precision(prachub[name], corrected) == corrected != published


# The page's arithmetic replayed from its own printed figures: each number from the figures before it.
P = PRACHUB
REPLAY: dict[str, Callable[[dict[str, float]], float]] = {
    "a1": lambda f: P["W_x"] * P["x"][0] + P["W_h"] * P["h0"],
    "h1": lambda f: math.tanh(f["a1"]),
    "a2": lambda f: P["W_x"] * P["x"][1] + P["W_h"] * f["h1"],
    "h2": lambda f: math.tanh(f["a2"]),
    "h2^2": lambda f: f["h2"] ** 2,
    "y1": lambda f: P["W_y"] * f["h1"],
    "y2": lambda f: P["W_y"] * f["h2"],
    "L1": lambda f: 0.5 * (f["y1"] - P["targets"][0]) ** 2,
    "L2": lambda f: 0.5 * (f["y2"] - P["targets"][1]) ** 2,
    "L": lambda f: f["L1"] + f["L2"],
    "dL/dy2": lambda f: f["y2"] - P["targets"][1],
    "dL/dh2": lambda f: f["dL/dy2"] * P["W_y"],
    "tanh'(a2)": lambda f: 1.0 - f["h2^2"],
    "dL/da2": lambda f: f["dL/dh2"] * f["tanh'(a2)"],
    "dL/dW_x at t=2": lambda f: f["dL/da2"] * P["x"][1],
    "dL/dW_h at t=2": lambda f: f["dL/da2"] * f["h1"],
}
# Where a step of the page's does not give the figure it prints: what that step gives.
PAGE_SLIPS = {"h2": "0.7803", "h2^2": "0.6068", "L1": "0.00287", "L2": "0.0977"}


@pytest.mark.parametrize("name", REPLAY)
def test_prachubs_own_arithmetic_slips_at_h2_and_three_roundings(name: str) -> None:
    """Everything else the page prints follows from its earlier figures, so the engine's differences from the
    page after h2 are the page's tanh(1.04621) carried on, not a different method."""
    figures = {k: float(v) for k, v in PRACHUB["published"].items()}
    printed = PRACHUB["published"][name]
    got = at_precision(REPLAY[name](figures), printed)
    assert got == PAGE_SLIPS.get(name, printed)
    assert (got != printed) == (name in PAGE_SLIPS)


def test_prachubs_whole_gradient_sums_both_steps(prachub: dict[str, float]) -> None:
    """Beyond the page: with h0 = 0 the t = 1 term of ∂L/∂W_h is 0, so ∂L/∂W_h is its t = 2 term, but ∂L/∂W_x
    also has a t = 1 term (what y1 asks of h1 plus what h2 sends back through W_h)."""
    assert prachub["dL/dW_h at t=1"] == 0.0 and prachub["dL/dW_h"] == prachub["dL/dW_h at t=2"]
    assert at_precision(prachub["dL/dW_x"], "-0.8335") == "-0.8335"
    assert at_precision(prachub["dL/dW_x at t=2"], "-0.6873") == "-0.6873"


# deeplearning.ai's conv_forward and conv_backward: 10 images 4×4×3, 8 kernels 2×2×3, stride 2, padding 2.

DLAI_CONV = _load("dlai-conv-step-by-step.toml")


@pytest.fixture(scope="module")
def dlai_conv() -> dict[str, np.ndarray]:
    """The engine's numbers for the course's example: one conv2d layer in a Model whose loss is ½ Σ Z²
    (½ squared error against 0, summed), so that ∂L/∂Z = Z as the course's conv_backward(Z, …) is given."""
    d = _drawn(DLAI_CONV)
    s, pad = DLAI_CONV["stride"], DLAI_CONV["padding"]
    # the course's (f, f, C_in, C_out) kernel and (m, H, W, C) images, channels first as PyTorch has them
    conv = Conv2d("c", d["W"].transpose(3, 2, 0, 1), d["b"].reshape(-1), stride=(s, s), padding=(pad, pad))
    x = d["A_prev"].transpose(0, 3, 1, 2)
    shape = (len(x), *conv.out_shape(x.shape[1:]))
    model = Model(
        "course", x.shape[1:], [conv], LOSSES["half_squared_error"], x, np.zeros(shape), Training(reduction="sum")
    )
    fwd = model.forward(x)
    back = model.backward(fwd, model.y)
    np.testing.assert_array_equal(back.d_a[0], fwd.output)  # ∂L/∂Z = Z, as the course passes it
    grads = model.gradients(back)
    return {
        "Z": fwd.output.transpose(0, 2, 3, 1),  # back to the course's layout for its indices
        "dA": back.d_x[0],
        "dW": grads["W_c"],
        "db": grads["b_c"],
    }


@pytest.mark.parametrize(("name", "published"), DLAI_CONV["published"].items())
def test_deeplearning_ai_convolution_at_its_printed_precision(
    dlai_conv: dict[str, np.ndarray], name: str, published: str | list[str]
) -> None:
    if name.startswith("mean("):
        value: np.ndarray = np.asarray(np.mean(dlai_conv[name[5:-1]]))
    else:
        array, _, index = name.partition("[")
        value = dlai_conv[array][tuple(int(i) for i in index.rstrip("]").split(","))]
    figures = published if isinstance(published, list) else [published]
    assert [at_precision(v, p) for v, p in zip(np.ravel(value), figures, strict=True)] == figures


# deeplearning.ai's pool_backward: 5 maps 5×3 with 2 channels, 2×2 windows with stride 1, max and average.

DLAI_POOL = _load("dlai-pool-backward.toml")


def _pooled_back(kind: str) -> np.ndarray:
    """The engine's ∂L/∂A_prev for the course's example through a max- or average-pooling op, in its layout."""
    d = _drawn(DLAI_POOL)
    k, s = DLAI_POOL["kernel"], DLAI_POOL["stride"]
    pool = (MaxPool2d if kind == "max" else AvgPool2d)("p", (k, k), (s, s))
    cache = pool.forward(d["A_prev"].transpose(0, 3, 1, 2))
    d_x, grads = pool.backward(d["dA"].transpose(0, 3, 1, 2), cache)
    assert grads == {}
    return d_x.transpose(0, 2, 3, 1)


@pytest.mark.parametrize("kind", ["max", "average"])
def test_deeplearning_ai_pooling_backward_at_its_printed_precision(kind: str) -> None:
    published = DLAI_POOL["published"][f"{kind}: dA_prev[1,1]"]
    row = _pooled_back(kind)[1, 1]
    assert [[at_precision(v, p) for v, p in zip(r, ps, strict=True)] for r, ps in zip(row, published, strict=True)] == [
        [p if p != "0." else "0" for p in ps]
        for ps in published  # NumPy prints an exact 0 as "0."
    ]
    mean = DLAI_POOL["published"]["mean(dA)"]
    assert at_precision(float(np.mean(_drawn(DLAI_POOL)["dA"])), mean) == mean


def test_deeplearning_ai_max_pool_gradient_routed_not_spread() -> None:
    """The slip the checker names: a max-pool's gradient spread over its window (average pooling's rule) instead
    of routed to the window's maximum. On the course's example the spread row is its average table, not its
    max table, and the routed gradient keeps each window's whole upstream value (each sums to Σ dA)."""
    routed, spread = _pooled_back("max"), _pooled_back("average")
    published = [[float(p) for p in r] for r in DLAI_POOL["published"]["max: dA_prev[1,1]"]]
    assert np.max(np.abs(spread[1, 1] - np.array(published))) > 1.0
    total = float(np.sum(_drawn(DLAI_POOL)["dA"]))
    assert np.sum(routed) == pytest.approx(total, rel=1e-12) and np.sum(spread) == pytest.approx(total, rel=1e-12)


# Dive into Deep Learning: its cross-correlation example, and its transposed convolution as the input's gradient.

D2L = _load("d2l-convolution.toml")


def _d2l_conv() -> tuple[Conv2d, np.ndarray, np.ndarray]:
    kernel = np.array(D2L["K"])
    conv = Conv2d("c", kernel.reshape(1, 1, *kernel.shape), np.zeros(0))
    return conv, np.array(D2L["X"]).reshape(1, 1, 3, 3), np.array(D2L["upstream"]).reshape(1, 1, 2, 2)


def test_d2l_convolution_and_its_gradients_exactly() -> None:
    conv, x, upstream = _d2l_conv()
    cache = conv.forward(x)
    d_x, grads = conv.backward(upstream, cache)
    published = {name: np.array(value) for name, value in D2L["published"].items()}
    np.testing.assert_array_equal(cache.a[0, 0], published["Y"])
    np.testing.assert_array_equal(d_x[0, 0], published["dL/dX"])
    np.testing.assert_array_equal(grads["weight"][0, 0], published["dL/dK"])


def test_d2l_input_gradient_needs_the_flipped_kernel() -> None:
    """The slip the checker names: ∂L/∂X as the full correlation of ∂L/∂Y with K unflipped (∂L/∂Y padded by
    the kernel's size less one, then slid under K as in the forward pass) is not the book's Wᵀ ∂L/∂Y; with K
    turned half a circle it is."""
    conv, _, upstream = _d2l_conv()
    padded = np.pad(upstream[0, 0], 1)

    def full_correlation(kernel: np.ndarray) -> np.ndarray:
        return np.array([[np.sum(padded[i : i + 2, j : j + 2] * kernel) for j in range(3)] for i in range(3)])

    book = np.array(D2L["published"]["dL/dX"])
    assert not np.array_equal(full_correlation(conv.weight[0, 0]), book)
    np.testing.assert_array_equal(full_correlation(conv.weight[0, 0, ::-1, ::-1]), book)
