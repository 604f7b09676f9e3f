"""The numba-compiled epoch loop behind `chainrule.train.compiled.loop` (imported only when numba is present).

Each formula is the engine's own (functions.py), written for one number at a time: the stable
sigmoid from e^(−|z|), softplus as max(z, 0) + log1p(e^(−|z|)), cross-entropy by log-sum-exp.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from chainrule.engine.functions import SELU_ALPHA, SELU_SCALE

# Let LLVM reorder sums (and fuse multiply-adds) so that dot products vectorize: the results differ
# from the engine's by rounding only (~1e-16 relative), well inside the 1e-12 the tests hold. No
# 'nnan'/'ninf': a diverging run must still show its inf and nan.
_FAST = {"reassoc", "contract"}
_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)
# Fewer rows than this are evaluated one example at a time: matrices only pay from a few rows on.
EVALUATION_MIN_ROWS = 8


@njit(cache=True, fastmath=_FAST)
def _sigmoid(z: float) -> float:
    e = math.exp(-abs(z))
    return 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)


@njit(cache=True, fastmath=_FAST)
def _softplus(z: float) -> float:
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


@njit(cache=True, fastmath=_FAST)
def _act(code: int, z: float, alpha: float) -> float:
    if code == 0:
        return z
    if code == 1:
        return 1.0 if z >= 0 else 0.0
    if code == 2:
        return _sigmoid(z)
    if code == 3:
        return math.tanh(z)
    if code == 4:
        return max(z, 0.0)
    if code == 5:
        return z if z > 0 else alpha * z
    if code == 6:
        return z if z > 0 else alpha * math.expm1(min(z, 0.0))
    if code == 7:
        return SELU_SCALE * (z if z > 0 else SELU_ALPHA * math.expm1(min(z, 0.0)))
    if code == 9:
        return z * _sigmoid(z)
    if code == 10:
        return z * (0.5 * (1.0 + math.erf(z / _SQRT2)))
    return _softplus(z)  # 11


@njit(cache=True, fastmath=_FAST)
def _dact(code: int, z: float, a: float, alpha: float) -> float:
    if code == 0:
        return 1.0
    if code == 1:
        return 0.0
    if code == 2 or code == 8:
        return a * (1.0 - a)
    if code == 3:
        return 1.0 - a * a
    if code == 4:
        return 1.0 if z > 0 else 0.0
    if code == 5:
        return 1.0 if z > 0 else alpha
    if code == 6:
        return 1.0 if z > 0 else alpha * math.exp(min(z, 0.0))
    if code == 7:
        return SELU_SCALE * (1.0 if z > 0 else SELU_ALPHA * math.exp(min(z, 0.0)))
    if code == 9:
        s = _sigmoid(z)
        return s * (1.0 + z * (1.0 - s))
    if code == 10:
        return 0.5 * (1.0 + math.erf(z / _SQRT2)) + z * (math.exp(-0.5 * z * z) / _SQRT2PI)
    return _sigmoid(z)  # 11


@njit(cache=True, fastmath=_FAST)
def _softmax(Z: np.ndarray, A: np.ndarray, o: int, m: int) -> tuple[float, float]:
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


@njit(cache=True, fastmath=_FAST)
def _softmax_cross_entropy(Z: np.ndarray, A: np.ndarray, o: int, m: int, y: np.ndarray) -> float:
    """`_softmax` into A and the cross-entropy −Σ y_j (z_j − log Σ e^z) by log-sum-exp, as
    `_output_delta` computes it, from the same exponentials."""
    top, total = _softmax(Z, A, o, m)
    lse = math.log(total)
    value = 0.0
    for j in range(m):
        value -= y[j] * (Z[o + j] - top - lse)
    return value


@njit(cache=True, fastmath=_FAST)
def _output_delta(
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
    with_value: bool,
) -> float:
    """Set D (∂L/∂z of the output) for one example; return that example's loss (0 for the two
    cross-entropies when not `with_value`: their δ needs no logarithm or exponential)."""
    value = 0.0
    if loss == 3:  # binary cross-entropy with sigmoid, from z
        for j in range(m):
            if with_value:
                value += _softplus(Z[o + j]) - y[j] * Z[o + j]
            D[o + j] = (A[o + j] - y[j]) * scale
        return value
    if loss == 4 and not with_value:
        ysum = 0.0
        for j in range(m):
            ysum += y[j]
        for j in range(m):
            D[o + j] = (A[o + j] * ysum - y[j]) * scale
        return value
    if loss == 4:  # cross-entropy with softmax, by log-sum-exp
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
    if loss == 5:
        value = _hinge(A, D, o, m, y)
    else:
        for j in range(m):
            diff = A[o + j] - y[j]
            if loss == 0:
                value += 0.5 * diff * diff
                D[o + j] = diff
            elif loss == 1:
                value += diff * diff
                D[o + j] = 2.0 * diff
            else:
                value += diff * diff / m
                D[o + j] = 2.0 * diff / m
    for j in range(m):
        D[o + j] *= scale
    if code == 8:  # softmax's full Jacobian: δ_i = a_i (g_i − Σ_j g_j a_j)
        dot = 0.0
        for j in range(m):
            dot += D[o + j] * A[o + j]
        for j in range(m):
            D[o + j] = A[o + j] * (D[o + j] - dot)
    else:
        for j in range(m):
            D[o + j] = _dact(code, Z[o + j], A[o + j], alpha) * D[o + j]
    return value


@njit(cache=True, fastmath=_FAST)
def _hinge(A: np.ndarray, D: np.ndarray, o: int, m: int, y: np.ndarray) -> float:
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


@njit(cache=True, fastmath=_FAST)
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
            if mode == 1:
                s += P[bo]
            elif mode == 2:
                s += P[bo + j]
            z[j] = s
        if code == 8:
            _softmax(Z, A, a_off[layer + 1], n)
        else:
            for j in range(n):
                out[j] = _act(code, z[j], al)


@njit(cache=True, fastmath=_FAST)
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
        dp[k] = _dact(code, zp[k], a[k], al) * dp[k]


@njit(cache=True, fastmath=_FAST)
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
            if mode == 1:
                G[bo] += dj
            elif mode == 2:
                G[bo + j] += dj
        if layer > 0:
            _delta_below(W, d, D, Z, a, a_off[layer], act[layer - 1], alpha[layer - 1])


@njit(cache=True, fastmath=_FAST)
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
        if mode == 1:
            total = 0.0
            for j in range(n):
                total += d[j]
            P[bo] -= lr * total * M[bo]
        elif mode == 2:
            for j in range(n):
                P[bo + j] -= lr * d[j] * M[bo + j]


@njit(cache=True, fastmath=_FAST)
def _act_block(code, z, out, alpha):
    """out = f(z) over a block. relu, leaky ReLU and the identity get loops of their own, which LLVM
    vectorizes (through `_act` one number at a time they run several times slower); the others
    call the maths library once per number (see `sgd.VECTORIZED`)."""
    rows, n = z.shape
    if code == 4:
        for t in range(rows):
            for j in range(n):
                out[t, j] = max(z[t, j], 0.0)
    elif code == 5:
        for t in range(rows):
            for j in range(n):
                out[t, j] = z[t, j] if z[t, j] > 0 else alpha * z[t, j]
    elif code == 0:
        out[:, :] = z
    else:
        for t in range(rows):
            for j in range(n):
                out[t, j] = _act(code, z[t, j], alpha)


@njit(cache=True, fastmath=_FAST)
def _dact_block(code, z, a, d, alpha):
    """d ⊙= f'(z) over a block (as `_act_block`: the piecewise-linear ones by loops of their own)."""
    rows, n = z.shape
    if code == 4:
        for t in range(rows):
            for j in range(n):
                d[t, j] = d[t, j] if z[t, j] > 0 else 0.0
    elif code == 5:
        for t in range(rows):
            for j in range(n):
                d[t, j] = d[t, j] if z[t, j] > 0 else alpha * d[t, j]
    elif code == 1:
        d[:, :] = 0.0
    elif code != 0:
        for t in range(rows):
            for j in range(n):
                d[t, j] *= _dact(code, z[t, j], a[t, j], alpha)


