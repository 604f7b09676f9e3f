"""Plain SGD over epochs, by the fastest path that serves the network, with the engine's numbers.

Plain SGD goes to the compiled loop (`fast`): written out for the network's shape (`special`)
online and for small batches of small networks, example by example in the general loop for the
smallest batches otherwise, where NumPy's per-call overhead would dominate, and as matrices
through BLAS for larger ones. Batches
whose hidden activations cost the compiled loop a maths-library call per number (tanh, sigmoid,
…) go to the lean in-place NumPy path (`lean`) once there are many such numbers, and so does any
network the compiled loop cannot train. Both are held to the explained engine's numbers at 1e-12
by the tests; `choose_path` says which one runs and why. `chainrule train` uses the same choice;
`PlainSGD` runs it without the training loop's bookkeeping (for benchmarks).
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.engine.network import Network
from chainrule.train.compiled import loop as fast
from chainrule.train.lean import LeanSGD

# The compiled loop works through activations with vectorized loops of their own; the others call
# the maths library once per number, where NumPy's vectorized functions run several times faster.
VECTORIZED = frozenset({"identity", "binary_step", "relu", "leaky_relu"})
# Past this many such numbers per update in the hidden layers the NumPy path wins (measured by
# benchmarks/scaling.py: see docs/performance.md, "Where each path wins").
SCALAR_MAX = 2_500
# Past this many multiply-adds per update (batch × parameters) the products take all the time and
# both paths run at the BLAS's speed; the NumPy path then spares the compiler's ~130 MB of memory.
# Checked on the MNIST-sized 784-256-10 relu/softmax, batch 64 (13 M, compiled), each path in its
# own process, best of 3 interleaved rounds on 2 shared cores, one BLAS thread (two ran slower
# there): compiled 1.16 ms an update against NumPy's 1.17 ms in float64, 0.63 against 0.69 ms in
# float32, so the compiled loop stays. 784-1024-1024-10 at batch 256 (477 M) goes to NumPy.
COMPILED_MAX_WORK = 50_000_000


def choose_path(net: Network, batch: int, plain_sgd: bool = True) -> tuple[str, str]:
    """("compiled" or "numpy", and why the compiled path was passed over where it would have run)."""
    scalar = batch * sum(la.units for la in net.layers[:-1] if la.activation.name not in VECTORIZED)
    if (batch > 1 and scalar > SCALAR_MAX) or batch * net.parameter_count() > COMPILED_MAX_WORK:
        return "numpy", ""
    if not plain_sgd:
        return "numpy", "the compiled path runs plain SGD only"
    reason = fast.unsupported(net)
    return ("numpy", reason) if reason else ("compiled", "")


def loop_for(net: Network, batch: int, examples: float = math.inf) -> str:
    """The loop plain SGD runs on for this network and batch, as the benchmark tables name them:
    "specialised" (written out for the shape, `compiled.special`), "per example" or "matrices"
    (the general compiled loop), or "numpy" (the lean path). ``examples``: the run's length in
    examples trained (a long run, by default: a shape is compiled for one, or already was)."""
    path, _why = choose_path(net, batch)
    if path == "numpy":
        return "numpy"
    from chainrule.train.compiled import special

    if special.variant(fast.pack(net), batch, examples)[0]:
        return "specialised"
    return "matrices" if batch >= fast.MATRIX_MIN_BATCH else "per example"


class PlainSGD:
    """Epochs of SGD on `net` in place (its layer arrays change), batch by batch in the given order."""

    def __init__(
        self,
        net: Network,
        batch: int,
        *,
        compiled: bool | None = None,
        matrices: bool | None = None,
        specialise: bool | None = None,
    ) -> None:
        self.net = net
        self.matrices = matrices  # on the compiled path: see fast.train_epochs
        self.specialise = specialise  # on the compiled path: see fast.kernel_for
        self.batch = max(1, batch)
        self.mean = net.training.reduction == "mean"
        self.path, self.note = choose_path(net, self.batch)
        if compiled is not None:
            reason = fast.unsupported(net)
            self.path = "compiled" if compiled and reason is None else "numpy"
        use = self.path == "compiled"
        self._packed = fast.pack(net) if use else None
        self._lean = None if use else LeanSGD(net, self.batch)

    @property
    def variant(self) -> str:
        """The loop the last `epochs` ran: "specialised" or "general" (compiled path), or "numpy"."""
        return self._packed.variant if self._packed is not None else "numpy"

    def epochs(self, count: int, lr: float, order: np.ndarray | None = None, with_loss: bool = True) -> np.ndarray:
        """Run `count` epochs; returns each epoch's mean example loss (before each example's update).

        ``order``: the example order of each epoch, shape (count, n); file order when omitted.
        ``with_loss=False`` skips the loss on the NumPy path; its losses are then nan. (These
        losses are the running losses `chainrule train` reports, which computes them always.)
        """
        n = self.net.x.shape[0]
        if order is None:
            order = np.tile(np.arange(n), (count, 1))  # writable: numba compiles read-only views anew
        if self._packed is not None:
            losses = fast.train_epochs(
                self._packed,
                self.net.x,
                self.net.y,
                order,
                self.batch,
                self.mean,
                lr,
                count,
                self.matrices,
                self.specialise,
            )
            self._packed.unpack_into(self.net)
            return losses
        assert self._lean is not None
        losses = np.empty(count)
        x, y = self.net.x, self.net.y
        for e in range(count):
            total = 0.0
            for start in range(0, n, self.batch):
                idx = order[e, start : start + self.batch]
                batch_loss = self._lean.step(x[idx], y[idx], lr, self.mean, with_loss)
                total += batch_loss * (len(idx) if self.mean else 1.0)
            losses[e] = total / n
        return losses
