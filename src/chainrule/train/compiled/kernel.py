"""The numba-compiled epoch loop behind `chainrule.train.compiled.loop` (imported only when numba is present).

Whole epochs of SGD with their running metrics, and the full evaluations asked for: example by
example for the smallest batches (`scalar`), as matrices from a few rows on (`matrices`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from chainrule.train.compiled.codes import BIAS_NEURON, BIAS_SHARED, LOOP_GENERAL, SOFTMAX
from chainrule.train.compiled.matrices import evaluate_matrices, matrix_update
from chainrule.train.compiled.scalar import FAST, act_derivative, act_value, correct, output_delta, softmax

# Fewer rows than this are evaluated one example at a time: matrices only pay from a few rows on.
EVALUATION_MIN_ROWS = 8


@njit(cache=True, fastmath=FAST)
def _forward(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, x, Z, A):
    for k in range(x.shape[0]):
        A[k] = x[k]
    for layer in range(units.shape[0]):
        # Work on views of this layer's slices: with plain local arrays LLVM vectorizes the loops
        # (indexing the flat buffers through offsets read from arrays runs ~8x slower).
        n, fi, wo, code, al = units[layer], fan_in[layer], w_off[layer], act[layer], alpha[layer]
        W = P[wo : wo + n * fi].reshape((n, fi))
        a = A[a_off[layer] : a_off[layer] + fi]
        z = Z[a_off[layer + 1] : a_off[layer + 1] + n]
        out = A[a_off[layer + 1] : a_off[layer + 1] + n]
        mode, bo = bias_mode[layer], b_off[layer]
        for j in range(n):
            s = 0.0
            for k in range(fi):
                s += a[k] * W[j, k]
            if mode == BIAS_SHARED:
                s += P[bo]
            elif mode == BIAS_NEURON:
                s += P[bo + j]
            z[j] = s
        if code == SOFTMAX:
            softmax(Z, A, a_off[layer + 1], n)
        else:
            for j in range(n):
                out[j] = act_value(code, z[j], al)


@njit(cache=True, fastmath=FAST)
def _delta_below(W, d, D, Z, a, start, code, al):
    """δ of the layer below (its neurons from `start` in D and Z): f'(z) ⊙ (Wᵀ δ), accumulated row
    by row along contiguous weights."""
    n, fi = W.shape
    dp, zp = D[start : start + fi], Z[start : start + fi]
    for k in range(fi):
        dp[k] = 0.0
    for j in range(n):
        dj = d[j]
        for k in range(fi):
            dp[k] += dj * W[j, k]
    for k in range(fi):
        dp[k] = act_derivative(code, zp[k], a[k], al) * dp[k]


@njit(cache=True, fastmath=FAST)
def _backward(P, G, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, Z, A, D):
    for layer in range(units.shape[0] - 1, -1, -1):
        n, fi, wo = units[layer], fan_in[layer], w_off[layer]
        W = P[wo : wo + n * fi].reshape((n, fi))
        GW = G[wo : wo + n * fi].reshape((n, fi))
        a = A[a_off[layer] : a_off[layer] + fi]
        d = D[a_off[layer + 1] : a_off[layer + 1] + n]
        mode, bo = bias_mode[layer], b_off[layer]
        for j in range(n):
            dj = d[j]
            for k in range(fi):
                GW[j, k] += dj * a[k]
            if mode == BIAS_SHARED:
                G[bo] += dj
            elif mode == BIAS_NEURON:
                G[bo + j] += dj
        if layer > 0:
            _delta_below(W, d, D, Z, a, a_off[layer], act[layer - 1], alpha[layer - 1])


@njit(cache=True, fastmath=FAST)
def _backward_update(P, M, masked, lr, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, Z, A, D):
    """Backward pass and update for a batch of one example: θ ← θ − η·(δ·a)·mask layer by layer,
    each layer's δ for the layer below taken through its weights before they move. With one
    example the gradient has one term, so this equals accumulating it first and then applying
    it, to rounding, without a pass to clear the gradient and one to apply it."""
    for layer in range(units.shape[0] - 1, -1, -1):
        n, fi, wo = units[layer], fan_in[layer], w_off[layer]
        W = P[wo : wo + n * fi].reshape((n, fi))
        MW = M[wo : wo + n * fi].reshape((n, fi))
        a = A[a_off[layer] : a_off[layer] + fi]
        d = D[a_off[layer + 1] : a_off[layer + 1] + n]
        if layer > 0:
            _delta_below(W, d, D, Z, a, a_off[layer], act[layer - 1], alpha[layer - 1])
        if masked:
            for j in range(n):
                dj = d[j]
                for k in range(fi):
                    W[j, k] -= lr * (dj * a[k]) * MW[j, k]
        else:  # nothing frozen: the mask is all ones, and multiplying by 1 changes nothing
            for j in range(n):
                step = lr * d[j]
                for k in range(fi):
                    W[j, k] -= step * a[k]
        mode, bo = bias_mode[layer], b_off[layer]
        if mode == BIAS_SHARED:
            total = 0.0
            for j in range(n):
                total += d[j]
            P[bo] -= lr * total * M[bo]
        elif mode == BIAS_NEURON:
            for j in range(n):
                P[bo + j] -= lr * d[j] * M[bo + j]


@njit(cache=True, fastmath=FAST)
def _epoch(
    P, M, G, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, order, batch, mean, lr, Z, A, D,
    matrices, Zb, Ab, Db, classify, cut, total, right
):  # fmt: skip
    """One epoch of SGD in `order` (or a stretch of one: `order` from a batch boundary on); each
    update uses the gradients of its batch before it.

    Returns the running metrics' sums, from the forward passes the updates made: (Σ example
    losses, Σ examples classified right), each example's before its own update, added one by one
    to `total` and `right` (a stretch continues the sums of the stretch before it, unchanged by
    where the epoch was cut).
    """
    last = units.shape[0] - 1
    n = order.shape[0]
    o, m = a_off[last + 1], units[last]
    cap = Zb.shape[0] // (o + m)  # rows of the matrix blocks (0: no matrices)
    masked = False
    for p in range(M.shape[0]):
        if M[p] != 1.0:
            masked = True
            break
    start = 0
    while start < n:
        stop = min(start + batch, n)
        scale = 1.0 / (stop - start) if mean else 1.0
        if stop - start == 1:  # one example: update each layer as soon as its δ is known
            i = order[start]
            _forward(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, X[i], Z, A)
            total += output_delta(loss, act[last], Z, A, D, o, m, Y[i], scale, alpha[last])
            right += correct(classify, cut, A, o, m, Y[i])
            _backward_update(P, M, masked, lr, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, Z, A, D)
            start = stop
            continue
        if matrices:
            t, r = matrix_update(
                P, M, G, masked, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, order, start,
                stop - start, scale, lr, Zb, Ab, Db, cap, classify, cut
            )  # fmt: skip
            total += t
            right += r
            start = stop
            continue
        G[:] = 0.0
        for t in range(start, stop):
            i = order[t]
            _forward(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, X[i], Z, A)
            total += output_delta(loss, act[last], Z, A, D, o, m, Y[i], scale, alpha[last])
            right += correct(classify, cut, A, o, m, Y[i])
            _backward(P, G, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, Z, A, D)
        for p in range(P.shape[0]):
            P[p] -= lr * G[p] * M[p]
        start = stop
    return total, right


@njit(cache=True, fastmath=FAST)
def _evaluate(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, classify, cut, Z, A, D):
    """The mean example loss over (X, Y) and the fraction classified right (classify: 0 none,
    1 one output against `cut`, 2 argmax), as `train.evaluate` computes them."""
    last = units.shape[0] - 1
    o, m = a_off[last + 1], units[last]
    total, right = 0.0, 0.0
    for i in range(X.shape[0]):
        _forward(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, X[i], Z, A)
        total += output_delta(loss, act[last], Z, A, D, o, m, Y[i], 0.0, alpha[last])
        right += correct(classify, cut, A, o, m, Y[i])
    n = max(X.shape[0], 1)
    return total / n, right / n


@njit(cache=True, fastmath=FAST)
def _buffers(P, units, a_off, cap):
    """z, a and δ of every neuron (inputs first), the gradient of every parameter, and z, a and δ
    for `cap` examples at once (empty when cap is 0: no matrices)."""
    size = a_off[units.shape[0]] + units[units.shape[0] - 1]
    return (
        np.zeros(size, dtype=P.dtype),
        np.zeros(size, dtype=P.dtype),
        np.zeros(size, dtype=P.dtype),
        np.zeros(P.shape[0], dtype=P.dtype),
        np.zeros(size * cap, dtype=P.dtype),
        np.zeros(size * cap, dtype=P.dtype),
        np.zeros(size * cap, dtype=P.dtype),
    )


@njit(cache=True, fastmath=FAST)
def train_epochs(
    P, M, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, order, batch, mean, lr, cap, matrices,
    losses
):  # fmt: skip
    """SGD for order.shape[0] epochs; losses[e] = the mean example loss met during epoch e.
    Returns LOOP_GENERAL: this loop ran (`codes.LOOP_NAMES`).

    matrices: batches of two or more examples go through BLAS matrix products (cap ≥ batch rows)."""
    Z, A, D, G, Zb, Ab, Db = _buffers(P, units, a_off, cap)
    for e in range(order.shape[0]):
        total, _right = _epoch(
            P, M, G, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, order[e], batch, mean, lr,
            Z, A, D, matrices, Zb, Ab, Db, 0, 0.0, 0.0, 0.0
        )  # fmt: skip
        losses[e] = total / order.shape[1]
    return LOOP_GENERAL


@njit(cache=True, fastmath=FAST)
def _evaluate_any(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, classify, cut, buffers):
    Z, A, D, _G, Zb, Ab, Db = buffers
    if Zb.shape[0] > 0 and X.shape[0] >= EVALUATION_MIN_ROWS:
        return evaluate_matrices(
            P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, classify, cut, Zb, Ab, Db
        )
    return _evaluate(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, classify, cut, Z, A, D)


@njit(cache=True, fastmath=FAST)
def train_and_evaluate(
    P, M, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, orders, batch, mean, lrs, Xv, Yv,
    classify, cut, until_loss, cap, matrices, evaluate, out
):  # fmt: skip
    """Epochs of SGD with the metrics `chainrule train` reports after each.

    out[e] = (training loss, training accuracy, validation loss, validation accuracy, measured)
    after epoch e. The training metrics are running ones, (Σ example losses before their own
    update)/n and (Σ right)/n from the epoch's own forward passes (measured 0.0), or, where
    evaluate[e] is 1, the whole training set evaluated with the updated parameters (measured 1.0).
    The validation set, when it has rows, is evaluated after every epoch. Stops after the first
    epoch whose out[e, 0] is at most `until_loss`; returns (the epochs run, LOOP_GENERAL: this loop ran).
    matrices: batches of two or more examples go through BLAS matrix products; so does the
    evaluation of EVALUATION_MIN_ROWS examples or more when cap > 0 (blocks of up to `cap` rows).
    """
    buffers = _buffers(P, units, a_off, cap)
    Z, A, D, G, Zb, Ab, Db = buffers
    layout = (P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss)
    n = max(X.shape[0], 1)
    for e in range(orders.shape[0]):
        total, right = _epoch(
            P, M, G, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, orders[e], batch, mean,
            lrs[e], Z, A, D, matrices, Zb, Ab, Db, classify, cut, 0.0, 0.0
        )  # fmt: skip
        if evaluate[e]:
            out[e, 0], out[e, 1] = _evaluate_any(*layout, X, Y, classify, cut, buffers)
            out[e, 4] = 1.0
        else:
            out[e, 0], out[e, 1], out[e, 4] = total / n, right / n, 0.0
        if Xv.shape[0] > 0:
            out[e, 2], out[e, 3] = _evaluate_any(*layout, Xv, Yv, classify, cut, buffers)
        if out[e, 0] <= until_loss:
            return e + 1, LOOP_GENERAL
    return orders.shape[0], LOOP_GENERAL


@njit(cache=True, fastmath=FAST)
def train_stretch(
    P, M, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, order, start, stop, batch, mean, lr,
    cap, matrices, classify, cut, sums
):  # fmt: skip
    """The updates of order[start:stop] (start at a batch boundary), part of an epoch too long to
    run in one call: Ctrl-C is checked between stretches. sums holds the epoch's running (Σ
    losses, Σ right) so far and is moved on. Returns LOOP_GENERAL."""
    Z, A, D, G, Zb, Ab, Db = _buffers(P, units, a_off, cap)
    sums[0], sums[1] = _epoch(
        P, M, G, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, order[start:stop], batch, mean,
        lr, Z, A, D, matrices, Zb, Ab, Db, classify, cut, sums[0], sums[1]
    )  # fmt: skip
    return LOOP_GENERAL


@njit(cache=True, fastmath=FAST)
def evaluate(P, M, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, classify, cut, cap, out):
    """out[0], out[1] = the mean loss over (X, Y) and the fraction right, as `train_and_evaluate`
    evaluates after an epoch (M, the mask, unused: the arguments are `Packed.kernel_args`). Returns LOOP_GENERAL."""
    buffers = _buffers(P, units, a_off, cap)
    out[0], out[1] = _evaluate_any(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, classify,
                                   cut, buffers)  # fmt: skip
    return LOOP_GENERAL