@njit(cache=True, fastmath=_FAST)
def _block(buf, cap, start, rows, width):
    """Rows × width of a batch buffer: the block of the neurons from `start`, row-major, first `rows` rows.

    A batch buffer holds each layer's values for up to `cap` examples as one contiguous block, so
    that each block is a matrix BLAS can take as it is."""
    s = start * cap
    return buf[s : s + rows * width].reshape((rows, width))


@njit(cache=True, fastmath=_FAST)
def _matrix_forward(
    P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, X, first, idx, rows, Zb, Ab, cap, last_softmax
):  # fmt: skip
    """The forward pass for `rows` examples at once, one matrix product per layer: X[idx[first + t]]
    for t < rows (X[first + t] when idx is empty). Without `last_softmax` a softmax output layer
    keeps only its z (the caller computes its a together with the loss)."""
    x = _block(Ab, cap, 0, rows, fan_in[0])
    for t in range(rows):
        i = idx[first + t] if idx.shape[0] > 0 else first + t
        for k in range(fan_in[0]):
            x[t, k] = X[i, k]
    for layer in range(units.shape[0]):
        n, fi, wo, code, al = units[layer], fan_in[layer], w_off[layer], act[layer], alpha[layer]
        W = P[wo : wo + n * fi].reshape((n, fi))
        a = _block(Ab, cap, a_off[layer], rows, fi)
        z = _block(Zb, cap, a_off[layer + 1], rows, n)
        out = _block(Ab, cap, a_off[layer + 1], rows, n)
        np.dot(a, W.T, z)
        mode, bo = bias_mode[layer], b_off[layer]
        if mode == 1:
            shared = P[bo]
            for t in range(rows):
                for j in range(n):
                    z[t, j] += shared
        elif mode == 2:
            b = P[bo : bo + n]  # a view: through offsets into P the loop does not vectorize
            for t in range(rows):
                for j in range(n):
                    z[t, j] += b[j]
        if code != 8:
            _act_block(code, z, out, al)
        elif last_softmax or layer < units.shape[0] - 1:
            base = a_off[layer + 1] * cap
            for t in range(rows):
                _softmax(Zb, Ab, base + t * n, n)


