# mypy: disallow-untyped-defs=False
# (numba kernels, as kernel.py: numba infers and checks their types at compile time)
"""The compiled loop's matrix forms: a batch (or a block of rows to evaluate) as matrices, one BLAS
product per layer through numba, everything between the products compiled.

Batch buffers hold each layer's values for up to `cap` examples as one contiguous block
(`block_of`), so that each block is a matrix BLAS takes as it is.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from chainrule.train.compiled.codes import (
    BIAS_NEURON,
    BIAS_SHARED,
    BINARY_STEP,
    CROSS_ENTROPY,
    IDENTITY,
    LEAKY_RELU,
    RELU,
    SOFTMAX,
)
from chainrule.train.compiled.scalar import (
    FAST,
    act_derivative,
    act_value,
    correct,
    output_delta,
    softmax,
    softmax_cross_entropy,
    softmax_cross_entropy_delta,
)


@njit(cache=True, fastmath=FAST)
def act_block(code, z, out, alpha):
    """out = f(z) over a block. relu, leaky ReLU and the identity get loops of their own, which LLVM
    vectorizes (through `act` one number at a time they run several times slower); the others
    call the maths library once per number (see `sgd.VECTORIZED`)."""
    rows, n = z.shape
    if code == RELU:
        for t in range(rows):
            for j in range(n):
                out[t, j] = max(z[t, j], 0.0)
    elif code == LEAKY_RELU:
        for t in range(rows):
            for j in range(n):
                out[t, j] = z[t, j] if z[t, j] > 0 else alpha * z[t, j]
    elif code == IDENTITY:
        out[:, :] = z
    else:
        for t in range(rows):
            for j in range(n):
                out[t, j] = act_value(code, z[t, j], alpha)


@njit(cache=True, fastmath=FAST)
def dact_block(code, z, a, d, alpha):
    """d ⊙= f'(z) over a block (as `act_block`: the piecewise-linear ones by loops of their own)."""
    rows, n = z.shape
    if code == RELU:
        for t in range(rows):
            for j in range(n):
                d[t, j] = d[t, j] if z[t, j] > 0 else 0.0
    elif code == LEAKY_RELU:
        for t in range(rows):
            for j in range(n):
                d[t, j] = d[t, j] if z[t, j] > 0 else alpha * d[t, j]
    elif code == BINARY_STEP:
        d[:, :] = 0.0
    elif code != IDENTITY:
        for t in range(rows):
            for j in range(n):
                d[t, j] *= act_derivative(code, z[t, j], a[t, j], alpha)


@njit(cache=True, fastmath=FAST)
def block_of(buf, cap, start, rows, width):
    """Rows × width of a batch buffer: the block of the neurons from `start`, row-major, first `rows` rows.

    A batch buffer holds each layer's values for up to `cap` examples as one contiguous block, so
    that each block is a matrix BLAS can take as it is."""
    s = start * cap
    return buf[s : s + rows * width].reshape((rows, width))


@njit(cache=True, fastmath=FAST)
def matrix_forward(
    P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, X, first, idx, rows, Zb, Ab, cap, last_softmax
):  # fmt: skip
    """The forward pass for `rows` examples at once, one matrix product per layer: X[idx[first + t]]
    for t < rows (X[first + t] when idx is empty). Without `last_softmax` a softmax output layer
    keeps only its z (the caller computes its a together with the loss)."""
    x = block_of(Ab, cap, 0, rows, fan_in[0])
    for t in range(rows):
        i = idx[first + t] if idx.shape[0] > 0 else first + t
        for k in range(fan_in[0]):
            x[t, k] = X[i, k]
    for layer in range(units.shape[0]):
        n, fi, wo, code, al = units[layer], fan_in[layer], w_off[layer], act[layer], alpha[layer]
        W = P[wo : wo + n * fi].reshape((n, fi))
        a = block_of(Ab, cap, a_off[layer], rows, fi)
        z = block_of(Zb, cap, a_off[layer + 1], rows, n)
        out = block_of(Ab, cap, a_off[layer + 1], rows, n)
        np.dot(a, W.T, z)
        mode, bo = bias_mode[layer], b_off[layer]
        if mode == BIAS_SHARED:
            shared = P[bo]
            for t in range(rows):
                for j in range(n):
                    z[t, j] += shared
        elif mode == BIAS_NEURON:
            b = P[bo : bo + n]  # a view: through offsets into P the loop does not vectorize
            for t in range(rows):
                for j in range(n):
                    z[t, j] += b[j]
        if code != SOFTMAX:
            act_block(code, z, out, al)
        elif last_softmax or layer < units.shape[0] - 1:
            base = a_off[layer + 1] * cap
            for t in range(rows):
                softmax(Zb, Ab, base + t * n, n)


