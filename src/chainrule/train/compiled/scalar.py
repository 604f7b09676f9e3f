# mypy: disallow-untyped-defs=False
# (numba kernels, as kernel.py: numba infers and checks their types at compile time)
"""The compiled loop's formulas for one number (or one example) at a time: activations, their
derivatives, the output layer's δ and loss, and whether an output is classified right.

Each formula is the engine's own (functions.py), written for one number at a time: the stable
sigmoid from e^(−|z|), softplus as max(z, 0) + log1p(e^(−|z|)), cross-entropy by log-sum-exp.
Imported only when numba is present (through `kernel`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from chainrule.engine.functions import SELU_ALPHA, SELU_SCALE
from chainrule.train.compiled.codes import (
    BINARY_CROSS_ENTROPY,
    BINARY_STEP,
    CLASSIFY_ARGMAX,
    CLASSIFY_CUT,
    CROSS_ENTROPY,
    ELU,
    GELU,
    HALF_SQUARED_ERROR,
    HINGE,
    IDENTITY,
    LEAKY_RELU,
    RELU,
    SELU,
    SIGMOID,
    SOFTMAX,
    SQUARED_ERROR,
    SWISH,
    TANH,
)

# Let LLVM reorder sums (and fuse multiply-adds) so that dot products vectorize: the results differ
# from the engine's by rounding only (~1e-16 relative), well inside the 1e-12 the tests hold. No
# 'nnan'/'ninf': a diverging run must still show its inf and nan.
FAST = {"reassoc", "contract"}
_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


@njit(cache=True, fastmath=FAST)
def sigmoid(z: float) -> float:
    e = math.exp(-abs(z))
    return 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)


@njit(cache=True, fastmath=FAST)
def softplus(z: float) -> float:
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


@njit(cache=True, fastmath=FAST)
def act_value(code: int, z: float, alpha: float) -> float:
    if code == IDENTITY:
        return z
    if code == BINARY_STEP:
        return 1.0 if z >= 0 else 0.0
    if code == SIGMOID:
        return sigmoid(z)
    if code == TANH:
        return math.tanh(z)
    if code == RELU:
        return max(z, 0.0)
    if code == LEAKY_RELU:
        return z if z > 0 else alpha * z
    if code == ELU:
        return z if z > 0 else alpha * math.expm1(min(z, 0.0))
    if code == SELU:
        return SELU_SCALE * (z if z > 0 else SELU_ALPHA * math.expm1(min(z, 0.0)))
    if code == SWISH:
        return z * sigmoid(z)
    if code == GELU:
        return z * (0.5 * (1.0 + math.erf(z / _SQRT2)))
    return softplus(z)  # SOFTPLUS


@njit(cache=True, fastmath=FAST)
def act_derivative(code: int, z: float, a: float, alpha: float) -> float:
    if code == IDENTITY:
        return 1.0
    if code == BINARY_STEP:
        return 0.0
    if code in (SIGMOID, SOFTMAX):
        return a * (1.0 - a)
    if code == TANH:
        return 1.0 - a * a
    if code == RELU:
        return 1.0 if z > 0 else 0.0
    if code == LEAKY_RELU:
        return 1.0 if z > 0 else alpha
    if code == ELU:
        return 1.0 if z > 0 else alpha * math.exp(min(z, 0.0))
    if code == SELU:
        return SELU_SCALE * (1.0 if z > 0 else SELU_ALPHA * math.exp(min(z, 0.0)))
    if code == SWISH:
        s = sigmoid(z)
        return s * (1.0 + z * (1.0 - s))
    if code == GELU:
        return 0.5 * (1.0 + math.erf(z / _SQRT2)) + z * (math.exp(-0.5 * z * z) / _SQRT2PI)
    return sigmoid(z)  # SOFTPLUS


@njit(cache=True, fastmath=FAST)
def softmax(Z: np.ndarray, A: np.ndarray, o: int, m: int) -> tuple[float, float]:
    """The engine's softmax: e^(z_i − max z) / Σ_j e^(z_j − max z), one exponential per output.
    Returns (max z, Σ_j e^(z_j − max z)), for a log-sum-exp from the same exponentials."""
    top = Z[o]
    for j in range(1, m):
        top = max(top, Z[o + j])
    total = 0.0
    for j in range(m):
        e = math.exp(Z[o + j] - top)
        A[o + j] = e
        total += e
    for j in range(m):
        A[o + j] /= total
    return top, total


@njit(cache=True, fastmath=FAST)
def softmax_cross_entropy(Z: np.ndarray, A: np.ndarray, o: int, m: int, y: np.ndarray) -> float:
    """`softmax` into A and the cross-entropy −Σ y_j (z_j − log Σ e^z) by log-sum-exp, as
    `output_delta` computes it, from the same exponentials."""
    top, total = softmax(Z, A, o, m)
    lse = math.log(total)
    value = 0.0
    for j in range(m):
        value -= y[j] * (Z[o + j] - top - lse)
    return value


@njit(cache=True, fastmath=FAST)
def softmax_cross_entropy_delta(Z, A, D, o, m, y, scale):
    """A softmax output trained by cross-entropy, from one set of exponentials: a = softmax(z) into
    A, δ = (a·Σy − y)·scale into D, and the loss by log-sum-exp (what `softmax` then
    `output_delta` compute, without taking the exponentials twice)."""
    value = softmax_cross_entropy(Z, A, o, m, y)
    ysum = 0.0
    for j in range(m):
        ysum += y[j]
    for j in range(m):
        D[o + j] = (A[o + j] * ysum - y[j]) * scale
    return value


@njit(cache=True, fastmath=FAST)
def output_delta(
    loss: int,
    code: int,
    Z: np.ndarray,
    A: np.ndarray,
    D: np.ndarray,
    o: int,
    m: int,
    y: np.ndarray,
    scale: float,
    alpha: float,
) -> float:
    """Set D (∂L/∂z of the output) for one example; return that example's loss (always: the
    epoch's running loss is the sum of these, each before its own update)."""
    value = 0.0
    if loss == BINARY_CROSS_ENTROPY:  # binary cross-entropy with sigmoid, from z
        for j in range(m):
            value += softplus(Z[o + j]) - y[j] * Z[o + j]
            D[o + j] = (A[o + j] - y[j]) * scale
        return value
    if loss == CROSS_ENTROPY:  # cross-entropy with softmax, by log-sum-exp
        top = Z[o]
        for j in range(1, m):
            top = max(top, Z[o + j])
        total, ysum = 0.0, 0.0
        for j in range(m):
            total += math.exp(Z[o + j] - top)
            ysum += y[j]
        lse = math.log(total)
        for j in range(m):
            value -= y[j] * (Z[o + j] - top - lse)
            D[o + j] = (A[o + j] * ysum - y[j]) * scale
        return value
    # ∂L/∂a first, into D; then through the activation
    if loss == HINGE:
        value = hinge(A, D, o, m, y)
    else:
        for j in range(m):
            diff = A[o + j] - y[j]
            if loss == HALF_SQUARED_ERROR:
                value += 0.5 * diff * diff
                D[o + j] = diff
            elif loss == SQUARED_ERROR:
                value += diff * diff
                D[o + j] = 2.0 * diff
            else:
                value += diff * diff / m
                D[o + j] = 2.0 * diff / m
    for j in range(m):
        D[o + j] *= scale
    if code == SOFTMAX:  # softmax's full Jacobian: δ_i = a_i (g_i − Σ_j g_j a_j)
        dot = 0.0
        for j in range(m):
            dot += D[o + j] * A[o + j]
        for j in range(m):
            D[o + j] = A[o + j] * (D[o + j] - dot)
    else:
        for j in range(m):
            D[o + j] = act_derivative(code, Z[o + j], A[o + j], alpha) * D[o + j]
    return value


