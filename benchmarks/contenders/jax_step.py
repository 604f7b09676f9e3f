"""JAX, `jax.jit` of one update, called from Python once per update on the next batch (taken
inside the jitted function by `lax.dynamic_slice`, the data already on the device);
`jax.block_until_ready` before the clock stops."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from contenders.base import serve
from contenders.jax_common import JaxBase


class JaxStep(JaxBase):
    def __init__(self, job: dict[str, Any], x: np.ndarray, y: np.ndarray, params: list[np.ndarray]) -> None:
        super().__init__(job, x, y, params)
        step, b = self.step, self.batch

        def at(params: Any, xs: jax.Array, ys: jax.Array, i: jax.Array) -> Any:
            xb = jax.lax.dynamic_slice_in_dim(xs, i * b, b)
            yb = jax.lax.dynamic_slice_in_dim(ys, i * b, b)
            return step(params, xb, yb)

        self.at = jax.jit(at)
        self.tail = jax.jit(step)  # the short last batch, if any
        self.info = {"path": "jit per update", "jax": jax.__version__}

    def run(self, updates: int) -> int:
        p = self.p
        for _ in range(updates):
            if self.start >= self.n:
                self.start = 0
            if self.start + self.batch <= self.n:
                p = self.at(p, self.x, self.y, self.start // self.batch)
            else:
                p = self.tail(p, self.x[self.start :], self.y[self.start :])
            self.start += self.batch
        self.p = jax.block_until_ready(p)
        return updates


if __name__ == "__main__":
    serve(JaxStep)