@njit(cache=True, fastmath=FAST)
def matrix_update(
    P, M, G, masked, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, idx, first, rows, scale, lr,
    Zb, Ab, Db, cap, classify, cut
):  # fmt: skip
    """One update on the batch idx[first : first + rows] as matrices: BLAS products for the forward
    pass, the weight gradients δᵀa and the δ of each layer below (through the weights before the
    update), then θ ← θ − η·g·mask. Returns the running metrics' share of the batch, from its
    forward pass before the update: (Σ example losses, Σ examples classified right)."""
    last = units.shape[0] - 1
    fused = loss == CROSS_ENTROPY and act[last] == SOFTMAX  # softmax, δ and loss from one set of exponentials
    matrix_forward(
        P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, X, first, idx, rows, Zb, Ab, cap, not fused
    )  # fmt: skip
    m, base = units[last], a_off[last + 1] * cap
    total, right = 0.0, 0.0
    for t in range(rows):
        y, o = Y[idx[first + t]], base + t * m
        if fused:
            total += softmax_cross_entropy_delta(Zb, Ab, Db, o, m, y, scale)
        else:
            total += output_delta(loss, act[last], Zb, Ab, Db, o, m, y, scale, alpha[last])
        right += correct(classify, cut, Ab, o, m, y)
    for layer in range(last, -1, -1):
        n, fi, wo = units[layer], fan_in[layer], w_off[layer]
        W = P[wo : wo + n * fi].reshape((n, fi))
        d = block_of(Db, cap, a_off[layer + 1], rows, n)
        np.dot(d.T, block_of(Ab, cap, a_off[layer], rows, fi), G[wo : wo + n * fi].reshape((n, fi)))
        mode, bo = bias_mode[layer], b_off[layer]
        if mode == BIAS_SHARED:
            s = 0.0
            for t in range(rows):
                for j in range(n):
                    s += d[t, j]
            G[bo] = s
        elif mode == BIAS_NEURON:
            g = G[bo : bo + n]
            g[:] = 0.0
            for t in range(rows):
                for j in range(n):
                    g[j] += d[t, j]
        if layer > 0:
            below = block_of(Db, cap, a_off[layer], rows, fi)
            np.dot(d, W, below)
            zp, ap = block_of(Zb, cap, a_off[layer], rows, fi), block_of(Ab, cap, a_off[layer], rows, fi)
            dact_block(act[layer - 1], zp, ap, below, alpha[layer - 1])
    if masked:
        for p in range(P.shape[0]):
            P[p] -= lr * G[p] * M[p]
    else:
        for p in range(P.shape[0]):
            P[p] -= lr * G[p]
    return total, right


@njit(cache=True, fastmath=FAST)
def evaluate_matrices(
    P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, classify, cut, Zb, Ab, Db
):
    """`_evaluate` by blocks of rows, one matrix product per layer and block."""
    last = units.shape[0] - 1
    m = units[last]
    cap = Zb.shape[0] // (a_off[last + 1] + m)
    base = a_off[last + 1] * cap
    none = np.empty(0, dtype=np.int64)
    fused = loss == CROSS_ENTROPY and act[last] == SOFTMAX  # softmax and its cross-entropy from one set of exponentials
    total, right = 0.0, 0.0
    for first in range(0, X.shape[0], cap):
        rows = min(cap, X.shape[0] - first)
        matrix_forward(
            P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, X, first, none, rows, Zb, Ab, cap, not fused
        )  # fmt: skip
        for t in range(rows):
            i, o = first + t, base + t * m
            if fused:
                total += softmax_cross_entropy(Zb, Ab, o, m, Y[i])
            else:
                total += output_delta(loss, act[last], Zb, Ab, Db, o, m, Y[i], 0.0, alpha[last])
            right += correct(classify, cut, Ab, o, m, Y[i])
    n = max(X.shape[0], 1)
    return total / n, right / n