@njit(cache=True, fastmath=_FAST)
def _matrix_update(
    P, M, G, masked, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, idx, first, rows, scale, lr,
    Zb, Ab, Db, cap, with_loss
):  # fmt: skip
    """One update on the batch idx[first : first + rows] as matrices: BLAS products for the forward
    pass, the weight gradients δᵀa and the δ of each layer below (through the weights before the
    update), then θ ← θ − η·g·mask. Returns the sum of the batch's example losses."""
    last = units.shape[0] - 1
    _matrix_forward(
        P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, X, first, idx, rows, Zb, Ab, cap, True
    )
    m, base = units[last], a_off[last + 1] * cap
    total = 0.0
    for t in range(rows):
        y = Y[idx[first + t]]
        total += _output_delta(loss, act[last], Zb, Ab, Db, base + t * m, m, y, scale, alpha[last], with_loss)
    for layer in range(last, -1, -1):
        n, fi, wo = units[layer], fan_in[layer], w_off[layer]
        W = P[wo : wo + n * fi].reshape((n, fi))
        d = _block(Db, cap, a_off[layer + 1], rows, n)
        np.dot(d.T, _block(Ab, cap, a_off[layer], rows, fi), G[wo : wo + n * fi].reshape((n, fi)))
        mode, bo = bias_mode[layer], b_off[layer]
        if mode == 1:
            s = 0.0
            for t in range(rows):
                for j in range(n):
                    s += d[t, j]
            G[bo] = s
        elif mode == 2:
            g = G[bo : bo + n]
            g[:] = 0.0
            for t in range(rows):
                for j in range(n):
                    g[j] += d[t, j]
        if layer > 0:
            below = _block(Db, cap, a_off[layer], rows, fi)
            np.dot(d, W, below)
            zp, ap = _block(Zb, cap, a_off[layer], rows, fi), _block(Ab, cap, a_off[layer], rows, fi)
            _dact_block(act[layer - 1], zp, ap, below, alpha[layer - 1])
    if masked:
        for p in range(P.shape[0]):
            P[p] -= lr * G[p] * M[p]
    else:
        for p in range(P.shape[0]):
            P[p] -= lr * G[p]
    return total


