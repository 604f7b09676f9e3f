"""Plain JAX (no Flax): parameters as a list of arrays, the loss as chainrule's, `jax.grad`, SGD.
float64 through `jax_enable_x64` where the workload is float64. One thread: the parent sets
XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)  # before any array is made
import jax.numpy as jnp  # noqa: E402

Params = list[jax.Array]


def loss_fn(w: dict[str, Any]) -> Any:
    """L(params, x, y): mean over the batch of cross-entropy of the softmax or ½ Σ (y − ŷ)²."""
    hidden = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}[w["hidden"]]
    softmax = w["output"] == "softmax"

    def loss(params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
        a = x
        for i in range(0, len(params) - 2, 2):
            a = hidden(a @ params[i].T + params[i + 1])
        z = a @ params[-2].T + params[-1]
        if softmax:
            return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(z), axis=1))
        return 0.5 * jnp.mean(jnp.sum((y - jax.nn.sigmoid(z)) ** 2, axis=1))

    return loss


def sgd_step(w: dict[str, Any]) -> Any:
    """One update θ ← θ − η ∂L/∂θ (not jitted: the contenders jit it their way)."""
    grad = jax.grad(loss_fn(w))
    lr = w["lr"]

    def step(params: Params, x: jax.Array, y: jax.Array) -> Params:
        return [p - lr * g for p, g in zip(params, grad(params, x, y), strict=True)]

    return step


class JaxBase:
    p: list[Any]  # the current parameters (jax arrays)
    start: int  # the next example (jax_step)

    def __init__(self, job: dict[str, Any], x: np.ndarray, y: np.ndarray, params: list[np.ndarray]) -> None:
        w = self.w = job["workload"]
        self.batch = w["batch"]
        self.n = len(x)
        self.full = self.n // self.batch  # whole batches; a short last batch is stepped on its own
        self.step = sgd_step(w)
        self.x, self.y = jnp.asarray(x), jnp.asarray(y)
        self.restart(params)

    def restart(self, params: list[np.ndarray]) -> None:
        self.p = [jnp.asarray(np.asarray(q)) for q in params]
        self.start = 0

    def params(self) -> list[np.ndarray]:
        return [np.asarray(q) for q in self.p]
