"""NumPy written well: every buffer allocated once, products into them (`np.matmul(..., out=)`),
activations, gradients and updates in place; one Python call per update."""

from __future__ import annotations

from typing import Any

import numpy as np
from contenders.base import Cursor, serve


class NumpySGD:
    def __init__(self, job: dict[str, Any], x: np.ndarray, y: np.ndarray, params: list[np.ndarray]) -> None:
        w = job["workload"]
        self.x, self.y, self.lr, self.hidden = x, y, w["lr"], w["hidden"]
        self.softmax = w["output"] == "softmax"
        self.cursor = Cursor(len(x), w["batch"])
        self.info = {"path": "numpy, preallocated"}
        self.ws, self.bs = params[0::2], params[1::2]
        b, dt = w["batch"], x.dtype
        self.a = [np.empty((b, wt.shape[0]), dt) for wt in self.ws]  # each layer's activations
        self.d = [np.empty((b, wt.shape[0]), dt) for wt in self.ws]  # dL/dz of each layer
        self.tmp = [np.empty((b, wt.shape[0]), dt) for wt in self.ws]  # f'(z), or a mask for relu
        self.mask = [np.empty((b, wt.shape[0]), bool) for wt in self.ws]
        self.gw = [np.empty_like(wt) for wt in self.ws]
        self.gb = [np.empty_like(bt) for bt in self.bs]
        self.row = np.empty((b, 1), dt)

    def restart(self, params: list[np.ndarray]) -> None:
        for mine, given in zip(self.ws + self.bs, params[0::2] + params[1::2], strict=True):
            mine[...] = given
        self.cursor.start = 0

    def params(self) -> list[np.ndarray]:
        return [p for pair in zip(self.ws, self.bs, strict=True) for p in pair]

    def _activate(self, z: np.ndarray, kind: str) -> None:
        if kind == "relu":
            np.maximum(z, 0, out=z)
        elif kind == "tanh":
            np.tanh(z, out=z)
        else:  # sigmoid: 1 / (1 + e^(−z))
            np.negative(z, out=z)
            np.exp(z, out=z)
            z += 1
            np.reciprocal(z, out=z)

    def _softmax(self, z: np.ndarray, row: np.ndarray) -> None:
        np.max(z, axis=1, keepdims=True, out=row)
        z -= row
        np.exp(z, out=z)
        np.sum(z, axis=1, keepdims=True, out=row)
        z /= row

    def step(self, xb: np.ndarray, yb: np.ndarray) -> None:
        m, last = len(xb), len(self.ws) - 1
        prev = xb
        for i, (wt, bt) in enumerate(zip(self.ws, self.bs, strict=True)):
            a = self.a[i][:m]
            np.matmul(prev, wt.T, out=a)
            a += bt
            if i < last:
                self._activate(a, self.hidden)
            elif self.softmax:
                self._softmax(a, self.row[:m])
            else:
                self._activate(a, "sigmoid")
            prev = a
        d = self.d[last][:m]
        np.subtract(self.a[last][:m], yb, out=d)  # softmax + cross-entropy, or ŷ − y for ½(y−ŷ)²
        if not self.softmax:  # times σ'(z) = ŷ(1 − ŷ)
            t = self.tmp[last][:m]
            np.subtract(1, self.a[last][:m], out=t)
            t *= self.a[last][:m]
            d *= t
        d *= 1.0 / m  # the mean over the batch
        for i in range(last, -1, -1):
            d = self.d[i][:m]
            a_prev = xb if i == 0 else self.a[i - 1][:m]
            np.matmul(d.T, a_prev, out=self.gw[i])
            np.sum(d, axis=0, out=self.gb[i])
            if i > 0:
                below = self.d[i - 1][:m]
                np.matmul(d, self.ws[i], out=below)  # with W before its update
                self._derivative(i - 1, m)
            self.gw[i] *= self.lr
            self.ws[i] -= self.gw[i]
            self.gb[i] *= self.lr
            self.bs[i] -= self.gb[i]

    def _derivative(self, i: int, m: int) -> None:
        """dL/dz of hidden layer i = dL/da ⊙ f'(z), f' from the activation a."""
        a, d, t = self.a[i][:m], self.d[i][:m], self.tmp[i][:m]
        if self.hidden == "relu":
            np.greater(a, 0, out=self.mask[i][:m])
            np.multiply(d, self.mask[i][:m], out=d)
            return
        if self.hidden == "tanh":  # 1 − a²
            np.multiply(a, a, out=t)
            np.subtract(1, t, out=t)
        else:  # sigmoid: a(1 − a)
            np.subtract(1, a, out=t)
            t *= a
        d *= t

    def run(self, updates: int) -> int:
        for _ in range(updates):
            s = self.cursor.next()
            self.step(self.x[s], self.y[s])
        return updates


if __name__ == "__main__":
    serve(NumpySGD)