@njit(cache=True, fastmath=_FAST)
def _epoch(
    P, M, G, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, order, batch, mean, lr, Z, A, D,
    matrices, Zb, Ab, Db, with_loss
):  # fmt: skip
    """One epoch of SGD in `order`; each update uses the gradients of its batch before it.

    Returns the sum of the example losses met on the way, each before its own update (only of
    the squared errors and hinge without `with_loss`: the cross-entropies then skip theirs).
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
    total = 0.0
    start = 0
    while start < n:
        stop = min(start + batch, n)
        scale = 1.0 / (stop - start) if mean else 1.0
        if stop - start == 1:  # one example: update each layer as soon as its δ is known
            i = order[start]
            _forward(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, X[i], Z, A)
            total += _output_delta(loss, act[last], Z, A, D, o, m, Y[i], scale, alpha[last], with_loss)
            _backward_update(P, M, masked, lr, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, Z, A, D)
            start = stop
            continue
        if matrices:
            total += _matrix_update(
                P, M, G, masked, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, order, start,
                stop - start, scale, lr, Zb, Ab, Db, cap, with_loss
            )  # fmt: skip
            start = stop
            continue
        G[:] = 0.0
        for t in range(start, stop):
            i = order[t]
            _forward(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, X[i], Z, A)
            total += _output_delta(loss, act[last], Z, A, D, o, m, Y[i], scale, alpha[last], with_loss)
            _backward(P, G, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, Z, A, D)
        for p in range(P.shape[0]):
            P[p] -= lr * G[p] * M[p]
        start = stop
    return total


@njit(cache=True, fastmath=_FAST)
def _correct(classify, cut, A, o, m, y):
    """1.0 when the output A[o : o + m] classifies like y (classify: 0 none, 1 one output against
    `cut`, 2 argmax), else 0.0."""
    if classify == 1:
        return 1.0 if (A[o] > cut) == (y[0] > cut) else 0.0
    if classify == 2:
        best, target = 0, 0
        for j in range(1, m):
            if A[o + j] > A[o + best]:
                best = j
            if y[j] > y[target]:
                target = j
        return 1.0 if best == target else 0.0
    return 0.0


@njit(cache=True, fastmath=_FAST)
def _evaluate(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, classify, cut, Z, A, D):
    """The mean example loss over (X, Y) and the fraction classified right (classify: 0 none,
    1 one output against `cut`, 2 argmax), as `train.evaluate` computes them."""
    last = units.shape[0] - 1
    o, m = a_off[last + 1], units[last]
    total, right = 0.0, 0.0
    for i in range(X.shape[0]):
        _forward(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, X[i], Z, A)
        total += _output_delta(loss, act[last], Z, A, D, o, m, Y[i], 0.0, alpha[last], True)
        right += _correct(classify, cut, A, o, m, Y[i])
    n = max(X.shape[0], 1)
    return total / n, right / n


@njit(cache=True, fastmath=_FAST)
def _evaluate_matrices(
    P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, classify, cut, Zb, Ab, Db
):
    """`_evaluate` by blocks of rows, one matrix product per layer and block."""
    last = units.shape[0] - 1
    m = units[last]
    cap = Zb.shape[0] // (a_off[last + 1] + m)
    base = a_off[last + 1] * cap
    none = np.empty(0, dtype=np.int64)
    fused = loss == 4 and act[last] == 8  # softmax and its cross-entropy from one set of exponentials
    total, right = 0.0, 0.0
    for first in range(0, X.shape[0], cap):
        rows = min(cap, X.shape[0] - first)
        _matrix_forward(
            P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, X, first, none, rows, Zb, Ab, cap, not fused
        )  # fmt: skip
        for t in range(rows):
            i, o = first + t, base + t * m
            if fused:
                total += _softmax_cross_entropy(Zb, Ab, o, m, Y[i])
            else:
                total += _output_delta(loss, act[last], Zb, Ab, Db, o, m, Y[i], 0.0, alpha[last], True)
            right += _correct(classify, cut, Ab, o, m, Y[i])
    n = max(X.shape[0], 1)
    return total / n, right / n


@njit(cache=True, fastmath=_FAST)
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


@njit(cache=True, fastmath=_FAST)
def train_epochs(
    P, M, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, order, batch, mean, lr, cap, matrices,
    losses
):  # fmt: skip
    """SGD for order.shape[0] epochs; losses[e] = the mean example loss met during epoch e.

    matrices: batches of two or more examples go through BLAS matrix products (cap ≥ batch rows)."""
    Z, A, D, G, Zb, Ab, Db = _buffers(P, units, a_off, cap)
    for e in range(order.shape[0]):
        total = _epoch(
            P, M, G, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, order[e], batch, mean, lr,
            Z, A, D, matrices, Zb, Ab, Db, True
        )  # fmt: skip
        losses[e] = total / order.shape[1]


@njit(cache=True, fastmath=_FAST)
def _evaluate_any(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, classify, cut, buffers):
    Z, A, D, _G, Zb, Ab, Db = buffers
    if Zb.shape[0] > 0 and X.shape[0] >= EVALUATION_MIN_ROWS:
        return _evaluate_matrices(
            P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, classify, cut, Zb, Ab, Db
        )
    return _evaluate(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, classify, cut, Z, A, D)


@njit(cache=True, fastmath=_FAST)
def train_and_evaluate(
    P, M, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, orders, batch, mean, lrs, Xv, Yv,
    classify, cut, until_loss, cap, matrices, out
):  # fmt: skip
    """Epochs of SGD, each followed by the evaluation `chainrule train` reports.

    out[e] = (training loss, accuracy, validation loss, validation accuracy) after epoch e; stops
    after the first epoch whose training loss is at most `until_loss`. Returns the epochs run.
    matrices: batches of two or more examples go through BLAS matrix products; so does the
    evaluation of EVALUATION_MIN_ROWS examples or more when cap > 0 (blocks of up to `cap` rows).
    """
    buffers = _buffers(P, units, a_off, cap)
    Z, A, D, G, Zb, Ab, Db = buffers
    layout = (P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss)
    for e in range(orders.shape[0]):
        _epoch(
            P, M, G, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, orders[e], batch, mean,
            lrs[e], Z, A, D, matrices, Zb, Ab, Db, False
        )  # fmt: skip
        out[e, 0], out[e, 1] = _evaluate_any(*layout, X, Y, classify, cut, buffers)
        if Xv.shape[0] > 0:
            out[e, 2], out[e, 3] = _evaluate_any(*layout, Xv, Yv, classify, cut, buffers)
        if out[e, 0] <= until_loss:
            return e + 1
    return orders.shape[0]