@njit(cache=True, fastmath=FAST)
def hinge(A: np.ndarray, D: np.ndarray, o: int, m: int, y: np.ndarray) -> float:
    if m == 1:
        margin = 1.0 - y[0] * A[o]
        D[o] = -y[0] if margin > 0 else 0.0
        return max(0.0, margin)
    c = 0
    for j in range(1, m):
        if y[j] > y[c]:
            c = j
    value, count = 0.0, 0.0
    for j in range(m):
        if j == c:
            continue
        margin = A[o + j] - A[o + c] + 1.0
        if margin > 0:
            value += margin
            D[o + j] = 1.0
            count += 1.0
        else:
            D[o + j] = 0.0
    D[o + c] = -count
    return value


@njit(cache=True, fastmath=FAST)
def correct(classify, cut, A, o, m, y):
    """1.0 when the output A[o : o + m] classifies like y (classify: 0 none, 1 one output against
    `cut`, 2 argmax), else 0.0."""
    if classify == CLASSIFY_CUT:
        return 1.0 if (A[o] > cut) == (y[0] > cut) else 0.0
    if classify == CLASSIFY_ARGMAX:
        best, target = 0, 0
        for j in range(1, m):
            if A[o + j] > A[o + best]:
                best = j
            if y[j] > y[target]:
                target = j
        return 1.0 if best == target else 0.0
    return 0.0
