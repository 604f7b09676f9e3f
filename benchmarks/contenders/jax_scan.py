"""JAX, `jax.lax.scan` over a whole epoch inside `jax.jit`: one call per epoch, the batches
stacked once in advance (outside the clock), a short last batch stepped after the scan inside the
same function; `jax.block_until_ready` before the clock stops."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from contenders.base import serve, whole_epochs
from contenders.jax_common import JaxBase


class JaxScan(JaxBase):
    def __init__(self, job: dict[str, Any], x: np.ndarray, y: np.ndarray, params: list[np.ndarray]) -> None:
        super().__init__(job, x, y, params)
        b, k = self.batch, self.full
        self.xs = self.x[: k * b].reshape(k, b, -1)
        self.ys = self.y[: k * b].reshape(k, b, -1)
        self.xt, self.yt = self.x[k * b :], self.y[k * b :]
        step, has_tail = self.step, k * b < self.n

        def epoch(params: Any, xs: jax.Array, ys: jax.Array, xt: jax.Array, yt: jax.Array) -> Any:
            params, _ = jax.lax.scan(lambda p, batch: (step(p, *batch), None), params, (xs, ys))
            return step(params, xt, yt) if has_tail else params

        self.epoch_fn = jax.jit(epoch)
        self.per_epoch = k + has_tail
        self.info = {"path": "lax.scan per epoch", "jax": jax.__version__}

    def run(self, updates: int) -> int:
        epochs = whole_epochs(updates, self.per_epoch)
        p = self.p
        for _ in range(epochs):
            p = self.epoch_fn(p, self.xs, self.ys, self.xt, self.yt)
        self.p = jax.block_until_ready(p)
        return epochs * self.per_epoch


if __name__ == "__main__":
    serve(JaxScan)
